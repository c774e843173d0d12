/**
 * A bridge's echo guard, for a remote that does not know we are a bridge (no try_private): it
 * sends back what we published to it whenever we also subscribe to those topics. The guard
 * remembers what went out (topic and a hash of the payload) for `ECHO_WINDOW_MS`, at most
 * `ECHO_MAX` messages, and drops one incoming copy of each. The price: a remote client that
 * publishes the very same message within the window is dropped once too.
 */
import { createHash } from 'node:crypto';

/** How long a message sent out is remembered by the echo guard. */
export const ECHO_WINDOW_MS = 30_000;
/** At most this many remembered messages (the oldest are forgotten first). */
const ECHO_MAX = 10_000;

/** Remembers messages sent out, to recognise them if the remote sends them back (see module comment). */
export class EchoGuard {
  readonly #sent = new Map<string, { count: number; at: number }>();

  static key(topic: string, payload: Uint8Array): string {
    return `${topic}\n${createHash('sha1').update(payload).digest('base64')}`;
  }

  /** `topic`/`payload` went out now. */
  sent(topic: string, payload: Uint8Array, now: number): void {
    const key = EchoGuard.key(topic, payload);
    const entry = this.#sent.get(key);
    this.#sent.delete(key); // re-inserted last: the map stays in time order
    this.#sent.set(key, { count: (entry?.count ?? 0) + 1, at: now });
    if (this.#sent.size > ECHO_MAX) this.#sent.delete(this.#sent.keys().next().value!); // the collection is not empty here
  }

  /** True when `topic`/`payload` was sent out recently: the remote's echo, dropped once. */
  take(topic: string, payload: Uint8Array, now: number): boolean {
    for (const [key, { at }] of this.#sent) {
      if (now - at <= ECHO_WINDOW_MS) break;
      this.#sent.delete(key);
    }
    const key = EchoGuard.key(topic, payload);
    const entry = this.#sent.get(key);
    if (!entry) return false;
    if (--entry.count === 0) this.#sent.delete(key);
    return true;
  }
}
