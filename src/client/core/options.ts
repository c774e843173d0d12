/**
 * Client options: what `connect()` accepts, and how a URL plus options become the settings of
 * one client. Everything invalid is refused here, before any connection is attempted.
 */
import { MQTT31_MAX_CLIENT_ID_BYTES, MqttError, validateTopicName, type ProtocolVersion, type QoS, type Will } from '../../codec/index.js';
import { ClientError } from '../errors.js';
import { checkOptionKeys } from './option-keys.js';
import { getDefaultPort, type TlsOptions, type TransportFactory } from '../transport.js';
import type { ReconnectOptions } from './backoff.js';
import { DEFAULT_WINDOW } from './outbound.js';
import type { SessionOptions } from './session.js';
import type { ClientStore } from './store.js';

/** The will message (spec 3.1.2.5): published by the server if this client vanishes without DISCONNECT. */
export interface WillOptions {
  topic: string;
  payload: string | Uint8Array;
  qos?: QoS;
  retain?: boolean;
}

/** Options of `connect()`. Every field is optional. */
export interface ClientOptions extends TlsOptions {
  /** `'mqtt'` (default) or `'mqtts'`; `'ws'`/`'wss'` once a WebSocket transport is registered. */
  protocol?: string;
  /** Default `'localhost'`. */
  host?: string;
  /** Default 1883 for mqtt, 8883 for mqtts. */
  port?: number;
  /**
   * Servers to fail over between, tried in order on the first connection and on every reconnect
   * (the reconnect backoff applies per full round): `{ host, port?, protocol? }` objects or
   * URLs. Missing fields come from `protocol`/`host`/`port` and the URL. `client.server` says
   * which one is in use.
   */
  servers?: ReadonlyArray<ServerOption | string>;
  /**
   * Default: `mqtt311_` and 16 random hex digits (15 with `protocolVersion: 3`, whose client ids
   * are 1-23 bytes).
   */
  clientId?: string;
  /** Default true: start a new session, discarding any stored one (spec 3.1.2.4). */
  cleanSession?: boolean;
  /** Seconds, 0..65535; default 60; 0 turns keep-alive off. */
  keepAlive?: number;
  username?: string;
  /** Binary in MQTT 3.1.1; a string is sent as UTF-8. Needs `username` [MQTT-3.1.2-22]. */
  password?: string | Uint8Array;
  will?: WillOptions;
  /** Milliseconds to wait for the connection and CONNACK (default 30 000). */
  connectTimeout?: number;
  /** Milliseconds to wait for PINGRESP (default: half of min(keepAlive, 30 s), at least 1 s). */
  pingTimeout?: number;
  /** Reconnect after a lost connection (default on: 1 s doubling to 30 s, with jitter). */
  reconnect?: boolean | ReconnectOptions;
  /** Aborts the first connection attempt. */
  signal?: AbortSignal;
  /** Log one line per packet sent and received (passwords redacted); `true` logs to console.error. */
  logger?: boolean | ((line: string) => void);
  /**
   * QoS 1/2 publishes awaiting acknowledgement at once (default 20); more wait in the queue.
   *
   * Why 20: an MQTT 3.1.1 broker does not say how many it accepts. 20 is mosquitto's default
   * `max_inflight_messages` (and Paho's), the window mosquitto uses towards each subscriber. A
   * publisher with a wider window outruns a subscriber as fast as itself; mosquitto then queues
   * for that subscriber up to `max_queued_messages` (default 1000) and drops the rest — measured:
   * 3000 QoS 1 messages in bursts of 1000 lose about 8% at a default mosquitto with a window that
   * grows to 1000, none with 20 (`test/client/mosquitto.test.ts`). And mosquitto 2.0 answers
   * PUBREC to QoS 2 messages beyond its limit and then discards them.
   *
   * `'auto'` adapts instead: it starts at 20, and each PUBACK that arrives while the window is
   * full widens it by one, up to 1000, back to 20 on every new connection; QoS 2 stays at 20 in
   * flight. It costs less CPU per message and sends more per second when the broker and its
   * subscribers keep up (see the README's client benchmark); use it with a broker whose queues
   * allow it. A number fixes the window for every QoS.
   */
  maxInflight?: number | 'auto';
  /**
   * Operations waiting to be sent (offline, behind a full window, or — QoS 0 — while the transport's
   * buffer is full), default 1000; more are refused with QUEUE_FULL.
   */
  maxQueued?: number;
  /**
   * The largest packet accepted from the server, in bytes (fixed header included); a bigger one
   * closes the connection with the codec's `PACKET_TOO_LARGE` as soon as its length is read,
   * before its body is buffered. Default 64 MiB: generous, because a client must be able to take
   * what it subscribes to, yet a server cannot make it buffer the protocol's 256 MB for one packet.
   */
  maxPacketSize?: number;
  /** Opens the connection; overrides the transport registered for the URL's protocol. */
  transport?: TransportFactory;
  /**
   * 4 (default) speaks MQTT 3.1.1; 3 speaks MQTT 3.1 (CONNECT "MQIsdp" level 3) to a server that
   * only knows that version. The URL scheme stays `mqtt://`. With 3, `sessionPresent` is always
   * false (3.1's CONNACK has no such flag) and a refused subscription is not reported as 0x80
   * (3.1's SUBACK has no failure code).
   */
  protocolVersion?: ProtocolVersion;
  /**
   * Keeps unacknowledged QoS 1/2 flows across restarts (see `ClientStore`): a new process with the
   * same clientId, `cleanSession: false` and the same store resends them. Default: none (memory).
   * The client closes it when it ends.
   */
  store?: ClientStore;
}

