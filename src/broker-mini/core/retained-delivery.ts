/**
 * Sending a new subscriber the retained messages its SUBSCRIBE matches [MQTT-3.3.1-6], without
 * letting one client stall the broker.
 *
 * The work is (filters in the SUBSCRIBE) × (retained messages): a 40 KB SUBSCRIBE that repeats `#`
 * ten thousand times, against 10,000 retained messages, asks for 100 million deliveries — each
 * repetition is a subscription of its own [MQTT-3.8.4-4] that re-sends the retained messages
 * [MQTT-3.8.4-3]. Two rules keep that cheap for everyone else:
 * - the work runs in slices of `RETAINED_SLICE` steps and yields to the event loop between them, so
 *   other clients are served meanwhile (this client's further input waits, as it does for an
 *   asynchronous hook);
 * - it stops at the first message the client cannot take — its queue is full, or its socket is
 *   backed up so a QoS 0 message was dropped: everything after it would be dropped too.
 */
import { topicMatches } from '../../codec/index.js';
import type { QoS } from '../../codec/index.js';
import type { ClientHandle } from './handle.js';
import type { RetainedMessage, RetainedStore } from './retained.js';

/** Steps (one retained topic compared with one filter, or one delivery) between two yields. */
export const RETAINED_SLICE = 2_000;

/** A filter the SUBSCRIBE was granted, with its granted QoS. */
export interface Grant {
  topicFilter: string;
  qos: QoS;
}

/** Every comparison of the work: a match to deliver, or `undefined` for a topic that did not match. */
function* comparisons(grants: readonly Grant[], store: RetainedStore): Generator<{ message: RetainedMessage; qos: QoS } | undefined> {
  for (const { topicFilter, qos } of grants) {
    if (!topicFilter.includes('+') && !topicFilter.includes('#')) {
      const message = store.get(topicFilter);
      if (message) yield { message, qos };
      continue;
    }
    // A Map iterator stays valid while other clients add or clear retained messages between slices.
    for (const message of store.values()) yield topicMatches(topicFilter, message.topic) ? { message, qos } : undefined;
  }
}

/**
 * Delivers to `handle` the retained messages matching `grants`, in order, each with RETAIN=1
 * [MQTT-3.3.1-8] at min(stored QoS, granted QoS) [MQTT-3.8.4-6]; the session applies the ACL,
 * `mayDeliver(topic)` anything else (the broker's `checkRetainSource`). Returns a promise when the work did not fit in one slice (see the module comment).
 */
export function sendRetained(handle: ClientHandle, grants: readonly Grant[], store: RetainedStore, mayDeliver?: (topic: string) => boolean): void | Promise<void> {
  const state = handle.session.state;
  if (!state || grants.length === 0 || store.size === 0) return;
  const droppedBefore = state.dropped;
  const work = comparisons(grants, store);
  const slice = (): void | Promise<void> => {
    for (let step = 0; step < RETAINED_SLICE; step++) {
      if (handle.ended || state.dropped > droppedBefore) return;
      const next = work.next();
      if (next.done) return;
      const match = next.value;
      if (match === undefined || (mayDeliver && !mayDeliver(match.message.topic))) continue;
      const { topic, payload, qos } = match.message;
      handle.run(handle.session.deliver({ topic, payload, qos: Math.min(qos, match.qos) as QoS, retain: true }, 'drop')); // the smaller of two QoS values is a QoS
    }
    return new Promise<void>((resolve) => setTimeout(resolve, 0)).then(slice);
  };
  return slice();
}
