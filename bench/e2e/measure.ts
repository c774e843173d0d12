/**
 * One run of one scenario against one broker: start the broker and the load processes, warm up,
 * measure a window, stop, wait for the last deliveries, check every message, tear down.
 *
 * Everything started here is stopped in `finally`, whatever happens in between.
 */
import { performance } from 'node:perf_hooks';
import { startBroker, type BrokerHandle, type BrokerName } from './brokers.js';
import { sleep } from './procs.js';
import { fanout, type LatencyScenario, type Settings, type ThroughputScenario } from './scenarios.js';
import { cpuWindow, snapshot, startWorker, stopWorkers, type CpuWindow, type LoadWorker } from './workers.js';
import type { PubStats } from './load/publisher.js';
import type { SubStats } from './load/subscriber.js';
import type { LatencySummary } from './load/latency.js';
import { topicNames } from './load/wire.js';
import { mainThreadSleeps, traceSyscalls, type SyscallCounts } from './syscalls.js';

/** Message accounting of a run: every delivery checked. */
export interface Verification {
  published: number;
  expected: number;
  delivered: number;
  /** Expected deliveries that never arrived (QoS 0 allows it; QoS 1/2 must not). */
  lost: number;
  /** Of `lost`, the ones skipped over mid-stream (a later message arrived); the rest are the tail. */
  gaps: number;
  duplicates: number;
  misrouted: number;
  /** Protocol surprises: unknown acks, packets that have no place. */
  unexpected: number;
  /** QoS 1/2 messages the broker never acknowledged to the publisher. */
  unacknowledged: number;
  /** Messages the broker itself counted as dropped for the subscribers (broker-mini only). */
  brokerDropped?: number;
}

/** What one run measured. */
export interface RunResult {
  scenario: string;
  broker: BrokerName;
  rep: number;
  cpu: CpuWindow;
  deliveriesPerSec: number;
  publishesPerSec: number;
  /** Broker CPU time per delivery in the window, µs. */
  brokerCpuPerDeliveryUs: number;
  peakRssBytes: number;
  verify: Verification;
  latency?: { delivery: LatencySummary; puback: LatencySummary };
  /** Connection errors and other notices the load processes reported. */
  notices: string[];
  /** The broker's main thread went to sleep this often per delivery (see syscalls.ts). */
  sleepsPerDelivery?: number;
  /** With `--syscalls`: the broker's system calls per delivery over the window. */
  syscalls?: SyscallCounts;
}

interface Final {
  pubs: PubStats[];
  subs: SubStats[];
  latency?: { sent: number; acked: number; unexpected: number; delivery: LatencySummary; puback: LatencySummary };
}

let runCounter = 0;

/** A prefix that keeps client ids and topics of different runs apart. */
/** Rates over a measured window: deliveries and publishes per second, broker CPU µs per delivery. */
function rates(cpu: CpuWindow, deliveries: number, publishes: number): Pick<RunResult, 'deliveriesPerSec' | 'publishesPerSec' | 'brokerCpuPerDeliveryUs'> {
  return {
    deliveriesPerSec: (deliveries * 1000) / cpu.windowMs,
    publishesPerSec: (publishes * 1000) / cpu.windowMs,
    brokerCpuPerDeliveryUs: deliveries > 0 ? (cpu.broker * cpu.windowMs * 1000) / deliveries : NaN,
  };
}

function runTag(broker: BrokerName): string {
  return `${broker}${process.pid}r${++runCounter}`;
}

