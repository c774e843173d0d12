/**
 * One broker-wide bound on the memory clients can make the broker hold: the bytes of packets that
 * have started to arrive but are not complete (on every connection), plus the bytes of QoS 1/2
 * messages queued or in flight for every session (`SessionState.queuedBytes`, read on each tick).
 *
 * Without it, N connections that each announce a large PUBLISH and then trickle its body make the
 * broker hold N × `maxPacketSize`, and keep-alive never fires while bytes keep coming.
 *
 * The policy, checked after every chunk a connection's decoder has taken, and on every tick:
 * - above three quarters of the budget, a connection whose incomplete packet just grew stops being
 *   read (backpressure): its bytes wait in the kernel, not in the broker; connections sending
 *   whole packets keep being read, so well-behaved clients keep their latency;
 * - above the budget, the connections holding the most incomplete bytes are closed, largest
 *   first, until the total is within it again (a connection that keeps growing is one of them);
 * - an incomplete packet not finished within `partialPacketTimeout` of its first byte closes its
 *   connection, whatever its keep-alive, so a paused or trickling connection cannot hold its
 *   bytes for ever;
 * - below three quarters again (on a tick), paused connections are read again.
 * Both closes are transient resource errors for the broker [MQTT-4.8.0-2].
 *
 * The total is enforced between events: a single chunk (at most what one socket read returns) may
 * sit above it while it is being decoded. Bytes that Node or the kernel buffer for a paused
 * socket are not counted. A transport that frames the bytes itself (WebSocket) holds an
 * incomplete frame before the decoder sees any of it: it reports those bytes as a
 * {@link FramedStream}, and they count in the same account as the decoder's.
 */

/** The event a {@link FramedStream} emits after its held bytes may have changed. */
export const FRAMED_BYTES_EVENT = 'framed-bytes';

/**
 * A byte stream whose transport buffers bytes of incomplete frames of its own (the WebSocket
 * adapter). It emits {@link FRAMED_BYTES_EVENT} after each chunk it took from the network.
 */
export interface FramedStream {
  /** Bytes received from the network that have not yet been delivered as stream data. */
  readonly framedBytes: number;
}

/** Is `stream` a {@link FramedStream}? */
export function isFramedStream(stream: object): stream is FramedStream {
  return typeof (stream as Partial<FramedStream>).framedBytes === 'number'; // probes for the field; undefined when absent
}

/** Why the budget closes a connection. */
export type BudgetCloseReason = 'memory-budget' | 'packet-timeout';

/** One connection, as the budget sees it (connection.ts implements it). */
export interface BudgetAccount {
  /** Bytes held for the connection's incomplete packet (set by the budget). */
  held: number;
  /** When the incomplete packet's first byte arrived (ms; meaningful while `held > 0`). */
  since: number;
  /** Whether the budget has stopped reading from it. */
  paused: boolean;
  /** Stops (`true`) or restarts (`false`) reading. */
  setPaused(paused: boolean): void;
  /** Closes the connection and drops its bytes; it must call `release` on the budget. */
  close(reason: BudgetCloseReason): void;
}

/** What the budget reports (`broker.memory`). */
export interface MemoryBudgetStats {
  /** The bound, in bytes. */
  limit: number;
  /** Bytes held now: `partialBytes + queuedBytes`. */
  held: number;
  /** Bytes of incomplete packets on all connections. */
  partialBytes: number;
  /** Bytes of QoS 1/2 messages queued or in flight, all sessions (as of the last tick). */
  queuedBytes: number;
  /** The most `held` has been after the budget acted on a chunk or a tick. */
  peakHeld: number;
  /** Connections not being read now because of the budget. */
  paused: number;
  /** Connections closed for going over the budget. */
  closedOverBudget: number;
  /** Connections closed for an incomplete packet older than `partialPacketTimeout`. */
  closedPartialTimeout: number;
}

