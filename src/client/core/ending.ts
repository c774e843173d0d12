/**
 * What `end()` waits for, and how it lets go of the connection.
 *
 * `end()` is graceful: before DISCONNECT it waits (bounded by its timeout) until the client's own
 * work is done — nothing queued, nothing in flight — and until the incoming QoS 2 flows that were
 * open when `end()` was called have been released by PUBREL. The connection lives on meanwhile, so
 * this wait is an `EndRequest` held beside the lifecycle state (see lifecycle.ts), re-checked by
 * the client after every session step. After DISCONNECT the client closes the connection itself
 * [MQTT-3.14.4-1].
 */
import type { Link } from './link.js';
import type { ClientSession } from './session.js';

/** `end()` in progress: it waits for `until()` (checked after every step) before closing. */
export interface EndRequest {
  /** What `end()` returns, to every caller. */
  done: Promise<void>;
  /** Set while `end()` waits for work to finish. */
  waiter: { until: () => boolean; resolve: () => void } | undefined;
}

/**
 * The condition `end()` waits for: the session is idle, and the incoming QoS 2 flows open now are
 * released. Flows the server starts later do not count, or a busy subscriber could never end.
 */
export function workDone(session: ClientSession): () => boolean {
  const held = session.awaitingRelease();
  return () => session.idle && held.every((id) => !session.isAwaitingRelease(id));
}

/**
 * Settles when `until()` is found true by `checkEnding` or when `timeout` ms have passed,
 * whichever comes first. The caller clears `request.waiter` afterwards.
 */
export function waitForWork(request: EndRequest, until: () => boolean, timeout: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeout);
    request.waiter = { until, resolve: () => (clearTimeout(timer), resolve()) };
  });
}

/** After a session step: lets a waiting `end()` go on once its condition holds. */
export function checkEnding(request: EndRequest | undefined): void {
  const waiter = request?.waiter;
  if (request && waiter?.until()) {
    request.waiter = undefined;
    waiter.resolve();
  }
}

/**
 * Closes `link` after DISCONNECT was written and waits for `closed` (the client's `close`
 * event). The bytes get a moment to leave; a peer that never closes is cut off after `graceMs`.
 */
export async function closeAfterDisconnect(link: Link, closed: Promise<void>, graceMs = 2000): Promise<void> {
  link.end();
  const timer = setTimeout(() => link.destroy(), graceMs);
  await closed;
  clearTimeout(timer);
}
