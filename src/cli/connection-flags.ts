/**
 * The flags `pub` and `sub` share — where to connect and how to CONNECT — parsed into one plain
 * {@link ConnectionSettings} value. Spelled as mosquitto_pub/mosquitto_sub spell them.
 */
import type { QoS } from '../codec/index.js';
import { validateTopicName } from '../codec/index.js';
import { parseIntInRange, usageError, type OptionSpec, type ParsedArgs } from './args.js';
import { quote } from './errors.js';
import { readFileOrFail } from './io.js';

/** Certificates and keys are small; anything bigger than this is not one. */
const MAX_PEM_BYTES = 1024 * 1024;

/** Options common to `pub` and `sub`. */
export const CONNECTION_OPTIONS: readonly OptionSpec[] = [
  { name: 'host', kind: 'value', short: 'h', long: 'host' },
  { name: 'port', kind: 'value', short: 'p', long: 'port' },
  { name: 'url', kind: 'value', short: 'L', long: 'url' },
  { name: 'id', kind: 'value', short: 'i', long: 'id' },
  { name: 'persistent', kind: 'flag', short: 'c', long: 'disable-clean-session' },
  { name: 'keepalive', kind: 'value', short: 'k', long: 'keepalive' },
  { name: 'username', kind: 'value', short: 'u', long: 'username' },
  { name: 'password', kind: 'value', short: 'P', long: 'pw' },
  { name: 'qos', kind: 'value', short: 'q', long: 'qos' },
  { name: 'debug', kind: 'flag', short: 'd', long: 'debug' },
  { name: 'version', kind: 'value', short: 'V', long: 'protocol-version' },
  { name: 'will-topic', kind: 'value', long: 'will-topic' },
  { name: 'will-payload', kind: 'value', long: 'will-payload' },
  { name: 'will-qos', kind: 'value', long: 'will-qos' },
  { name: 'will-retain', kind: 'flag', long: 'will-retain' },
  { name: 'cafile', kind: 'value', long: 'cafile' },
  { name: 'cert', kind: 'value', long: 'cert' },
  { name: 'key', kind: 'value', long: 'key' },
  { name: 'insecure', kind: 'flag', long: 'insecure' },
  { name: 'help', kind: 'flag', long: 'help' },
];

/** Everything needed to open the connection and send CONNECT. */
export interface ConnectionSettings {
  host: string;
  port: number;
  /** TLS (mqtts) rather than plain TCP. */
  tls: boolean;
  clientId: string;
  cleanSession: boolean;
  /** Seconds; 0 turns keep-alive off (spec 3.1.2.10). */
  keepAlive: number;
  username?: string;
  password?: string;
  will?: { topic: string; payload: Buffer; qos: QoS; retain: boolean };
  /** The QoS of `-q`: of the published message (pub) or the subscriptions (sub). */
  qos: QoS;
  /** PEM bytes of --cafile, --cert, --key. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** False with --insecure. */
  rejectUnauthorized: boolean;
  /** -d: print packets. */
  debug: boolean;
  /** The topic part of -L, if any. */
  urlTopic?: string;
}

/** What `-L` holds: mqtt(s)://[user[:password]@]host[:port]/topic. */
interface ParsedUrl {
  tls: boolean;
  host: string;
  port?: number;
  username?: string;
  password?: string;
  topic: string;
}

/**
 * Parses a `-L` URL. The topic is everything after the first "/" after the host, taken
 * literally, so filters such as `a/+/#` work (a generic URL parser would treat `#` as a fragment).
 */
export function parseBrokerUrl(text: string, command: string): ParsedUrl {
  const m = /^(mqtts?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?(\[[^\]]+\]|[^:/[\]]+)(?::(\d+))?\/(.*)$/s.exec(text);
  if (!m) throw usageError(`-L must look like mqtt://[user[:password]@]host[:port]/topic, got ${quote(text)}`, command);
  const [, scheme, user, pass, host, port, topic] = m;
  const url: ParsedUrl = { tls: scheme === 'mqtts', host: host.replace(/^\[|\]$/g, ''), topic };
  if (port !== undefined) url.port = parseIntInRange(port, 'the port in -L', 1, 65535, command);
  if (user !== undefined && user !== '') url.username = decodeURIComponent(user);
  if (pass !== undefined) url.password = decodeURIComponent(pass);
  return url;
}

/** Parses `-q` / `--will-qos`. */
export function parseQos(text: string, what: string, command: string): QoS {
  return parseIntInRange(text, what, 0, 2, command) as QoS;
}

