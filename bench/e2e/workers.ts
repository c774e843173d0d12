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
export async function startWorker(task: LoadTask, clientPrefix: string, timeoutMs = 60_000): Promise<{ worker: LoadWorker; info: any }> {
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
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal (guest is inside user)
  const idle = f[3] + f[4]; // idle + iowait
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
  /** True when the load side, not the broker, limited the run (see `isLoadBound`). */
  loadBound: boolean;
}

/** CPU use between two snapshots. */
export function cpuWindow(a: Snapshot, b: Snapshot): CpuWindow {
  const windowMs = b.t - a.t;
  const cores = (micros: number): number => micros / 1000 / windowMs;
  const broker = cores(b.broker - a.broker);
  const perWorker = b.workers.map((w, i) => cores(w.cpuMicros - a.workers[i].cpuMicros));
  const load = perWorker.reduce((x, y) => x + y, 0) + cores(b.harness - a.harness);
  const loadMax = Math.max(0, ...perWorker);
  const dm = b.machine.total - a.machine.total;
  const machineBusy = dm > 0 ? ((b.machine.busy - a.machine.busy) / dm) * CORES : NaN;
  const other = Math.max(0, machineBusy - broker - load);
  return { windowMs, broker, load, loadMax, other, loadBound: isLoadBound(broker, loadMax, machineBusy) };
}

/**
 * Did the load generator, not the broker, set the pace? The broker is the bottleneck when it keeps
 * a core ≥ 90 % busy. Otherwise the run is load-bound if one load process was ≥ 90 % busy (a
 * single-threaded sender or receiver at its limit) or the machine as a whole was ≥ 90 % busy
 * (the broker was starved of CPU by the load and whatever else runs here).
 */
export function isLoadBound(broker: number, loadMax: number, machineBusy: number): boolean {
  if (broker >= 0.9) return false;
  return loadMax >= 0.9 || machineBusy >= 0.9 * CORES;
}
