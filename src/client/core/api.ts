/**
 * The public shapes of the client API: events, per-call options, subscribe requests and results.
 */
import {
  encodedLength,
  MAX_REMAINING_LENGTH,
  MqttError,
  validateTopicFilter,
  validateTopicName,
  type ConnackPacket,
  type Packet,
  type PublishPacket,
  type QoS,
  type SubackReturnCode,
  type Subscription,
} from '../../codec/index.js';
import type { TypedEmitter } from '../../util/emitter.js';
import { ClientError } from '../errors.js';
import type { Command, PublishCommand } from './types.js';

/** Events of `MqttClient`. */
export type ClientEvents = {
  /** CONNACK accepted, on the first connection and on every reconnection. */
  connect: (connack: ConnackPacket) => void;
  /** A connection was accepted by a different server of `servers` than the last one (failover). */
  server: (server: { host: string; port: number; url: string }) => void;
  /** A reconnect attempt starts (`attempt` counts from 1 since the last success). */
  reconnect: (attempt: number) => void;
  /** The connection was lost; work is queued until a reconnect succeeds. */
  offline: () => void;
  /** A network connection closed; `error` says why, when it failed. */
  close: (error?: Error) => void;
  /** The client stopped for good (end, destroy, or reconnecting gave up). */
  end: () => void;
  /** Errors nobody else hears about: a throwing handler, a refused reconnect. */
  error: (error: Error) => void;
  /** Every received application message. */
  message: (topic: string, payload: Uint8Array, packet: PublishPacket) => void;
  packetsend: (packet: Packet) => void;
  packetreceive: (packet: Packet) => void;
};

/** Options of `publish()`. */
export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** Withdraws the publish if not yet sent; the promise rejects with ABORTED either way. */
  signal?: AbortSignal;
}

/** Options of `subscribe()`. */
export interface SubscribeOptions {
  /** QoS for filters given without one (default 0). */
  qos?: QoS;
  signal?: AbortSignal;
}

/** Options of `end()`. */
export interface EndOptions {
  /** Do not wait for queued and in-flight work; it fails with CLIENT_CLOSED. */
  force?: boolean;
  /** Milliseconds to wait for in-flight work before closing anyway (default 10 000). */
  timeout?: number;
}

/** What to subscribe to: one filter, several, `{ topicFilter, qos }` objects, or `{ filter: qos }`. */
export type SubscribeRequest =
  | string
  | readonly string[]
  | readonly { topicFilter: string; qos?: QoS }[]
  | Readonly<Record<string, QoS>>;

/**
 * The outcome for one filter of a SUBSCRIBE (spec 3.9.3). A refusal (return code 0x80) is a
 * result, not an exception: check `refused`.
 */
export type Granted =
  | { topicFilter: string; refused: false; qos: QoS; returnCode: QoS }
  | { topicFilter: string; refused: true; qos: undefined; returnCode: 0x80 };

const utf8 = new TextEncoder();

/** Checks a QoS value; `rule` names the statement its packet breaks otherwise. */
export function checkQos(qos: unknown, rule: string): QoS {
  if (qos === 0 || qos === 1 || qos === 2) return qos;
  throw new MqttError('INVALID_QOS', `QoS must be 0, 1 or 2, got ${String(qos)}`, { rule });
}

/** A `ClientError` `INVALID_ARGUMENT`: `what` was given a value of the wrong type. */
export function invalidArgument(what: string, value: unknown): ClientError {
  return new ClientError('INVALID_ARGUMENT', `${what} must be ${describeWanted(what)}, got ${value === null ? 'null' : typeof value}`);
}

function describeWanted(what: string): string {
  return what.endsWith('handler') ? 'a function' : what.endsWith('retain') ? 'a boolean' : what.endsWith('signal') ? 'an AbortSignal' : 'an object';
}

/**
 * A method's options argument: `undefined` stands for `{}`; anything but an object, or a
 * `signal` that is not an AbortSignal, is refused with `INVALID_ARGUMENT` before anything is done.
 */
export function checkCallOptions<T extends { signal?: AbortSignal }>(options: T | undefined, method: string): T {
  if (options === undefined) return {} as T; // every field of the options types is optional
  if (options === null || typeof options !== 'object') throw invalidArgument(`${method} options`, options);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalidArgument(`${method} options.signal`, options.signal);
  return options;
}

/**
 * The largest payload that fits a PUBLISH with any valid topic: Remaining Length counts the topic
 * (2 + at most 65,535 bytes), the packet identifier (2) and the payload (spec 2.2.3, 3.3.2).
 */
const ALWAYS_FITS = MAX_REMAINING_LENGTH - 2 - 65_535 - 2;

