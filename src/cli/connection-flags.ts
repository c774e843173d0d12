/**
 * The flags `pub` and `sub` share — where to connect and how to CONNECT — parsed into one plain
 * {@link ConnectionSettings} value. Spelled as mosquitto_pub/mosquitto_sub spell them.
 */
import type { QoS } from '../codec/index.js';
import { validateTopicName } from '../codec/index.js';
import { parseIntInRange, usageError, type OptionSpec, type ParsedArgs } from './args.js';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { CliError, quote } from './errors.js';
import { readFileOrFail } from './io.js';

/** Certificates and keys are small; anything bigger than this is not one. */
const MAX_PEM_BYTES = 1024 * 1024;

const MQTT5 = 'MQTT 5 property, not in 3.1.1';
const ENGINE = 'OpenSSL engines are not reachable through Node\'s TLS API';

/** Options common to `pub` and `sub`: every connection flag of mosquitto_pub/sub 2.0.11. */
export const CONNECTION_OPTIONS: readonly OptionSpec[] = [
  { name: 'host', kind: 'value', short: 'h', long: 'host' },
  { name: 'port', kind: 'value', short: 'p', long: 'port' },
  { name: 'unix', kind: 'value', long: 'unix' },
  { name: 'url', kind: 'value', short: 'L', long: 'url' },
  { name: 'bind', kind: 'value', short: 'A' },
  { name: 'nodelay', kind: 'flag', long: 'nodelay' },
  { name: 'id', kind: 'value', short: 'i', long: 'id' },
  { name: 'id-prefix', kind: 'value', short: 'I', long: 'id-prefix' },
  { name: 'persistent', kind: 'flag', short: 'c', long: 'disable-clean-session' },
  { name: 'keepalive', kind: 'value', short: 'k', long: 'keepalive' },
  { name: 'username', kind: 'value', short: 'u', long: 'username' },
  { name: 'password', kind: 'value', short: 'P', long: 'pw', bytes: true },
  { name: 'qos', kind: 'value', short: 'q', long: 'qos' },
  { name: 'debug', kind: 'flag', short: 'd', long: 'debug' },
  { name: 'quiet', kind: 'flag', long: 'quiet' },
  { name: 'version', kind: 'value', short: 'V', long: 'protocol-version' },
  { name: 'will-topic', kind: 'value', long: 'will-topic' },
  { name: 'will-payload', kind: 'value', long: 'will-payload', bytes: true },
  { name: 'will-qos', kind: 'value', long: 'will-qos' },
  { name: 'will-retain', kind: 'flag', long: 'will-retain' },
  { name: 'cafile', kind: 'value', long: 'cafile' },
  { name: 'capath', kind: 'value', long: 'capath' },
  { name: 'cert', kind: 'value', long: 'cert' },
  { name: 'key', kind: 'value', long: 'key' },
  { name: 'ciphers', kind: 'value', long: 'ciphers' },
  { name: 'tls-version', kind: 'value', long: 'tls-version' },
  { name: 'tls-alpn', kind: 'value', long: 'tls-alpn' },
  { name: 'tls-use-os-certs', kind: 'flag', long: 'tls-use-os-certs' },
  { name: 'insecure', kind: 'flag', long: 'insecure' },
  { name: 'psk', kind: 'value', long: 'psk' },
  { name: 'psk-identity', kind: 'value', long: 'psk-identity' },
  { name: 'help', kind: 'flag', long: 'help' },
  { name: 'proxy', kind: 'value', long: 'proxy', refused: 'SOCKS5 proxies are not implemented; tunnel the port instead (e.g. ssh -L)' },
  { name: 'keyform', kind: 'value', long: 'keyform', refused: ENGINE },
  { name: 'tls-engine', kind: 'value', long: 'tls-engine', refused: ENGINE },
  { name: 'tls-engine-kpass-sha1', kind: 'value', long: 'tls-engine-kpass-sha1', refused: ENGINE },
  { name: 'session-expiry', kind: 'value', short: 'x', refused: MQTT5 },
  { name: 'property', kind: 'value', short: 'D', long: 'property', refused: MQTT5 },
];

