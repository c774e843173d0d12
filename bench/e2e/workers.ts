/**
 * The harness's side of the load processes, and the CPU bookkeeping that decides whether a run
 * measured the broker or only the load generator.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { forkNode, stopChild, type NodeChild } from './procs.js';
import type { InitArg, LoadTask, WorkerSample } from './load-worker.js';
import type { BrokerHandle } from './brokers.js';

/** Cores of this machine. */
export const CORES = cpus().length;

/** A forked load worker with its task. */
export interface LoadWorker extends NodeChild {
  task: LoadTask;
}

/** Forks a load worker and runs its `init` (connect, subscribe …). */
export async function startWorker(task: LoadTask, clientPrefix: string, timeoutMs = 60_000): Promise<{ worker: LoadWorker; info: unknown }> {
  const node = forkNode('bench/e2e/load-worker.ts');
  const worker: LoadWorker = { ...node, task };
  try {
    const info = await node.rpc.call('init', { task, clientPrefix } satisfies InitArg, timeoutMs);
    return { worker, info };
  } catch (e) {
    await stopChild(node.child, 500);
    throw new Error(`load worker (${task.role}) failed to start: ${(e as Error).message}\n${node.stderrTail()}`);
  }
}

/** Asks every worker to close its connections, then ends the processes. */
export async function stopWorkers(workers: LoadWorker[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      await w.rpc.call('close', null, 5000).catch(() => undefined);
      await stopChild(w.child, 1000);
    }),
  );
}

/** Busy and total CPU ticks of the whole machine, from the first line of /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal (guest is inside user)
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** One CPU snapshot of a run: broker, each worker, this harness and the machine. */
export interface Snapshot {
  t: number;
  broker: number;
  workers: WorkerSample[];
  harness: number;
  machine: { busy: number; total: number };
}

/** Takes a snapshot (the workers answer in parallel; `phase` also toggles latency recording). */
export async function snapshot(broker: BrokerHandle, workers: LoadWorker[], phase: 'begin' | 'end'): Promise<Snapshot> {
  const [brokerCpu, samples] = await Promise.all([
    broker.cpuMicros(),
    Promise.all(workers.map((w) => w.rpc.call<WorkerSample>('sample', phase, 10_000))),
  ]);
  const u = process.cpuUsage();
  return { t: performance.now(), broker: brokerCpu, workers: samples, harness: u.user + u.system, machine: machineTicks() };
}

/** CPU use over a window, in cores (1 = one core busy all the time). */
export interface CpuWindow {
  windowMs: number;
  broker: number;
  /** All load processes together, the harness included. */
  load: number;
  /** The busiest single load process. */
  loadMax: number;
  /** Everything else running on the machine meanwhile (other users, the kernel's share). */
  other: number;
  /** True when the broker did not set the pace (see `limitOf`): its number is a lower bound. */
  loadBound: boolean;
  /** What limited the run (see `limitOf`). */
  limit: Limit;
}

/**
 * What set the pace of a run:
 * - `'broker'`: the broker kept a core ≥ 90 % busy — it was measured at its limit;
 * - `'load'`: a load process was ≥ 90 % busy, or the load filled the machine;
 * - `'contended'`: the machine was ≥ 90 % busy with ≥ 0.25 cores used by other programs;
 * - `'none'`: nothing was saturated (the scenario itself bounds the rate: a window, a fixed rate).
 */
export type Limit = 'broker' | 'load' | 'contended' | 'none';

/** CPU use between two snapshots. */
export function cpuWindow(a: Snapshot, b: Snapshot): CpuWindow {
  const windowMs = b.t - a.t;
  const cores = (micros: number): number => micros / 1000 / windowMs;
  const broker = cores(b.broker - a.broker);
  const perWorker = b.workers.map((w, i) => cores(w.cpuMicros - a.workers[i]!.cpuMicros));
  const load = perWorker.reduce((x, y) => x + y, 0) + cores(b.harness - a.harness);
  const loadMax = Math.max(0, ...perWorker);
  const dm = b.machine.total - a.machine.total;
  const machineBusy = dm > 0 ? ((b.machine.busy - a.machine.busy) / dm) * CORES : NaN;
  const other = Math.max(0, machineBusy - broker - load);
  const limit = limitOf(broker, loadMax, machineBusy, other);
  return { windowMs, broker, load, loadMax, other, loadBound: limit === 'load' || limit === 'contended', limit };
}

/**
 * Classifies a run (see `Limit`). A broker below 90 % of a core while one load process is at its
 * limit, or while the machine has no idle CPU left, was starved: what it delivered is a lower
 * bound of what it can deliver, not its capacity.
 */
export function limitOf(broker: number, loadMax: number, machineBusy: number, other: number): Limit {
  if (broker >= 0.9) return 'broker';
  if (loadMax >= 0.9) return 'load';
  if (machineBusy >= 0.9 * CORES) return other >= 0.25 ? 'contended' : 'load';
  return 'none';
}
