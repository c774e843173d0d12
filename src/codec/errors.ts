/**
 * The root of mqtt311's one error family, and the codes of what the codec refuses.
 *
 * Every error the package throws on purpose is an `MqttError`: the codec's own, and as subclasses
 * the broker's `BrokerError`, the client's `ClientError` (and `ConnackError`), the broker
 * config's `ConfigError` and the CLI's `CliError`. So `err instanceof MqttError`, or
 * `isMqttError(err)`, answers for all of them. Users match on `code` (stable; every code of every
 * class is listed in docs/ERRORS.md, generated from the catalogs by `npm run catalog`), never on
 * message text. `rule` names the normative statement enforced, where there is one; `cause` holds
 * the underlying error, where there is one. `action` says what the receiver of the offending bytes
 * must do: close the network connection, or (a server reading a CONNECT) answer with a CONNACK
 * carrying `returnCode` and then close.
 *
 * The catalogs are data, one documented line per code, so that a new code is one added line.
 */

/** Every stable code of the codec's errors, with the default receiver action. */
export const MQTT_ERROR_CODES = {
  /** Fixed-header packet type 0 or 15 (reserved). */
  INVALID_PACKET_TYPE: 'close',
  /** Fixed-header flag bits differ from the table in spec 2.2.2 [MQTT-2.2.2-2]. */
  INVALID_HEADER_FLAGS: 'close',
  /** Remaining length uses a fifth byte, or is otherwise malformed (spec 2.2.3). */
  MALFORMED_REMAINING_LENGTH: 'close',
  /** Packet larger than the decoder's configured maximum; refused before the body is buffered. */
  PACKET_TOO_LARGE: 'close',
  /** Remaining length does not fit the packet type, or a field runs past the packet's end, or bytes are left over. */
  INVALID_LENGTH: 'close',
  /** A packet identifier of 0 where one is required [MQTT-2.3.1-1], or outside 1..65535 when encoding. */
  INVALID_PACKET_ID: 'close',
  /** A string is not well-formed UTF-8 or encodes a surrogate [MQTT-1.5.3-1]. */
  INVALID_UTF8: 'close',
  /** A string contains U+0000 [MQTT-1.5.3-2]. */
  NULL_CHARACTER: 'close',
  /** A string or binary field is longer than 65,535 bytes (encoder). */
  STRING_TOO_LONG: 'close',
  /** A packet would exceed the maximum remaining length 268,435,455 (encoder). */
  PACKET_TOO_LONG: 'close',
  /** QoS 3 [MQTT-3.3.1-4], or a requested QoS that is not 0, 1 or 2 [MQTT-3.8.3-4]. */
  INVALID_QOS: 'close',
  /** DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]. */
  INVALID_DUP: 'close',
  /** A topic name that is empty [MQTT-4.7.3-1], has a wildcard [MQTT-3.3.2-2], or is otherwise invalid (spec 4.7). */
  INVALID_TOPIC: 'close',
  /** A topic filter with a misplaced `#` [MQTT-4.7.1-2] or `+` [MQTT-4.7.1-3], or otherwise invalid (spec 4.7). */
  INVALID_TOPIC_FILTER: 'close',
  /** CONNECT protocol name is neither "MQTT" (3.1.1) nor "MQIsdp" (3.1) [MQTT-3.1.2-1]. */
  INVALID_PROTOCOL_NAME: 'close',
  /** CONNECT protocol level is not the name's (4 for "MQTT", 3 for "MQIsdp"): the server answers CONNACK 0x01 [MQTT-3.1.2-2]. */
  UNSUPPORTED_PROTOCOL_LEVEL: 'connack',
  /** An MQTT 3.1 CONNECT whose client identifier is empty or over 23 bytes: the server answers CONNACK 0x02 (MQTT 3.1 section 3.1). */
  CLIENT_ID_REJECTED: 'connack',
  /** CONNECT flags inconsistent (reserved bit, will flags, password without user name). */
  INVALID_CONNECT_FLAGS: 'close',
  /** SUBSCRIBE or UNSUBSCRIBE without any topic filter [MQTT-3.8.3-3] [MQTT-3.10.3-2]. */
  EMPTY_SUBSCRIPTION_LIST: 'close',
  /** A return code outside the allowed set (SUBACK [MQTT-3.9.3-2], CONNACK), or CONNACK reserved flag bits set. */
  INVALID_RETURN_CODE: 'close',
  /** The encoder was given something that is not a valid packet object. */
  INVALID_PACKET: 'close',
  /** A codec function was given a value of the wrong type (bytes that are not a Uint8Array, a topic that is not a string, an option out of range). */
  INVALID_ARGUMENT: 'close',
  /** `encodeInto` was given a target without room for the packet at the offset (nothing is written). */
  BUFFER_TOO_SMALL: 'close',
} as const;

/** A stable code of the codec's errors: a key of {@link MQTT_ERROR_CODES}. */
export type MqttErrorCode = keyof typeof MQTT_ERROR_CODES;

/** What the receiver of offending bytes must do. */
export type MqttErrorAction = 'close' | 'connack';

/** Details attached to an {@link MqttError}. */
export interface MqttErrorOptions {
  /** Normative statement id without brackets, e.g. `'MQTT-2.2.2-2'`. */
  rule?: string | undefined;
  /** Byte offset in the stream (decoder) where the problem was found. */
  offset?: number | undefined;
  /** For `action === 'connack'`: the CONNACK return code to answer with. */
  returnCode?: number | undefined;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The base of every mqtt311 error, and the class of the codec's. `C` is the code type: the
 * codec's codes by default; each subclass narrows it to its own catalog.
 */
export class MqttError<C extends string = MqttErrorCode> extends Error {
  override readonly name: string = 'MqttError';
  readonly code: C;
  readonly rule: string | undefined;
  /** What the receiver of the offending bytes must do; `'close'` for codes outside the codec's catalog. */
  readonly action: MqttErrorAction;
  readonly returnCode: number | undefined;
  readonly offset: number | undefined;

  constructor(code: C, message: string, options: MqttErrorOptions = {}) {
    super(options.rule ? `${message} [${options.rule}]` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.rule = options.rule;
    this.action = Object.hasOwn(MQTT_ERROR_CODES, code) ? MQTT_ERROR_CODES[code as MqttErrorCode] : 'close'; // Object.hasOwn checked it is one of the codec's codes
    this.returnCode = options.returnCode;
    this.offset = options.offset;
  }
}

/**
 * Type guard: is `err` an mqtt311 error of any class (optionally with the given code)? The code
 * narrows the type: `isMqttError(err, 'INVALID_TOPIC')` for the codec's, or a subclass's code.
 */
export function isMqttError<C extends string = MqttErrorCode>(err: unknown, code?: C): err is MqttError<C> {
  return err instanceof MqttError && (code === undefined || err.code === code);
}
