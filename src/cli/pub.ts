/**
 * `mqtt311 pub`: connect, publish, disconnect — with mosquitto_pub's flags.
 *
 * The message comes from exactly one of `-m`, `-f`, `-s` (all of stdin), `-l` (one message per
 * line of stdin, sent as the lines arrive) or `-n` (empty); `--repeat N` sends it N times,
 * `--repeat-delay s` apart. The command exits 0 once every message has completed its QoS flow
 * (written for QoS 0, PUBACK for 1, PUBCOMP for 2) and DISCONNECT was sent. With `-l` and `-s`
 * it survives a lost broker: the client reconnects and resends what was not acknowledged, so no
 * line is lost at QoS 1 or 2.
 */
import type { MqttClient } from '../client/index.js';
import { MAX_REMAINING_LENGTH } from '../codec/index.js';
import { parseCommandLine, parseIntInRange, usageError, type OptionSpec, type ParsedArgs } from './args.js';
import { checkTopicName, CONNECTION_OPTIONS, connectionSettings, type ConnectionSettings } from './connection-flags.js';
import { quote, toCliError } from './errors.js';
import { PUB_HELP } from './help.js';
import { readAll, readFileOrFail, readLines, type CliIo } from './io.js';
import { CLI_RECONNECT, openClient, targetOf } from './open-client.js';
import { readOptionsFile } from './options-file.js';

const COMMAND = 'mqtt311 pub';

const OPTIONS: readonly OptionSpec[] = [
  ...CONNECTION_OPTIONS,
  { name: 'topic', kind: 'value', short: 't', long: 'topic' },
  { name: 'message', kind: 'value', short: 'm', long: 'message', bytes: true },
  { name: 'file', kind: 'value', short: 'f', long: 'file' },
  { name: 'stdin-line', kind: 'flag', short: 'l', long: 'stdin-line' },
  { name: 'null-message', kind: 'flag', short: 'n', long: 'null-message' },
  { name: 'stdin-file', kind: 'flag', short: 's', long: 'stdin-file' },
  { name: 'retain', kind: 'flag', short: 'r', long: 'retain' },
  { name: 'repeat', kind: 'value', long: 'repeat' },
  { name: 'repeat-delay', kind: 'value', long: 'repeat-delay' },
  { name: 'max-inflight', kind: 'value', short: 'M' },
];

/** Where the payload comes from. */
type Source =
  | { kind: 'bytes'; payload: Uint8Array }
  | { kind: 'lines' };

/**
 * The largest payload one PUBLISH can carry: the maximum remaining length (spec 2.2.3) less the
 * shortest variable header (a one-byte topic: 2 + 1 bytes, plus 2 for a packet identifier).
 */
const MAX_PAYLOAD_BYTES = MAX_REMAINING_LENGTH - 5;

/** QoS 1/2 publishes in flight at once with -l, so a long input never queues without bound. */
const LINE_WINDOW = 64;

async function messageSource(args: ParsedArgs, io: CliIo): Promise<Source> {
  const given = (['message', 'file', 'stdin-line', 'null-message', 'stdin-file'] as const).filter((name) => args.has(name));
  const [source, ...others] = given;
  if (source === undefined) throw usageError('no message: give -m message, -f file, -s, -l or -n', COMMAND);
  if (others.length > 0) {
    const flags = given.map((name) => args.typed(name, name));
    throw usageError(`only one message source at a time, got ${flags.join(' and ')}`, COMMAND);
  }
  switch (source) {
    case 'message': {
      // Node decodes argv as UTF-8: where the bytes typed cannot be read, a U+FFFD may stand for
      // bytes that were not UTF-8, and sending it would silently change the message.
      if (!args.hasRaw('message') && args.value('message')?.includes('\uFFFD')) {
        throw usageError('-m holds U+FFFD, perhaps for bytes that are not UTF-8; use -f file or -s to send bytes exactly', COMMAND);
      }
      return { kind: 'bytes', payload: args.bytes('message') ?? Buffer.alloc(0) };
    }
    case 'file':
      return { kind: 'bytes', payload: await readFileOrFail(args.value('file') ?? '', '-f file', MAX_PAYLOAD_BYTES) };
    case 'stdin-file':
      return { kind: 'bytes', payload: await readAll(io.stdin, MAX_PAYLOAD_BYTES, io.interrupt) };
    case 'null-message':
      return { kind: 'bytes', payload: new Uint8Array(0) };
    case 'stdin-line':
      return { kind: 'lines' };
  }
}

