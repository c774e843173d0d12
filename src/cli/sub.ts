/**
 * `mqtt311 sub`: subscribe and print each message — with mosquitto_sub 2.0's flags and output.
 *
 * Output is the payload bytes as they are, then "\n" (none with `-N`); with `-v`, "topic
 * payload"; with `-F`, mosquitto's format language (format.ts). An empty payload prints nothing
 * without `-v` and "topic (null)" with it, as mosquitto_sub does. The command survives the broker:
 * a lost connection is retried with backoff and the subscriptions restored (or the session
 * resumed with `-c`), and `-U` filters unsubscribed again. It ends on Ctrl-C (exit 0), `-C` messages, `-E`, `--retained-only` (exit
 * 0), `-W` seconds (exit 27) or a CONNACK refusal (exit = return code).
 */
import { topicMatches, validateTopicFilter, type PublishPacket } from '../codec/index.js';
import type { MqttClient } from '../client/index.js';
import { parseCommandLine, parseIntInRange, usageError, type OptionSpec, type ParsedArgs } from './args.js';
import { CONNECTION_OPTIONS, connectionSettings, ruleText, type ConnectionSettings } from './connection-flags.js';
import { CliError, quote, toCliError } from './errors.js';
import { checkFormat, formatWith } from './format.js';
import { SUB_HELP } from './help.js';
import { writeLine, type CliIo } from './io.js';
import { CLI_RECONNECT, openClient, targetOf } from './open-client.js';
import { readOptionsFile } from './options-file.js';

const COMMAND = 'mqtt311 sub';

const OPTIONS: readonly OptionSpec[] = [
  ...CONNECTION_OPTIONS,
  { name: 'topic', kind: 'list', short: 't', long: 'topic' },
  { name: 'filter-out', kind: 'list', short: 'T', long: 'filter-out' },
  { name: 'unsubscribe', kind: 'list', short: 'U', long: 'unsubscribe' },
  { name: 'verbose', kind: 'flag', short: 'v', long: 'verbose' },
  { name: 'count', kind: 'value', short: 'C' },
  { name: 'timeout', kind: 'value', short: 'W' },
  { name: 'exit-after-sub', kind: 'flag', short: 'E' },
  { name: 'no-retain', kind: 'flag', short: 'R' },
  { name: 'no-eol', kind: 'flag', short: 'N' },
  { name: 'format', kind: 'value', short: 'F', bytes: true },
  { name: 'pretty', kind: 'flag', long: 'pretty' },
  { name: 'retained-only', kind: 'flag', long: 'retained-only' },
  { name: 'remove-retained', kind: 'flag', long: 'remove-retained' },
  { name: 'random-filter', kind: 'value', long: 'random-filter' },
  { name: 'retain-as-published', kind: 'flag', long: 'retain-as-published', refused: 'MQTT 5 subscription option, not in 3.1.1' },
];

/** The longest `-W` accepted: what a Node timer can wait (about 24.8 days). */
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** How messages are printed. */
export interface OutputOptions {
  verbose: boolean;
  /** False with -N: no "\n" after each message. */
  eol: boolean;
  /** -F, as bytes. */
  format?: Buffer | undefined;
  pretty: boolean;
}

/** The output for one message as mosquitto_sub prints it (bytes; the payload need not be UTF-8), and any error line. */
export function formatMessage(packet: PublishPacket, out: OutputOptions): { bytes?: Buffer; error?: string } {
  if (out.format !== undefined) {
    const f = formatWith(out.format, packet, { eol: out.eol, pretty: out.pretty });
    return f.error === undefined ? { bytes: f.out } : { bytes: f.out, error: f.error };
  }
  const eol = Buffer.from(out.eol ? '\n' : '');
  if (!out.verbose) return packet.payload.length === 0 ? {} : { bytes: Buffer.concat([packet.payload, eol]) };
  if (packet.payload.length === 0) return out.eol ? { bytes: Buffer.from(`${packet.topic} (null)\n`) } : {};
  return { bytes: Buffer.concat([Buffer.from(`${packet.topic} `), packet.payload, eol]) };
}

/** Everything `sub` needs beyond the connection. */
interface SubPlan {
  filters: string[];
  filterOut: string[];
  unsubscribe: string[];
  count: number | undefined;
  timeout: number | undefined;
  exitAfterSub: boolean;
  noRetain: boolean;
  retainedOnly: boolean;
  removeRetained: boolean;
  /** Percentage of messages printed (100: all). */
  chance: number;
  output: OutputOptions;
}

