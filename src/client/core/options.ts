/**
 * Client options: what `connect()` accepts, and how a URL plus options become the settings of
 * one client. Everything invalid is refused here, before any connection is attempted.
 */
import { MqttError, validateTopicName, type QoS, type Will } from '../../codec/index.js';
import { ClientError } from '../errors.js';
import { getDefaultPort, type TlsOptions, type TransportFactory } from '../transport.js';
import type { ReconnectOptions } from './backoff.js';
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
  /** Default: `mqtt311_` and 16 random hex digits. */
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
   * Raise it only for a broker known to accept more: mosquitto 2.0 (`max_inflight_messages`,
   * default 20) answers PUBREC to QoS 2 messages beyond its limit and then discards them.
   */
  maxInflight?: number;
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
   * Keeps unacknowledged QoS 1/2 flows across restarts (see `ClientStore`): a new process with the
   * same clientId, `cleanSession: false` and the same store resends them. Default: none (memory).
   * The client closes it when it ends.
   */
  store?: ClientStore;
}

/** The settled configuration of one client. */
export interface ResolvedOptions {
  url: URL;
  host: string;
  port: number;
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

/**
 * The default in-flight window. 20 is what Paho uses and what mosquitto accepts by default; a
 * larger window silently loses QoS 2 messages on a default mosquitto (see `maxInflight`).
 */
export const DEFAULT_MAX_INFLIGHT = 20;

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

/**
 * Combines a URL (`mqtt://user:pass@host:port`) and options; options win over the URL.
 * Throws `ClientError` `INVALID_OPTIONS`, or the codec's `MqttError` for an invalid will topic.
 */
export function resolveOptions(target: string | URL | ClientOptions | undefined, extra: ClientOptions = {}): ResolvedOptions {
  const base: ClientOptions = typeof target === 'object' && !(target instanceof URL) ? target : {};
  const o: ClientOptions = { ...base, ...extra };
  let url: URL;
  try {
    url = new URL(typeof target === 'string' || target instanceof URL ? String(target) : 'mqtt://localhost');
  } catch (cause) {
    throw new ClientError('INVALID_OPTIONS', `not a URL: ${String(target)}`, { cause });
  }
  const username = o.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = o.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const protocol = o.protocol ? (o.protocol.endsWith(':') ? o.protocol : `${o.protocol}:`) : url.protocol;
  // IPv6 literals keep their brackets in URL.hostname.
  const host = o.host ?? (url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost');
  const port = o.port ?? (url.port ? Number(url.port) : (getDefaultPort(protocol) ?? FALLBACK_PORTS[protocol]));
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`no valid port for ${url.href}`);
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  url = new URL(`${protocol}//${hostInUrl}:${port}${url.pathname}${url.search}`);

  if (password !== undefined && username === undefined) {
    throw invalid('a password needs a user name in MQTT 3.1.1', 'MQTT-3.1.2-22');
  }
  const cleanSession = o.cleanSession ?? true;
  const clientId = o.clientId ?? generateClientId();
  if (clientId === '' && !cleanSession) {
    throw invalid('an empty clientId needs cleanSession true', 'MQTT-3.1.3-7');
  }
  const keepAlive = o.keepAlive ?? 60;
  if (!Number.isInteger(keepAlive) || keepAlive < 0 || keepAlive > 65535) throw invalid(`keepAlive must be 0..65535 seconds, got ${keepAlive}`);

  const session: SessionOptions = {
    clientId,
    cleanSession,
    keepAlive,
    maxInflight: Math.min(65535, checkCount(o.maxInflight, 'maxInflight', DEFAULT_MAX_INFLIGHT, 1)),
    maxQueued: checkCount(o.maxQueued, 'maxQueued', 1000, 0),
    connectTimeout: checkCount(o.connectTimeout, 'connectTimeout', 30_000, 0),
  };
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
    if (o[k] !== undefined) (tls as Record<string, unknown>)[k] = o[k];
  }
  const logger = o.logger === true ? (line: string) => console.error(line) : o.logger || undefined;
  const reconnect = o.reconnect === false ? false : o.reconnect === true || o.reconnect === undefined ? {} : o.reconnect;
  // 2 bytes is the smallest packet; 268,435,460 the largest the protocol can frame (spec 2.2.3).
  const maxPacketSize = checkCount(o.maxPacketSize, 'maxPacketSize', 64 * 1024 * 1024, 2);
  if (maxPacketSize > 268_435_460) throw invalid(`maxPacketSize must be at most 268435460, got ${maxPacketSize}`);
  return { url, host, port, session, reconnect, tls, transport: o.transport, logger, signal: o.signal, maxPacketSize, store: o.store };
}
