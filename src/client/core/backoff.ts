/**
 * Reconnect policy: exponential backoff with jitter and a cap. Pure arithmetic; the client
 * owns the timer.
 */

/** Reconnect settings (`reconnect` option). All times in milliseconds. */
export interface ReconnectOptions {
  /** Delay before the first attempt after a connection is lost (default 1000). */
  initialDelay?: number;
  /** Upper bound of any delay (default 30 000). */
  maxDelay?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /**
   * Fraction of each delay that is random, 0..1 (default 0.5): the delay is drawn from
   * [base × (1 − jitter), base]. Jitter keeps a fleet of clients from reconnecting in lockstep
   * after a broker restart.
   */
  jitter?: number;
  /** Give up after this many consecutive failed attempts — rounds over every server with `servers` (default: never). */
  maxAttempts?: number;
}

/** Computes successive reconnect delays. */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #maxAttempts: number;
  readonly #random: () => number;
  #attempt = 0;

  /** `random` is injectable for tests (default `Math.random`). */
  constructor(options: ReconnectOptions = {}, random: () => number = Math.random) {
    this.#initial = Math.max(0, options.initialDelay ?? 1000);
    this.#max = Math.max(this.#initial, options.maxDelay ?? 30_000);
    this.#factor = Math.max(1, options.factor ?? 2);
    this.#jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
    this.#maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.#random = random;
  }

  /** Attempts made since the last `reset()`. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, or `undefined` when `maxAttempts` is used up. */
  next(): number | undefined {
    if (this.#attempt >= this.#maxAttempts) return undefined;
    const base = Math.min(this.#max, this.#initial * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(base * (1 - this.#jitter * this.#random()));
  }

  /** A connection succeeded: start again from `initialDelay`. */
  reset(): void {
    this.#attempt = 0;
  }
}
