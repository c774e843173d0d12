/**
 * Keep-alive decisions (spec 3.1.2.10), without timers: the session tells it when packets go
 * out and come in, and asks it at a given time whether to send a PINGREQ or give up on the
 * connection. `deadline()` says when the next decision is due, so the caller needs one timer.
 */

/** What the keep-alive logic wants done now. */
export type KeepAliveAction = 'ping' | 'dead' | undefined;

/** The default time to wait for a PINGRESP: half of min(keepAlive, 30 s), at least 1 s. */
export function defaultPingTimeout(keepAliveSeconds: number): number {
  return Math.max(1000, Math.min(keepAliveSeconds * 1000, 30_000) / 2);
}

/**
 * Tracks one network connection's traffic.
 *
 * [MQTT-3.1.2-23] the gap between two packets the client sends must not exceed Keep Alive; when
 * there is nothing else to send, the client sends PINGREQ. A PINGREQ also goes out when nothing
 * has been *received* for Keep Alive (the spec allows a PINGREQ at any time): a client that only
 * publishes QoS 0 would otherwise never notice a half-open connection. No PINGRESP within
 * `pingTimeoutMs` → the connection is treated as dead (spec 3.1.2.10: the client "SHOULD close
 * the Network Connection").
 */
export class KeepAlive {
  readonly #intervalMs: number;
  readonly #pingTimeoutMs: number;
  #lastSent = 0;
  #lastReceived = 0;
  #pingSentAt: number | undefined;

  /** `keepAliveSeconds` 0 turns the mechanism off (spec 3.1.2.10). */
  constructor(keepAliveSeconds: number, pingTimeoutMs = defaultPingTimeout(keepAliveSeconds)) {
    this.#intervalMs = keepAliveSeconds * 1000;
    this.#pingTimeoutMs = pingTimeoutMs;
  }

  /** A new network connection started at `now`. */
  reset(now: number): void {
    this.#lastSent = now;
    this.#lastReceived = now;
    this.#pingSentAt = undefined;
  }

  /** A packet was written at `now`. */
  sent(now: number): void {
    this.#lastSent = now;
  }

  /** A packet arrived at `now`; `pingresp` answers the outstanding PINGREQ. */
  received(now: number, pingresp: boolean): void {
    this.#lastReceived = now;
    if (pingresp) this.#pingSentAt = undefined;
  }

  /** Is a PINGREQ waiting for its PINGRESP? */
  get pinging(): boolean {
    return this.#pingSentAt !== undefined;
  }

  /**
   * The decision at `now`. Returning `'ping'` records that the caller sends a PINGREQ now;
   * `'dead'` means the PINGRESP is overdue.
   */
  check(now: number): KeepAliveAction {
    if (this.#intervalMs === 0) return undefined;
    if (this.#pingSentAt !== undefined) {
      return now >= this.#pingSentAt + this.#pingTimeoutMs ? 'dead' : undefined;
    }
    if (now >= Math.min(this.#lastSent, this.#lastReceived) + this.#intervalMs) {
      this.#pingSentAt = now;
      this.#lastSent = now;
      return 'ping';
    }
    return undefined;
  }

  /** When `check` next has something to decide, or `undefined` when keep-alive is off. */
  deadline(): number | undefined {
    if (this.#intervalMs === 0) return undefined;
    if (this.#pingSentAt !== undefined) return this.#pingSentAt + this.#pingTimeoutMs;
    return Math.min(this.#lastSent, this.#lastReceived) + this.#intervalMs;
  }
}
