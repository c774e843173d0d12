/**
 * The `$SYS/broker/...` tree mosquitto publishes, with its topic names and number formats, so
 * dashboards and tutorials written for mosquitto work unchanged: every `interval` seconds, as
 * retained QoS 0 messages, each topic only when its value changed (`uptime` every time).
 * Load averages follow mosquitto's formula: a per-minute rate over the last interval, smoothed
 * exponentially over 1, 5 and 15 minutes, printed with two decimals.
 */
import type { BrokerCore } from './core/broker-core.js';
import { VERSION } from '../version.js';

/** The broker's version line (`$SYS/broker/version`). */
export const SYS_VERSION = `mqtt311 version ${VERSION}`;

/** The counters the load averages are computed from, and the topic part that names each. */
const LOADS = [
  ['messages/received', (s: Snapshot) => s.packetsReceived],
  ['messages/sent', (s: Snapshot) => s.packetsSent],
  ['publish/dropped', (s: Snapshot) => s.publishDropped],
  ['publish/received', (s: Snapshot) => s.publishReceived],
  ['publish/sent', (s: Snapshot) => s.publishSent],
  ['bytes/received', (s: Snapshot) => s.bytesReceived],
  ['bytes/sent', (s: Snapshot) => s.bytesSent],
  ['sockets', (s: Snapshot) => s.socketsOpened],
  ['connections', (s: Snapshot) => s.connectsAccepted],
] as const;
const WINDOWS = [
  ['1min', 60],
  ['5min', 300],
  ['15min', 900],
] as const;

/** What `$SYS` reports at one moment (also `broker.sysSnapshot()`). */
export interface Snapshot {
  uptimeSeconds: number;
  clientsConnected: number;
  clientsDisconnected: number;
  clientsTotal: number;
  clientsMaximum: number;
  clientsExpired: number;
  packetsReceived: number;
  packetsSent: number;
  publishReceived: number;
  publishSent: number;
  publishDropped: number;
  publishBytesReceived: number;
  publishBytesSent: number;
  bytesReceived: number;
  bytesSent: number;
  subscriptions: number;
  retained: number;
  storeMessages: number;
  storeBytes: number;
  heapCurrent: number;
  heapMaximum: number;
  socketsOpened: number;
  connectsAccepted: number;
}

let heapMaximum = 0;

/** Reads everything `$SYS` reports from `core` (walks the sessions once). */
export function snapshot(core: BrokerCore, startedAt: number): Snapshot {
  const st = core.stats;
  let subscriptions = 0;
  let queued = 0;
  let queuedBytes = 0;
  let dropped = st.droppedByEndedSessions;
  for (const s of core.sessions.values()) {
    subscriptions += s.subscriptions.size;
    queued += s.queue.length + s.inflight.size;
    queuedBytes += s.queuedBytes;
    dropped += s.dropped;
  }
  const heapCurrent = process.memoryUsage().heapUsed;
  heapMaximum = Math.max(heapMaximum, heapCurrent);
  const connected = core.clientCount;
  return {
    uptimeSeconds: Math.floor((core.now() - startedAt) / 1000),
    clientsConnected: connected,
    clientsDisconnected: core.sessions.size - connected,
    clientsTotal: core.sessions.size,
    clientsMaximum: st.clientsMaximum,
    clientsExpired: st.sessionsExpired,
    packetsReceived: st.packetsReceived,
    packetsSent: st.packetsSent,
    publishReceived: st.publishReceived,
    publishSent: st.publishSent,
    publishDropped: dropped,
    publishBytesReceived: st.publishBytesReceived,
    publishBytesSent: st.publishBytesSent,
    bytesReceived: st.bytesReceived,
    bytesSent: st.bytesSent,
    subscriptions,
    retained: core.retained.size,
    storeMessages: core.retained.size + queued,
    storeBytes: core.retained.bytes + queuedBytes,
    heapCurrent,
    heapMaximum,
    socketsOpened: st.socketsOpened,
    connectsAccepted: st.connectsAccepted,
  };
}

