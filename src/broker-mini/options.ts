/**
 * The broker's options, hooks and the client description they receive, with their defaults.
 */
import type { ConnackReturnCode, MqttError, ProtocolVersion, PublishPacket, QoS } from '../codec/index.js';
import type { AclRule } from './core/acl.js';
import type { BrokerStorage } from './core/storage.js';
import type { PasswordEntry } from './passwd.js';
import type { CloseReason } from './core/session.js';
import type { BrokerError } from './core/errors.js';
import type { ListenerOptions } from './listener-options.js';
import type { BridgeOptions } from './bridge-options.js';

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
  /** 4 for MQTT 3.1.1, 3 for MQTT 3.1 (from the CONNECT; see `protocolVersionOf`). */
  readonly protocolVersion: ProtocolVersion;
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

/**
 * mosquitto's log types (`log_type`): every broker log line carries one, as mosquitto's do —
 * connections and disconnections `notice`, SUBSCRIBE/UNSUBSCRIBE `subscribe`/`unsubscribe`,
 * packet traces and denied publishes `debug`, failures of the broker itself `error`.
 */
export type LogType = 'debug' | 'error' | 'warning' | 'notice' | 'information' | 'subscribe' | 'unsubscribe' | 'websockets';

/** Receives one log line and its type. */
export type BrokerLogger = (line: string, type: LogType) => void;

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
  /**
   * Bytes the broker may hold, all clients together, for incomplete packets plus queued and
   * in-flight QoS 1/2 messages. Near it, connections whose incomplete packet grows stop being
   * read; over it, those holding the most incomplete bytes are closed (see budget.ts).
   * A packet bigger than the budget cannot be received. Default 256 MiB (config `memory_budget`).
   */
  memoryBudget?: number;
  /**
   * Milliseconds a packet may take from its first byte to its last; a slower one closes the
   * connection, keep-alive or not. Default 60,000 (config `partial_packet_timeout`, seconds).
   */
  partialPacketTimeout?: number;
  /** Bytes buffered for a client's socket beyond which QoS 0 messages to it are dropped and its input is paused. Default 1 MiB. */
  socketHighWaterMark?: number;
  /** Accept clients without a user name. Default `true`. */
  allowAnonymous?: boolean;
  /**
   * User name → password: plain text, or a mosquitto hash entry (`parsePasswordFile`,
   * `hashPassword` in passwd.ts; config `password_file`).
   */
  users?: Record<string, string | PasswordEntry> | undefined;
  /** Access-control rules (see `AclRule`); none → everything allowed. */
  acl?: AclRule[];
  /**
   * A CONNECT whose ClientId is held by a session (online or offline) of a different user name:
   * `'allow'` lets it take the session over, keeping only the subscriptions the new user is
   * granted and the messages the new user may read; `'refuse'` answers CONNACK 5 (not authorised).
   * Either way no message reaches a connection its ACL denies. Default `'allow'`
   * (config `takeover_by_other_user`).
   */
  takeoverByOtherUser?: 'allow' | 'refuse';
  /**
   * Where persistent sessions (subscriptions, queued and in-flight messages, inbound QoS 2 ids)
   * and retained messages are kept, so they survive a restart: e.g. `new MemoryStorage()` or the
   * on-disk backend. The broker loads it once before listening and sends a PUBACK, PUBREC or
   * (for a persistent session) SUBACK only after the changes it acknowledges are committed.
   * Closing it after `broker.close()` is the caller's. Default: none (everything in memory).
   */
  storage?: BrokerStorage;
  /** Runs after the built-in `allowAnonymous`/`users` check, and can only refuse further. */
  authenticate?: AuthenticateHook;
  /** Runs after the `acl` check. */
  authorizePublish?: AuthorizePublishHook;
  /** Runs after the `acl` check. */
  authorizeSubscribe?: AuthorizeSubscribeHook;
  /** Receives one line per notable event (connections, refusals, errors), with its mosquitto log type. */
  logger?: BrokerLogger | undefined;
  /** Also log every packet in and out (one line each, password redacted). Default `false`. */
  logPackets?: boolean;
  /**
   * Also serve MQTT over WebSocket (spec chapter 6), sharing sessions, subscriptions and retained
   * messages with TCP clients. `host` defaults to the TCP `host`; any path is accepted unless `path` is set.
   */
  ws?: WsOptions;
  /**
   * The protocol versions the TCP listener (and the WebSocket one, unless its own option says
   * otherwise) accepts: 3 (MQTT 3.1) and/or 4 (MQTT 3.1.1). A CONNECT of another version gets
   * CONNACK 1 and the connection is closed [MQTT-3.1.2-2], as mosquitto's `accept_protocol_versions`
   * answers. Default `[3, 4]` (config `accept_protocol_versions 3,4`).
   */
  protocolVersions?: ProtocolVersion[];
  /**
   * Listeners as mosquitto has them (config `listener PORT [ADDRESS]` blocks): any number of TCP,
   * TLS, WebSocket and secure WebSocket listeners, each with its own limits, mount point and
   * (mosquitto's `per_listener_settings`) authentication. When given, `port`, `host` and `ws`
   * are not used.
   */
  listeners?: ListenerOptions[];
  /**
   * Seconds between `$SYS/broker/...` updates, as retained messages with mosquitto's topic names
   * and number formats (config `sys_interval`). 0 turns `$SYS` off. Default 0 for an embedded
   * broker; the CLI and config files default to mosquitto's 10.
   */
  sysInterval?: number;
  /**
   * Largest keep-alive a client may ask for, seconds (config `max_keepalive`). A CONNECT with a
   * longer one, or with 0 (none), is refused with CONNACK 2, as mosquitto 2.0 does for MQTT
   * 3.1.1 clients. Default: no bound.
   */
  maxKeepalive?: number;
  /** Largest PUBLISH payload accepted, bytes (config `message_size_limit`): a bigger one is acknowledged but not forwarded or retained. 0 = no limit (default). */
  messageSizeLimit?: number;
  /** Retained messages supported (config `retain_available`). When false, a client sending RETAIN=1 is disconnected. Default true. */
  retainAvailable?: boolean;
  /** Accept an empty ClientId and assign one [MQTT-3.1.3-6] (config `allow_zero_length_clientid`); false answers CONNACK 2. Default true. */
  allowZeroLengthClientId?: boolean;
  /** Prefix of generated ClientIds (config `auto_id_prefix`). Default `'mqtt311-'`. */
  autoIdPrefix?: string;
  /** When set, only ClientIds starting with one of these are accepted; others get CONNACK 5 (config `clientid_prefixes`). */
  clientIdPrefixes?: string[];
  /** Outbound QoS 1/2 payload-plus-topic bytes in flight per client; 0 = no bound (config `max_inflight_bytes`). One message always fits. Default 0. */
  maxInflightBytes?: number;
  /** Deliver at the subscription's QoS even when the message's is lower (config `upgrade_outgoing_qos`; not spec behaviour [MQTT-3.8.4-6]). Default false. */
  upgradeOutgoingQos?: boolean;
  /** Check that a retained message's publisher may still publish to its topic before sending it to a new subscriber (config `check_retain_source`). Default true. */
  checkRetainSource?: boolean;
  /** Seconds an offline persistent session is kept before it expires (config `persistent_client_expiration`). Default: forever. */
  persistentClientExpiration?: number;
  /** Log connects and disconnects (config `connection_messages`). Default true. */
  connectionMessages?: boolean;
  /** Keep sessions and retained messages on disk (config `persistence`): the CLI opens a SQLite `storage` in `persistenceLocation`. */
  persistence?: boolean;
  /** Folder for the persistence file (config `persistence_location`). */
  persistenceLocation?: string;
  /** Seconds between saves (config `autosave_interval`). */
  autosaveInterval?: number;
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
  /** The protocol versions this listener accepts; default `BrokerOptions.protocolVersions`. */
  protocolVersions?: ProtocolVersion[] | undefined;
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

export { emptyStats, type BrokerStats } from './core/stats.js';

/** `BrokerOptions` with every default filled in. */
type Unresolved = 'users' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'logger' | 'ws' | 'storage' | 'listeners' | 'maxKeepalive' | 'clientIdPrefixes' | 'persistentClientExpiration' | 'persistenceLocation' | 'autosaveInterval' | 'bridges';
export type ResolvedOptions = Required<Omit<BrokerOptions, Unresolved>> & { [K in Unresolved]?: BrokerOptions[K] | undefined };