/** One entry of `servers`. */
export interface ServerOption {
  host: string;
  port?: number;
  /** `'mqtt'`, `'mqtts'`, `'ws'`, `'wss'`, … (default: the client's protocol). */
  protocol?: string;
}

/** Where one server is: the settled URL, host and port. */
export interface ServerAddress {
  url: URL;
  host: string;
  port: number;
}

/** The settled configuration of one client. */
export interface ResolvedOptions extends ServerAddress {
  /** Every server, in the order they are tried; the first is `url`/`host`/`port`. */
  servers: ServerAddress[];
  /** 4 for MQTT 3.1.1, 3 for MQTT 3.1. */
  protocolVersion: 3 | 4;
  session: SessionOptions;
  reconnect: ReconnectOptions | false;
  tls: TlsOptions;
  transport: TransportFactory | undefined;
  logger: ((line: string) => void) | undefined;
  signal: AbortSignal | undefined;
  /** See `ClientOptions.maxPacketSize`. */
  maxPacketSize: number;
  store: ClientStore | undefined;
}


const FALLBACK_PORTS: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };
const utf8 = new TextEncoder();

function invalid(message: string, rule?: string): ClientError {
  return new ClientError('INVALID_OPTIONS', message, rule ? { rule } : {});
}

/** `mqtt311_` and 16 random hex digits. */
export function generateClientId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return 'mqtt311_' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function toBytes(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? utf8.encode(v) : v;
}

function checkQos(qos: unknown, what: string): QoS {
  if (qos === 0 || qos === 1 || qos === 2) return qos;
  throw new MqttError('INVALID_QOS', `${what}: QoS must be 0, 1 or 2, got ${String(qos)}`, { rule: 'MQTT-3.1.2-14' });
}

function checkCount(n: number | undefined, name: string, fallback: number, min: number): number {
  if (n === undefined) return fallback;
  if (!Number.isInteger(n) || n < min) throw invalid(`${name} must be an integer >= ${min}, got ${n}`);
  return n;
}

/** The option types a wrong value of which would fail later, deep inside (INVALID_OPTIONS now). */
const OPTION_TYPES: ReadonlyArray<[keyof ClientOptions, string]> = [
  ['host', 'string'],
  ['protocol', 'string'],
  ['clientId', 'string'],
  ['username', 'string'],
  ['cleanSession', 'boolean'],
  ['will', 'object'],
];

