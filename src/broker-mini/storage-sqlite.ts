/**
 * The on-disk `BrokerStorage`: one SQLite file (see `src/storage/sqlite.ts` for the module, the
 * WAL and the sync policy). Each group-committed batch is one SQLite transaction, so after a
 * crash the file holds exactly the batches whose `commit()` had resolved (and, with an interval
 * policy, possibly later ones), never part of one.
 *
 *   const storage = await openSqliteStorage('/var/lib/mqtt311/broker.db', { sync: 'always' });
 */
import type { QoS } from '../codec/index.js';
import { checkSyncPolicy, openSqlite, storageError, type SqliteFile, type SqliteStatement } from '../storage/sqlite.js';
import { StorageError } from '../util/storage-error.js';
import { BatchedStorage, type StorageOp } from './core/batched-storage.js';
import type { LoadedSession, LoadedState, StoredOutbound, SyncPolicy } from './core/storage.js';

/** Options of `openSqliteStorage`. */
export interface SqliteStorageOptions {
  /** When commits reach stable storage (default `'always'`); see `SyncPolicy`. */
  sync?: SyncPolicy;
}

/** "mq3b" in ASCII: a broker store file. */
const BROKER_APPLICATION_ID = 0x6d713362;

const TABLES = `
  CREATE TABLE session (client TEXT PRIMARY KEY, username TEXT) WITHOUT ROWID;
  CREATE TABLE subscription (client TEXT, filter TEXT, qos INTEGER, PRIMARY KEY (client, filter)) WITHOUT ROWID;
  CREATE TABLE outbound (client TEXT, seq INTEGER, topic TEXT, payload BLOB, qos INTEGER, retain INTEGER,
    packet_id INTEGER, phase TEXT, PRIMARY KEY (client, seq)) WITHOUT ROWID;
  CREATE TABLE inbound_qos2 (client TEXT, packet_id INTEGER, PRIMARY KEY (client, packet_id)) WITHOUT ROWID;
  CREATE TABLE retained (topic TEXT PRIMARY KEY, payload BLOB, qos INTEGER) WITHOUT ROWID`;

/** SQL for each op kind; the parameters are bound by `#apply`. */
const SQL: Record<StorageOp['kind'], string[]> = {
  putSession: ['INSERT OR REPLACE INTO session VALUES (?, ?)'],
  deleteSession: ['session', 'subscription', 'outbound', 'inbound_qos2'].map((t) => `DELETE FROM ${t} WHERE client = ?`),
  putSubscription: ['INSERT OR REPLACE INTO subscription VALUES (?, ?, ?)'],
  deleteSubscription: ['DELETE FROM subscription WHERE client = ? AND filter = ?'],
  putOutbound: ['INSERT OR REPLACE INTO outbound VALUES (?, ?, ?, ?, ?, ?, ?, ?)'],
  deleteOutbound: ['DELETE FROM outbound WHERE client = ? AND seq = ?'],
  putInboundQos2: ['INSERT OR REPLACE INTO inbound_qos2 VALUES (?, ?)'],
  deleteInboundQos2: ['DELETE FROM inbound_qos2 WHERE client = ? AND packet_id = ?'],
  putRetained: ['INSERT OR REPLACE INTO retained VALUES (?, ?, ?)'],
  deleteRetained: ['DELETE FROM retained WHERE topic = ?'],
};

/** The parameters of `op`'s statements. */
function params(op: StorageOp): unknown[] {
  switch (op.kind) {
    case 'putSession':
      return [op.session.clientId, op.session.username ?? null];
    case 'deleteSession':
      return [op.clientId];
    case 'putSubscription':
      return [op.clientId, op.subscription.topicFilter, op.subscription.qos];
    case 'deleteSubscription':
      return [op.clientId, op.topicFilter];
    case 'putOutbound': {
      const m = op.message;
      return [op.clientId, m.seq, m.topic, m.payload, m.qos, m.retain ? 1 : 0, m.packetId ?? null, m.phase];
    }
    case 'deleteOutbound':
      return [op.clientId, op.seq];
    case 'putInboundQos2':
    case 'deleteInboundQos2':
      return [op.clientId, op.packetId];
    case 'putRetained':
      return [op.message.topic, op.message.payload, op.message.qos];
    case 'deleteRetained':
      return [op.topic];
  }
}

