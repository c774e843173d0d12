/**
 * One timer for "the next deadline", however often the deadline moves.
 */

/**
 * Fires `onFire` at the latest deadline given to `set`. Moving a deadline later keeps the
 * earlier timer (it fires, the caller finds nothing due and sets the new deadline), so busy
 * traffic — which moves the keep-alive deadline with every packet — costs no timer churn.
 * The timer does not keep a Node process alive (the socket does that).
 */
export class DeadlineTimer {
  readonly #onFire: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #at = 0;

  constructor(onFire: () => void) {
    this.#onFire = onFire;
  }

  /** Arms the timer for time `at` (ms since the epoch), or disarms it when undefined. */
  set(at: number | undefined): void {
    if (at === undefined) return this.clear();
    if (this.#timer !== undefined && this.#at <= at) return;
    clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#onFire();
    }, Math.max(0, at - Date.now()));
    (this.#timer as { unref?: () => void }).unref?.(); // Node's timers have unref; browsers' numbers do not
  }

  /** Disarms the timer. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * `Date.now()` read at most once per turn of the event loop: the first call reads the clock, and
 * later calls until the current microtasks have run return the same value. Keep-alive
 * bookkeeping (when a packet was last sent or received) needs no finer grain — a time up to one
 * turn old only makes a PINGREQ due a little early — and reading the clock for every one of a
 * burst of packets costs as much as encoding them on some machines.
 */
export class TurnClock {
  #now = 0;
  #fresh = false;
  readonly #expire = () => {
    this.#fresh = false;
  };

  /** The time (ms since the epoch) at the start of this turn's use of the clock. */
  now(): number {
    if (!this.#fresh) {
      this.#now = Date.now();
      this.#fresh = true;
      queueMicrotask(this.#expire);
    }
    return this.#now;
  }
}