function checkTypes(o: ClientOptions): void {
  for (const [key, type] of OPTION_TYPES) {
    const v = o[key];
    if (v !== undefined && (typeof v !== type || v === null)) throw invalid(`${key} must be a ${type}, got ${v === null ? 'null' : typeof v}`);
  }
  const bytesOrString = (v: unknown) => v === undefined || typeof v === 'string' || v instanceof Uint8Array;
  if (!bytesOrString(o.password)) throw invalid(`password must be a string or Uint8Array, got ${typeof o.password}`);
  if (o.will && !bytesOrString(o.will.payload)) throw invalid(`will.payload must be a string or Uint8Array, got ${typeof o.will.payload}`);
  if (o.will && o.will.retain !== undefined && typeof o.will.retain !== 'boolean') throw invalid(`will.retain must be a boolean, got ${typeof o.will.retain}`);
}

/**
 * Combines a URL (`mqtt://user:pass@host:port`) and options; options win over the URL.
 * Throws `ClientError` `INVALID_OPTIONS`, or the codec's `MqttError` for an invalid will topic.
 */
export function resolveOptions(target: string | URL | ClientOptions | undefined, extra: ClientOptions = {}): ResolvedOptions {
  if (target === null || (target !== undefined && typeof target !== 'string' && typeof target !== 'object')) {
    throw invalid(`connect needs a URL string, a URL or an options object, got ${target === null ? 'null' : typeof target}`);
  }
  if (extra === null || typeof extra !== 'object') throw invalid(`options must be an object, got ${extra === null ? 'null' : typeof extra}`);
  const base: ClientOptions = typeof target === 'object' && !(target instanceof URL) ? target : {};
  checkOptionKeys(base);
  checkOptionKeys(extra);
  const o: ClientOptions = { ...base, ...extra };
  checkTypes(o);
  const url = parseUrl(typeof target === 'string' || target instanceof URL ? String(target) : 'mqtt://localhost');
  const username = o.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = o.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const servers = o.servers === undefined ? [serverAddress(url, o)] : resolveServers(o.servers, url, o);

  if (password !== undefined && username === undefined) {
    throw invalid('a password needs a user name in MQTT 3.1.1', 'MQTT-3.1.2-22');
  }
  const cleanSession = o.cleanSession ?? true;
  const protocolVersion = o.protocolVersion ?? 4;
  if (protocolVersion !== 3 && protocolVersion !== 4) {
    throw invalid(`protocolVersion must be 4 (MQTT 3.1.1) or 3 (MQTT 3.1), got ${String(protocolVersion)}${protocolVersion === 5 ? ': MQTT 5 is not supported' : ''}`);
  }
  const clientId = o.clientId ?? (protocolVersion === 3 ? generateClientId().slice(0, MQTT31_MAX_CLIENT_ID_BYTES) : generateClientId());
  if (clientId === '' && !cleanSession) {
    throw invalid('an empty clientId needs cleanSession true', 'MQTT-3.1.3-7');
  }
  const idBytes = utf8.encode(clientId).length;
  if (protocolVersion === 3 && (idBytes === 0 || idBytes > MQTT31_MAX_CLIENT_ID_BYTES)) {
    throw invalid(`an MQTT 3.1 clientId is 1-${MQTT31_MAX_CLIENT_ID_BYTES} bytes, got ${idBytes}`);
  }
  const keepAlive = o.keepAlive ?? 60;
  if (!Number.isInteger(keepAlive) || keepAlive < 0 || keepAlive > 65535) throw invalid(`keepAlive must be 0..65535 seconds, got ${keepAlive}`);

  const session: SessionOptions = {
    clientId,
    cleanSession,
    keepAlive,
    protocolVersion,
    maxQueued: checkCount(o.maxQueued, 'maxQueued', 1000, 0),
    connectTimeout: checkCount(o.connectTimeout, 'connectTimeout', 30_000, 0),
  };
  if (o.maxInflight === 'auto') session.maxInflight = 'auto';
  else session.maxInflight = Math.min(65535, checkCount(o.maxInflight, 'maxInflight', DEFAULT_WINDOW, 1));
  if (o.pingTimeout !== undefined) session.pingTimeout = checkCount(o.pingTimeout, 'pingTimeout', 0, 1);
  if (username !== undefined) session.username = username;
  if (password !== undefined) session.password = toBytes(password);
  if (o.will) {
    validateTopicName(o.will.topic);
    const will: Will = { topic: o.will.topic, payload: toBytes(o.will.payload), qos: checkQos(o.will.qos ?? 0, 'will'), retain: o.will.retain ?? false };
    session.will = will;
  }

  const tls: TlsOptions = {};
  for (const k of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const) {
    if (o[k] !== undefined) (tls as Record<string, unknown>)[k] = o[k]; // k is one of TlsOptions' keys
  }
  const logger = o.logger === true ? (line: string) => console.error(line) : o.logger || undefined;
  const reconnect = o.reconnect === false ? false : o.reconnect === true || o.reconnect === undefined ? {} : o.reconnect;
  // 2 bytes is the smallest packet; 268,435,460 the largest the protocol can frame (spec 2.2.3).
  const maxPacketSize = checkCount(o.maxPacketSize, 'maxPacketSize', 64 * 1024 * 1024, 2);
  if (maxPacketSize > 268_435_460) throw invalid(`maxPacketSize must be at most 268435460, got ${maxPacketSize}`);
  const first = servers[0];
  if (first === undefined) throw invalid('servers must be a non-empty array of { host, port?, protocol? } or URLs');
  const { url: firstUrl, host, port } = first;
  return { url: firstUrl, host, port, servers, protocolVersion, session, reconnect, tls, transport: o.transport, logger, signal: o.signal, maxPacketSize, store: o.store };
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch (cause) {
    throw new ClientError('INVALID_OPTIONS', `not a URL: ${text}`, { cause });
  }
}

