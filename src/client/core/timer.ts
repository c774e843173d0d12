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
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Disarms the timer. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
