/**
 * One-shot helpers for scripts: connect, do one thing, disconnect (like Paho's
 * `publish.single` and `subscribe.simple`).
 */
import type { QoS } from '../codec/index.js';
import type { MqttClient } from './core/client.js';
import type { Message } from './core/message.js';
import type { ClientOptions } from './core/options.js';
import { ClientError } from './errors.js';

type Connect = (target?: string | URL | ClientOptions, options?: ClientOptions) => Promise<MqttClient>;

/** Options of `publishSingle`: connection options plus the message's QoS and retain flag. */
export interface PublishSingleOptions extends ClientOptions {
  qos?: QoS;
  retain?: boolean;
}

/** Options of `subscribeSimple`. */
export interface SubscribeSimpleOptions extends ClientOptions {
  /** Messages to wait for (default 1). */
  count?: number;
  /** Milliseconds to wait for them; then the promise rejects with `TIMEOUT` (default: no limit). */
  timeout?: number;
  /** QoS of the subscription (default 0). */
  qos?: QoS;
  /** Count retained messages too (default true). */
  retained?: boolean;
}

/** The one-shot helpers of an entry point, bound to its `connect`. */
export interface OneShots {
  /** Connects, publishes one message, and disconnects (like Paho's `publish.single`). */
  publishSingle(this: void, target: string | URL | ClientOptions, topic: string, payload?: string | Uint8Array, options?: PublishSingleOptions): Promise<void>;
  /**
   * Connects, subscribes, waits for `count` messages (default 1), and disconnects (like Paho's
   * `subscribe.simple`). Resolves with one `Message`, or an array when `count` > 1.
   */
  subscribeSimple(this: void, target: string | URL | ClientOptions, filters: string | string[], options?: SubscribeSimpleOptions & { count?: 1 }): Promise<Message>;
  subscribeSimple(this: void, target: string | URL | ClientOptions, filters: string | string[], options: SubscribeSimpleOptions & { count: number }): Promise<Message | Message[]>;
  subscribeSimple(this: void, target: string | URL | ClientOptions, filters: string | string[], options?: SubscribeSimpleOptions): Promise<Message | Message[]>;
}

/** @internal `publishSingle` and `subscribeSimple` for a given `connect`. */
export function oneShots(connect: Connect): OneShots {
  return {
    publishSingle: (target, topic, payload, options) => publishSingleWith(connect, target, topic, payload, options),
    subscribeSimple: ((target: string | URL | ClientOptions, filters: string | string[], options?: SubscribeSimpleOptions) =>
      subscribeSimpleWith(connect, target, filters, options)) as OneShots['subscribeSimple'], // one body serves the overloads
  };
}

async function publishSingleWith(
  connect: Connect,
  target: string | URL | ClientOptions,
  topic: string,
  payload: string | Uint8Array = '',
  options: PublishSingleOptions = {},
): Promise<void> {
  const { qos, retain, ...connectOptions } = options;
  const client = await connect(target, { reconnect: false, ...connectOptions });
  try {
    await client.publish(topic, payload, { qos: qos ?? 0, retain: retain ?? false });
  } finally {
    await client.end();
  }
}

async function subscribeSimpleWith(
  connect: Connect,
  target: string | URL | ClientOptions,
  filters: string | string[],
  options: SubscribeSimpleOptions = {},
): Promise<Message | Message[]> {
  const { count = 1, timeout, qos = 0, retained = true, ...connectOptions } = options;
  const client = await connect(target, { reconnect: false, ...connectOptions });
  const stream = client.messages(undefined, { bufferSize: Math.max(count, 1000) });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const collect = async (): Promise<Message[]> => {
    await client.subscribe(filters, { qos });
    const got: Message[] = [];
    for await (const message of stream) {
      if (!retained && message.retain) continue;
      got.push(message);
      if (got.length >= count) break;
    }
    if (got.length < count) throw new ClientError('CONNECTION_LOST', `the client ended after ${got.length} of ${count} messages`);
    return got;
  };
  const expired = new Promise<never>((_, reject) => {
    if (timeout !== undefined) {
      timer = setTimeout(() => reject(new ClientError('TIMEOUT', `fewer than ${count} messages within ${timeout} ms`)), timeout);
    }
  });
  try {
    const got = await Promise.race([collect(), expired]);
    return count === 1 ? got[0]! : got; // collect() resolves with at least `count` messages
  } finally {
    clearTimeout(timer);
    void stream.return();
    await client.end({ force: true });
  }
}
