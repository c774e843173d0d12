/**
 * Retained messages (spec 3.3.1.3): the last RETAIN=1 message of each topic, kept for future
 * subscribers — within a count and a byte bound, so publishers cannot grow the store without end.
 */
import { topicMatches } from '../../codec/index.js';
import type { QoS } from '../../codec/index.js';

/** A message kept for future subscribers of its topic (spec 3.3.1.3). */
export interface RetainedMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
}

/** Bounds of a `RetainedStore`. */
export interface RetainedLimits {
  /** Topics with a retained message. */
  maxMessages: number;
  /** Payload bytes plus topic lengths of every retained message together. */
  maxBytes: number;
}

/** What `RetainedStore.set` did. */
export type RetainOutcome =
  /** The message is the topic's retained message now. */
  | 'stored'
  /** An empty payload: the topic has no retained message now [MQTT-3.3.1-10]. */
  | 'cleared'
  /** The store is full: the topic has no retained message now (the older one is gone too). */
  | 'refused';

const size = (topic: string, payload: Uint8Array): number => payload.byteLength + topic.length;

/**
 * Retained messages, one per topic. They belong to the server, not to any session, so they
 * outlive the sessions that published them [MQTT-3.1.2-7].
 */
export class RetainedStore {
  readonly #byTopic = new Map<string, RetainedMessage>();
  readonly #limits: RetainedLimits;
  #bytes = 0;

  /** An empty store holding at most `limits` (default: no bounds). */
  constructor(limits: RetainedLimits = { maxMessages: Infinity, maxBytes: Infinity }) {
    this.#limits = limits;
  }

  /** Number of topics with a retained message. */
  get size(): number {
    return this.#byTopic.size;
  }

  /** Payload bytes plus topic lengths of every retained message. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Stores a RETAIN=1 publication, replacing the topic's previous one [MQTT-3.3.1-5] [MQTT-3.3.1-7].
   * An empty payload deletes the topic's retained message and is never stored itself
   * [MQTT-3.3.1-10] [MQTT-3.3.1-11]. When the message does not fit the bounds it is not stored,
   * and the topic's older message is deleted as well: a server may discard a retained message
   * (spec 3.3.1.3, 4.1), but a new subscriber must not be handed one known to be outdated.
   */
  set(topic: string, payload: Uint8Array, qos: QoS): RetainOutcome {
    const old = this.#byTopic.get(topic);
    const oldBytes = old ? size(old.topic, old.payload) : 0;
    const bytes = payload.length === 0 ? 0 : size(topic, payload);
    const fits = (old !== undefined || this.#byTopic.size < this.#limits.maxMessages) && this.#bytes - oldBytes + bytes <= this.#limits.maxBytes;
    if (payload.length === 0 || !fits) {
      if (old) this.#byTopic.delete(topic);
      this.#bytes -= oldBytes;
      return payload.length === 0 ? 'cleared' : 'refused';
    }
    // Replacing keeps the topic's place in the Map, so a delivery iterating it meanwhile
    // (retained-delivery.ts) meets the topic once.
    this.#byTopic.set(topic, { topic, payload, qos });
    this.#bytes += bytes - oldBytes;
    return 'stored';
  }

  /** The retained message of exactly `topic`, if any. */
  get(topic: string): RetainedMessage | undefined {
    return this.#byTopic.get(topic);
  }

  /** Every retained message whose topic matches `topicFilter` [MQTT-3.3.1-6] (with [MQTT-4.7.2-1]). */
  matching(topicFilter: string): RetainedMessage[] {
    if (!topicFilter.includes('+') && !topicFilter.includes('#')) {
      const m = this.#byTopic.get(topicFilter);
      return m ? [m] : [];
    }
    const out: RetainedMessage[] = [];
    for (const m of this.#byTopic.values()) if (topicMatches(topicFilter, m.topic)) out.push(m);
    return out;
  }

  /** Every retained message, in the order their topics were first retained. */
  values(): IterableIterator<RetainedMessage> {
    return this.#byTopic.values();
  }

  /** Removes every retained message. */
  clear(): void {
    this.#byTopic.clear();
    this.#bytes = 0;
  }
}