/** The server `url` names, with `protocol`, `host` and `port` of `o` winning over it. */
function serverAddress(url: URL, o: { [K in 'protocol' | 'host' | 'port']?: ClientOptions[K] | undefined }): ServerAddress {
  const protocol = o.protocol ? (o.protocol.endsWith(':') ? o.protocol : `${o.protocol}:`) : url.protocol;
  // IPv6 literals keep their brackets in URL.hostname.
  const host = o.host ?? (url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost');
  const port = o.port ?? (url.port ? Number(url.port) : (getDefaultPort(protocol) ?? FALLBACK_PORTS[protocol]));
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`no valid port for ${url.href}`);
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return { url: new URL(`${protocol}//${hostInUrl}:${port}${url.pathname}${url.search}`), host, port };
}

/** `servers` settled: each entry's own fields first, then the client's protocol and the URL's path. */
function resolveServers(list: ReadonlyArray<ServerOption | string>, url: URL, o: ClientOptions): ServerAddress[] {
  const given: unknown = list; // checked as unknown: Array.isArray would make `list` any[]
  if (!Array.isArray(given) || given.length === 0) throw invalid('servers must be a non-empty array of { host, port?, protocol? } or URLs');
  return list.map((entry, i) => {
    if (typeof entry === 'string') return serverAddress(parseUrl(entry), {});
    if (typeof entry !== 'object' || entry === null || typeof entry.host !== 'string' || entry.host === '') {
      throw invalid(`servers[${i}] needs a host`);
    }
    checkServerKeys(entry, i);
    return serverAddress(url, { protocol: entry.protocol ?? o.protocol, host: entry.host, port: entry.port });
  });
}

function checkServerKeys(entry: object, i: number): void {
  for (const key of Object.keys(entry)) {
    if (key !== 'host' && key !== 'port' && key !== 'protocol') throw invalid(`unknown option servers[${i}].${key}`);
  }
}
