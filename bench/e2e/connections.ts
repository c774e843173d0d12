/**
 * The idle-connections scenario: open N MQTT connections from a few load processes, in batches,
 * and read what they cost the broker in resident memory. Then close them all (TCP reset).
 *
 * Memory per connection = (broker RSS with N connections − RSS before) / N, both read after a
 * full GC for the Node brokers (mosquitto frees eagerly), so the number is the connections' cost,
 * not the collector's timing. For the Node servers the reading with the connections open also
 * waits until V8 has given back the young generation it grew while accepting them (`settleHeap`),
 * and every reading waits until the resident size has stopped moving (`quietRss`).
 */
import { readFileSync } from 'node:fs';
import type { NodeHeapReading } from './broker-server.js';
import { startBroker, type BrokerHandle, type BrokerName } from './brokers.js';
import { sleep } from './procs.js';
import type { ConnectionsScenario, Settings } from './scenarios.js';
import { startWorker, stopWorkers, type LoadWorker } from './workers.js';
import type { IdleOpened } from './load/idle.js';

/** What the connections scenario measured. */
export interface ConnectionsResult {
  scenario: string;
  broker: BrokerName | 'node-net';
  rep: number;
  requested: number;
  connected: number;
  failed: number;
  firstError?: string;
  /** Connections the broker dropped while they sat idle (should be 0). */
  dropped: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerConnection: number;
  /** Node brokers: the heap's account before and after (after a full GC each time). */
  heapBefore?: NodeHeapReading;
  heapAfter?: NodeHeapReading;
  /** CONNECT → CONNACK completed per second while opening them (all load processes together). */
  connectsPerSec: number;
  /** Broker CPU time per accepted connection, µs. */
  brokerCpuPerConnectUs: number;
  notes: string[];
}

/** This process's open-files limit (broker and load processes inherit it). */
export function openFilesLimit(): number {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? Number(m[1]) : 1024;
}

/**
 * How many connections can be opened here: the broker needs a descriptor per connection (plus a
 * few of its own), and so does the load process holding the client side.
 */
export function connectionBudget(wanted: number, processes: number): { count: number; note?: string } {
  const limit = openFilesLimit();
  const perProcess = Math.ceil(wanted / processes);
  const fits = wanted + 200 <= limit && perProcess + 200 <= limit;
  if (fits) return { count: wanted };
  const count = Math.max(0, limit - 200);
  return { count, note: `open-files limit ${limit} (ulimit -n): ${count} connections instead of ${wanted}` };
}

/** How long a Node server is given to shrink its young generation back once idle. */
const SETTLE_MS = 20_000;

/**
 * Reads the heap (after a full GC) once a second until the young generation is back to the size
 * it had before the connections opened (twice that: it steps between 1 and 2 MiB) and the resident
 * size has stopped falling (V8 returns freed pages from a background thread), or `SETTLE_MS` passed.
 */
async function settleHeap(broker: BrokerHandle, newSpaceBefore: number, first: NodeHeapReading): Promise<{ reading: NodeHeapReading; ok: boolean }> {
  const deadline = Date.now() + SETTLE_MS;
  let reading = first;
  for (let previous: NodeHeapReading | undefined; ; previous = reading) {
    const young = reading.newSpace <= 2 * newSpaceBefore;
    if (young && previous && reading.rss > previous.rss - 256 * 1024) return { reading, ok: true };
    if (Date.now() >= deadline) return { reading, ok: young };
    await sleep(1000);
    await broker.gc();
    reading = (await broker.heap?.()) ?? reading;
  }
}

/** How long the resident size may take to stop moving after a reading's GC. */
const QUIET_MS = 10_000;
/** Resident-size change (bytes) between readings 250 ms apart that still counts as still. */
const QUIET_BYTES = 64 * 1024;

/**
 * The resident size once it has stopped moving: a full GC frees V8 pages, and V8 unmaps them
 * from a background thread over the next second or so — read at once, a Node server's RSS can
 * still hold 20 MiB it is about to give back. So read every 250 ms, with no GC in between, until
 * four readings in a row (one second) agree within `QUIET_BYTES`, or `QUIET_MS` passed.
 */
