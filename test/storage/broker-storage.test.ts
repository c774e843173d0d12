/**
 * The broker storage contract (src/broker-mini/core/storage.ts), run against both backends:
 * round trips of every record kind, last write wins, cascading session delete, group commit.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BrokerStorage, LoadedState } from '../../src/broker-mini/core/storage.js';
import { MemoryStorage } from '../../src/broker-mini/core/memory-storage.js';
import type { StorageOp } from '../../src/broker-mini/core/batched-storage.js';
import { openSqliteStorage } from '../../src/broker-mini/storage-sqlite.js';
import { cleanupTempDirs, makeTempDir } from '../helpers/peers.js';
import { requireSqlite } from './helpers.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A backend under test: `open` makes a fresh store; `reopen` the same one as a restarted broker would. */
interface Backend {
  open(): Promise<BrokerStorage>;
  reopen(old: BrokerStorage): Promise<BrokerStorage>;
}

const memory: Backend = {
  open: async () => new MemoryStorage(),
  // The same instance is what a broker restarted in the same process is given.
  reopen: async (old) => old,
};

const sqlite: Backend = {
  open: async () => openSqliteStorage(join(makeTempDir('mqtt311-storage-'), 'broker.db')),
  reopen: async (old) => {
    await old.close();
    return openSqliteStorage((old as unknown as { file: string }).file);
  },
};

/** The loaded state with payloads as text, sorted where order is not part of the contract. */
function plain(state: LoadedState) {
  return {
    sessions: state.sessions
      .map((s) => ({
        ...s,
        subscriptions: [...s.subscriptions].sort((a, b) => a.topicFilter.localeCompare(b.topicFilter)),
        outbound: s.outbound.map((m) => ({ ...m, payload: text(m.payload) })),
        inboundQos2: [...s.inboundQos2].sort((a, b) => a - b),
      }))
      .sort((a, b) => a.clientId.localeCompare(b.clientId)),
    retained: state.retained.map((r) => ({ ...r, payload: text(r.payload) })).sort((a, b) => a.topic.localeCompare(b.topic)),
  };
}

