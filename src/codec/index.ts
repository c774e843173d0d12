/**
 * mqtt311/codec — a dependency-free MQTT 3.1.1 (and MQTT 3.1) packet codec.
 *
 * It imports nothing (no package, no `node:` module) and runs in any JS runtime.
 *
 * - Packets: plain objects, a union on `cmd` (`Packet`, `PublishPacket`, …).
 * - Encoding: `encode`, `encodedLength`, `encodeInto`, `encodeParts`.
 * - Decoding: `Decoder` (streaming) and `decode` (one whole packet).
 * - Versions: `protocolVersionOf`, `isBridgeConnect`, `connectProtocol` (MQTT 3.1 is level 3,
 *   "MQIsdp"); encoders and decoders take `protocolVersion`.
 * - Topics: `validateTopicName`, `validateTopicFilter`, `isValidTopicName`, `isValidTopicFilter`,
 *   `topicMatches`.
 * - Errors: `MqttError` (`code`, `rule`, `action`, `returnCode`, `offset`), `isMqttError`,
 *   the catalog `MQTT_ERROR_CODES`.
 *
 * Internal building blocks (the frame reader, per-packet modules) are not exported.
 */
export * from './packets.js';
export { MqttError, isMqttError, MQTT_ERROR_CODES } from './errors.js';
export type { MqttErrorCode, MqttErrorAction, MqttErrorOptions } from './errors.js';
export { encode, encodedLength, encodeInto, encodeParts } from './encode.js';
export type { EncodeOptions } from './encode.js';
export {
  protocolVersionOf,
  isBridgeConnect,
  connectProtocol,
  PROTOCOL_NAMES,
  BRIDGE_LEVEL_BIT,
  MQTT31_MAX_CLIENT_ID_BYTES,
  type ProtocolVersion,
} from './version.js';
export { Decoder, decode } from './decode.js';
export type { DecoderOptions } from './decode.js';
export { MAX_PACKET_SIZE, MAX_REMAINING_LENGTH } from './header.js';
export { MAX_STRING_BYTES } from './utf8.js';
export { validateTopicName, validateTopicFilter, isValidTopicName, isValidTopicFilter, topicMatches } from './topic.js';
export { inspect, inspectStream } from './inspect.js';
export type { Inspection, InspectedField, StreamInspection } from './inspection.js';
export { formatInspection, formatStreamInspection, describePacket } from './inspect-format.js';
