/**
 * Turning runs into the published numbers: medians over repetitions, ratios of broker-mini to
 * mosquitto and aedes (and of our client to MQTT.js), target checks, and the tables.
 *
 * A load-bound run measured the load generator, not the broker: its deliveries/s is only a lower
 * bound of what the broker can do, and the table says "load-bound" instead of a number.
 */
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { mosquittoVersion, type BrokerName } from './brokers.js';
import type { RunResult } from './measure.js';
import type { SyscallCounts } from './syscalls.js';
import type { ConnectionsResult } from './connections.js';
import type { ClientResult } from './client-bench.js';
import type { ClientLib } from './client-worker.js';
import { openFilesLimit } from './connections.js';
import { REPO_ROOT } from './procs.js';

/** The machine the numbers come from. */
export interface MachineNote {
  cpu: string;
  cores: number;
  node: string;
  kernel: string;
  mosquitto: string;
  aedes: string;
  mqttjs: string;
  openFiles: number;
  loadAverageAtStart: string;
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(`${REPO_ROOT}/node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** Reads CPU model, cores, Node, kernel and peer versions. */
export function machineNote(): MachineNote {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    cpu: model.trim(),
    cores: cpus().length,
    node: process.version,
    kernel: release(),
    mosquitto: mosquittoVersion(),
    aedes: pkgVersion('aedes'),
    mqttjs: pkgVersion('mqtt'),
    openFiles: openFilesLimit(),
    loadAverageAtStart: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

/** The median of the finite values (NaN when there are none). */
export function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'none';
}

/** One scenario × broker, over its repetitions. */
export interface BrokerSummary {
  scenario: string;
  broker: BrokerName;
  reps: number;
  errors: string[];
  deliveriesPerSec: number;
  /** Most repetitions were load-bound or CPU-contended: `deliveriesPerSec` is a lower bound only. */
  loadBound: boolean;
  /** What limited most repetitions (see `Limit` in workers.ts). */
  limit: string;
  brokerCpuPerDeliveryUs: number;
  brokerCores: number;
  loadCores: number;
  otherCores: number;
  peakRssBytes: number;
  p50Us?: number;
  p99Us?: number;
  pubackP50Us?: number;
  pubackP99Us?: number;
  bytesPerConnection?: number;
  connectsPerSec?: number;
  connected?: number;
  /** Summed over repetitions: every message is checked in every run. */
  lost: number;
  duplicates: number;
  misrouted: number;
  unexpected: number;
  unacknowledged: number;
  /** The broker's main thread went to sleep this often per delivery (throughput runs). */
  sleepsPerDelivery?: number;
  /** With `--syscalls`: the counts of the repetition with the median total. */
  syscalls?: SyscallCounts;
}

/** Medians of the throughput and latency runs of one scenario × broker. */
export function summarizeRuns(scenario: string, broker: BrokerName, runs: RunResult[], errors: string[]): BrokerSummary {
  const m = (f: (r: RunResult) => number): number => median(runs.map(f));
  const sum = (f: (r: RunResult) => number): number => runs.reduce((n, r) => n + f(r), 0);
  const lat = runs.filter((r) => r.latency);
  const traced = runs.flatMap((r) => (r.syscalls ? [r.syscalls] : [])).sort((a, b) => a.total - b.total);
  const syscalls = traced[Math.floor((traced.length - 1) / 2)];
  const slept = runs.flatMap((r) => (r.sleepsPerDelivery !== undefined ? [r.sleepsPerDelivery] : []));
  return {
    scenario,
    broker,
    reps: runs.length,
    errors,
    deliveriesPerSec: m((r) => r.deliveriesPerSec),
    loadBound: runs.filter((r) => r.cpu.loadBound).length * 2 > runs.length,
    limit: mostCommon(runs.map((r) => r.cpu.limit)),
    brokerCpuPerDeliveryUs: m((r) => r.brokerCpuPerDeliveryUs),
    brokerCores: m((r) => r.cpu.broker),
    loadCores: m((r) => r.cpu.load),
    otherCores: m((r) => r.cpu.other),
    peakRssBytes: m((r) => r.peakRssBytes),
    ...(lat.length > 0
      ? {
          p50Us: median(lat.map((r) => r.latency!.delivery.p50)),
          p99Us: median(lat.map((r) => r.latency!.delivery.p99)),
          pubackP50Us: median(lat.map((r) => r.latency!.puback.p50)),
          pubackP99Us: median(lat.map((r) => r.latency!.puback.p99)),
        }
      : {}),
    lost: sum((r) => r.verify.lost),
    duplicates: sum((r) => r.verify.duplicates),
    misrouted: sum((r) => r.verify.misrouted),
    unexpected: sum((r) => r.verify.unexpected),
    unacknowledged: sum((r) => r.verify.unacknowledged),
    ...(slept.length > 0 ? { sleepsPerDelivery: median(slept) } : {}),
    ...(syscalls ? { syscalls } : {}),
  };
}

/** Medians of the connections runs of one broker. */
export function summarizeConnections(scenario: string, broker: BrokerName, runs: ConnectionsResult[], errors: string[]): BrokerSummary {
  const m = (f: (r: ConnectionsResult) => number): number => median(runs.map(f));
  return {
    scenario,
    broker,
    reps: runs.length,
    errors: [...errors, ...runs.flatMap((r) => [...r.notes, ...(r.firstError ? [`connect error: ${r.firstError}`] : [])])],
    deliveriesPerSec: NaN,
    loadBound: false,
    limit: 'none',
    brokerCpuPerDeliveryUs: m((r) => r.brokerCpuPerConnectUs),
    brokerCores: NaN,
    loadCores: NaN,
    otherCores: NaN,
    peakRssBytes: m((r) => r.rssAfterBytes),
    bytesPerConnection: m((r) => r.bytesPerConnection),
    connectsPerSec: m((r) => r.connectsPerSec),
    connected: m((r) => r.connected),
    lost: runs.reduce((n, r) => n + r.failed + r.dropped, 0),
    duplicates: 0,
    misrouted: 0,
    unexpected: 0,
    unacknowledged: 0,
  };
}

/** broker-mini against another broker in one scenario. */
export interface Ratio {
  scenario: string;
  versus: BrokerName;
  /** mini's deliveries/s ÷ theirs; `bound` says when a load-bound side makes it a bound. */
  throughput: number;
  bound: 'exact' | 'at least' | 'at most' | 'unknown';
  /** Their broker CPU per delivery ÷ mini's (> 1: mini does a delivery with less CPU). */
  efficiency: number;
}

/** Ratios of broker-mini to each other broker, per throughput scenario. */
export function ratios(summaries: BrokerSummary[]): Ratio[] {
  const out: Ratio[] = [];
  for (const mini of summaries.filter((s) => s.broker === 'mini' && Number.isFinite(s.deliveriesPerSec))) {
    if (mini.p50Us !== undefined) continue; // latency runs run at a fixed rate
    // The Node floor is no broker: it is shown beside the brokers, never compared as one.
    for (const other of summaries.filter((s) => s.scenario === mini.scenario && s.broker !== 'mini' && s.broker !== 'node-floor')) {
      const bound = mini.loadBound && other.loadBound ? 'unknown' : mini.loadBound ? 'at least' : other.loadBound ? 'at most' : 'exact';
      out.push({
        scenario: mini.scenario,
        versus: other.broker,
        throughput: mini.deliveriesPerSec / other.deliveriesPerSec,
        bound,
        efficiency: other.brokerCpuPerDeliveryUs / mini.brokerCpuPerDeliveryUs,
      });
    }
  }
  return out;
}

/** One client over its repetitions. */
export interface ClientSummary {
  scenario: string;
  client: ClientLib;
  reps: number;
  errors: string[];
  msgsPerSec: number;
  cpuPerMsgUs: number;
  cpuCores: number;
  lost: number;
  duplicates: number;
}

/** Medians of one client's runs. */
export function summarizeClient(scenario: string, client: ClientLib, runs: ClientResult[], errors: string[]): ClientSummary {
  return {
    scenario,
    client,
    reps: runs.length,
    errors,
    msgsPerSec: median(runs.map((r) => r.msgsPerSec)),
    cpuPerMsgUs: median(runs.map((r) => r.cpuPerMsgUs)),
    cpuCores: median(runs.map((r) => r.cpuCores)),
    lost: runs.reduce((n, r) => n + r.lost, 0),
    duplicates: runs.reduce((n, r) => n + r.duplicates + r.misrouted, 0),
  };
}

/** Formats a count compactly: 1234567 → "1.23M". */
export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(n >= 100 ? 0 : 1);
}

/** Formats bytes: KiB below 1 MiB, MiB above. */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) < 1024 * 1024) return `${(n / 1024).toFixed(2)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A number with `d` decimals, or "–". */
export function fmt(n: number | undefined, d = 1): string {
  return n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(d);
}

/** A markdown table; the first `leftColumns` columns are labels, the rest numbers. */
export function table(head: string[], rows: string[][], leftColumns = 2): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i < leftColumns ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
