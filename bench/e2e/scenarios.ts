/**
 * The scenarios of the end-to-end benchmark and the run settings (default and `--quick`).
 *
 * Every scenario is bounded in time (warm-up + measured window + a capped drain) and in count
 * (connections, topics, credit), so a run cannot hang or eat the machine.
 */
import type { QoS } from '../../src/codec/index.js';
import type { LoadShape } from './load/publisher.js';

/** Timing and size settings of one harness run. */
export interface Settings {
  /** Load before the measured window (JIT warm-up, queues reaching steady state). */
  warmupMs: number;
  /** The measured window. */
  durationMs: number;
  /** Repetitions per scenario and broker (interleaved: A B C A B C …). */
  reps: number;
  payloadSize: number;
  /** Idle connections of the `connections` scenario. */
  connections: number;
  /** Messages per second of the latency probe. */
  latencyRate: number;
  /**
   * End-to-end credit: deliveries allowed beyond what the subscribers have accounted for,
   * `creditPerSubscriber` for each subscriber, at most `creditMax` in all. It bounds every
   * broker's queues, so a run measures throughput, not a broker's overload policy: broker-mini
   * sheds QoS 0 messages to a client whose socket buffer passes 1 MiB, and in practice already
   * did so here with 8,000 of these 87-byte packets outstanding (none at 2,000). It must also be
   * large enough that the credit loop (a few ms round trip) rarely sets the pace.
   */
  creditPerSubscriber: number;
  creditMax: number;
  /** Longest wait for the last deliveries after the publishers stop. */
  drainMs: number;
  /** Messages each client publishes in the client benchmark (a time cap applies too). */
  clientMessages: { qos0: number; qos1: number };
  /** Cap on the client benchmark's publishing time. */
  clientMaxMs: number;
  /**
   * Publishes per second in all for the `-mqttjs` scenarios, spread evenly over the publishers
   * (at most about 1,000 per publisher: one per timer tick); 0: as fast as MQTT.js goes. A fixed
   * rate compares brokers at the same load: CPU per delivery falls as the rate rises (more
   * packets per wake-up), so brokers run at different rates are not compared like for like.
   */
  mqttjsRate: number;
  /** Count the broker's system calls over each window (`--syscalls`, see syscalls.ts; inflates CPU time). */
  syscalls: boolean;
}

/** The full run: 3 repetitions of every scenario. */
export const DEFAULT_SETTINGS: Settings = {
  warmupMs: 1000,
  durationMs: 3000,
  reps: 3,
  payloadSize: 64,
  connections: 10_000,
  latencyRate: 1000,
  creditPerSubscriber: 2000,
  creditMax: 20_000,
  drainMs: 10_000,
  clientMessages: { qos0: 200_000, qos1: 100_000 },
  clientMaxMs: 8000,
  mqttjsRate: 0,
  syscalls: false,
};

/** `--quick`: a smoke test of every path, numbers not worth publishing. */
export const QUICK_SETTINGS: Settings = {
  ...DEFAULT_SETTINGS,
  warmupMs: 300,
  durationMs: 1000,
  reps: 1,
  connections: 1000,
  drainMs: 5000,
  clientMessages: { qos0: 20_000, qos1: 10_000 },
  clientMaxMs: 3000,
};

/** A throughput scenario: publishers and subscribers in separate load processes. */
export interface ThroughputScenario {
  kind: 'throughput';
  id: string;
  title: string;
  qos: QoS;
  /** Topics the publishers spread their messages over (round-robin). */
  topicCount: number;
  /** Publishing connections per load process (e.g. [2, 2]: 4 publishers in 2 processes). */
  publishers: number[];
  /** Messages in flight per publisher (QoS 1/2). */
  window: number;
  /** Subscribing connections per load process. */
  subscribers: number[];
  /** `'one'`: every subscriber on topic 0; `'own'`: subscriber i on topic i. */
  subscribe: 'one' | 'own';
  /**
   * Packets per socket write of the load generator: 1 (`per-message`, the headline: devices and
   * MQTT.js write one packet at a time) or 64 (`batched`: the broker reads many packets per wake-up).
   */
  batch: number;
  /**
   * Who publishes and subscribes: `'raw'`, our load generator's pre-encoded bytes (`batch`
   * packets per write, as fast as credit and TCP allow), or `'mqttjs'`, MQTT.js clients used as
   * their users use them (see `load/mqttjs.ts`): the load most brokers actually see.
   */
  load: LoadShape;
}