/** The broker-wide memory budget (see the module comment). */
export class MemoryBudget {
  readonly limit: number;
  readonly partialPacketTimeout: number;
  readonly #accounts = new Set<BudgetAccount>();
  /** The accounts holding bytes now: the only ones a tick or an eviction looks at (most connections hold none). */
  readonly #holding = new Set<BudgetAccount>();
  readonly #paused = new Set<BudgetAccount>();
  #partial = 0;
  #queued = 0;
  #peak = 0;
  #closedOverBudget = 0;
  #closedPartialTimeout = 0;

  constructor(limit: number, partialPacketTimeout: number) {
    this.limit = limit;
    this.partialPacketTimeout = partialPacketTimeout;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#partial + this.#queued;
  }

  /** Above this, growing connections stop being read. */
  get softLimit(): number {
    return Math.floor((this.limit * 3) / 4);
  }

  /** A snapshot of the counters. */
  get stats(): MemoryBudgetStats {
    return {
      limit: this.limit,
      held: this.held,
      partialBytes: this.#partial,
      queuedBytes: this.#queued,
      peakHeld: this.#peak,
      paused: this.#paused.size,
      closedOverBudget: this.#closedOverBudget,
      closedPartialTimeout: this.#closedPartialTimeout,
    };
  }

  /** Starts accounting for a connection. */
  open(account: BudgetAccount): void {
    this.#accounts.add(account);
  }

  /** The connection is gone: its bytes are no longer held. Idempotent. */
  release(account: BudgetAccount): void {
    if (!this.#accounts.delete(account)) return;
    this.#holding.delete(account);
    this.#paused.delete(account);
    this.#partial -= account.held;
    account.held = 0;
  }

  /**
   * After `account`'s decoder took a chunk: it now holds `held` bytes of an incomplete packet,
   * `completed` says whether a packet finished in the chunk (so what is held is a new packet).
   */
  settle(account: BudgetAccount, held: number, completed: boolean, now: number): void {
    if (!this.#accounts.has(account)) return;
    const before = account.held;
    this.#partial += held - before;
    account.held = held;
    if (held > 0) this.#holding.add(account);
    else this.#holding.delete(account);
    if (held > 0 && (before === 0 || completed)) account.since = now;
    if (this.held > this.limit) this.#evict();
    else if (held > before && this.held > this.softLimit && !account.paused) this.#pause(account);
    this.#notePeak();
  }

  /** The passage of time, with the sessions' queued bytes now: timeouts, eviction, resumption. */
  tick(now: number, queuedBytes: number): void {
    this.#queued = queuedBytes;
    // Only accounts holding bytes can time out; copied because closing one changes the set.
    if (this.#holding.size > 0) {
      for (const a of [...this.#holding]) {
        if (a.held > 0 && now - a.since >= this.partialPacketTimeout) {
          this.#closedPartialTimeout++;
          this.#close(a, 'packet-timeout');
        }
      }
    }
    if (this.held > this.limit) this.#evict();
    if (this.held <= this.softLimit) {
      for (const a of [...this.#paused]) {
        this.#paused.delete(a);
        a.paused = false;
        a.setPaused(false);
      }
    }
    this.#notePeak();
  }

  #pause(account: BudgetAccount): void {
    account.paused = true;
    this.#paused.add(account);
    account.setPaused(true);
  }

  /** Closes the largest holders of incomplete packets until the total fits (or none is left). */
  #evict(): void {
    while (this.held > this.limit) {
      let largest: BudgetAccount | undefined;
      for (const a of this.#holding) if (a.held > 0 && (largest === undefined || a.held > largest.held)) largest = a;
      if (largest === undefined) return; // only queued messages are left: the sessions' own bounds apply
      this.#closedOverBudget++;
      this.#close(largest, 'memory-budget');
    }
  }

  #close(account: BudgetAccount, reason: BudgetCloseReason): void {
    account.close(reason);
    this.release(account); // in case the connection did not
  }

  #notePeak(): void {
    if (this.held > this.#peak) this.#peak = this.held;
  }
}
