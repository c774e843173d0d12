/**
 * Group commit for the storage backends (broker and client): changes are recorded synchronously,
 * and every `commit()` made in one event-loop turn waits for the same transaction, written once
 * at the end of the turn. No `node:` import: the memory backends of both cores use it too.
 */
import { StorageError } from './storage-error.js';

/** Runs `f` after the current event-loop turn (after I/O callbacks already queued, in Node). */
const afterTurn: (f: () => void) => void =
  typeof globalThis.setImmediate === 'function' ? (f) => void globalThis.setImmediate(f) : (f) => void setTimeout(f, 0);

/**
 * Batches recorded changes (`Op`s) into transactions written by `write`, in commit order.
 *
 * - `record(op)` appends to the pending batch.
 * - `commit()` resolves when every op recorded before it is written: the pending batch is
 *   written after the current turn, together with everything recorded until then; with nothing
 *   pending it waits for the transaction in progress, if any.
 * - At most one write is in progress. While an asynchronous `write` runs (the on-disk broker
 *   store's, in a worker thread, fsync included), the event loop keeps reading and recording;
 *   the moment it finishes, everything recorded meanwhile goes out as the next batch. The slower
 *   the disk, the larger the batches: one fsync is shared by all the messages that arrived
 *   while the previous one ran (classic group commit).
 * - A failed write fails the batcher for good: that commit and every later call reject with a
 *   `StorageError` (the store can no longer promise anything).
 */
export class GroupCommit<Op> {
  readonly #write: (ops: Op[]) => void | Promise<void>;
  #pending: Op[] = [];
  /** Settles the commits waiting for the pending batch. */
  #waiting: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;
  /** The last transaction started (never rejects: errors go to its waiters and `#failed`). */
  #tail: Promise<void> = Promise.resolve();
  #failed: StorageError | undefined;
  #closed = false;
  /** A `write` is in progress (`#tail` settles when it is done). */
  #writing = false;

  /** `write` applies one batch as one atomic transaction and makes it durable. */
  constructor(write: (ops: Op[]) => void | Promise<void>) {
    this.#write = write;
  }

  /** Records a change for the next transaction. Throws `STORAGE_CLOSED` after `close()` or a failure. */
  record(op: Op): void {
    this.#check();
    this.#pending.push(op);
  }

  /** Resolves when every change recorded so far is written (see the class comment). */
  commit(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#pending.length === 0) return this.#tail.then(() => (this.#failed ? Promise.reject(this.#failed) : undefined));
    if (!this.#waiting) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.#waiting = { promise, resolve, reject };
      afterTurn(() => this.#flush());
    }
    return this.#waiting.promise;
  }

  /** Commits what is pending, then refuses further changes. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.commit();
    } finally {
      this.#closed = true;
    }
  }

  #flush(): void {
    // The write in progress starts the next batch when it finishes.
    if (this.#writing) return;
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    const ops = this.#pending;
    this.#pending = [];
    this.#waiting = undefined;
    if (this.#failed) return waiting.reject(this.#failed);
    this.#writing = true;
    this.#tail = (async () => {
      try {
        await this.#write(ops);
        waiting.resolve();
      } catch (cause) {
        this.#failed = cause instanceof StorageError ? cause : new StorageError('STORAGE_IO', `a commit failed: ${String(cause)}`, { cause });
        waiting.reject(this.#failed);
      } finally {
        this.#writing = false;
      }
      this.#flush();
    })();
  }

  #check(): void {
    if (this.#failed) throw new StorageError('STORAGE_CLOSED', 'the store failed earlier', { cause: this.#failed });
    if (this.#closed) throw new StorageError('STORAGE_CLOSED', 'the store is closed');
  }
}
