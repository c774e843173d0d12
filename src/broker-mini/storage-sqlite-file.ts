/**
 * The broker store file itself: its tables, the SQL of each `StorageOp`, and the synchronous
 * load and batch write on one better-sqlite3 connection. It runs inside the store's worker
 * thread (`storage-sqlite-worker.ts`); `storage-sqlite.ts` is the broker's side.
 */
import type { QoS } from '../codec/index.js';
import { openSqlite, storageError, type SqliteFile, type SqliteStatement } from '../storage/sqlite.js';
import type { StorageOp } from './core/batched-storage.js';
import type { LoadedSession, LoadedState, StoredOutbound, SyncPolicy } from './core/storage.js';

/** "mq3b" in ASCII: a broker store file. */
const BROKER_APPLICATION_ID = 0x6d713362;

const TABLES = `
  CREATE TABLE session (client TEXT PRIMARY KEY, username TEXT) WITHOUT ROWID;
  CREATE TABLE subscription (client TEXT, filter TEXT, qos INTEGER, PRIMARY KEY (client, filter)) WITHOUT ROWID;
  CREATE TABLE outbound (client TEXT, seq INTEGER, topic TEXT, payload BLOB, qos INTEGER, retain INTEGER,
    packet_id INTEGER, phase TEXT, PRIMARY KEY (client, seq)) WITHOUT ROWID;
  CREATE TABLE inbound_qos2 (client TEXT, packet_id INTEGER, PRIMARY KEY (client, packet_id)) WITHOUT ROWID;
  CREATE TABLE retained (topic TEXT PRIMARY KEY, payload BLOB, qos INTEGER) WITHOUT ROWID`;

/** SQL for each op kind, prepared once per connection; the parameters come from `params`. */
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

/** An open broker store file: `load()` once, then `write(batch)` per group commit. */
export class BrokerStoreFile {
  readonly #store: SqliteFile;
  readonly #statements: Map<StorageOp['kind'], SqliteStatement[]>;
  readonly #transaction: (ops: readonly StorageOp[]) => void;

  constructor(store: SqliteFile) {
    this.#store = store;
    const { db } = store;
    this.#statements = new Map(Object.entries(SQL).map(([kind, sql]) => [kind as StorageOp['kind'], sql.map((s) => db.prepare(s))])); // SQL's keys are the op kinds
    this.#transaction = db.transaction((ops: readonly StorageOp[]) => {
      for (const op of ops) for (const s of this.#statements.get(op.kind) ?? []) s.run(...params(op));
    });
  }

  get file(): string {
    return this.#store.file;
  }

  /** Everything stored; a read error is a `StorageError` naming the file. */
  load(): LoadedState {
    const { db, file } = this.#store;
    try {
      const byClient = new Map<string, { subscriptions: LoadedSession['subscriptions'][number][]; outbound: StoredOutbound[]; inboundQos2: number[] }>();
      const of = (client: unknown) => byClient.get(String(client));
      // `as Row[]`: the driver returns rows as plain objects keyed by column; `as QoS`: the column
      // holds a QoS written by this store.
      const sessions = (db.prepare('SELECT client, username FROM session').all() as Row[]).map((r) => {
        const parts = { subscriptions: [], outbound: [], inboundQos2: [] };
        byClient.set(String(r.client), parts);
        return { clientId: String(r.client), username: typeof r.username === 'string' ? r.username : undefined, ...parts } satisfies LoadedSession;
      });
      for (const r of db.prepare('SELECT * FROM subscription').all() as Row[]) of(r.client)?.subscriptions.push({ topicFilter: String(r.filter), qos: r.qos as QoS });
      for (const r of db.prepare('SELECT * FROM outbound ORDER BY client, seq').all() as Row[]) {
        const m: StoredOutbound = { seq: Number(r.seq), topic: String(r.topic), payload: bytes(r.payload), qos: r.qos as QoS, retain: r.retain === 1, phase: r.phase === 'pubrel' ? 'pubrel' : 'publish' };
        of(r.client)?.outbound.push(r.packet_id === null ? m : { ...m, packetId: Number(r.packet_id) });
      }
      for (const r of db.prepare('SELECT * FROM inbound_qos2').all() as Row[]) of(r.client)?.inboundQos2.push(Number(r.packet_id));
      const retained = (db.prepare('SELECT * FROM retained').all() as Row[]).map((r) => ({ topic: String(r.topic), payload: bytes(r.payload), qos: r.qos as QoS }));
      return { sessions, retained };
    } catch (cause) {
      throw storageError(file, 'cannot load the store', cause);
    }
  }

  /** Applies `ops` in one transaction, durable by the sync policy when it returns. */
  write(ops: readonly StorageOp[]): void {
    try {
      this.#transaction(ops);
    } catch (cause) {
      throw storageError(this.#store.file, 'cannot commit to the store', cause);
    }
  }

  close(): void {
    this.#store.close();
  }
}

/** Opens (or creates) the broker store `file`; see `openSqlite` for the checks and errors. */
export async function openBrokerStoreFile(file: string, sync: SyncPolicy): Promise<BrokerStoreFile> {
  return new BrokerStoreFile(await openSqlite(file, { applicationId: BROKER_APPLICATION_ID, tables: TABLES }, sync));
}
