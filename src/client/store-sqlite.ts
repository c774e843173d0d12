/**
 * The durable client store: one SQLite file (see src/storage/sqlite.ts for the optional module,
 * the WAL and the sync policy). Node only; the client core sees only the `ClientStore` interface.
 *
 *   const store = await openSqliteClientStore('client-state.db');
 *   const client = await connect(url, { clientId: 'meter-7', cleanSession: false, store });
 *
 * One file may hold the stores of several clientIds (one client at a time for each).
 */
import type { SyncPolicy } from '../broker-mini/core/storage.js';
import { checkSyncPolicy, openSqlite, storageError, type SqliteFile, type SqliteStatement } from '../storage/sqlite.js';
import { StorageError } from '../util/storage-error.js';
import { BatchedClientStore, type ClientStoreOp, type ClientStoreState, type StoredPublish } from './core/store.js';

/** Options of `openSqliteClientStore`. */
export interface SqliteClientStoreOptions {
  /** When commits reach stable storage (default `'always'`); see `SyncPolicy`. */
  sync?: SyncPolicy;
}

/** "mq3c" in ASCII: a client store file. */
const CLIENT_APPLICATION_ID = 0x6d713363;

const TABLES = `
  CREATE TABLE outgoing (client TEXT, packet_id INTEGER, seq INTEGER, topic TEXT, payload BLOB, qos INTEGER,
    retain INTEGER, stage TEXT, PRIMARY KEY (client, packet_id)) WITHOUT ROWID;
  CREATE TABLE inbound_qos2 (client TEXT, packet_id INTEGER, PRIMARY KEY (client, packet_id)) WITHOUT ROWID`;

const SQL: Record<ClientStoreOp['kind'], string[]> = {
  putOutgoing: ['INSERT OR REPLACE INTO outgoing VALUES (?, ?, ?, ?, ?, ?, ?, ?)'],
  deleteOutgoing: ['DELETE FROM outgoing WHERE client = ? AND packet_id = ?'],
  putInboundQos2: ['INSERT OR REPLACE INTO inbound_qos2 VALUES (?, ?)'],
  deleteInboundQos2: ['DELETE FROM inbound_qos2 WHERE client = ? AND packet_id = ?'],
  clear: ['DELETE FROM outgoing WHERE client = ?', 'DELETE FROM inbound_qos2 WHERE client = ?'],
};

function params(clientId: string, op: ClientStoreOp): unknown[] {
  switch (op.kind) {
    case 'putOutgoing': {
      const p = op.publish;
      return [clientId, p.packetId, p.seq, p.topic, p.payload, p.qos, p.retain ? 1 : 0, p.stage];
    }
    case 'deleteOutgoing':
    case 'putInboundQos2':
    case 'deleteInboundQos2':
      return [clientId, op.packetId];
    case 'clear':
      return [clientId];
  }
}

type Row = Record<string, unknown>;

/** The SQLite client store; create it with `openSqliteClientStore`. */
export class SqliteClientStore extends BatchedClientStore {
  readonly #store: SqliteFile;
  readonly #transaction: (clientId: string, ops: readonly ClientStoreOp[]) => void;

  /** Use `openSqliteClientStore`. */
  constructor(store: SqliteFile) {
    super();
    this.#store = store;
    const statements = new Map(Object.entries(SQL).map(([kind, sql]) => [kind, sql.map((s) => store.db.prepare(s))] as [string, SqliteStatement[]])); // the SQL table's keys and their statements
    this.#transaction = store.db.transaction((clientId: string, ops: readonly ClientStoreOp[]) => {
      for (const op of ops) for (const s of statements.get(op.kind)!) s.run(...params(clientId, op)); // every op kind has its statements (the SQL table above)
    });
  }

  /** The file this store writes. */
  get file(): string {
    return this.#store.file;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw of the synchronous driver is a rejection
  protected async read(clientId: string): Promise<ClientStoreState> {
    const { db, file } = this.#store;
    try {
      const outgoing = (db.prepare('SELECT * FROM outgoing WHERE client = ? ORDER BY seq').all(clientId) as Row[]).map( // the driver returns rows as plain objects keyed by column
        (r): StoredPublish => ({
          seq: Number(r.seq),
          packetId: Number(r.packet_id),
          topic: String(r.topic),
          payload: r.payload instanceof Uint8Array ? r.payload : new Uint8Array(0),
          qos: r.qos === 2 ? 2 : 1,
          retain: r.retain === 1,
          stage: r.stage === 'pubrel' ? 'pubrel' : 'publish',
        }),
      );
      const inboundQos2 = (db.prepare('SELECT packet_id FROM inbound_qos2 WHERE client = ?').all(clientId) as Row[]).map((r) => Number(r.packet_id)); // the driver returns rows as plain objects keyed by column
      return { outgoing, inboundQos2 };
    } catch (cause) {
      throw storageError(file, 'cannot load the client store', cause);
    }
  }

  protected writeBatch(clientId: string, ops: readonly ClientStoreOp[]): void {
    try {
      this.#transaction(clientId, ops);
    } catch (cause) {
      throw storageError(this.#store.file, 'cannot commit to the client store', cause);
    }
  }

  protected release(): void {
    this.#store.close();
  }
}

/**
 * Opens (or creates) the client store `file`. Rejects with a `StorageError`:
 * `STORAGE_MODULE_MISSING` when better-sqlite3 is not installed, `STORAGE_CORRUPT` (naming the
 * file) when it is not a sound client store.
 */
export async function openSqliteClientStore(file: string, options: SqliteClientStoreOptions = {}): Promise<SqliteClientStore> {
  if (typeof file !== 'string' || file === '') throw new StorageError('STORAGE_INVALID_OPTIONS', 'the store needs a file name');
  const sync = checkSyncPolicy(options.sync ?? 'always');
  return new SqliteClientStore(await openSqlite(file, { applicationId: CLIENT_APPLICATION_ID, tables: TABLES }, sync));
}