type Row = Record<string, unknown>;
const bytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array(0));

/** The SQLite broker storage; create it with `openSqliteStorage`. */
export class SqliteStorage extends BatchedStorage {
  readonly #store: SqliteFile;
  readonly #statements: Map<StorageOp['kind'], SqliteStatement[]>;
  readonly #transaction: (ops: readonly StorageOp[]) => void;

  /** Use `openSqliteStorage`. */
  constructor(store: SqliteFile) {
    super();
    this.#store = store;
    const { db } = store;
    this.#statements = new Map(Object.entries(SQL).map(([kind, sql]) => [kind as StorageOp['kind'], sql.map((s) => db.prepare(s))])); // SQL's keys are the op kinds
    this.#transaction = db.transaction((ops: readonly StorageOp[]) => {
      for (const op of ops) for (const s of this.#statements.get(op.kind)!) s.run(...params(op)); // every op kind has its statements (the SQL table above)
    });
  }

  /** The file this storage writes. */
  get file(): string {
    return this.#store.file;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw of the synchronous driver is a rejection
  async load(): Promise<LoadedState> {
    const { db, file } = this.#store;
    try {
      const byClient = new Map<string, { subscriptions: LoadedSession['subscriptions'][number][]; outbound: StoredOutbound[]; inboundQos2: number[] }>();
      const of = (client: unknown) => byClient.get(String(client));
      const sessions = (db.prepare('SELECT client, username FROM session').all() as Row[]).map((r) => { // the driver returns rows as plain objects keyed by column
        const parts = { subscriptions: [], outbound: [], inboundQos2: [] };
        byClient.set(String(r.client), parts);
        return { clientId: String(r.client), username: typeof r.username === 'string' ? r.username : undefined, ...parts } satisfies LoadedSession;
      });
      for (const r of db.prepare('SELECT * FROM subscription').all() as Row[]) of(r.client)?.subscriptions.push({ topicFilter: String(r.filter), qos: r.qos as QoS }); // the driver returns rows as plain objects keyed by column
      for (const r of db.prepare('SELECT * FROM outbound ORDER BY client, seq').all() as Row[]) { // the driver returns rows as plain objects keyed by column
        const m: StoredOutbound = { seq: Number(r.seq), topic: String(r.topic), payload: bytes(r.payload), qos: r.qos as QoS, retain: r.retain === 1, phase: r.phase === 'pubrel' ? 'pubrel' : 'publish' }; // the column holds a QoS written by this store
        of(r.client)?.outbound.push(r.packet_id === null ? m : { ...m, packetId: Number(r.packet_id) });
      }
      for (const r of db.prepare('SELECT * FROM inbound_qos2').all() as Row[]) of(r.client)?.inboundQos2.push(Number(r.packet_id)); // the driver returns rows as plain objects keyed by column
      const retained = (db.prepare('SELECT * FROM retained').all() as Row[]).map((r) => ({ topic: String(r.topic), payload: bytes(r.payload), qos: r.qos as QoS })); // the driver returns rows as plain objects keyed by column
      return { sessions, retained };
    } catch (cause) {
      throw storageError(file, 'cannot load the store', cause);
    }
  }

  protected writeBatch(ops: readonly StorageOp[]): void {
    try {
      this.#transaction(ops);
    } catch (cause) {
      throw storageError(this.#store.file, 'cannot commit to the store', cause);
    }
  }

  protected release(): void {
    this.#store.close();
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
  return new SqliteStorage(await openSqlite(file, { applicationId: BROKER_APPLICATION_ID, tables: TABLES }, sync));
}
