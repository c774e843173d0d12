/**
 * The on-disk broker store under crashes and damage: a writer SIGKILLed mid-stream loses no
 * committed record; a torn last write to the WAL is recovered; a corrupt, truncated or foreign
 * file is refused with an error naming it; a missing module is named.
 */
import { appendFileSync, closeSync, copyFileSync, existsSync, openSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../../src/broker-mini/storage-sqlite.js';
import { loadDriver } from '../../src/storage/sqlite.js';
import { cleanupTempDirs, makeTempDir, stopAllProcesses } from '../helpers/peers.js';
import { numbersAfter, requireSqlite, spawnFixture, waitForCount } from './helpers.js';

const sqliteAvailable = await requireSqlite();

/** Runs the writer fixture on `file` until at least `acks` commits resolved, then SIGKILLs it; returns the acked seqs. */
async function killWriterAfter(file: string, sync: string, acks: number): Promise<number[]> {
  const writer = spawnFixture('broker-writer', [file, sync]);
  await waitForCount(writer, 'acked', acks, 20_000);
  await writer.stop('SIGKILL');
  const acked = numbersAfter('acked', writer.stdout());
  expect(acked.length).toBeGreaterThanOrEqual(acks);
  return acked;
}

/** The outbound seqs stored in `file`, checking they are exactly 0..n-1 (transactions are atomic and ordered). */
async function storedPrefix(file: string): Promise<number> {
  const storage = await openSqliteStorage(file);
  const { sessions, retained } = await storage.load();
  await storage.close();
  const seqs = sessions.find((s) => s.clientId === 'writer')?.outbound.map((m) => m.seq) ?? [];
  expect(seqs).toEqual(seqs.map((_, i) => i));
  // A retained message for every tenth seq was in the same transaction as that seq.
  expect(retained.length).toBe(Math.ceil(seqs.length / 10));
  return seqs.length;
}

describe.skipIf(!sqliteAvailable)('sqlite broker storage: crashes and damaged files', () => {
  for (const sync of ['always', '50']) {
    it(`a writer SIGKILLed mid-stream keeps every acknowledged record (sync ${sync === 'always' ? "'always'" : `every ${sync} ms`})`, async () => {
      const file = join(makeTempDir('mqtt311-crash-'), 'broker.db');
      let lastAcked = -1;
      // Three crashes in a row, each writer starting over from seq 0 on the same file (a put replaces).
      for (let run = 0; run < 3; run++) {
        const acked = await killWriterAfter(file, sync, 40);
        lastAcked = Math.max(...acked);
        const stored = await storedPrefix(file);
        expect(stored).toBeGreaterThanOrEqual(lastAcked + 1);
      }
    });
  }

  it('a torn last write to the WAL is discarded and every earlier transaction is kept', async () => {
    const file = join(makeTempDir('mqtt311-torn-'), 'broker.db');
    const acked = await killWriterAfter(file, 'always', 40);
    const wal = `${file}-wal`;
    expect(existsSync(wal)).toBe(true);
    // Cut the last frame in half, as a power loss in the middle of the write would.
    truncateSync(wal, statSync(wal).size - 100);
    // Only the last transaction is lost: four records of one turn at most (the writer may have
    // acked them before it was killed).
    expect(await storedPrefix(file)).toBeGreaterThanOrEqual(Math.max(...acked) + 1 - 4);
  });

  it('garbage after the last WAL frame is ignored', async () => {
    const file = join(makeTempDir('mqtt311-torn-'), 'broker.db');
    const acked = await killWriterAfter(file, 'always', 20);
    appendFileSync(`${file}-wal`, new Uint8Array(777).fill(0xab));
    expect(await storedPrefix(file)).toBeGreaterThanOrEqual(Math.max(...acked) + 1);
  });

  it('refuses a file that is not a database, naming it', async () => {
    const file = join(makeTempDir('mqtt311-corrupt-'), 'broker.db');
    writeFileSync(file, 'hello, not a database\n'.repeat(300));
    await expect(openSqliteStorage(file)).rejects.toMatchObject({ name: 'StorageError', code: 'STORAGE_CORRUPT', file });
    await expect(openSqliteStorage(file)).rejects.toThrow(file);
  });

  /** A closed store file holding `n` records, and a copy of it to damage. */
  async function storeWith(n: number): Promise<string> {
    const file = join(makeTempDir('mqtt311-corrupt-'), 'broker.db');
    const s = await openSqliteStorage(file);
    s.putSession({ clientId: 'c', username: undefined });
    for (let seq = 0; seq < n; seq++) s.putOutbound('c', { seq, topic: `t/${seq}`, payload: new Uint8Array(200).fill(seq & 0xff), qos: 1, retain: false, phase: 'publish' });
    await s.close();
    return file;
  }

  it('refuses a truncated file, naming it', async () => {
    const file = await storeWith(2000);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await expect(openSqliteStorage(file)).rejects.toMatchObject({ code: 'STORAGE_CORRUPT', file });
  });

  it('refuses a file with damaged pages, naming it, instead of loading part of it', async () => {
    const file = await storeWith(2000);
    const size = statSync(file).size;
    const damaged = `${file}.damaged`;
    copyFileSync(file, damaged);
    const junk = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 0xff);
    const fd = openSync(damaged, 'r+');
    writeSync(fd, junk, 0, junk.length, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    await expect(openSqliteStorage(damaged)).rejects.toMatchObject({ code: 'STORAGE_CORRUPT', file: damaged });
    // The undamaged original still opens.
    const ok = await openSqliteStorage(file);
    expect((await ok.load()).sessions[0]?.outbound).toHaveLength(2000);
    await ok.close();
  });

  it('refuses an SQLite database that is not a broker store, naming it', async () => {
    const file = join(makeTempDir('mqtt311-foreign-'), 'other.db');
    const { default: Database } = (await import('better-sqlite3' as string)) as { default: new (f: string) => { exec(s: string): void; close(): void } };
    const db = new Database(file);
    db.exec('CREATE TABLE notes (body TEXT)');
    db.close();
    await expect(openSqliteStorage(file)).rejects.toMatchObject({ code: 'STORAGE_CORRUPT', file });
  });

  it('refuses an invalid sync policy', async () => {
    const file = join(makeTempDir('mqtt311-opts-'), 'broker.db');
    await expect(openSqliteStorage(file, { sync: { intervalMs: 0 } })).rejects.toMatchObject({ code: 'STORAGE_INVALID_OPTIONS' });
    await expect(openSqliteStorage(file, { sync: 'sometimes' as never })).rejects.toMatchObject({ code: 'STORAGE_INVALID_OPTIONS' });
  });
});

describe('a missing database module', () => {
  it('is a STORAGE_MODULE_MISSING error that names the module', async () => {
    const error = await loadDriver('mqtt311-no-such-driver').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'StorageError', code: 'STORAGE_MODULE_MISSING' });
    expect((error as Error).message).toContain('mqtt311-no-such-driver');
  });
});

afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});
