/**
 * The worker thread that owns the broker store's SQLite connection (see `storage-sqlite.ts`).
 * The broker's thread sends it requests — open, load, write one batch, close — and it answers
 * each in order with the result or a `StorageError` in plain form. The fsync of a commit happens
 * here, so the broker's event loop keeps reading sockets and recording the next batch meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import { StorageError, type StorageErrorCode } from '../util/storage-error.js';
import type { StorageOp } from './core/batched-storage.js';
import type { LoadedState, SyncPolicy } from './core/storage.js';
import { openBrokerStoreFile, type BrokerStoreFile } from './storage-sqlite-file.js';

/** What the broker's thread asks; `id` pairs it with its reply. */
export type StoreRequest = { readonly id: number } & (
  | { readonly kind: 'open'; readonly file: string; readonly sync: SyncPolicy }
  | { readonly kind: 'load' }
  | { readonly kind: 'write'; readonly ops: readonly StorageOp[] }
  | { readonly kind: 'close' }
);

/** A `StorageError` as it crosses the thread boundary (a class does not survive the copy). */
export interface PlainStorageError {
  readonly code: StorageErrorCode;
  /** The message without the ` (file)` the constructor appends. */
  readonly message: string;
  readonly file: string | undefined;
  /** better-sqlite3's error, when there was one: its message and `SQLITE_*` code. */
  readonly cause: { readonly message: string; readonly code: unknown } | undefined;
}

/** The answer to request `id`: `value` is the `LoadedState` of a `load`. */
export type StoreReply = { readonly id: number; readonly ok: true; readonly value?: LoadedState } | { readonly id: number; readonly ok: false; readonly error: PlainStorageError };

function plain(error: unknown): PlainStorageError {
  const e = error instanceof StorageError ? error : new StorageError('STORAGE_IO', `the store's worker failed: ${String(error)}`, { cause: error });
  const suffix = e.file === undefined ? '' : ` (${e.file})`;
  const message = suffix !== '' && e.message.endsWith(suffix) ? e.message.slice(0, -suffix.length) : e.message;
  // better-sqlite3's errors carry a `code` (`SQLITE_FULL` …) that `Error` does not declare.
  const cause = e.cause instanceof Error ? { message: e.cause.message, code: (e.cause as { code?: unknown }).code } : undefined;
  return { code: e.code, message, file: e.file, cause };
}

let store: BrokerStoreFile | undefined;

async function handle(request: StoreRequest): Promise<LoadedState | undefined> {
  if (request.kind === 'open') {
    store = await openBrokerStoreFile(request.file, request.sync);
    return undefined;
  }
  if (store === undefined) throw new StorageError('STORAGE_CLOSED', 'the store is not open');
  switch (request.kind) {
    case 'load':
      return store.load();
    case 'write':
      store.write(request.ops);
      return undefined;
    case 'close':
      store.close();
      store = undefined;
      return undefined;
  }
}

const port = parentPort;
if (port !== null) {
  // Requests are answered one at a time, in the order they came (an open finishes before a load).
  let queue = Promise.resolve();
  port.on('message', (request: StoreRequest) => {
    queue = queue.then(async () => {
      let reply: StoreReply;
      try {
        const value = await handle(request);
        reply = value === undefined ? { id: request.id, ok: true } : { id: request.id, ok: true, value };
      } catch (error) {
        reply = { id: request.id, ok: false, error: plain(error) };
      }
      port.postMessage(reply);
      if (request.kind === 'close') port.close();
    });
  });
}