function checkFilter(filter: string, what: string): void {
  try {
    // [MQTT-4.7.1-2] '#' only last and alone in its level; [MQTT-4.7.1-3] '+' alone in its level.
    validateTopicFilter(filter);
  } catch (err) {
    throw usageError(`invalid topic filter for ${what} ${quote(filter)}: ${ruleText(err)}`, COMMAND);
  }
}

function plan(args: ParsedArgs, settings: ConnectionSettings): SubPlan {
  const filters = [...(settings.urlTopic !== undefined ? [settings.urlTopic] : []), ...args.values('topic')];
  if (filters.length === 0) throw usageError('no topic filter: give -t filter (or -L URL with a topic)', COMMAND);
  for (const f of filters) checkFilter(f, '-t');
  for (const f of args.values('filter-out')) checkFilter(f, '-T');
  for (const f of args.values('unsubscribe')) checkFilter(f, '-U');
  const countText = args.value('count');
  const timeoutText = args.value('timeout');
  const chanceText = args.value('random-filter');
  const chance = chanceText === undefined ? 100 : Number(chanceText);
  if (!(chance >= 0.1 && chance <= 100)) throw usageError(`--random-filter chance must be between 0.1 and 100.0, got ${quote(chanceText ?? '')}`, COMMAND);
  const format = args.bytes('format');
  const wrong = format === undefined ? undefined : checkFormat(format);
  if (wrong !== undefined) throw usageError(`-F: ${wrong}`, COMMAND);
  if (args.has('no-retain') && args.has('retained-only')) throw usageError('-R and --retained-only cannot be used together', COMMAND);
  return {
    filters,
    filterOut: args.values('filter-out'),
    unsubscribe: args.values('unsubscribe'),
    count: countText === undefined ? undefined : parseIntInRange(countText, '-C', 1, Number.MAX_SAFE_INTEGER, COMMAND),
    timeout: timeoutText === undefined ? undefined : parseIntInRange(timeoutText, '-W', 1, MAX_TIMEOUT_SECONDS, COMMAND),
    exitAfterSub: args.has('exit-after-sub'),
    noRetain: args.has('no-retain'),
    retainedOnly: args.has('retained-only'),
    removeRetained: args.has('remove-retained'),
    chance,
    output: { verbose: args.has('verbose'), eol: !args.has('no-eol'), format, pretty: args.has('pretty') },
  };
}

/** Runs `mqtt311 sub`. */
export async function runSub(argv: string[], io: CliIo): Promise<number> {
  const file = await readOptionsFile('mosquitto_sub', OPTIONS, COMMAND);
  const bytes = io.argvBytes && [...file.bytes, ...io.argvBytes];
  const args = parseCommandLine([...file.words, ...argv], OPTIONS, COMMAND, SUB_HELP, io.stdout, false, bytes);
  if (args === undefined) return 0;
  const settings = await connectionSettings(args, COMMAND);
  const p = plan(args, settings);
  try {
    return await subscribeAndPrint(settings, p, io);
  } catch (err) {
    throw toCliError(err, targetOf(settings)).silenced(settings.quiet);
  }
}

