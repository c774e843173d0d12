/**
 * A load-generator process. The harness forks several of these (one role each: publishers,
 * subscribers, the latency probe, or idle connections) so the load is spread over processes and
 * the broker under test, not the load, saturates first.
 *
 * Driven over IPC (see `rpc.ts`): `init` → `start` → `sample` ×2 → `stop` → `progress`… →
 * `final` → `close`. Every answer carries this process's CPU time so the harness can tell when
 * the load side, not the broker, was the bottleneck.
 */
import { performance } from 'node:perf_hooks';
import { cpuMicros, notify, onPost, serve } from './rpc.js';
import { openPublishers, type PubStats, type PubTask } from './load/publisher.js';
import { openSubscribers, type SubStats, type SubTask } from './load/subscriber.js';
import { openMqttjsPublishers, openMqttjsSubscribers } from './load/mqttjs.js';
import { LatencyProbe, summarize, type LatencyTask } from './load/latency.js';
import { IdlePool, type IdleTask } from './load/idle.js';

/** Any role a load worker can play. */
export type LoadTask = PubTask | SubTask | LatencyTask | IdleTask;

/** The `init` request. */
export interface InitArg {
  task: LoadTask;
  /** Prefix of every client id this worker uses (unique per run and worker). */
  clientPrefix: string;
}

/** The answer to `sample`: a timestamp, this process's CPU time and its counters. */
export interface WorkerSample {
  /** Milliseconds on a clock shared by all processes of the machine. */
  t: number;
  cpuMicros: number;
  sent: number;
  received: number;
}

/** A connection of either load shape: it reports its first failure and can be closed. */
interface LoadConn {
  onFailure(cb: (e: Error) => void): void;
  close(): void;
}

/** A publisher of either load shape (`PubConn` or `MqttjsPub`). */
interface Publisher {
  readonly conn: LoadConn;
  readonly pubId: number;
  readonly sent: number;
  readonly inflight: number;
  start(limit: number): void;
  setLimit(limit: number): void;
  stop(timeoutMs: number): Promise<void>;
  stats(): PubStats;
}

/** A subscriber of either load shape (`SubConn` or `MqttjsSub`). */
interface Subscriber {
  readonly conn: LoadConn;
  readonly topicIndex: number;
  readonly received: number;
  readonly duplicates: number;
  readonly accounted: number;
  stats(): SubStats;
}

let pubs: Publisher[] = [];
let subs: Subscriber[] = [];
let probe: LatencyProbe | undefined;
let idle: IdlePool | undefined;

function watch(conn: LoadConn, what: string): void {
  conn.onFailure((e) => notify('connection', `${what}: ${e.message}`));
}

function counters(): { sent: number; received: number } {
  let sent = 0;
  let received = 0;
  for (const p of pubs) sent += p.sent;
  for (const s of subs) received += s.received;
  if (probe) sent += probe.sent;
  return { sent, received };
}

/** Subscribers report what they have accounted for every few ms, for the harness's credit loop. */
const PROGRESS_EVERY_MS = 2;

function reportProgress(): void {
  let last = -1;
  const timer = setInterval(() => {
    let accounted = 0;
    for (const s of subs) accounted += s.accounted;
    if (accounted !== last) notify('progress', accounted);
    last = accounted;
  }, PROGRESS_EVERY_MS);
  timer.unref();
}

// Credit from the harness: each publishing connection may send up to this many messages in all.
onPost('credit', (limit: number) => {
  for (const p of pubs) p.setLimit(limit);
});

serve({
  async init({ task, clientPrefix }: InitArg) {
    switch (task.role) {
      case 'pub':
        pubs = task.load === 'mqttjs' ? await openMqttjsPublishers(task, clientPrefix) : await openPublishers(task, clientPrefix);
        pubs.forEach((p) => watch(p.conn, `publisher ${p.pubId}`));
        return { conns: pubs.length };
      case 'sub':
        subs = task.load === 'mqttjs' ? await openMqttjsSubscribers(task, clientPrefix) : await openSubscribers(task, clientPrefix);
        subs.forEach((s) => watch(s.conn, `subscriber on topic ${s.topicIndex}`));
        reportProgress();
        return { conns: subs.length };
      case 'latency':
        probe = await LatencyProbe.open(task, clientPrefix);
        subs = [probe.sub];
        watch(probe.pub, 'latency publisher');
        watch(probe.sub.conn, 'latency subscriber');
        return { conns: 2 };
      case 'idle':
        idle = new IdlePool();
        return idle.open(task, clientPrefix);
    }
  },

  /** Starts publishing with credit for `limit` messages per connection. */
  start(limit: number | null) {
    for (const p of pubs) p.start(limit ?? Infinity);
    probe?.start();
    return null;
  },

  sample(phase: 'begin' | 'end'): WorkerSample {
    if (probe) probe.recording = phase === 'begin';
    return { t: performance.timeOrigin + performance.now(), cpuMicros: cpuMicros(), ...counters() };
  },

  /** Stops publishing and waits (bounded) until every QoS 1/2 message in flight is acknowledged. */
  async stop(timeoutMs: number) {
    probe?.stop();
    await Promise.all(pubs.map((p) => p.stop(timeoutMs)));
    if (probe) {
      const deadline = Date.now() + timeoutMs;
      while (probe.acked < probe.sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    return { inflight: pubs.reduce((n, p) => n + p.inflight, 0) + (probe ? probe.sent - probe.acked : 0) };
  },

  progress() {
    let unique = 0;
    for (const s of subs) unique += s.received - s.duplicates;
    return { unique };
  },

  final() {
    return {
      cpuMicros: cpuMicros(),
      pubs: pubs.map((p) => p.stats()),
      subs: subs.map((s) => s.stats()),
      latency: probe
        ? {
            sent: probe.sent,
            acked: probe.acked,
            unexpected: probe.unexpected,
            delivery: summarize(probe.delivery),
            puback: summarize(probe.puback),
          }
        : undefined,
      idle: idle ? { stillOpen: idle.stillOpen, dropped: idle.dropped } : undefined,
    };
  },

  close() {
    for (const p of pubs) p.conn.close();
    for (const s of subs) s.conn.close();
    probe?.pub.close();
    idle?.closeAll();
    return null;
  },
});
