/**
 * Protocol violations the broker detects itself, beyond what the codec refuses.
 *
 * The codec's `MqttError` covers malformed bytes; a `BrokerError` covers well-formed packets that
 * arrive when they must not (a second CONNECT, a server-only packet from a client). Both carry a
 * stable `code` and the spec `rule`, and both close only the offending connection [MQTT-4.8.0-1].
 * The same class reports misuse of the broker's API to the caller (`INVALID_OPTIONS`,
 * `INVALID_ARGUMENT`): those are thrown, and concern no connection.
 */
import { MqttError } from '../../codec/index.js';

/** Every `BrokerError` code. */
export const BROKER_ERROR_CODES = {
  /** The first packet on a connection was not CONNECT [MQTT-3.1.0-1]. */
  CONNECT_EXPECTED: 'MQTT-3.1.0-1',
  /** A second CONNECT on the same connection [MQTT-3.1.0-2]. */
  DUPLICATE_CONNECT: 'MQTT-3.1.0-2',
  /** A packet only a server may send (CONNACK, SUBACK, UNSUBACK, PINGRESP) came from a client [MQTT-4.8.0-1]. */
  UNEXPECTED_PACKET: 'MQTT-4.8.0-1',
  /** The broker-wide `memoryBudget` was exceeded and this connection held the most incomplete bytes [MQTT-4.8.0-2]. */
  MEMORY_BUDGET: 'MQTT-4.8.0-2',
  /** A packet's body did not complete within `partialPacketTimeout` of its first byte [MQTT-4.8.0-2]. */
  PACKET_TIMEOUT: 'MQTT-4.8.0-2',
  /** `startBroker` options of the wrong type or out of range (no spec rule: `rule` is ''). */
  INVALID_OPTIONS: '',
  /** A broker method got an argument of the wrong type (no spec rule: `rule` is ''). */
  INVALID_ARGUMENT: '',
  /** A PUBREC or PUBCOMP answered a QoS 1 PUBLISH, which only a PUBACK answers [MQTT-4.3.2-2]. */
  QOS2_ACK_FOR_QOS1: 'MQTT-4.3.2-2',
  /** A PUBACK answered a QoS 2 PUBLISH, which PUBREC then PUBCOMP answer [MQTT-4.3.3-2]. */
  PUBACK_FOR_QOS2: 'MQTT-4.3.3-2',
  /** A PUBCOMP arrived for a QoS 2 PUBLISH whose PUBREC had not: PUBCOMP answers a PUBREL [MQTT-4.3.3-2]. */
  PUBCOMP_BEFORE_PUBREC: 'MQTT-4.3.3-2',
  /** A PUBLISH with RETAIN=1 while the broker is configured without retained messages (mosquitto `retain_available false`). */
  RETAIN_NOT_AVAILABLE: 'config:retain_available',
  /** A PUBLISH above the listener's QoS bound (mosquitto `max_qos`). */
  QOS_NOT_AVAILABLE: 'config:max_qos',
} as const;

/** A `BrokerError` code. */
export type BrokerErrorCode = keyof typeof BROKER_ERROR_CODES;

/** A protocol violation detected by the broker (or a misuse of its API); an `MqttError`. */
export class BrokerError extends MqttError<BrokerErrorCode> {
  override readonly name: string = 'BrokerError';
  /** The normative statement broken, e.g. `'MQTT-3.1.0-2'`, the configuration directive (`'config:max_qos'`), or '' for a misuse of the API. */
  declare readonly rule: string;

  constructor(code: BrokerErrorCode, message: string) {
    super(code, message, { rule: BROKER_ERROR_CODES[code] });
  }
}

/** Type guard: is `err` a `BrokerError` (optionally with the given code)? */
export function isBrokerError(err: unknown, code?: BrokerErrorCode): err is BrokerError {
  return err instanceof BrokerError && (code === undefined || err.code === code);
}
