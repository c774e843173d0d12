/**
 * The broker's options, hooks and the client description they receive, with their defaults.
 */
import type { ConnackReturnCode, MqttError, PublishPacket, QoS } from '../codec/index.js';
import type { AclRule } from './auth.js';
import type { BridgeOptions } from './bridge-config.js';
import type { BrokerError } from './errors.js';
import type { CloseReason } from './session.js';

/** A connected client, as events and hooks see it. */
export interface ClientInfo {
  readonly clientId: string;
  /** The CONNECT's user name, if any. */
  readonly username: string | undefined;
  readonly cleanSession: boolean;
  /** Seconds (0 = no keep-alive). */
  readonly keepAlive: number;
  /** The peer's address, when the transport knows it. */
  readonly remoteAddress: string | undefined;
}

/** What `authenticate` is given. */
export interface Credentials {
  /** The ClientId (a generated one when the client sent an empty id [MQTT-3.1.3-6]). */
  clientId: string;
  username: string | undefined;
  /** Binary in MQTT 3.1.1 (spec 3.1.3.5). */
  password: Uint8Array | undefined;
  remoteAddress: string | undefined;
}

/**
 * Decides a CONNECT: `true` or `0` accepts; `false` refuses with 4 (bad user name or password)
 * when credentials were given and 5 (not authorised) otherwise; a number refuses with that
 * CONNACK return code. Throwing or rejecting refuses with 3 (server unavailable).
 */
export type AuthenticateHook = (credentials: Credentials) => boolean | ConnackReturnCode | Promise<boolean | ConnackReturnCode>;

/**
 * May `client` publish to `topic`? A refused PUBLISH is still acknowledged as its QoS requires,
 * but not forwarded or retained [MQTT-3.3.5-2]. Throwing or rejecting is a server error: the
 * client's connection is closed before the PUBLISH is acknowledged [MQTT-4.8.0-2].
 */
export type AuthorizePublishHook = (client: ClientInfo, topic: string, packet: PublishPacket) => boolean | Promise<boolean>;

/**
 * May `client` subscribe to `topicFilter` at `qos`? `true` grants the requested QoS, a QoS grants
 * at most that, `false` refuses (SUBACK 0x80). Throwing or rejecting refuses.
 */
export type AuthorizeSubscribeHook = (client: ClientInfo, topicFilter: string, qos: QoS) => boolean | QoS | Promise<boolean | QoS>;

/** Options of `startBroker` (all optional). */
export interface BrokerOptions {
  /** TCP port to listen on; 0 picks a free one. Default 1883. */
  port?: number;
  /** Address to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Milliseconds a new connection has to send its CONNECT. Default 10,000. */
  connectTimeout?: number;
  /** Largest packet accepted, in bytes; bigger ones are refused before being buffered. Default 16 MiB. */
  maxPacketSize?: number;
  /** QoS 1/2 messages queued per client beyond the inflight window (online or offline). Default 1000. */
  maxQueuedMessages?: number;
  /**
   * Bytes (payload plus topic) of the QoS 1/2 messages one client's session may hold in its queue
   * and inflight window together, online or offline. A message shared by many sessions is counted
   * in each. Beyond it the policy of `maxQueuedMessages` applies: a connected client is
   * disconnected ('queue-full', its persistent session kept within the bound), a message for an
   * offline session is dropped and counted. An empty session always takes one message, so a
   * message larger than this bound can still be delivered. Default 32 MiB
   * (config `max_queued_bytes`; like mosquitto's `max_queued_bytes`).
   */
  maxQueuedBytes?: number;
  /** Outbound QoS 1/2 messages awaiting acknowledgement per client. Default 100 (1..65535). */
  maxInflight?: number;
  /** Topic filters one session may hold; a SUBSCRIBE for more gets 0x80 for the new ones. Default 10,000. */
  maxSubscriptions?: number;
  /**
   * Open connections (TCP and WebSocket, with or without CONNECT yet). A connection beyond it is
   * closed at once and counted in `broker.stats.connectionsRefused`. Default 100,000
   * (config `max_connections`).
   */
  maxConnections?: number;
  /**
   * Topics with a retained message, server-wide. A retained PUBLISH to a new topic beyond it is
   * still forwarded to subscribers but not retained (logged once, counted in `broker.stats`).
   * Default 100,000 (config `max_retained_messages`).
   */
  maxRetainedMessages?: number;
  /**
   * Bytes (payload plus topic) of all retained messages together. A retained PUBLISH that would
   * pass it is forwarded but not retained, and the topic's older retained message is removed
   * too, so a new subscriber never gets a value known to be stale. Default 256 MiB
   * (config `max_retained_bytes`).
   */
  maxRetainedBytes?: number;
  /**
   * Persistent (CleanSession=0) sessions kept while their clients are offline. When one more
   * goes offline, the session offline longest is discarded (counted in `broker.stats`): its
   * client finds Session Present 0 when it returns [MQTT-3.2.2-3]. New clients are never refused
   * for it, so old idle ClientIds cannot lock the broker. Default 10,000
   * (config `max_offline_sessions`).
   */
  maxOfflineSessions?: number;
  /** Bytes buffered for a client's socket beyond which QoS 0 messages to it are dropped and its input is paused. Default 1 MiB. */
  socketHighWaterMark?: number;
  /** Accept clients without a user name. Default `true`. */
  allowAnonymous?: boolean;
  /** User name → password (plain text: this is a test broker). */
  users?: Record<string, string>;
  /** Access-control rules (see `AclRule`); none → everything allowed. */
  acl?: AclRule[];
  /** Runs after the built-in `allowAnonymous`/`users` check, and can only refuse further. */
  authenticate?: AuthenticateHook;
  /** Runs after the `acl` check. */
  authorizePublish?: AuthorizePublishHook;
  /** Runs after the `acl` check. */
  authorizeSubscribe?: AuthorizeSubscribeHook;
  /** Receives one line per notable event (connections, refusals, errors). */
  logger?: (line: string) => void;
  /** Also log every packet in and out (one line each, password redacted). Default `false`. */
  logPackets?: boolean;
  /**
   * Also serve MQTT over WebSocket (spec chapter 6), sharing sessions, subscriptions and retained
   * messages with TCP clients. `host` defaults to the TCP `host`; any path is accepted unless `path` is set.
   */
  ws?: WsOptions;
  /**
   * Connections to other brokers, mosquitto-style (config `connection NAME` and what follows;
   * see bridge.ts). Started by `listen()`, stopped by `close()`; `broker.bridges` shows them.
   */
  bridges?: BridgeOptions[];
}

