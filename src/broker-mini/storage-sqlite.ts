/**
 * The on-disk `BrokerStorage`: one SQLite file (see `src/storage/sqlite.ts` for the module, the
 * WAL and the sync policy). Each group-committed batch is one SQLite transaction, so after a
 * crash the file holds exactly the batches whose `commit()` had resolved (and, with an interval
 * policy, possibly later ones), never part of one.
 *
 * The connection lives in a worker thread (`storage-sqlite-worker.ts`). The broker records
 * changes as usual; a batch is copied to the worker, which writes it and fsyncs while the
 * broker's event loop goes on reading sockets and recording the next batch; `commit()` promises
 * resolve when the worker answers. One batch is written at a time (see `GroupCommit`), so
 * everything that arrived during one fsync shares the next.
 *
 *   const storage = await openSqliteStorage('/var/lib/mqtt311/broker.db', { sync: 'always' });
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { checkSyncPolicy } from '../storage/sqlite.js';
import { StorageError } from '../util/storage-error.js';
import { BatchedStorage, type StorageOp } from './core/batched-storage.js';
import { compactBytes } from './core/compact-bytes.js';
import type { LoadedState, SyncPolicy } from './core/storage.js';
import type { PlainStorageError, StoreReply, StoreRequest } from './storage-sqlite-worker.js';

/** Options of `openSqliteStorage`. */
export interface SqliteStorageOptions {
  /** When commits reach stable storage (default `'always'`); see `SyncPolicy`. */
  sync?: SyncPolicy;
}

/** Starts the store's worker thread, from the built `.js` or, under tsx / vitest, from the `.ts` source. */
function startWorker(): Worker {
  const here = import.meta.url;
  const source = here.endsWith('.ts');
  const url = new URL(`./storage-sqlite-worker.${source ? 'ts' : 'js'}`, here);
  if (!source) return new Worker(url);
  // Workers do not inherit tsx's ESM hooks on Node 20; its require hook works in any thread.
  const tsx = createRequire(here).resolve('tsx/cjs/api');
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(fileURLToPath(url))});`, { eval: true });
}

/** A request without its `id` (the connection numbers them). */
type Request = StoreRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The broker's end of the worker: numbered requests, each answered by one reply. */
class WorkerConnection {
  readonly #worker = startWorker();
  readonly #file: string;
  readonly #waiting = new Map<number, { resolve: (value: LoadedState | undefined) => void; reject: (e: StorageError) => void }>();
  #nextId = 1;
  /** A `close` request was sent: the worker ends after answering it. */
  #closing = false;
  /** Set once the worker is gone: every request fails with it. */
  #dead: StorageError | undefined;

  constructor(file: string) {
    this.#file = file;
    this.#worker.unref();
    this.#worker.on('message', (reply: StoreReply) => this.#answer(reply));
    this.#worker.on('error', (error) => this.#stop(new StorageError('STORAGE_IO', `the store's worker failed: ${error.message}`, { file, cause: error })));
    // Exiting after a `close` request (or `terminate()`) is the end of a closed store; any other exit is a failure.
    this.#worker.on('exit', (code) =>
      this.#stop(new StorageError(this.#closing ? 'STORAGE_CLOSED' : 'STORAGE_IO', `the store's worker exited (${code})`, { file })),
    );
  }

  request(request: Request): Promise<LoadedState | undefined> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    if (request.kind === 'close') this.#closing = true;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // A request in progress keeps the process alive (a commit must not be cut short); an idle worker does not.
      if (this.#waiting.size === 1) this.#worker.ref();
      this.#worker.postMessage({ ...request, id } satisfies StoreRequest);
    });
  }

  /** Ends the thread (after its `close` request was answered, or when opening failed). */
  async terminate(): Promise<void> {
    this.#closing = true;
    this.#dead ??= new StorageError('STORAGE_CLOSED', 'the store is closed', { file: this.#file });
    await this.#worker.terminate();
  }

  #answer(reply: StoreReply): void {
    const waiter = this.#waiting.get(reply.id);
    if (waiter === undefined) return;
    this.#waiting.delete(reply.id);
    if (this.#waiting.size === 0) this.#worker.unref();
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(revive(reply.error));
  }

  #stop(error: StorageError): void {
    this.#dead ??= error;
    for (const waiter of this.#waiting.values()) waiter.reject(this.#dead);
    this.#waiting.clear();
  }
}

/** The `StorageError` the worker reported, rebuilt on this side with the same code, file and cause. */
function revive(e: PlainStorageError): StorageError {
  const cause = e.cause && Object.assign(new Error(e.cause.message), { code: e.cause.code });
  return new StorageError(e.code, e.message, e.file === undefined ? { cause } : { file: e.file, cause });
}

/**
 * `op`, with a payload that is a view into a larger buffer compacted first: copying a view to a
 * worker copies its whole buffer. (The core keeps compact payloads, so this rarely copies.)
 */
function compactOp(op: StorageOp): StorageOp {
  if (op.kind === 'putOutbound') {
    const payload = compactBytes(op.message.payload);
    return payload === op.message.payload ? op : { ...op, message: { ...op.message, payload } };
  }
  if (op.kind === 'putRetained') {
    const payload = compactBytes(op.message.payload);
    return payload === op.message.payload ? op : { ...op, message: { ...op.message, payload } };
  }
  return op;
}

/** The SQLite broker storage; create it with `openSqliteStorage`. */
export class SqliteStorage extends BatchedStorage {
  readonly #worker: WorkerConnection;
  /** The file this storage writes. */
  readonly file: string;

  /** Use `openSqliteStorage`. */
  private constructor(worker: WorkerConnection, file: string) {
    super();
    this.#worker = worker;
    this.file = file;
  }

  /** @internal Opens `file` in a new worker thread (see `openSqliteStorage`). */
  static async open(file: string, sync: SyncPolicy): Promise<SqliteStorage> {
    const worker = new WorkerConnection(file);
    try {
      await worker.request({ kind: 'open', file, sync });
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return new SqliteStorage(worker, file);
  }

  async load(): Promise<LoadedState> {
    const state = await this.#worker.request({ kind: 'load' });
    if (state === undefined) throw new StorageError('STORAGE_IO', 'the store returned nothing to load', { file: this.file });
    return state;
  }

  protected async writeBatch(ops: readonly StorageOp[]): Promise<void> {
    await this.#worker.request({ kind: 'write', ops: ops.map(compactOp) });
  }

  protected async release(): Promise<void> {
    try {
      await this.#worker.request({ kind: 'close' });
    } finally {
      await this.#worker.terminate();
    }
  }
}

/**
 * Opens (or creates) the broker store `file`. Rejects with a `StorageError`:
 * `STORAGE_MODULE_MISSING` when better-sqlite3 is not installed, `STORAGE_CORRUPT` (naming the
 * file) when it is not a sound broker store.
 */
export async function openSqliteStorage(file: string, options: SqliteStorageOptions = {}): Promise<SqliteStorage> {
  if (typeof file !== 'string' || file === '') throw new StorageError('STORAGE_INVALID_OPTIONS', 'the store needs a file name');
  const sync = checkSyncPolicy(options.sync ?? 'always');
  return SqliteStorage.open(file, sync);
}