/** Publishes each line of stdin as it arrives, keeping at most LINE_WINDOW publishes pending. */
async function publishLines(client: MqttClient, topic: string, settings: ConnectionSettings, retain: boolean, io: CliIo): Promise<void> {
  const pending = new Set<Promise<void>>();
  let failure: Error | undefined;
  for await (const line of readLines(io.stdin, MAX_PAYLOAD_BYTES, io.interrupt)) {
    if (failure !== undefined || io.interrupt.aborted) break;
    const p = client.publish(topic, line, { qos: settings.qos, retain }).then(
      () => void pending.delete(p),
      (err: Error) => {
        pending.delete(p);
        failure ??= err;
      },
    );
    pending.add(p);
    if (pending.size >= LINE_WINDOW) await Promise.race(pending);
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
}

/** --repeat and --repeat-delay (seconds, fractions allowed). */
function repeatOf(args: ParsedArgs, source: Source): { times: number; delayMs: number } {
  const times = parseIntInRange(args.value('repeat') ?? '1', '--repeat', 1, 2 ** 31 - 1, COMMAND);
  const delayText = args.value('repeat-delay') ?? '0';
  const delay = Number(delayText);
  if (!/^\d*\.?\d+$|^\d+\.$/.test(delayText) || !(delay >= 0 && delay <= 2_147_483)) throw usageError(`--repeat-delay must be seconds >= 0, got ${quote(delayText)}`, COMMAND);
  if (times > 1 && source.kind === 'lines') throw usageError('--repeat works with -m, -f, -s and -n, not -l', COMMAND);
  return { times, delayMs: Math.round(delay * 1000) };
}

/** Resolves after `ms`, or at once when the command is interrupted. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs `mqtt311 pub`. */
export async function runPub(argv: string[], io: CliIo): Promise<number> {
  const file = await readOptionsFile('mosquitto_pub', OPTIONS, COMMAND);
  const bytes = io.argvBytes && [...file.bytes, ...io.argvBytes];
  const args = parseCommandLine([...file.words, ...argv], OPTIONS, COMMAND, PUB_HELP, io.stdout, false, bytes);
  if (args === undefined) return 0;
  const settings = await connectionSettings(args, COMMAND);
  try {
    return await publish(args, settings, io);
  } catch (err) {
    throw toCliError(err, targetOf(settings)).silenced(settings.quiet);
  }
}

async function publish(args: ParsedArgs, settings: ConnectionSettings, io: CliIo): Promise<number> {
  const inflight = args.value('max-inflight');
  if (inflight !== undefined) settings.maxInflight = parseIntInRange(inflight, '-M', 1, 65535, COMMAND);
  const topic = args.value('topic') ?? settings.urlTopic;
  if (topic === undefined) throw usageError('no topic: give -t topic (or -L URL with a topic)', COMMAND);
  // [MQTT-4.7.1-1] a topic name has no wildcards; [MQTT-4.7.3-1] it is at least one character.
  checkTopicName(topic, '-t', COMMAND);
  const retain = args.has('retain');
  // Read the message before connecting, so an unreadable file never opens a connection.
  const source = await messageSource(args, io);
  const repeat = repeatOf(args, source);

  // Reading stdin may take long: those modes reconnect rather than lose what is still to send.
  const survives = args.has('stdin-line') || args.has('stdin-file');
  const client = await openClient(settings, io, undefined, survives ? CLI_RECONNECT : false);
  try {
    if (source.kind === 'lines') await publishLines(client, topic, settings, retain, io);
    for (let i = 0; source.kind === 'bytes' && i < repeat.times && !io.interrupt.aborted; i++) {
      if (i > 0 && repeat.delayMs > 0) await pause(repeat.delayMs, io.interrupt);
      await client.publish(topic, source.payload, { qos: settings.qos, retain });
    }
  } catch (err) {
    client.destroy();
    throw toCliError(err, targetOf(settings));
  }
  await client.end();
  return 0;
}