/** The `$SYS` topics (after `$SYS/broker/`) and their payloads for one snapshot, loads excluded. */
export function sysValues(s: Snapshot): Array<[string, string]> {
  return [
    ['clients/total', `${s.clientsTotal}`],
    ['clients/inactive', `${s.clientsDisconnected}`],
    ['clients/disconnected', `${s.clientsDisconnected}`],
    ['clients/active', `${s.clientsConnected}`],
    ['clients/connected', `${s.clientsConnected}`],
    ['clients/maximum', `${s.clientsMaximum}`],
    ['clients/expired', `${s.clientsExpired}`],
    ['messages/stored', `${s.storeMessages}`],
    ['store/messages/count', `${s.storeMessages}`],
    ['store/messages/bytes', `${s.storeBytes}`],
    ['subscriptions/count', `${s.subscriptions}`],
    // MQTT 3.1.1 has no shared subscriptions; published so mosquitto dashboards find the topic.
    ['shared_subscriptions/count', '0'],
    ['retained messages/count', `${s.retained}`],
    ['heap/current', `${s.heapCurrent}`],
    ['heap/maximum', `${s.heapMaximum}`],
    ['messages/received', `${s.packetsReceived}`],
    ['messages/sent', `${s.packetsSent}`],
    ['publish/messages/dropped', `${s.publishDropped}`],
    ['publish/messages/received', `${s.publishReceived}`],
    ['publish/messages/sent', `${s.publishSent}`],
    ['bytes/received', `${s.bytesReceived}`],
    ['bytes/sent', `${s.bytesSent}`],
    ['publish/bytes/received', `${s.publishBytesReceived}`],
    ['publish/bytes/sent', `${s.publishBytesSent}`],
  ];
}

/** Publishes the `$SYS` tree of `core` every `intervalSeconds` (see the module comment). */
export class SysPublisher {
  readonly #core: BrokerCore;
  readonly #startedAt: number;
  readonly #timer: ReturnType<typeof setInterval>;
  /** Last value published per topic. */
  readonly #last = new Map<string, string>();
  readonly #loads = new Map<string, number>();
  #previous: { at: number; snapshot: Snapshot } | undefined;

  constructor(core: BrokerCore, intervalSeconds: number) {
    this.#core = core;
    this.#startedAt = core.now();
    this.#send('version', SYS_VERSION);
    this.update();
    this.#timer = setInterval(() => this.update(), intervalSeconds * 1000);
    this.#timer.unref();
  }

  /** Publishes what changed since the last update (done by the timer; callable for tests). */
  update(): void {
    const now = this.#core.now();
    const s = snapshot(this.#core, this.#startedAt);
    this.#send('uptime', `${s.uptimeSeconds} seconds`, true);
    for (const [topic, value] of sysValues(s)) this.#send(topic, value);
    const prev = this.#previous;
    const elapsed = prev ? Math.max(1, (now - prev.at) / 1000) : 1;
    for (const [name, read] of LOADS) {
      // mosquitto: the interval's count as a per-minute rate, smoothed per window.
      const rate = prev ? ((read(s) - read(prev.snapshot)) * 60) / elapsed : 0;
      for (const [window, seconds] of WINDOWS) {
        const key = `load/${name}/${window}`;
        const current = this.#loads.get(key) ?? 0;
        const next = prev ? rate + Math.exp(-elapsed / seconds) * (current - rate) : 0;
        this.#loads.set(key, next);
        this.#send(key, next.toFixed(2));
      }
    }
    this.#previous = { at: now, snapshot: s };
  }

  #send(topic: string, value: string, always = false): void {
    const full = `$SYS/broker/${topic}`;
    if (!always && this.#last.get(full) === value) return;
    this.#last.set(full, value);
    this.#core.publish(full, value, { qos: 0, retain: true });
  }

  /** Stops publishing. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
