/**
 * Protocol violations the broker detects itself, beyond what the codec refuses.
 *
 * The codec's `MqttError` covers malformed bytes; a `BrokerError` covers well-formed packets that
 * arrive when they must not (a second CONNECT, a server-only packet from a client). Both carry a
 * stable `code` and the spec `rule`, and both close only the offending connection [MQTT-4.8.0-1].
 */

/** Every `BrokerError` code. */
export const BROKER_ERROR_CODES = {
  /** The first packet on a connection was not CONNECT [MQTT-3.1.0-1]. */
  CONNECT_EXPECTED: 'MQTT-3.1.0-1',
  /** A second CONNECT on the same connection [MQTT-3.1.0-2]. */
  DUPLICATE_CONNECT: 'MQTT-3.1.0-2',
  /** A packet only a server may send (CONNACK, SUBACK, UNSUBACK, PINGRESP) came from a client [MQTT-4.8.0-1]. */
  UNEXPECTED_PACKET: 'MQTT-4.8.0-1',
  /** A PUBLISH with RETAIN=1 while the broker is configured without retained messages (mosquitto `retain_available false`). */
  RETAIN_NOT_AVAILABLE: 'config:retain_available',
  /** A PUBLISH above the listener's QoS bound (mosquitto `max_qos`). */
  QOS_NOT_AVAILABLE: 'config:max_qos',
} as const;

/** A `BrokerError` code. */
export type BrokerErrorCode = keyof typeof BROKER_ERROR_CODES;

/** A protocol violation detected by the broker's session state machine. */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly code: BrokerErrorCode;
  /** The normative statement broken, e.g. `'MQTT-3.1.0-2'`, or the configuration directive (`'config:max_qos'`). */
  readonly rule: string;

  constructor(code: BrokerErrorCode, message: string) {
    super(`${message} [${BROKER_ERROR_CODES[code]}]`);
    this.code = code;
    this.rule = BROKER_ERROR_CODES[code];
  }
}

/** Type guard: is `err` a `BrokerError` (optionally with the given code)? */
export function isBrokerError(err: unknown, code?: BrokerErrorCode): err is BrokerError {
  return err instanceof BrokerError && (code === undefined || err.code === code);
}
