/**
 * One error family for everything the codec refuses.
 *
 * Users match on `code` (stable, listed in the README's catalog), never on message text.
 * `rule` names the normative statement enforced, where there is one. `action` says what the
 * receiver of the offending bytes must do: close the network connection, or (a server reading a
 * CONNECT) answer with a CONNACK carrying `returnCode` and then close.
 */

/** Every stable error code, with the default receiver action. */
export const MQTT_ERROR_CODES = {
  /** Fixed-header packet type 0 or 15 (reserved). */
  INVALID_PACKET_TYPE: 'close',
  /** Fixed-header flag bits differ from the table in spec 2.2.2. */
  INVALID_HEADER_FLAGS: 'close',
  /** Remaining length uses a fifth byte, or is otherwise malformed (spec 2.2.3). */
  MALFORMED_REMAINING_LENGTH: 'close',
  /** Packet larger than the decoder's configured maximum; refused before the body is buffered. */
  PACKET_TOO_LARGE: 'close',
  /** Remaining length does not fit the packet type, or a field runs past the packet's end, or bytes are left over. */
  INVALID_LENGTH: 'close',
  /** A packet identifier of 0 where one is required, or outside 1..65535 when encoding. */
  INVALID_PACKET_ID: 'close',
  /** A string is not well-formed UTF-8 or encodes a surrogate (spec 1.5.3). */
  INVALID_UTF8: 'close',
  /** A string contains U+0000 (spec 1.5.3). */
  NULL_CHARACTER: 'close',
  /** A string or binary field is longer than 65,535 bytes (encoder). */
  STRING_TOO_LONG: 'close',
  /** A packet would exceed the maximum remaining length 268,435,455 (encoder). */
  PACKET_TOO_LONG: 'close',
  /** QoS 3, or a QoS value that is not 0, 1 or 2. */
  INVALID_QOS: 'close',
  /** DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]. */
  INVALID_DUP: 'close',
  /** A topic name that is empty, has a wildcard, or is otherwise invalid (spec 4.7). */
  INVALID_TOPIC: 'close',
  /** A topic filter with a misplaced wildcard or otherwise invalid (spec 4.7). */
  INVALID_TOPIC_FILTER: 'close',
  /** CONNECT protocol name is neither "MQTT" (3.1.1) nor "MQIsdp" (3.1) [MQTT-3.1.2-1]. */
  INVALID_PROTOCOL_NAME: 'close',
  /** CONNECT protocol level is not the name's (4 for "MQTT", 3 for "MQIsdp"): the server answers CONNACK 0x01 [MQTT-3.1.2-2]. */
  UNSUPPORTED_PROTOCOL_LEVEL: 'connack',
  /** An MQTT 3.1 CONNECT whose client identifier is empty or over 23 bytes: the server answers CONNACK 0x02 (MQTT 3.1 section 3.1). */
  CLIENT_ID_REJECTED: 'connack',
  /** CONNECT flags inconsistent (reserved bit, will flags, password without user name). */
  INVALID_CONNECT_FLAGS: 'close',
  /** SUBSCRIBE or UNSUBSCRIBE without any topic filter. */
  EMPTY_SUBSCRIPTION_LIST: 'close',
  /** A return code outside the allowed set (SUBACK, CONNACK), or CONNACK reserved flag bits set. */
  INVALID_RETURN_CODE: 'close',
  /** The encoder was given something that is not a valid packet object. */
  INVALID_PACKET: 'close',
  /** A codec function was given a value of the wrong type (bytes that are not a Uint8Array, a topic that is not a string, an option out of range). */
  INVALID_ARGUMENT: 'close',
  /** `encodeInto` was given a target without room for the packet at the offset (nothing is written). */
  BUFFER_TOO_SMALL: 'close',
} as const;

/** A stable error code: a key of {@link MQTT_ERROR_CODES}. */
export type MqttErrorCode = keyof typeof MQTT_ERROR_CODES;

/** What the receiver of offending bytes must do. */
export type MqttErrorAction = 'close' | 'connack';

/** Details attached to an {@link MqttError}. */
export interface MqttErrorOptions {
  /** Normative statement id without brackets, e.g. `'MQTT-2.2.2-2'`. */
  rule?: string;
  /** Byte offset in the stream (decoder) where the problem was found. */
  offset?: number;
  /** For `action === 'connack'`: the CONNACK return code to answer with. */
  returnCode?: number;
  cause?: unknown;
}

/** The one error class of the codec. */
export class MqttError extends Error {
  override readonly name = 'MqttError';
  readonly code: MqttErrorCode;
  readonly rule: string | undefined;
  readonly action: MqttErrorAction;
  readonly returnCode: number | undefined;
  readonly offset: number | undefined;

  constructor(code: MqttErrorCode, message: string, options: MqttErrorOptions = {}) {
    super(options.rule ? `${message} [${options.rule}]` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.rule = options.rule;
    this.action = MQTT_ERROR_CODES[code];
    this.returnCode = options.returnCode;
    this.offset = options.offset;
  }
}

/** Type guard: is `err` an `MqttError` (optionally with the given code)? */
export function isMqttError(err: unknown, code?: MqttErrorCode): err is MqttError {
  return err instanceof MqttError && (code === undefined || err.code === code);
}
