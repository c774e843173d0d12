/**
 * SQLite through better-sqlite3: the on-disk database behind the broker's persistence and the
 * client's durable store (docs/DESIGN.md, "Storage", says why this one). Node only.
 *
 * better-sqlite3 is an optional dependency, loaded here by a dynamic import only when a durable
 * store is opened: the codec, the client with its memory store, the in-memory broker and the
 * browser bundle never load it, and a missing module is a `STORAGE_MODULE_MISSING` error that
 * names it.
 *
 * Every file runs in WAL mode: a transaction is appended to `<file>-wal` as checksummed frames,
 * so a torn last write is discarded on the next open and every earlier transaction survives.
 * `SyncPolicy` `'always'` fsyncs the WAL at each commit (synchronous=FULL); `{ intervalMs }`
 * only writes it at commit (synchronous=NORMAL: it survives a crash of the process) and
 * checkpoints, which fsyncs, every `intervalMs`.
 */
import { StorageError } from '../util/storage-error.js';
import type { SyncPolicy } from '../broker-mini/core/storage.js';

/** The module this file loads. */
export const SQLITE_MODULE = 'better-sqlite3';

/** The part of a better-sqlite3 statement used here. */
export interface SqliteStatement {
  run(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** The part of a better-sqlite3 database used here. */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  pragma(sql: string, options?: { simple: boolean }): unknown;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}

type Driver = new (file: string) => SqliteDatabase;

let driver: Promise<Driver> | undefined;

/**
 * Imports the driver `specifier` (better-sqlite3 unless a test says otherwise) and loads its
 * native binding; rejects with `STORAGE_MODULE_MISSING` naming the module when either fails.
 */
export async function loadDriver(specifier: string = SQLITE_MODULE): Promise<Driver> {
  // A variable specifier: neither TypeScript nor the browser bundler follows it.
  try {
    const mod = (await import(specifier)) as { default: Driver }; // better-sqlite3's default export is the Database class
    // The JavaScript loads even when the native binding was never built; opening a database
    // is what loads the binding.
    new mod.default(':memory:').close();
    return mod.default;
  } catch (cause) {
    throw new StorageError(
      'STORAGE_MODULE_MISSING',
      `a durable store needs the optional module ${specifier}, which could not be loaded (npm install ${specifier}): ${(cause as Error).message.split('\n')[0]}`, // what is caught here is an Error (Node's or ours)
      { cause },
    );
  }
}

/** What a store file holds and how to recognise it. */
export interface SqliteSchema {
  /** `PRAGMA application_id`: tells a broker file, a client file and a foreign database apart. */
  applicationId: number;
  /** What is stored: `CREATE TABLE` statements, run once on a new file. */
  tables: string;
}

/** SQLite error codes that mean the file itself is bad, not the disk or the call. */
const CORRUPT_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_VTAB']);

/** A `StorageError` for `cause`, an error of better-sqlite3 while using `file`. */
export function storageError(file: string, doing: string, cause: unknown): StorageError {
  if (cause instanceof StorageError) return cause;
  const code = (cause as { code?: unknown }).code; // reads the optional `code` Node's errors carry
  const corrupt = typeof code === 'string' && CORRUPT_CODES.has(code);
  return new StorageError(corrupt ? 'STORAGE_CORRUPT' : 'STORAGE_IO', `${doing}: ${(cause as Error).message}`, { file, cause }); // what is caught here is an Error (Node's or ours)
}

/** An open store file: the database, and `close()` to stop its checkpoint timer and release it. */
export interface SqliteFile {
  readonly db: SqliteDatabase;
  readonly file: string;
  close(): void;
}

/**
 * Opens (or creates) the store `file` and checks it: a file that is not SQLite, fails
 * `PRAGMA quick_check`, or belongs to another kind of store is refused with `STORAGE_CORRUPT`
 * naming it — never opened as an empty store.
 */
export async function openSqlite(file: string, schema: SqliteSchema, sync: SyncPolicy): Promise<SqliteFile> {
  // A failed load is not cached: installing the module fixes the next attempt.
  driver ??= loadDriver().catch((error: unknown) => {
    driver = undefined;
    throw error;
  });
  const Database = await driver;
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new StorageError('STORAGE_CORRUPT', `the store is corrupt (quick_check: ${String(check)})`, { file });
    const appId = db.pragma('application_id', { simple: true });
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all();
    if (appId === 0 && tables.length === 0) {
      db.exec(`PRAGMA application_id = ${schema.applicationId}; BEGIN; ${schema.tables}; COMMIT;`);
    } else if (appId !== schema.applicationId) {
      throw new StorageError('STORAGE_CORRUPT', `not a store of this kind (application_id ${String(appId)})`, { file });
    }
    db.pragma(sync === 'always' ? 'synchronous = FULL' : 'synchronous = NORMAL');
  } catch (cause) {
    db?.close();
    throw storageError(file, 'cannot open the store', cause);
  }
  const opened = db;
  const timer = sync === 'always' ? undefined : setInterval(() => checkpoint(opened), sync.intervalMs);
  timer?.unref?.();
  return {
    db: opened,
    file,
    close: () => {
      clearInterval(timer);
      opened.close();
    },
  };
}

/** Copies the WAL into the database file; with synchronous=NORMAL this is where the fsync happens. */
function checkpoint(db: SqliteDatabase): void {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // A failed checkpoint loses nothing: the WAL keeps the transactions, and the next commit's
    // own error (if the disk is really failing) is what the store reports.
  }
}

/** Checks a `SyncPolicy` given by a user. */
export function checkSyncPolicy(sync: unknown): SyncPolicy {
  if (sync === 'always') return sync;
  const ms = (sync as { intervalMs?: unknown } | undefined)?.intervalMs; // reads one optional field, checked below
  if (typeof ms === 'number' && Number.isInteger(ms) && ms >= 1 && ms <= 3_600_000) return { intervalMs: ms };
  throw new StorageError('STORAGE_INVALID_OPTIONS', `sync must be 'always' or { intervalMs: 1..3600000 }, got ${JSON.stringify(sync)}`);
}