/** The WebSocket listener of `BrokerOptions.ws`. */
export interface WsOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  host?: string;
  /** Accept only this request path (e.g. `'/mqtt'`). */
  path?: string;
}

/** The events a broker emits. */
export type BrokerEvents = {
  /** A CONNECT was accepted and answered. */
  connect: (client: ClientInfo) => void;
  /** An accepted connection ended. */
  disconnect: (client: ClientInfo, reason: CloseReason) => void;
  /** A message was accepted and routed (`client` is undefined for `broker.publish`). */
  publish: (topic: string, packet: PublishPacket, client: ClientInfo | undefined) => void;
  /** A SUBSCRIBE was applied and its SUBACK sent; `qos` is the return code (0x80 = refused). */
  subscribe: (subscriptions: Array<{ topicFilter: string; qos: QoS | 0x80 }>, client: ClientInfo) => void;
  /** An UNSUBSCRIBE was applied and its UNSUBACK sent. */
  unsubscribe: (topicFilters: string[], client: ClientInfo) => void;
  /** A connection was closed for a malformed packet or protocol violation (`client` is undefined before CONNECT was accepted). */
  clientError: (client: ClientInfo | undefined, error: MqttError | BrokerError) => void;
};

/** What the server-wide bounds have discarded since the broker started. */
export interface BrokerStats {
  /** Retained PUBLISHes forwarded but not retained: `maxRetainedMessages` or `maxRetainedBytes` was reached. */
  retainedRefused: number;
  /** Offline persistent sessions discarded to stay within `maxOfflineSessions`. */
  offlineSessionsDiscarded: number;
  /** Connections closed on arrival because `maxConnections` were open. */
  connectionsRefused: number;
}

/** `BrokerOptions` with every default filled in. */
export type ResolvedOptions = Required<Omit<BrokerOptions, 'users' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'logger' | 'ws' | 'bridges'>> &
  Pick<BrokerOptions, 'users' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'logger' | 'ws' | 'bridges'>;

const MiB = 1024 * 1024;

function positiveInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`${name} must be an integer 1..${max}, got ${String(v)}`);
  return v;
}

/** Fills in defaults and checks ranges (throws `RangeError`). */
export function resolveOptions(o: BrokerOptions = {}): ResolvedOptions {
  return {
    port: o.port ?? 1883,
    host: o.host ?? '127.0.0.1',
    connectTimeout: positiveInt('connectTimeout', o.connectTimeout ?? 10_000, 24 * 3600_000),
    maxPacketSize: positiveInt('maxPacketSize', o.maxPacketSize ?? 16 * 1024 * 1024, 268_435_460),
    maxQueuedMessages: positiveInt('maxQueuedMessages', o.maxQueuedMessages ?? 1000, 10_000_000),
    maxQueuedBytes: positiveInt('maxQueuedBytes', o.maxQueuedBytes ?? 32 * MiB, Number.MAX_SAFE_INTEGER),
    maxInflight: positiveInt('maxInflight', o.maxInflight ?? 100, 65_535),
    maxSubscriptions: positiveInt('maxSubscriptions', o.maxSubscriptions ?? 10_000, 10_000_000),
    maxConnections: positiveInt('maxConnections', o.maxConnections ?? 100_000, 10_000_000),
    maxRetainedMessages: positiveInt('maxRetainedMessages', o.maxRetainedMessages ?? 100_000, 100_000_000),
    maxRetainedBytes: positiveInt('maxRetainedBytes', o.maxRetainedBytes ?? 256 * MiB, Number.MAX_SAFE_INTEGER),
    maxOfflineSessions: positiveInt('maxOfflineSessions', o.maxOfflineSessions ?? 10_000, 100_000_000),
    socketHighWaterMark: positiveInt('socketHighWaterMark', o.socketHighWaterMark ?? 1024 * 1024, 2 ** 31),
    allowAnonymous: o.allowAnonymous ?? true,
    users: o.users,
    acl: o.acl ?? [],
    authenticate: o.authenticate,
    authorizePublish: o.authorizePublish,
    authorizeSubscribe: o.authorizeSubscribe,
    logger: o.logger,
    logPackets: o.logPackets ?? false,
    ws: o.ws,
    bridges: o.bridges,
  };
}
