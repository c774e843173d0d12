/**
 * mqtt311 — MQTT 3.1.1 for Node.js.
 *
 * The package root exports the client (`connect`, `publishSingle`, `subscribeSimple`, …), the
 * codec (`encode`, `Decoder`, `topicMatches`, `MqttError`, the packet types, …) and the broker
 * (`startBroker`). Each part has its own entry too: `mqtt311/client`, `mqtt311/codec`,
 * `mqtt311/broker`, and `mqtt311/browser` (the browser bundle built by `npm run build:browser`).
 */
export * from './codec/index.js';
export * from './client/index.js';
export {
  startBroker,
  Broker,
  BrokerError,
  isBrokerError,
  BROKER_ERROR_CODES,
  type BrokerErrorCode,
  type BrokerOptions,
  type BrokerEvents,
  type ClientInfo,
  type SessionInfo,
  type AclRule,
  type AclAccess,
  type CloseReason,
  type WsOptions,
} from './broker-mini/index.js';
