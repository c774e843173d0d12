/**
 * mqtt311/broker — a small MQTT 3.1.1 broker to embed in tests, examples and tools.
 *
 * ```ts
 * const broker = await startBroker({ port: 0 });
 * const { port } = broker.address;
 * broker.on('publish', (topic, packet, client) => {});
 * await broker.close();
 * ```
 *
 * It implements the server side of MQTT 3.1.1 in full: QoS 0/1/2 both ways with exactly-once
 * inbound QoS 2, clean and persistent sessions (queued messages and resends on reconnect),
 * retained messages, wills, keep-alive, session takeover, `+`/`#` wildcards, authentication
 * (user table or hook) and per-topic access control, and it closes only the offending
 * connection on any malformed packet or protocol violation.
 *
 * Limits (all options, see `BrokerOptions`): packet size, connect timeout, inflight window and
 * queue per client, topic filters per session (`maxSubscriptions`: a new filter beyond it gets
 * SUBACK 0x80). The slow-consumer policy: QoS 0 messages to a client are dropped while more
 * than `socketHighWaterMark` bytes wait in its socket buffer; QoS 1/2 messages wait in its
 * inflight window (`maxInflight`) and then its queue (`maxQueuedMessages`), and together they may
 * hold `maxQueuedBytes`; when a connected client's session is full, that client is disconnected
 * (its persistent session, if any, stays, within the same bounds). For an offline persistent
 * session, a message arriving at a full queue is dropped. Retained messages sent on SUBSCRIBE
 * stop at the first one that does not fit (retained-delivery.ts).
 *
 * Server-wide bounds: retained messages (`maxRetainedMessages`, `maxRetainedBytes`: beyond them
 * a retained PUBLISH is forwarded but not retained) and offline persistent sessions
 * (`maxOfflineSessions`: the one offline longest is discarded). `broker.stats` counts both.
 *
 * Deliberately left out — move to mosquitto or a clustered broker when you need them:
 * - persistence across restarts unless a `storage` is given;
 * - clustering (bridges to other brokers are supported, mosquitto-style: `bridges`, bridge.ts);
 * - MQTT 5: its CONNECTs get CONNACK 1 (MQTT 3.1, `MQIsdp`, is served beside 3.1.1; `protocolVersions` restricts it).
 *
 * Listeners (`listeners`): any number of TCP, TLS, WebSocket and secure WebSocket listeners,
 * each with its own limits, mount point and authentication (listeners.ts). `$SYS/broker/...`
 * (`sysInterval`) publishes mosquitto's statistics topics (sys.ts); `broker.stats` and
 * `broker.sysSnapshot()` give the same numbers in-process.
 */
export { Broker, startBroker, type SessionInfo } from './broker.js';
export { BrokerCore } from './core/broker-core.js';
export { BrokerError, isBrokerError, BROKER_ERROR_CODES, type BrokerErrorCode } from './core/errors.js';
export type {
  BrokerOptions,
  BrokerStats,
  WsOptions,
  BrokerEvents,
  ClientInfo,
  Credentials,
  AuthenticateHook,
  AuthorizePublishHook,
  AuthorizeSubscribeHook,
  BrokerLogger,
  LogType,
} from './options.js';
export type { AclRule, AclAccess } from './auth.js';
export type { CloseReason } from './core/session.js';
export type { Link } from './core/handle.js';
export { parseConfig, loadConfig, ConfigError, type BrokerConfig, type ConfigErrorCode, type LogDest } from './config.js';
export {
  parsePasswordFile,
  parsePasswordHash,
  hashPassword,
  verifyPassword,
  formatPasswordHash,
  PasswordFileError,
  type PasswordEntry,
  type PasswordFileErrorCode,
} from './passwd.js';
export type { MemoryBudgetStats } from './budget.js';
export { MemoryStorage } from './core/memory-storage.js';
export { BatchedStorage, type StorageOp } from './core/batched-storage.js';
export { openSqliteStorage, SqliteStorage, type SqliteStorageOptions } from './storage-sqlite.js';
export type { BrokerStorage, LoadedState, LoadedSession, StoredSession, StoredSubscription, StoredOutbound, StoredRetained, SyncPolicy } from './core/storage.js';
export type { ListenerOptions, ListenerTlsOptions, ListenerAuth } from './listener-options.js';
export type { RunningListener } from './listeners.js';
export { SYS_VERSION, type Snapshot as SysSnapshot } from './sys.js';
export { Bridge, type BridgeStats, type BridgeEvents } from './bridge.js';
export { ECHO_WINDOW_MS } from './bridge-echo.js';
export type { BridgeOptions, BridgeTopic, BridgeDirection, BridgeTls } from './bridge-config.js';