/** The `--tls-version` names mosquitto takes, as Node's TLS version names. */
const TLS_VERSIONS: Readonly<Record<string, 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1'>> = { 'tlsv1.3': 'TLSv1.3', 'tlsv1.2': 'TLSv1.2', 'tlsv1.1': 'TLSv1.1' };

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
  /** PEM bytes of --cafile, the files of --capath and (--tls-use-os-certs) the OS's CAs. */
  ca?: Array<Buffer | string>;
  cert?: Buffer;
  key?: Buffer;
  /** False with --insecure. */
  rejectUnauthorized: boolean;
  /** -d: print packets. */
  debug: boolean;
  /** --quiet: print no error messages. */
  quiet: boolean;
  /** -V: 4 for MQTT 3.1.1, 3 for MQTT 3.1. */
  protocolVersion: 3 | 4;
  /** --unix: a Unix domain socket path instead of host and port. */
  unix?: string;
  /** pub -M: QoS 1/2 messages in flight at once (the client's default when absent). */
  maxInflight?: number;
  /** -A: the local address to bind to. */
  bind?: string;
  /** More TLS settings: --ciphers, --tls-version, --tls-alpn, --psk. */
  ciphers?: string;
  tlsVersion?: 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1';
  alpn?: string;
  psk?: { key: Buffer; identity: string };
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
  const [, scheme, user, pass, host = '', port, topic = ''] = m; // the pattern always captures host and topic
  const url: ParsedUrl = { tls: scheme === 'mqtts', host: host.replace(/^\[|\]$/g, ''), topic };
  if (port !== undefined) url.port = parseIntInRange(port, 'the port in -L', 1, 65535, command);
  if (user !== undefined && user !== '') url.username = decodeURIComponent(user);
  if (pass !== undefined) url.password = decodeURIComponent(pass);
  return url;
}

/** Parses `-q` / `--will-qos`. */
export function parseQos(text: string, what: string, command: string): QoS {
  return parseIntInRange(text, what, 0, 2, command) as QoS; // parseIntInRange checked 0..2
}

/**
 * Reads the shared flags into {@link ConnectionSettings}, reading certificate files.
 * @param command "mqtt311 pub" or "mqtt311 sub", for messages and the default client id.
 * @throws CliError `USAGE` for inconsistent flags, `IO` for unreadable files.
 */
export async function connectionSettings(args: ParsedArgs, command: string): Promise<ConnectionSettings> {
  const protocolVersion = parseVersion(args.value('version'), command);
  const urlText = args.value('url');
  const url = urlText === undefined ? undefined : parseBrokerUrl(urlText, command);
  const hasTlsFiles = ['cafile', 'capath', 'cert', 'key', 'tls-use-os-certs', 'psk'].some((name) => args.has(name));
  const tls = (url?.tls ?? false) || hasTlsFiles;
  const portText = args.value('port');
  const port = portText !== undefined ? parseIntInRange(portText, '-p', 1, 65535, command) : url?.port ?? (tls ? 8883 : 1883);
  const host = args.value('host') ?? url?.host ?? 'localhost';
  const cleanSession = !args.has('persistent');
  const clientId = clientIdOf(args, protocolVersion, command);
  // [MQTT-3.1.3-7] a zero-byte ClientId requires CleanSession 1; -c also wants an id of the user's own.
  if (!cleanSession && clientId === '') throw usageError('-c (persistent session) needs a client id (-i or -I)', command);
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
    quiet: args.has('quiet'),
    protocolVersion,
  };
  if (username !== undefined) settings.username = username;
  if (password !== undefined) settings.password = password;
  if (url !== undefined) settings.urlTopic = url.topic;
  const will = willSettings(args, command);
  if (will) settings.will = will;
  const unix = args.value('unix');
  if (unix !== undefined) settings.unix = unix;
  const bind = args.value('bind');
  if (bind !== undefined) settings.bind = bind;
  await tlsSettings(args, settings, command);
  return settings;
}