function contract(name: string, backend: Backend, enabled: () => boolean): void {
  describe.skipIf(!enabled())(`${name} storage`, () => {
    it('round-trips every kind of record across a restart', async () => {
      let s = await backend.open();
      expect(await s.load()).toEqual({ sessions: [], retained: [] });
      s.putSession({ clientId: 'a', username: 'alice' });
      s.putSubscription('a', { topicFilter: 'x/#', qos: 2 });
      s.putSubscription('a', { topicFilter: 'y', qos: 1 });
      s.putOutbound('a', { seq: 2, topic: 'x/2', payload: bytes('two'), qos: 2, retain: false, phase: 'publish' });
      s.putOutbound('a', { seq: 1, topic: 'x/1', payload: bytes('one'), qos: 1, retain: true, packetId: 7, phase: 'publish' });
      s.putInboundQos2('a', 9);
      s.putSession({ clientId: 'b', username: undefined });
      s.putRetained({ topic: 'x/r', payload: bytes('kept'), qos: 1 });
      await s.commit();
      s = await backend.reopen(s);
      expect(plain(await s.load())).toEqual({
        sessions: [
          {
            clientId: 'a',
            username: 'alice',
            subscriptions: [
              { topicFilter: 'x/#', qos: 2 },
              { topicFilter: 'y', qos: 1 },
            ],
            // seq order, oldest first: the inflight one is resent first [MQTT-4.6.0-1].
            outbound: [
              { seq: 1, topic: 'x/1', payload: 'one', qos: 1, retain: true, packetId: 7, phase: 'publish' },
              { seq: 2, topic: 'x/2', payload: 'two', qos: 2, retain: false, phase: 'publish' },
            ],
            inboundQos2: [9],
          },
          { clientId: 'b', username: undefined, subscriptions: [], outbound: [], inboundQos2: [] },
        ],
        retained: [{ topic: 'x/r', payload: 'kept', qos: 1 }],
      });
      await s.close();
    });

    it('applies puts and deletes in order: last write wins, a session delete removes all it owns', async () => {
      let s = await backend.open();
      s.putSession({ clientId: 'a', username: undefined });
      s.putSubscription('a', { topicFilter: 'x', qos: 0 });
      s.putSubscription('a', { topicFilter: 'x', qos: 2 });
      s.putOutbound('a', { seq: 1, topic: 'x', payload: bytes('m'), qos: 2, retain: false, phase: 'publish' });
      s.putOutbound('a', { seq: 1, topic: 'x', payload: new Uint8Array(0), qos: 2, retain: false, packetId: 3, phase: 'pubrel' });
      s.putInboundQos2('a', 4);
      s.deleteInboundQos2('a', 4);
      s.deleteOutbound('a', 99); // absent: not an error
      s.putRetained({ topic: 't', payload: bytes('old'), qos: 0 });
      s.putRetained({ topic: 't', payload: bytes('new'), qos: 1 });
      s.putRetained({ topic: 'gone', payload: bytes('x'), qos: 0 });
      s.deleteRetained('gone');
      s.putSession({ clientId: 'b', username: undefined });
      s.putSubscription('b', { topicFilter: 'z', qos: 1 });
      s.putOutbound('b', { seq: 1, topic: 'z', payload: bytes('m'), qos: 1, retain: false, phase: 'publish' });
      s.putInboundQos2('b', 5);
      s.deleteSession('b');
      await s.commit();
      s = await backend.reopen(s);
      expect(plain(await s.load())).toEqual({
        sessions: [
          {
            clientId: 'a',
            username: undefined,
            subscriptions: [{ topicFilter: 'x', qos: 2 }],
            outbound: [{ seq: 1, topic: 'x', payload: '', qos: 2, retain: false, packetId: 3, phase: 'pubrel' }],
            inboundQos2: [],
          },
        ],
        retained: [{ topic: 't', payload: 'new', qos: 1 }],
      });
      // Deleting the last record of a session keeps the session.
      s.deleteSubscription('a', 'x');
      s.deleteOutbound('a', 1);
      await s.commit();
      s = await backend.reopen(s);
      expect(plain(await s.load()).sessions).toEqual([{ clientId: 'a', username: undefined, subscriptions: [], outbound: [], inboundQos2: [] }]);
      await s.close();
    });

    it('refuses changes after close', async () => {
      const s = await backend.open();
      await s.close();
      await s.close(); // idempotent
      expect(() => s.putRetained({ topic: 't', payload: bytes('x'), qos: 0 })).toThrow(expect.objectContaining({ code: 'STORAGE_CLOSED' }));
    });
  });
}

const sqliteAvailable = await requireSqlite();
contract('memory', memory, () => true);
contract('sqlite', sqlite, () => sqliteAvailable);

/** A memory store that counts its transactions. */
class CountingStorage extends MemoryStorage {
  batches: number[] = [];
  protected override writeBatch(ops: readonly StorageOp[]): void {
    this.batches.push(ops.length);
    super.writeBatch(ops);
  }
}

