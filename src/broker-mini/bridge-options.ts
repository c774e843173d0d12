/**
 * The options of a bridge (`startBroker({ bridges })`, or a config file's `connection` section,
 * read by bridge-config.ts): types only, so the broker's options can name them without loading
 * the config reader.
 */
import type { QoS } from '../codec/index.js';

/** Which way a bridge topic carries messages. */
export type BridgeDirection = 'out' | 'in' | 'both';

/** One `topic` line: what is shared, which way, at which QoS, with which prefixes. */
export interface BridgeTopic {
  /** A topic filter; `''` only with both prefixes (one topic remapped to another). */
  pattern: string;
  /** Default `'out'` (local to remote). */
  direction?: BridgeDirection;
  /** Default 0: the QoS of the bridge's subscriptions, and the most a message keeps. */
  qos?: QoS;
  /** Added to the pattern on the local side (no wildcards). */
  localPrefix?: string;
  /** Added to the pattern on the remote side (no wildcards). */
  remotePrefix?: string;
}

/** TLS to the remote broker (PEM contents). */
export interface BridgeTls {
  ca?: string | Uint8Array;
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  /** Skip the check that the certificate names the host (the chain is still checked). */
  insecure?: boolean;
}

/** One bridge to an upstream broker (`BrokerOptions.bridges`); times in seconds as in mosquitto.conf. */
export interface BridgeOptions {
  /** The connection's name (`connection NAME`). */
  name: string;
  /** Where the remote broker is: `'host'`, `'host:port'` or `'[v6]:port'`, tried in order. */
  addresses: string[];
  topics: BridgeTopic[];
  /** Default `HOSTNAME.NAME`. */
  remoteClientId?: string;
  remoteUsername?: string;
  remotePassword?: string;
  /** Default false. */
  cleanSession?: boolean;
  /** Default 60, at least 5. */
  keepAlive?: number;
  /** Reconnect delay: a constant, or `[base, cap]` for backoff with jitter. Default `[5, 30]`. */
  restartTimeout?: number | [number, number];
  /** Default `'mqttv311'`. */
  protocolVersion?: 'mqttv311' | 'mqttv31';
  /** Default true: CONNECT with protocol level | 0x80, so a mosquitto remote does not echo our messages. */
  tryPrivate?: boolean;
  /** Default true. */
  notifications?: boolean;
  notificationsLocalOnly?: boolean;
  /** Default `$SYS/broker/connection/REMOTE_CLIENTID/state`. */
  notificationTopic?: string;
  /** Default false: the first address is the main one. */
  roundRobin?: boolean;
  /** Default true. */
  attemptUnsubscribe?: boolean;
  /** Default true. */
  outgoingRetain?: boolean;
  tls?: BridgeTls;
}