/** -V: mqttv311/311 (the default) or mqttv31/31; MQTT 5 is refused. */
function parseVersion(version: string | undefined, command: string): 3 | 4 {
  if (version === undefined || version === 'mqttv311' || version === '311') return 4;
  if (version === 'mqttv31' || version === '31') return 3;
  if (version === 'mqttv5' || version === '5') throw usageError('-V mqttv5: MQTT 5 is not supported (use mqttv311 or mqttv31)', command);
  throw usageError(`-V must be mqttv311 or mqttv31, got ${quote(version)}`, command);
}

/**
 * The client id as mosquitto picks it: -i as given, -I prefix plus the process id, else empty
 * (the server assigns one) for MQTT 3.1.1 and "mosq-" plus random characters for MQTT 3.1,
 * whose servers refuse an empty id.
 */
function clientIdOf(args: ParsedArgs, protocolVersion: 3 | 4, command: string): string {
  const id = args.value('id');
  const prefix = args.value('id-prefix');
  if (id !== undefined && prefix !== undefined) throw usageError('-i and -I cannot be used together', command);
  if (id !== undefined) return id;
  if (prefix !== undefined) return `${prefix}${process.pid}`;
  if (protocolVersion === 4) return '';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return `mosq-${Array.from(randomBytes(18), (b) => alphabet[b % alphabet.length]).join('')}`;
}

/** --cafile, --capath, --tls-use-os-certs, --cert/--key, --ciphers, --tls-version, --tls-alpn, --psk. */
async function tlsSettings(args: ParsedArgs, settings: ConnectionSettings, command: string): Promise<void> {
  const ca: Array<Buffer | string> = [];
  const cafile = args.value('cafile');
  if (cafile !== undefined) ca.push(await readFileOrFail(cafile, '--cafile', MAX_PEM_BYTES));
  const capath = args.value('capath');
  if (capath !== undefined) ca.push(...(await readCaDirectory(capath)));
  if (args.has('tls-use-os-certs')) ca.push(...rootCertificates);
  if (ca.length > 0) settings.ca = ca;
  const cert = args.value('cert');
  if (cert !== undefined) settings.cert = await readFileOrFail(cert, '--cert', MAX_PEM_BYTES);
  const key = args.value('key');
  if (key !== undefined) settings.key = await readFileOrFail(key, '--key', MAX_PEM_BYTES);
  const ciphers = args.value('ciphers');
  if (ciphers !== undefined) settings.ciphers = ciphers;
  const version = args.value('tls-version');
  if (version !== undefined) {
    const known = TLS_VERSIONS[version];
    if (!known) throw usageError(`--tls-version must be tlsv1.3, tlsv1.2 or tlsv1.1, got ${quote(version)}`, command);
    settings.tlsVersion = known;
  }
  const alpn = args.value('tls-alpn');
  if (alpn !== undefined) settings.alpn = alpn;
  const psk = args.value('psk');
  const identity = args.value('psk-identity');
  if (psk === undefined && identity !== undefined) throw usageError('--psk-identity needs --psk', command);
  if (psk !== undefined) {
    if (identity === undefined) throw usageError('--psk needs --psk-identity', command);
    if (cafile !== undefined || capath !== undefined) throw usageError('only one of --psk or --cafile/--capath may be used at once', command);
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(psk)) throw usageError(`--psk must be hexadecimal bytes without 0x, got ${quote(psk)}`, command);
    settings.psk = { key: Buffer.from(psk, 'hex'), identity };
  }
}

/** Every certificate file in a --capath directory (OpenSSL's hashed names or any *.pem / *.crt). */
async function readCaDirectory(dir: string): Promise<Buffer[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new CliError('IO', `cannot read --capath ${dir}: ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
  }
  const files: Buffer[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile() || info.size > MAX_PEM_BYTES) continue;
    const bytes = await readFileOrFail(path, '--capath file', MAX_PEM_BYTES);
    if (bytes.includes('-----BEGIN CERTIFICATE-----')) files.push(bytes);
  }
  if (files.length === 0) throw new CliError('IO', `--capath ${dir} holds no PEM certificate`);
  return files;
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
  const e = err as { code?: string; rule?: string; message?: string }; // reads optional fields; each is checked before use
  if (typeof e.code !== 'string') return String(e.message ?? err);
  return e.rule ? `${e.code} [${e.rule}]` : e.code;
}
