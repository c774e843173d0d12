/**
 * Storage candidates side by side: committed QoS-1-sized records per second, one fsync per batch.
 *
 * A record is what the broker stores for one queued QoS 1 message: a key (ClientId + sequence
 * number) and a value (a 20-byte topic and a 100-byte payload). Each batch of N records is one
 * transaction made durable before the next starts (the broker's group commit: N is how many
 * messages arrived in one turn). Candidates run in alternating rounds, and each measurement is
 * bounded by a batch count and a time budget. A candidate whose module is not installed is skipped
 * with a note (`npm install --no-save lmdb better-sqlite3` to compare both).
 *
 *   npx tsx bench/storage.ts      # table on stdout, JSON in bench/results/storage.json
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDriver } from '../src/storage/sqlite.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ROUND_MS = Number(process.env.ROUND_MS ?? 1500);
const MAX_BATCHES = 2_000;
const BATCH_SIZES = [1, 10, 100];
const PAYLOAD = new Uint8Array(100).fill(7);
const TOPIC = 'bench/sensor/000001';

/** Commits one batch of records durably; `close` releases the files. */
interface Candidate {
  name: string;
  commitBatch(start: number, n: number): Promise<void> | void;
  close(): Promise<void> | void;
}

function value(seq: number): Uint8Array {
  const topic = new TextEncoder().encode(TOPIC);
  const out = new Uint8Array(4 + topic.length + PAYLOAD.length);
  new DataView(out.buffer).setUint32(0, seq);
  out.set(topic, 4);
  out.set(PAYLOAD, 4 + topic.length);
  return out;
}

/** The part of lmdb's database used here (lmdb is not a dependency: it is loaded if installed). */
interface LmdbDatabase {
  transaction(fn: () => void): Promise<unknown>;
  put(key: string, value: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
}
type LmdbOpen = (options: Record<string, unknown>) => LmdbDatabase;

async function sqlite(dir: string): Promise<Candidate> {
  const Database = await loadDriver();
  const db = new Database(join(dir, 'bench.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL'); // WAL fsync on every commit
  db.exec('CREATE TABLE outbound (client TEXT, seq INTEGER, value BLOB, PRIMARY KEY (client, seq)) WITHOUT ROWID');
  const put = db.prepare('INSERT OR REPLACE INTO outbound VALUES (?, ?, ?)');
  const batch = db.transaction((start: number, n: number): void => {
    for (let i = start; i < start + n; i++) put.run('client-1', i, value(i));
  });
  return { name: 'better-sqlite3 (WAL, synchronous=FULL)', commitBatch: (s, n) => void batch(s, n), close: () => void db.close() };
}

async function lmdb(dir: string): Promise<Candidate> {
  // A variable specifier, so that lmdb is not needed to typecheck.
  const lmdbModule = 'lmdb';
  const { open } = (await import(lmdbModule)) as { open: LmdbOpen };
  // overlappingSync off: a transaction's promise resolves after its fsync, not before.
  const db = open({ path: join(dir, 'bench.mdb'), encoding: 'binary', compression: false, overlappingSync: false, noSync: false });
  return {
    name: 'lmdb (sync commit)',
    commitBatch: async (start, n) => {
      await db.transaction(() => {
        for (let i = start; i < start + n; i++) void db.put(`client-1/${i}`, value(i));
      });
    },
    close: () => db.close(),
  };
}

const FACTORIES: Record<string, (dir: string) => Promise<Candidate>> = { 'better-sqlite3': sqlite, lmdb };

async function measure(c: Candidate, n: number, from: number): Promise<{ recordsPerSec: number; batches: number; next: number }> {
  let batches = 0;
  let seq = from;
  const start = performance.now();
  while (batches < MAX_BATCHES && performance.now() - start < ROUND_MS) {
    await c.commitBatch(seq, n);
    seq += n;
    batches++;
  }
  return { recordsPerSec: ((seq - from) * 1000) / (performance.now() - start), batches, next: seq };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt311-storage-bench-'));
  const candidates: Candidate[] = [];
  for (const [module, make] of Object.entries(FACTORIES)) {
    try {
      candidates.push(await make(mkdtempSync(join(dir, `${module}-`))));
    } catch (err) {
      console.log(`skipped ${module}: ${(err as Error).message.split('\n')[0]} (npm install --no-save ${module})`);
    }
  }
  const results: Array<{ candidate: string; batchSize: number; recordsPerSec: number; fsyncsPerSec: number }> = [];
  const next = new Map<Candidate, number>(candidates.map((c) => [c, 0]));
  for (const n of BATCH_SIZES) {
    const rates = new Map<Candidate, number[]>(candidates.map((c) => [c, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? candidates : [...candidates].reverse();
      for (const c of order) {
        const r = await measure(c, n, next.get(c)!);
        next.set(c, r.next);
        rates.get(c)!.push(r.recordsPerSec);
      }
    }
    for (const c of candidates) {
      const rps = median(rates.get(c)!);
      results.push({ candidate: c.name, batchSize: n, recordsPerSec: Math.round(rps), fsyncsPerSec: Math.round(rps / n) });
    }
  }
  for (const c of candidates) await c.close();
  rmSync(dir, { recursive: true, force: true });

  console.log('| candidate | records per commit | committed records/s | commits/s |\n| --- | ---: | ---: | ---: |');
  for (const r of results) console.log(`| ${r.candidate} | ${r.batchSize} | ${r.recordsPerSec} | ${r.fsyncsPerSec} |`);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'storage.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ rounds: ROUNDS, roundMs: ROUND_MS, recordBytes: value(0).length, results }, null, 2));
}

await main();