describe('group commit', () => {
  it('makes every commit of one turn wait for one transaction; a later turn gets the next one', async () => {
    const s = new CountingStorage();
    const commits: Promise<void>[] = [];
    for (let i = 1; i <= 5; i++) {
      s.putInboundQos2('c', i);
      commits.push(s.commit());
    }
    // Nothing is visible before the transaction ran.
    expect((await new MemoryStorage().load()).sessions).toEqual([]);
    await Promise.all(commits);
    expect(s.batches).toEqual([5]);
    s.putInboundQos2('c', 6);
    await s.commit();
    expect(s.batches).toEqual([5, 1]);
    // Nothing pending: resolves without a transaction.
    await s.commit();
    expect(s.batches).toEqual([5, 1]);
  });

  it('a commit with nothing pending waits for the transaction in progress', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class SlowStorage extends MemoryStorage {
      protected override async writeBatch(ops: readonly StorageOp[]): Promise<void> {
        await gate;
        super.writeBatch(ops);
      }
    }
    const s = new SlowStorage();
    s.putRetained({ topic: 't', payload: bytes('x'), qos: 0 });
    const first = s.commit();
    // Let the batch start: after this turn it is being written, and nothing is pending.
    await new Promise<void>((r) => setImmediate(r));
    let laterDone = false;
    const later = s.commit().then(() => (laterDone = true));
    await new Promise<void>((r) => setImmediate(r));
    expect(laterDone).toBe(false);
    release();
    await Promise.all([first, later]);
    expect((await s.load()).retained).toHaveLength(1);
  });

  it('a failed transaction rejects its commits with a StorageError and fails the store for good', async () => {
    class FailingStorage extends MemoryStorage {
      protected override writeBatch(): void {
        throw new Error('disk full');
      }
    }
    const s = new FailingStorage();
    s.putRetained({ topic: 't', payload: bytes('x'), qos: 0 });
    await expect(s.commit()).rejects.toMatchObject({ name: 'StorageError', code: 'STORAGE_IO' });
    await expect(s.commit()).rejects.toMatchObject({ code: 'STORAGE_IO' });
    expect(() => s.deleteRetained('t')).toThrow(expect.objectContaining({ code: 'STORAGE_CLOSED' }));
  });

  it('writes one batch at a time: everything recorded while one is being written goes out together next', async () => {
    const gates: Array<() => void> = [];
    const written: number[][] = [];
    class GatedStorage extends MemoryStorage {
      protected override async writeBatch(ops: readonly StorageOp[]): Promise<void> {
        await new Promise<void>((r) => gates.push(r));
        written.push(ops.map((op) => (op.kind === 'putInboundQos2' ? op.packetId : -1)));
        super.writeBatch(ops);
      }
    }
    const s = new GatedStorage();
    const turn = () => new Promise<void>((r) => setImmediate(r));
    s.putInboundQos2('c', 1);
    const first = s.commit();
    await turn();
    // Batch [1] is being written; three more turns each record and commit.
    const later: Promise<void>[] = [];
    for (const id of [2, 3, 4]) {
      s.putInboundQos2('c', id);
      later.push(s.commit());
      await turn();
    }
    expect(gates).toHaveLength(1);
    gates.shift()?.();
    await first;
    await turn();
    // The moment [1] is done, [2, 3, 4] start as one transaction.
    expect(gates).toHaveLength(1);
    gates.shift()?.();
    await Promise.all(later);
    expect(written).toEqual([[1], [2, 3, 4]]);
  });
});

describe.skipIf(!sqliteAvailable)('sqlite storage in its worker thread', () => {
  const file = () => join(makeTempDir('mqtt311-worker-'), 'broker.db');

  it('reports a failed write as the same StorageError, naming the file, and stays failed', async () => {
    const s = await openSqliteStorage(file());
    // A value SQLite cannot bind: the worker's transaction throws.
    s.putSubscription('c', { topicFilter: 'x', qos: { not: 'a number' } as never }); // deliberately not a QoS
    const error = await s.commit().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'StorageError', code: 'STORAGE_IO', file: s.file });
    expect(error).toBeInstanceOf(Error);
    await expect(s.commit()).rejects.toMatchObject({ code: 'STORAGE_IO' });
    expect(() => s.putRetained({ topic: 't', payload: bytes('x'), qos: 0 })).toThrow(expect.objectContaining({ code: 'STORAGE_CLOSED' }));
    await s.close().catch(() => undefined);
  });

  it('close commits what is pending and ends the worker: a later load is STORAGE_CLOSED', async () => {
    const s = await openSqliteStorage(file());
    s.putRetained({ topic: 't', payload: bytes('kept'), qos: 1 });
    await s.close();
    await expect(s.load()).rejects.toMatchObject({ name: 'StorageError', code: 'STORAGE_CLOSED' });
    const again = await openSqliteStorage(s.file);
    expect(plain(await again.load()).retained).toEqual([{ topic: 't', payload: 'kept', qos: 1 }]);
    await again.close();
  });

  it('stores just the bytes of a payload that is a view into a larger buffer', async () => {
    const s = await openSqliteStorage(file());
    const chunk = bytes('....payload....');
    s.putRetained({ topic: 'v', payload: chunk.subarray(4, 11), qos: 0 });
    await s.close();
    const again = await openSqliteStorage(s.file);
    expect(plain(await again.load()).retained).toEqual([{ topic: 'v', payload: 'payload', qos: 0 }]);
    await again.close();
  });
});

afterAll(() => cleanupTempDirs());