/**
 * Reads the shared flags into {@link ConnectionSettings}, reading certificate files.
 * @param command "mqtt311 pub" or "mqtt311 sub", for messages and the default client id.
 * @throws CliError `USAGE` for inconsistent flags, `IO` for unreadable files.
 */
export async function connectionSettings(args: ParsedArgs, command: string): Promise<ConnectionSettings> {
  const version = args.value('version');
  if (version !== undefined && version !== 'mqttv311' && version !== '311') {
    throw usageError(`only MQTT 3.1.1 is supported (-V mqttv311), got ${quote(version)}`, command);
  }
  const urlText = args.value('url');
  const url = urlText === undefined ? undefined : parseBrokerUrl(urlText, command);
  const hasTlsFiles = args.has('cafile') || args.has('cert') || args.has('key');
  const tls = (url?.tls ?? false) || hasTlsFiles;
  const portText = args.value('port');
  const port = portText !== undefined ? parseIntInRange(portText, '-p', 1, 65535, command) : url?.port ?? (tls ? 8883 : 1883);
  const host = args.value('host') ?? url?.host ?? 'localhost';
  const cleanSession = !args.has('persistent');
  const idText = args.value('id');
  const clientId = idText ?? `${command.replace(/ /g, '-')}-${process.pid}`;
  // [MQTT-3.1.3-7] a zero-byte ClientId requires CleanSession 1; -c also wants an id of the user's own.
  if (!cleanSession && !idText) throw usageError('-c (persistent session) needs a client id (-i)', command);
  const keepAlive = parseIntInRange(args.value('keepalive') ?? '60', '-k', 0, 65535, command);
  const qos = parseQos(args.value('qos') ?? '0', '-q', command);
  const username = args.value('username') ?? url?.username;
  const password = args.value('password') ?? url?.password;
  // [MQTT-3.1.2-22] a password may only be sent together with a user name.
  if (password !== undefined && username === undefined) throw usageError('-P (password) needs -u (user name)', command);
  if (args.has('cert') !== args.has('key')) throw usageError('--cert and --key must be given together', command);

  const settings: ConnectionSettings = {
    host,
    port,
    tls,
    clientId,
    cleanSession,
    keepAlive,
    qos,
    rejectUnauthorized: !args.has('insecure'),
    debug: args.has('debug'),
  };
  if (username !== undefined) settings.username = username;
  if (password !== undefined) settings.password = password;
  if (url !== undefined) settings.urlTopic = url.topic;
  const will = willSettings(args, command);
  if (will) settings.will = will;
  const cafile = args.value('cafile');
  if (cafile !== undefined) settings.ca = await readFileOrFail(cafile, '--cafile', MAX_PEM_BYTES);
  const cert = args.value('cert');
  if (cert !== undefined) settings.cert = await readFileOrFail(cert, '--cert', MAX_PEM_BYTES);
  const key = args.value('key');
  if (key !== undefined) settings.key = await readFileOrFail(key, '--key', MAX_PEM_BYTES);
  return settings;
}

function willSettings(args: ParsedArgs, command: string): ConnectionSettings['will'] {
  const topic = args.value('will-topic');
  if (topic === undefined) {
    for (const name of ['will-payload', 'will-qos', 'will-retain']) {
      if (args.has(name)) throw usageError(`--${name} needs --will-topic`, command);
    }
    return undefined;
  }
  checkTopicName(topic, '--will-topic', command);
  return {
    topic,
    payload: Buffer.from(args.value('will-payload') ?? ''),
    qos: parseQos(args.value('will-qos') ?? '0', '--will-qos', command),
    retain: args.has('will-retain'),
  };
}

/**
 * Checks a topic name the way the codec will, but reports it as a usage error naming the flag
 * and the spec rule (e.g. [MQTT-4.7.1-1]: no wildcards in a topic name).
 */
export function checkTopicName(topic: string, what: string, command: string): void {
  try {
    validateTopicName(topic);
  } catch (err) {
    throw usageError(`invalid topic name for ${what} ${quote(topic)}: ${ruleText(err)}`, command);
  }
}

/** "CODE [rule]" of a codec error, for usage messages. */
export function ruleText(err: unknown): string {
  const e = err as { code?: string; rule?: string; message?: string };
  if (typeof e.code !== 'string') return String(e.message ?? err);
  return e.rule ? `${e.code} [${e.rule}]` : e.code;
}
