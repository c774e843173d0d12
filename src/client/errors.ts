/**
 * The client's error family.
 *
 * Everything the client itself refuses or gives up on is a `ClientError` with a stable `code`;
 * a refused CONNECT is its subclass `ConnackError`, which also carries the CONNACK `returnCode`.
 * Invalid protocol input (a wildcard in a topic name, QoS 3, a string over 65,535 bytes) is
 * reported with the codec's own `MqttError` before anything is sent, so one error type describes
 * one kind of problem wherever it is found. Match on `code`, never on message text.
 *
 * Every code is listed, with its meaning, in `CLIENT_ERROR_CODES` below and in docs/ERRORS.md
 * (generated from it by `npm run catalog`).
 */
import { MqttError, type ConnackReturnCode } from '../codec/index.js';

/** Every stable client error code, one documented line each. */
export const CLIENT_ERROR_CODES = [
  /** Options refused before connecting (e.g. an empty clientId with cleanSession false [MQTT-3.1.3-7], an unknown URL protocol). */
  'INVALID_OPTIONS',
  /** A method got an argument of the wrong type (per-call options that are not an object, `retain` not a boolean, a handler not a function). */
  'INVALID_ARGUMENT',
  /** The server answered CONNECT with a non-zero return code (`ConnackError`, `returnCode` 1-5). */
  'CONNACK_REFUSED',
  /** No CONNACK within `connectTimeout`. */
  'CONNECT_TIMEOUT',
  /** The network connection could not be opened (`cause` holds the reason). */
  'CONNECT_FAILED',
  /** The operation's `AbortSignal` fired. */
  'ABORTED',
  /** The client was ended (or is ending) before the operation completed. */
  'CLIENT_CLOSED',
  /** The connection dropped and reconnecting is off or has given up. */
  'CONNECTION_LOST',
  /** `maxQueued` operations are already waiting; this one is refused. */
  'QUEUE_FULL',
  /** All 65,535 packet identifiers are in flight [MQTT-2.3.1-2]. */
  'PACKET_IDS_EXHAUSTED',
  /** No PINGRESP within `pingTimeout`: the connection is treated as dead. */
  'PING_TIMEOUT',
  /** The server broke the protocol (e.g. a first packet that is not CONNACK [MQTT-3.2.0-1]); the connection is closed [MQTT-4.8.0-1]. */
  'PROTOCOL_ERROR',
  /** A one-shot helper (`subscribeSimple`) did not finish in its `timeout`. */
  'TIMEOUT',
  /** A `messages()` iterator's buffer was full; it ends with this error. */
  'MESSAGES_OVERFLOW',
  /** A message listener or handler threw; the original is the `cause`. */
  'HANDLER_ERROR',
] as const;

/** A stable client error code. */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** Options for `ClientError`. */
export interface ClientErrorOptions {
  /** Normative statement id without brackets, e.g. `'MQTT-3.1.3-7'`. */
  rule?: string;
  cause?: unknown;
}

/** An error raised by the client (not by the codec); an `MqttError`. */
export class ClientError extends MqttError<ClientErrorCode> {
  override readonly name: string = 'ClientError';

  constructor(code: ClientErrorCode, message: string, options: ClientErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The meaning of each CONNACK return code (spec 3.2.2.3, table 3.1). */
export const CONNACK_REASONS: Readonly<Record<number, string>> = {
  0: 'connection accepted',
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** The server refused the connection: CONNACK with a non-zero `returnCode`. */
export class ConnackError extends ClientError {
  override readonly name: string = 'ConnackError';
  /** The CONNACK return code, 1..5. */
  override readonly returnCode: ConnackReturnCode;

  constructor(returnCode: ConnackReturnCode) {
    super('CONNACK_REFUSED', `CONNACK ${returnCode}: ${CONNACK_REASONS[returnCode] ?? 'unknown return code'}`);
    this.returnCode = returnCode;
  }
}

/** Type guard: is `err` a `ClientError` (optionally with the given code)? */
export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code);
}
