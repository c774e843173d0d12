/**
 * `mqtt311 pub`: connect, publish, disconnect — with mosquitto_pub's flags.
 *
 * The message comes from exactly one of `-m`, `-f`, `-s` (all of stdin), `-l` (one message per
 * line of stdin, sent as the lines arrive) or `-n` (empty). The command exits 0 once every
 * message has completed its QoS flow (written for QoS 0, PUBACK for 1, PUBCOMP for 2) and
 * DISCONNECT was sent.
 */
import type { MqttClient } from '../client/index.js';
import { MAX_REMAINING_LENGTH } from '../codec/index.js';
import { parseCommandLine, usageError, type OptionSpec, type ParsedArgs } from './args.js';
import { checkTopicName, CONNECTION_OPTIONS, connectionSettings, type ConnectionSettings } from './connection-flags.js';
import { toCliError } from './errors.js';
import { PUB_HELP } from './help.js';
import { readAll, readFileOrFail, readLines, type CliIo } from './io.js';
import { openClient, targetOf } from './open-client.js';

const COMMAND = 'mqtt311 pub';

const OPTIONS: readonly OptionSpec[] = [
  ...CONNECTION_OPTIONS,
  { name: 'topic', kind: 'value', short: 't', long: 'topic' },
  { name: 'message', kind: 'value', short: 'm', long: 'message' },
  { name: 'file', kind: 'value', short: 'f', long: 'file' },
  { name: 'stdin-line', kind: 'flag', short: 'l', long: 'stdin-line' },
  { name: 'null-message', kind: 'flag', short: 'n', long: 'null-message' },
  { name: 'stdin-file', kind: 'flag', short: 's', long: 'stdin-file' },
  { name: 'retain', kind: 'flag', short: 'r', long: 'retain' },
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
  if (given.length === 0) throw usageError('no message: give -m message, -f file, -s, -l or -n', COMMAND);
  if (given.length > 1) {
    const flags = given.map((name) => args.typed(name, name));
    throw usageError(`only one message source at a time, got ${flags.join(' and ')}`, COMMAND);
  }
  switch (given[0]) {
    case 'message':
      return { kind: 'bytes', payload: Buffer.from(args.value('message') ?? '') };
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
  let failure: unknown;
  for await (const line of readLines(io.stdin, MAX_PAYLOAD_BYTES, io.interrupt)) {
    if (failure !== undefined || io.interrupt.aborted) break;
    const p = client.publish(topic, line, { qos: settings.qos, retain }).then(
      () => void pending.delete(p),
      (err: unknown) => {
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

/** Runs `mqtt311 pub`. */
export async function runPub(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandLine(argv, OPTIONS, COMMAND, PUB_HELP, io.stdout);
  if (args === undefined) return 0;
  const settings = await connectionSettings(args, COMMAND);
  const topic = args.value('topic') ?? settings.urlTopic;
  if (topic === undefined) throw usageError('no topic: give -t topic (or -L URL with a topic)', COMMAND);
  // [MQTT-4.7.1-1] a topic name has no wildcards; [MQTT-4.7.3-1] it is at least one character.
  checkTopicName(topic, '-t', COMMAND);
  const retain = args.has('retain');
  // Read the message before connecting, so an unreadable file never opens a connection.
  const source = await messageSource(args, io);

  const client = await openClient(settings, io);
  try {
    if (source.kind === 'bytes') await client.publish(topic, source.payload, { qos: settings.qos, retain });
    else await publishLines(client, topic, settings, retain, io);
  } catch (err) {
    client.destroy();
    throw toCliError(err, targetOf(settings));
  }
  await client.end();
  return 0;
}