/** QoS 1 round trips at a low fixed rate. */
export interface LatencyScenario {
  kind: 'latency';
  id: string;
  title: string;
}

/** Idle connections and the broker memory they cost. */
export interface ConnectionsScenario {
  kind: 'connections';
  id: string;
  title: string;
  /** Load processes opening the connections. */
  processes: number;
  /**
   * Connections each process opens at once. Kept under mosquitto's listen backlog (100) in
   * total: a SYN beyond it is dropped and retried a second later, which would time the
   * backlog, not the broker.
   */
  batch: number;
  /**
   * Connections per second each process opens at most (batches spaced out, as a fleet of devices
   * arrives); undefined: as fast as the broker accepts them (a burst, as after a broker restart).
   */
  pace?: number | undefined;
}

/** Our client against MQTT.js, publishing to the same mosquitto. */
export interface ClientScenario {
  kind: 'client';
  id: string;
  title: string;
  qos: 0 | 1;
  /** Publishes awaited together (`Promise.all` over chunks). */
  chunk: number;
}

export type Scenario = ThroughputScenario | LatencyScenario | ConnectionsScenario | ClientScenario;

/** The throughput scenarios, before they are split by write mode. */
const THROUGHPUT: readonly Omit<ThroughputScenario, 'batch' | 'load'>[] = [
  {
    kind: 'throughput',
    id: 'fanin-qos0',
    title: 'QoS 0 fan-in: 4 publishers → 1 subscriber',
    qos: 0,
    topicCount: 1,
    publishers: [2, 2],
    window: 0,
    subscribers: [1],
    subscribe: 'one',
  },
  {
    kind: 'throughput',
    id: 'qos1',
    title: 'QoS 1: 1 → 1, 64 in flight',
    qos: 1,
    topicCount: 1,
    publishers: [1],
    window: 64,
    subscribers: [1],
    subscribe: 'one',
  },
  {
    kind: 'throughput',
    id: 'qos2',
    title: 'QoS 2: 1 → 1, 64 in flight',
    qos: 2,
    topicCount: 1,
    publishers: [1],
    window: 64,
    subscribers: [1],
    subscribe: 'one',
  },
  {
    kind: 'throughput',
    id: 'fanout-qos0',
    title: 'QoS 0 fan-out: 1 publisher → 50 subscribers',
    qos: 0,
    topicCount: 1,
    publishers: [1],
    window: 0,
    subscribers: [25, 25],
    subscribe: 'one',
  },
  {
    kind: 'throughput',
    id: 'topics-qos0',
    title: 'QoS 0, 1,000 topics: 4 publishers → 1,000 subscribers, one topic each',
    qos: 0,
    topicCount: 1000,
    publishers: [2, 2],
    window: 0,
    subscribers: [500, 500],
    subscribe: 'own',
  },
];

/** Packets per write of the `-batched` variant of every throughput scenario. */
export const BATCHED_WRITE = 64;

/**
 * Every scenario, in run order: each throughput scenario with our raw load once with one packet
 * per write (its plain id, the headline) and once with `BATCHED_WRITE` packets per write
 * (`<id>-batched`), and once with MQTT.js clients as publishers and subscribers (`<id>-mqttjs`).
 */
export const SCENARIOS: readonly Scenario[] = [
  ...THROUGHPUT.flatMap((s): ThroughputScenario[] => [
    { ...s, title: `${s.title}, one packet per write`, batch: 1, load: 'raw' },
    { ...s, id: `${s.id}-batched`, title: `${s.title}, ${BATCHED_WRITE} packets per write`, batch: BATCHED_WRITE, load: 'raw' },
    { ...s, id: `${s.id}-mqttjs`, title: `${s.title}, MQTT.js clients`, batch: 1, load: 'mqttjs' },
  ]),
  { kind: 'latency', id: 'latency-qos1', title: 'QoS 1 latency at 1,000 msg/s' },
  { kind: 'connections', id: 'connections', title: 'Idle connections: memory per connection', processes: 2, batch: 40 },
  { kind: 'client', id: 'client-qos0', title: 'Client publish, QoS 0 (chunks of 100)', qos: 0, chunk: 100 },
  { kind: 'client', id: 'client-qos1', title: 'Client publish, QoS 1 (chunks of 100)', qos: 1, chunk: 100 },
];

/** Deliveries each publish should produce in a throughput scenario. */
export function fanout(s: ThroughputScenario): number {
  const subs = s.subscribers.reduce((a, b) => a + b, 0);
  return s.subscribe === 'one' ? subs : subs / s.topicCount;
}