async function quietRss(broker: BrokerHandle): Promise<{ rss: number; ok: boolean }> {
  const deadline = Date.now() + QUIET_MS;
  const last: number[] = [broker.memory().rss];
  for (;;) {
    await sleep(250);
    last.push(broker.memory().rss);
    if (last.length > 4) last.shift();
    const still = last.length === 4 && Math.max(...last) - Math.min(...last) <= QUIET_BYTES;
    if (still || Date.now() >= deadline) return { rss: last[last.length - 1] ?? 0, ok: still };
  }
}

/** Runs the idle-connections scenario once against `brokerName`. */
export async function runConnections(
  s: ConnectionsScenario,
  brokerName: BrokerName | 'node-net',
  rep: number,
  set: Settings,
  /** Called after each reading (before the connections open, and with them open), e.g. for a heap snapshot. */
  probe?: (broker: BrokerHandle, phase: 'before' | 'after') => Promise<void>,
): Promise<ConnectionsResult> {
  const budget = connectionBudget(set.connections, s.processes);
  const notes = budget.note ? [budget.note] : [];
  const broker = await startBroker(brokerName);
  const workers: LoadWorker[] = [];
  try {
    await sleep(300);
    await broker.gc();
    const quietBefore = await quietRss(broker);
    if (!quietBefore.ok) notes.push(`RSS still moving ${QUIET_MS / 1000} s after the GC (before)`);
    const before = quietBefore.rss;
    const heapBefore = await broker.heap?.();
    await probe?.(broker, 'before');
    const cpu0 = await broker.cpuMicros();
    const per = Math.ceil(budget.count / s.processes);
    const started = await Promise.all(
      Array.from({ length: s.processes }, (_, i) => {
        const count = Math.min(per, budget.count - i * per);
        // Past ~20k connections one source address runs out of ephemeral ports (28k on Linux).
        const localAddress = budget.count > 20_000 ? `127.0.0.${2 + i}` : undefined;
        const task = { role: 'idle' as const, port: broker.port, count, batch: s.batch, idBase: i * per, localAddress, pace: s.pace };
        return startWorker(task, `${brokerName}${process.pid}c${rep}w${i}`, 180_000);
      }),
    );
    workers.push(...started.map((x) => x.worker));
    const opened = started.map((x) => x.info as IdleOpened);
    const cpu1 = await broker.cpuMicros();
    const connected = opened.reduce((n, o) => n + o.connected, 0);
    // The processes open their shares at the same time; the slowest one ends the phase.
    const openMs = Math.max(...opened.map((o) => o.elapsedMs));
    const failed = opened.reduce((n, o) => n + o.failed, 0);
    // Let the broker settle (buffers released, lazy allocations done) before reading memory.
    await sleep(1000);
    await broker.gc();
    let heapAfter = await broker.heap?.();
    if (heapBefore && heapAfter) {
      // V8 grew its young generation while the connections were accepted (up to 2 × 16 MiB), and a
      // full GC does not give it back; V8's memory reducer does, a few seconds after the process
      // goes idle. Idle connections are what is measured, so wait for that (same for every Node server).
      const settled = await settleHeap(broker, heapBefore.newSpace, heapAfter);
      heapAfter = settled.reading;
      if (!settled.ok) notes.push(`young generation still ${(heapAfter.newSpace / 2 ** 20).toFixed(0)} MiB after ${SETTLE_MS / 1000} s`);
    }
    const quietAfter = await quietRss(broker);
    if (!quietAfter.ok) notes.push(`RSS still moving ${QUIET_MS / 1000} s after the GC`);
    const after = quietAfter.rss;
    await probe?.(broker, 'after');
    const finals = await Promise.all(workers.map((w) => w.rpc.call<{ idle: { dropped: number } }>('final')));
    const firstError = opened.find((o) => o.firstError)?.firstError;
    return {
      scenario: s.id,
      broker: brokerName,
      rep,
      requested: budget.count,
      connected,
      failed,
      ...(firstError ? { firstError } : {}),
      dropped: finals.reduce((n, f) => n + f.idle.dropped, 0),
      rssBeforeBytes: before,
      rssAfterBytes: after,
      bytesPerConnection: connected > 0 ? (after - before) / connected : NaN,
      ...(heapBefore && heapAfter ? { heapBefore, heapAfter } : {}),
      connectsPerSec: (connected * 1000) / openMs,
      brokerCpuPerConnectUs: connected > 0 ? (cpu1 - cpu0) / connected : NaN,
      notes,
    };
  } finally {
    await stopWorkers(workers);
    await broker.stop();
  }
}