async function subscribeAndPrint(settings: ConnectionSettings, p: SubPlan, io: CliIo): Promise<number> {
  const where = targetOf(settings);
  let counted = 0;
  let processing = true;
  let client: MqttClient | undefined;
  let finish: (outcome: CliError | undefined) => void = () => {};
  const done = new Promise<CliError | undefined>((resolve) => (finish = resolve));
  const stop = (outcome: CliError | undefined) => {
    processing = false;
    finish(outcome);
  };
  // With -d a QoS 2 message prints after its PUBCOMP, where mosquitto_sub prints it.
  const held = new Map<number, Buffer>();
  const print = (packet: PublishPacket) => {
    const { bytes, error } = formatMessage(packet, p.output);
    if (error !== undefined && !settings.quiet) io.stderr.write(error);
    if (!bytes) return;
    if (settings.debug && packet.qos === 2 && packet.packetId !== undefined) held.set(packet.packetId, bytes);
    else io.stdout.write(bytes);
  };

  // The order of mosquitto_sub's message callback, so the flags combine as they do there.
  const onMessage = (_topic: string, _payload: Uint8Array, packet: PublishPacket) => {
    if (!processing) return;
    if (p.retainedOnly && !packet.retain) return stop(undefined);
    if (packet.retain && p.noRetain) return;
    if (p.filterOut.some((f) => topicMatches(f, packet.topic))) return;
    // An empty retained message at QoS 1 deletes the retained one [MQTT-3.3.1-10].
    if (p.removeRetained && packet.retain) client?.publish(packet.topic, '', { qos: 1, retain: true }).catch(() => {});
    if (p.chance >= 100 || Math.random() * 100 < p.chance) print(packet);
    if (p.count !== undefined && ++counted >= p.count) stop(undefined);
  };

  // -W counts from the start, connecting included, as mosquitto_sub's does.
  const timer =
    p.timeout === undefined
      ? undefined
      : setTimeout(() => {
          const got = p.count === undefined ? '' : ` with ${counted} of ${p.count} messages`;
          stop(new CliError('TIMEOUT', `timed out after ${p.timeout} s${got} (-W ${p.timeout})`));
        }, p.timeout * 1000);
  const onInterrupt = () => stop(undefined);
  io.interrupt.addEventListener('abort', onInterrupt, { once: true });

  try {
    // Ctrl-C or -W while still connecting ends the command too.
    const opened = await Promise.race([openClient(settings, io, onMessage, CLI_RECONNECT), done]);
    if (opened === undefined) return 0;
    if (opened instanceof CliError) throw opened;
    client = opened;
    if (settings.debug) {
      client.on('packetsend', (packet) => {
        if (packet.cmd !== 'pubcomp') return;
        const bytes = held.get(packet.packetId);
        if (bytes) {
          held.delete(packet.packetId);
          io.stdout.write(bytes);
        }
      });
    }
    watchConnection(client, settings, io, where, stop);
    const subscribed = client.subscribe(p.filters.map((topicFilter) => ({ topicFilter, qos: settings.qos })));
    // -U on every connection, as mosquitto_sub's connect callback does. On a reconnection the
    // client has written its own SUBSCRIBE before 'connect' fires, so the UNSUBSCRIBE comes after
    // it. Ones still unacknowledged are resent by the client itself: no second copy then.
    let unacknowledged = 0;
    const unsubscribe = (c: MqttClient) => {
      if (unacknowledged > 0) return;
      for (const f of p.unsubscribe) {
        unacknowledged++;
        c.unsubscribe(f)
          .catch(() => {})
          .finally(() => unacknowledged--);
      }
    };
    unsubscribe(client);
    if (p.unsubscribe.length > 0) client.on('connect', () => unsubscribe(opened));
    try {
      const granted = await Promise.race([subscribed, done.then(() => undefined)]);
      if (granted !== undefined) {
        const refused = granted.filter((g) => g.refused).map((g) => g.topicFilter);
        // SUBACK 0x80: the server refused that filter (spec 3.9.3).
        for (const filter of refused) if (!settings.quiet) writeLine(io.stderr, `Warning: subscription to ${quote(filter)} refused by the server (SUBACK 0x80)`);
        if (refused.length === granted.length) stop(new CliError('SUBSCRIBE_REFUSED', 'every subscription was refused by the server (SUBACK 0x80)'));
        if (p.exitAfterSub) stop(undefined);
      }
      const outcome = await done;
      if (outcome !== undefined) throw outcome;
    } finally {
      client.removeAllListeners('end');
      await client.end({ timeout: 2_000 });
    }
  } finally {
    clearTimeout(timer);
    io.interrupt.removeEventListener('abort', onInterrupt);
  }
  return 0;
}

/**
 * Keeps `sub` alive across lost connections (the client reconnects and restores the
 * subscriptions itself); with -d says so on stderr. Only the client giving up — a CONNACK
 * refusal on reconnect — ends the command, with mosquitto_sub's exit code (the return code).
 */
function watchConnection(client: MqttClient, settings: ConnectionSettings, io: CliIo, where: string, stop: (e: CliError) => void): void {
  let lastError: Error | undefined;
  client.on('close', (error) => (lastError = error ?? lastError));
  client.on('error', (error) => (lastError = error));
  client.on('offline', () => {
    if (settings.debug) writeLine(io.stderr, `Connection to ${where} lost${lastError ? ` (${toCliError(lastError, where).message})` : ''}; reconnecting`);
  });
  client.on('reconnect', (attempt) => {
    if (settings.debug && attempt > 1) writeLine(io.stderr, `Reconnecting to ${where} (attempt ${attempt})`);
  });
  client.on('end', () => stop(toCliError(lastError ?? new CliError('CONNECT_FAILED', `connection lost: ${where}`), where)));
}