/**
 * Validates a publish request and numbers it `op`; throws the codec's `MqttError` for anything
 * it cannot send — here, before anything is queued, not later on the wire.
 */
export function preparePublish(topic: string, payload: string | Uint8Array, options: PublishOptions, op: number): PublishCommand {
  checkCallOptions(options, 'publish');
  const bytes = typeof payload === 'string' ? utf8.encode(payload) : payload;
  const retain = options.retain ?? false;
  if (typeof retain !== 'boolean') throw invalidArgument('publish options.retain', retain);
  // [MQTT-3.3.1-4] QoS 3 does not exist.
  const qos = options.qos === undefined ? 0 : checkQos(options.qos, 'MQTT-3.3.1-4');
  // [MQTT-3.3.2-2] no wildcards, and the rest of 4.7; the codec remembers valid names.
  validateTopicName(topic);
  if (!(bytes instanceof Uint8Array) || bytes.length > ALWAYS_FITS) {
    // Not bytes, or big enough to need the exact size (a packet over 256 MB): the encoder decides.
    encodedLength({ cmd: 'publish', topic, payload: bytes, qos, retain, dup: false, ...(qos > 0 ? { packetId: 1 } : {}) });
  }
  return { kind: 'publish', op, topic, payload: bytes, qos, retain };
}

/** Turns any `SubscribeRequest` into validated `Subscription`s. */
export function prepareSubscriptions(request: SubscribeRequest, qos: QoS): Subscription[] {
  let list: Array<{ topicFilter: string; qos?: QoS }>;
  // Anything but a string, a list or an object is no topic filter at all.
  const filterOf = (r: unknown) => (typeof r === 'string' ? { topicFilter: r } : typeof r === 'object' && r !== null ? (r as { topicFilter: string; qos?: QoS }) : { topicFilter: r as string });
  if (typeof request === 'string') list = [{ topicFilter: request }];
  else if (request === null || typeof request !== 'object') list = [filterOf(request)];
  else if (Array.isArray(request)) list = request.map(filterOf);
  else list = Object.entries(request as Record<string, QoS>).map(([topicFilter, q]) => ({ topicFilter, qos: q })); // the object form maps filters to QoS; values are checked when the SUBSCRIBE is built
  // [MQTT-3.8.3-3] at least one filter.
  if (list.length === 0) throw new MqttError('EMPTY_SUBSCRIPTION_LIST', 'SUBSCRIBE needs at least one topic filter', { rule: 'MQTT-3.8.3-3' });
  const subscriptions = list.map((s) => {
    validateTopicFilter(s.topicFilter);
    return { topicFilter: s.topicFilter, qos: checkQos(s.qos ?? qos, 'MQTT-3.8.3-4') };
  });
  encodedLength({ cmd: 'subscribe', packetId: 1, subscriptions });
  return subscriptions;
}

/** Validates an unsubscribe request and numbers it `op`. */
export function prepareUnsubscribe(filters: string | readonly string[], op: number): Command {
  const topicFilters: string[] = Array.isArray(filters) ? [...(filters as readonly string[])] : [filters as string]; // narrowed by Array.isArray: strings (each checked when the packet is built)
  // [MQTT-3.10.3-2] at least one filter.
  if (topicFilters.length === 0) throw new MqttError('EMPTY_SUBSCRIPTION_LIST', 'UNSUBSCRIBE needs at least one topic filter', { rule: 'MQTT-3.10.3-2' });
  for (const f of topicFilters) validateTopicFilter(f);
  return { kind: 'unsubscribe', op, topicFilters };
}

/** Pairs requested filters with SUBACK return codes (spec 3.9.3). */
export function toGranted(subscriptions: readonly Subscription[], codes: readonly SubackReturnCode[] | undefined): Granted[] {
  return subscriptions.map(({ topicFilter }, i): Granted => {
    const rc = codes?.[i];
    return rc === 0x80 || rc === undefined
      ? { topicFilter, refused: true, qos: undefined, returnCode: 0x80 }
      : { topicFilter, refused: false, qos: rc, returnCode: rc };
  });
}

/**
 * Surfaces an error nobody awaits: through the emitter's `'error'` listeners, or — with none,
 * like node:events — as an uncaught exception, so it is never silently lost.
 */
export function surfaceError(emitter: TypedEmitter<ClientEvents>, error: Error): void {
  const rethrow = (e: unknown) =>
    queueMicrotask(() => {
      throw e;
    });
  if (emitter.listenerCount('error') === 0) return rethrow(error);
  try {
    emitter.emit('error', error);
  } catch (thrown) {
    rethrow(thrown);
  }
}
