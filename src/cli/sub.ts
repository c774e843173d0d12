/**
 * `mqtt311 sub`: subscribe and print each message on its own line — with mosquitto_sub's flags.
 *
 * Output is the payload bytes as they are, then "\n"; with `-v`, "topic payload". As mosquitto_sub
 * does, an empty payload prints nothing without `-v` and "topic (null)" with it. The command runs
 * until Ctrl-C (exit 0), `-C` messages (exit 0), or `-W` seconds (exit 27).
 */
import { validateTopicFilter, type PublishPacket } from '../codec/index.js';
import { parseCommandLine, parseIntInRange, usageError, type OptionSpec } from './args.js';
import { CONNECTION_OPTIONS, connectionSettings, ruleText } from './connection-flags.js';
import { CliError, quote, toCliError } from './errors.js';
import { SUB_HELP } from './help.js';
import { writeLine, type CliIo } from './io.js';
import { openClient, targetOf } from './open-client.js';

const COMMAND = 'mqtt311 sub';

const OPTIONS: readonly OptionSpec[] = [
  ...CONNECTION_OPTIONS,
  { name: 'topic', kind: 'list', short: 't', long: 'topic' },
  { name: 'verbose', kind: 'flag', short: 'v', long: 'verbose' },
  { name: 'count', kind: 'value', short: 'C', long: 'count' },
  { name: 'timeout', kind: 'value', short: 'W', long: 'timeout' },
];

/** The longest `-W` accepted: what a Node timer can wait (about 24.8 days). */
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** One line of output for a message, as bytes (the payload is not necessarily UTF-8). */
export function formatMessage(packet: PublishPacket, verbose: boolean): Buffer | undefined {
  if (!verbose) return packet.payload.length === 0 ? undefined : Buffer.concat([packet.payload, Buffer.from('\n')]);
  const payload = packet.payload.length === 0 ? Buffer.from('(null)') : packet.payload;
  return Buffer.concat([Buffer.from(`${packet.topic} `), payload, Buffer.from('\n')]);
}

/** Runs `mqtt311 sub`. */
export async function runSub(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandLine(argv, OPTIONS, COMMAND, SUB_HELP, io.stdout);
  if (args === undefined) return 0;
  const settings = await connectionSettings(args, COMMAND);
  const filters = [...(settings.urlTopic !== undefined ? [settings.urlTopic] : []), ...args.values('topic')];
  if (filters.length === 0) throw usageError('no topic filter: give -t filter (or -L URL with a topic)', COMMAND);
  for (const filter of filters) {
    try {
      // [MQTT-4.7.1-2] '#' only last and alone in its level; [MQTT-4.7.1-3] '+' alone in its level.
      validateTopicFilter(filter);
    } catch (err) {
      throw usageError(`invalid topic filter for -t ${quote(filter)}: ${ruleText(err)}`, COMMAND);
    }
  }
  const countText = args.value('count');
  const count = countText === undefined ? undefined : parseIntInRange(countText, '-C', 1, Number.MAX_SAFE_INTEGER, COMMAND);
  const timeoutText = args.value('timeout');
  const timeout = timeoutText === undefined ? undefined : parseIntInRange(timeoutText, '-W', 1, MAX_TIMEOUT_SECONDS, COMMAND);
  const verbose = args.has('verbose');
  const where = targetOf(settings);

  let received = 0;
  let finish: (outcome: CliError | undefined) => void = () => {};
  const done = new Promise<CliError | undefined>((resolve) => (finish = resolve));

  const onMessage = (_topic: string, _payload: Uint8Array, packet: PublishPacket) => {
    if (count !== undefined && received >= count) return; // -C reached: the rest are not printed
    received++;
    const line = formatMessage(packet, verbose);
    if (line) io.stdout.write(line);
    if (count !== undefined && received >= count) finish(undefined);
  };

  // -W counts from the start, connecting included, as mosquitto_sub's does.
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => {
          const got = count === undefined ? '' : ` with ${received} of ${count} messages`;
          finish(new CliError('TIMEOUT', `timed out after ${timeout} s${got} (-W ${timeout})`));
        }, timeout * 1000);
  const onInterrupt = () => finish(undefined);
  io.interrupt.addEventListener('abort', onInterrupt, { once: true });

  try {
    // Ctrl-C or -W while still connecting ends the command too.
    const client = await Promise.race([openClient(settings, io, onMessage), done]);
    if (client === undefined) return 0;
    if (client instanceof CliError) throw client;
    client.on('close', (error) => {
      // The connection dropped without end(): report it (no reconnect in a CLI).
      if (!io.interrupt.aborted) finish(toCliError(error ?? new CliError('CONNECT_FAILED', `connection lost: ${where}`), where));
    });
    try {
      const granted = await Promise.race([client.subscribe(filters.map((topicFilter) => ({ topicFilter, qos: settings.qos }))), done.then(() => undefined)]);
      if (granted !== undefined) {
        const refused = granted.filter((g) => g.refused).map((g) => g.topicFilter);
        // SUBACK 0x80: the server refused that filter (spec 3.9.3).
        for (const filter of refused) writeLine(io.stderr, `Warning: subscription to ${quote(filter)} refused by the server (SUBACK 0x80)`);
        if (refused.length === granted.length) finish(new CliError('SUBSCRIBE_REFUSED', 'every subscription was refused by the server (SUBACK 0x80)'));
      }
      const outcome = await done;
      if (outcome !== undefined) throw outcome;
    } finally {
      client.removeAllListeners('close');
      await client.end({ timeout: 2_000 });
    }
  } catch (err) {
    throw toCliError(err, where);
  } finally {
    clearTimeout(timer);
    io.interrupt.removeEventListener('abort', onInterrupt);
  }
  return 0;
}