/** Runs a throughput scenario once against `brokerName`. */
export async function runThroughput(s: ThroughputScenario, brokerName: BrokerName, rep: number, set: Settings): Promise<RunResult> {
  const tag = runTag(brokerName);
  const topicPrefix = `bench/${tag}`;
  const topics = topicNames(topicPrefix, s.topicCount);
  const broker = await startBroker(brokerName);
  const subWorkers: LoadWorker[] = [];
  const pubWorkers: LoadWorker[] = [];
  try {
    const pubConns = s.publishers.reduce((a, b) => a + b, 0);
    // Subscribers first, so nothing is published before every subscription is in place.
    let subIndex = 0;
    const subPlans = s.subscribers.map((n) =>
      Array.from({ length: n }, () => {
        const topicIndex = s.subscribe === 'one' ? 0 : subIndex;
        subIndex++;
        return { topicIndex, filter: topics[topicIndex]! };
      }),
    );
    const subStarts = subPlans.map((subs, i) =>
      startWorker({ role: 'sub', port: broker.port, subs, qos: s.qos, maxPubs: pubConns, setupBatch: 50, load: s.load }, `${tag}s${i}`),
    );
    subWorkers.push(...(await Promise.all(subStarts)).map((r) => r.worker));
    let pubIdBase = 0;
    const pubStarts = s.publishers.map((conns, i) => {
      const task = {
        role: 'pub' as const,
        port: broker.port,
        conns,
        pubIdBase,
        topicPrefix,
        topicCount: s.topicCount,
        qos: s.qos,
        window: s.window,
        payloadSize: set.payloadSize,
        batch: s.batch,
        load: s.load,
        ratePerConn: s.load === 'mqttjs' ? set.mqttjsRate / pubConns : 0,
      };
      pubIdBase += conns;
      return startWorker(task, `${tag}p${i}`);
    });
    pubWorkers.push(...(await Promise.all(pubStarts)).map((r) => r.worker));

    // End-to-end credit: publishers may run `credit` deliveries ahead of what the
    // subscribers have accounted for. Progress arrives every few ms from each subscriber process.
    const perPublish = fanout(s);
    const accounted = new Map<LoadWorker, number>();
    const subCount = s.subscribers.reduce((a, b) => a + b, 0);
    const credit = Math.min(set.creditPerSubscriber * subCount, set.creditMax);
    const limitFor = (total: number): number => Math.floor((total + credit) / perPublish / pubConns);
    let limit = limitFor(0);
    for (const w of subWorkers) {
      w.rpc.onNotice('progress', (n: number) => {
        accounted.set(w, n);
        let total = 0;
        for (const v of accounted.values()) total += v;
        const next = limitFor(total);
        if (next <= limit) return;
        limit = next;
        for (const p of pubWorkers) p.rpc.post('credit', limit);
      });
    }

    await Promise.all(pubWorkers.map((w) => w.rpc.call('start', limit)));
    await sleep(set.warmupMs);
    const all = [...pubWorkers, ...subWorkers];
    const trace = set.syscalls ? traceSyscalls(broker.pid) : undefined;
    const sleepsBefore = mainThreadSleeps(broker.pid);
    const a = await snapshot(broker, all, 'begin');
    await sleep(set.durationMs);
    const b = await snapshot(broker, all, 'end');
    const sleeps = mainThreadSleeps(broker.pid) - sleepsBefore;
    const received = (snap: typeof a): number => snap.workers.slice(pubWorkers.length).reduce((n, w) => n + w.received, 0);
    const deliveries = received(b) - received(a);
    const syscalls = await trace?.stop(deliveries);
    const stopped = await Promise.all(pubWorkers.map((w) => w.rpc.call<{ inflight: number }>('stop', 10_000, 15_000)));
    const pubFinals = await Promise.all(pubWorkers.map((w) => w.rpc.call<Final>('final')));
    const pubs = pubFinals.flatMap((f) => f.pubs);
    const expectedFor = (topicIndex: number): number => pubs.reduce((n, p) => n + p.sentPerTopic[topicIndex]!, 0);
    const expected = subPlans.flat().reduce((n, sub) => n + expectedFor(sub.topicIndex), 0);
    await drain(subWorkers, expected, set.drainMs);
    const subFinals = await Promise.all(subWorkers.map((w) => w.rpc.call<Final>('final')));
    const subs = subFinals.flatMap((f) => f.subs);
    // Client ids as openSubscribers makes them: <prefix>-sub-<index in its process>.
    const subIds = subPlans.flatMap((plan, i) => plan.map((_, j) => `${tag}s${i}-sub-${j}`));
    const brokerDropped = await broker.dropped(subIds);

    const cpu = cpuWindow(a, b);
    const sent = (snap: typeof a): number => snap.workers.slice(0, pubWorkers.length).reduce((n, w) => n + w.sent, 0);
    return {
      scenario: s.id,
      broker: brokerName,
      rep,
      cpu,
      ...rates(cpu, deliveries, sent(b) - sent(a)),
      peakRssBytes: broker.memory().peakRss,
      verify: {
        ...verification(pubs, subs, expectedFor, stopped.reduce((n, x) => n + x.inflight, 0)),
        ...(brokerDropped !== null ? { brokerDropped } : {}),
      },
      notices: noticesOf(broker, all),
      ...(deliveries > 0 ? { sleepsPerDelivery: sleeps / deliveries } : {}),
      ...(syscalls ? { syscalls } : {}),
    };
  } finally {
    await stopWorkers([...pubWorkers, ...subWorkers]);
    await broker.stop();
  }
}

