/**
 * Protocol violations the broker detects itself, beyond what the codec refuses.
 *
 * The codec's `MqttError` covers malformed bytes; a `BrokerError` covers well-formed packets that
 * arrive when they must not (a second CONNECT, a server-only packet from a client). Both carry a
 * stable `code` and the spec `rule`, and both close only the offending connection [MQTT-4.8.0-1].
 */
import { MqttError } from '../codec/index.js';

/** Every `BrokerError` code, with the rule it enforces. */
export const BROKER_ERROR_CODES = {
  /** The first packet on a connection was not CONNECT [MQTT-3.1.0-1]. */
  CONNECT_EXPECTED: 'MQTT-3.1.0-1',
  /** A second CONNECT on the same connection [MQTT-3.1.0-2]. */
  DUPLICATE_CONNECT: 'MQTT-3.1.0-2',
  /** A packet only a server may send (CONNACK, SUBACK, UNSUBACK, PINGRESP) came from a client [MQTT-4.8.0-1]. */
  UNEXPECTED_PACKET: 'MQTT-4.8.0-1',
} as const;

/** A `BrokerError` code. */
export type BrokerErrorCode = keyof typeof BROKER_ERROR_CODES;

/** A protocol violation detected by the broker's session state machine; an `MqttError`. */
export class BrokerError extends MqttError<BrokerErrorCode> {
  override readonly name: string = 'BrokerError';
  /** The normative statement broken, e.g. `'MQTT-3.1.0-2'`. */
  declare readonly rule: string;

  constructor(code: BrokerErrorCode, message: string) {
    super(code, message, { rule: BROKER_ERROR_CODES[code] });
  }
}

/** Type guard: is `err` a `BrokerError` (optionally with the given code)? */
export function isBrokerError(err: unknown, code?: BrokerErrorCode): err is BrokerError {
  return err instanceof BrokerError && (code === undefined || err.code === code);
}
