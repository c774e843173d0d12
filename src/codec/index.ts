/**
 * mqtt311/codec — a dependency-free MQTT 3.1.1 packet codec.
 *
 * It imports nothing (no package, no `node:` module) and runs in any JS runtime.
 */
export * from './packets.js';
export { MqttError, isMqttError, MQTT_ERROR_CODES } from './errors.js';
export type { MqttErrorCode, MqttErrorAction, MqttErrorOptions } from './errors.js';