/** Polls the subscribers until `expected` unique deliveries arrived or nothing moved for 2 s. */
async function drain(subWorkers: LoadWorker[], expected: number, maxMs: number): Promise<void> {
  const t0 = performance.now();
  let last = -1;
  let lastChange = t0;
  while (performance.now() - t0 < maxMs) {
    const got = await Promise.all(subWorkers.map((w) => w.rpc.call<{ unique: number }>('progress')));
    const unique = got.reduce((n, g) => n + g.unique, 0);
    if (unique >= expected) return;
    const now = performance.now();
    if (unique !== last) {
      last = unique;
      lastChange = now;
    } else if (now - lastChange > 2000) return;
    await sleep(50);
  }
}

function verification(
  pubs: PubStats[],
  subs: SubStats[],
  expectedFor: (topicIndex: number) => number,
  unacknowledged: number,
): Verification {
  let expected = 0;
  let delivered = 0;
  let lost = 0;
  let duplicates = 0;
  let misrouted = 0;
  let gaps = 0;
  let unexpected = pubs.reduce((n, p) => n + p.unexpected, 0);
  for (const s of subs) {
    const want = expectedFor(s.topicIndex);
    const unique = s.received - s.duplicates - s.misrouted;
    expected += want;
    delivered += s.received;
    lost += Math.max(0, want - unique);
    duplicates += s.duplicates;
    gaps += s.gaps;
    misrouted += s.misrouted;
    unexpected += s.unexpected;
  }
  const published = pubs.reduce((n, p) => n + p.sent, 0);
  return { published, expected, delivered, lost, gaps, duplicates, misrouted, unexpected, unacknowledged };
}

function noticesOf(broker: BrokerHandle, workers: LoadWorker[]): string[] {
  const out = workers.flatMap((w) =>
    w.rpc.notices.filter((n) => n.kind !== 'progress').map((n) => `${w.task.role}: ${n.kind}: ${String(n.detail)}`),
  );
  // mosquitto warns at every start that it runs as root (`user root` in its config, on purpose).
  const stderr = broker
    .stderrTail()
    .split('\n')
    .filter((l) => l.trim() && !l.includes('should not be run as root'))
    .join('\n');
  if (!broker.alive()) out.push(`broker exited: ${stderr.slice(-500)}`);
  else if (stderr) out.push(`broker stderr: ${stderr.slice(-500)}`);
  return out.slice(0, 20);
}

/** Runs the latency scenario once: QoS 1 publish → broker → QoS 1 subscriber, at a low rate. */
export async function runLatency(s: LatencyScenario, brokerName: BrokerName, rep: number, set: Settings): Promise<RunResult> {
  const tag = runTag(brokerName);
  const broker = await startBroker(brokerName);
  const workers: LoadWorker[] = [];
  try {
    const task = { role: 'latency' as const, port: broker.port, topicPrefix: `bench/${tag}`, rate: set.latencyRate, payloadSize: set.payloadSize };
    workers.push((await startWorker(task, `${tag}l`)).worker);
    const w = workers[0]!;
    await w.rpc.call('start');
    await sleep(set.warmupMs);
    const a = await snapshot(broker, workers, 'begin');
    await sleep(set.durationMs);
    const b = await snapshot(broker, workers, 'end');
    const stopped = await w.rpc.call<{ inflight: number }>('stop', 5000, 10_000);
    let f = await w.rpc.call<Final>('final');
    const sent = f.latency!.sent;
    await drain(workers, sent, set.drainMs);
    f = await w.rpc.call<Final>('final');
    const cpu = cpuWindow(a, b);
    const deliveries = b.workers[0]!.received - a.workers[0]!.received;
    const lat = f.latency!;
    const sub = f.subs[0]!; // the latency worker's one subscriber
    return {
      scenario: s.id,
      broker: brokerName,
      rep,
      cpu,
      ...rates(cpu, deliveries, b.workers[0]!.sent - a.workers[0]!.sent),
      peakRssBytes: broker.memory().peakRss,
      verify: {
        published: sent,
        expected: sent,
        delivered: sub.received,
        lost: Math.max(0, sent - (sub.received - sub.duplicates - sub.misrouted)),
        gaps: sub.gaps,
        duplicates: sub.duplicates,
        misrouted: sub.misrouted,
        unexpected: sub.unexpected + lat.unexpected,
        unacknowledged: stopped.inflight,
      },
      latency: { delivery: lat.delivery, puback: lat.puback },
      notices: noticesOf(broker, workers),
    };
  } finally {
    await stopWorkers(workers);
    await broker.stop();
  }
}
