/**
 * Fault injection: streams of 3000 QoS 1 and QoS 2 messages while the test cuts the
 * publisher's and the subscriber's connections (against mosquitto and against broker-mini), and
 * while mosquitto itself is stopped and restarted on the same port (with persistence, so
 * sessions survive). Every QoS 1 message must arrive at least once and every QoS 2 message
 * exactly once, in order.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connect, netTransport, type MqttClient, type Transport, type TransportFactory } from '../../src/client/index.js';
import { freePort, makeTempDir, requirePeer, stopAllProcesses, cleanupTempDirs, type SpawnedProcess } from '../helpers/peers.js';
import { startBroker } from '../../src/broker-mini/index.js';
import { startMosquittoAt, until } from './fixtures.js';

const run = requirePeer('mosquitto');
const N = 3000;

/** A transport factory that remembers the live transport, so the test can cut it. */
function cuttable(): { factory: TransportFactory; cut(): void; cuts: number } {
  let live: Transport | undefined;
  const state = {
    cuts: 0,
    factory: (async (options) => (live = await netTransport(options))) as TransportFactory,
    cut() {
      state.cuts++;
      live?.destroy();
    },
  };
  return state;
}

interface StreamResult {
  received: number[];
  /** The DUP flag of each received PUBLISH, parallel to `received`. */
  dup: boolean[];
  publisherCuts: number;
  subscriberCuts: number;
}

/**
 * Publishes N messages at `qos` from one client to another through the broker on `port`,
 * calling `fault(i, ctl)` as publishes are issued; resolves when every publish is acknowledged
 * and the subscriber has every message (bounded by `ms`).
 */
async function stream(port: number, qos: 1 | 2, tag: string, fault: (i: number, ctl: { pub: () => void; sub: () => void }) => Promise<void> | void, ms = 60_000): Promise<StreamResult> {
  const url = `mqtt://127.0.0.1:${port}`;
  const reconnect = { initialDelay: 50, maxDelay: 500, jitter: 0.5 };
  const subCut = cuttable();
  const pubCut = cuttable();
  const clients: MqttClient[] = [];
  try {
    const sub = await connect(url, { clientId: `${tag}-sub`, cleanSession: false, reconnect, transport: subCut.factory, keepAlive: 10 });
    clients.push(sub);
    const received: number[] = [];
    const dup: boolean[] = [];
    sub.on('message', (_t, payload, packet) => {
      received.push(Number(payload.toString()));
      dup.push(packet.dup);
    });
    await sub.subscribe(`${tag}/t`, { qos });
    const pub = await connect(url, { clientId: `${tag}-pub`, cleanSession: false, reconnect, transport: pubCut.factory, maxQueued: N, keepAlive: 10 });
    clients.push(pub);
    const deadline = Date.now() + ms;
    const acks: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      acks.push(pub.publish(`${tag}/t`, String(i), { qos }));
      await fault(i, { pub: () => pubCut.cut(), sub: () => subCut.cut() });
      // Let the network move every so often, as a real producer would.
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await Promise.race([
      Promise.all(acks),
      new Promise((_, reject) => setTimeout(() => reject(new Error('publishes not all acknowledged in time')), Math.max(0, deadline - Date.now()))),
    ]);
    await until(() => new Set(received).size >= N, Math.max(1000, deadline - Date.now()), `all ${N} messages (have ${new Set(received).size})`);
    await new Promise((r) => setTimeout(r, 100)); // late duplicates, if any, show up too
    return { received, dup, publisherCuts: pubCut.cuts, subscriberCuts: subCut.cuts };
  } finally {
    await Promise.all(clients.map((c) => c.end({ force: true })));
  }
}

/**
 * Checks delivery guarantees and prints the counts: every message at least once and first
 * arrivals in order; with `'exactly-once'` no duplicates at all; with `'redelivery-only'` a
 * second copy must be a broker's redelivery (DUP 1). (A QoS 1 copy may lack DUP: a publisher's
 * resend reaches the subscriber as a new PUBLISH, its DUP set independently [MQTT-3.3.1-3].)
 */
function check(label: string, mode: 'exactly-once' | 'redelivery-only' | 'at-least-once', r: StreamResult): void {
  const unique = new Set(r.received);
  const duplicates = r.received.length - unique.size;
  console.log(`${label}: sent ${N}, received ${r.received.length}, unique ${unique.size}, duplicates ${duplicates}, publisher cuts ${r.publisherCuts}, subscriber cuts ${r.subscriberCuts}`);
  for (let i = 0; i < N; i++) expect(unique.has(i), `message ${i} missing`).toBe(true);
  // In order: first arrivals never go backwards.
  const firsts: number[] = [];
  const seen = new Set<number>();
  r.received.forEach((n, i) => {
    if (!seen.has(n)) {
      seen.add(n);
      firsts.push(n);
    } else {
      if (mode === 'redelivery-only') expect(r.dup[i], `copy of ${n} without DUP`).toBe(true);
    }
  });
  expect(firsts).toEqual(Array.from({ length: N }, (_, i) => i));
  if (mode === 'exactly-once') expect(r.received).toEqual(firsts);
}

describe.skipIf(!run)('fault injection', () => {
  const procs: SpawnedProcess[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await stopAllProcesses();
    cleanupTempDirs();
  });

  // max_queued_messages 0: no limit, so mosquitto never drops a queued QoS>0 message while a
  // subscriber is cut off (its default limit of 1000 would, by design).
  const conf = ['max_queued_messages 0'];

  for (const qos of [1, 2] as const) {
    it(`[MQTT-4.4.0-1] [MQTT-4.6.0-1] QoS ${qos}: ${N} messages survive cut connections on both sides`, async () => {
      const port = await freePort();
      const proc = await startMosquittoAt(port, makeTempDir('mqtt311-faults-'), conf);
      procs.push(proc);
      const cutsAt = new Set([400, 1100, 1900, 2600]);
      const r = await stream(port, qos, `cut${qos}`, (i, ctl) => {
        if (cutsAt.has(i)) ctl.pub();
        if (cutsAt.has(i + 250)) ctl.sub();
      });
      check(`QoS ${qos}, cut sockets`, qos === 2 ? 'exactly-once' : 'at-least-once', r);
      expect(r.publisherCuts).toBe(4);
      expect(r.subscriberCuts).toBe(4);
      await proc.stop();
    }, 90_000);
  }

  for (const qos of [1, 2] as const) {
    it(`[MQTT-3.1.2-4] [MQTT-4.4.0-1] QoS ${qos}: ${N} messages survive a broker restart (persistent sessions)`, async () => {
      const port = await freePort();
      const dir = makeTempDir('mqtt311-restart-');
      const persist = [...conf, 'persistence true', `persistence_location ${dir}/`, 'autosave_interval 0'];
      let proc = await startMosquittoAt(port, dir, persist);
      procs.push(proc);
      const r = await stream(port, qos, `restart${qos}`, async (i) => {
        if (i !== 1500) return;
        // SIGTERM: mosquitto saves its database (sessions, queued and in-flight messages) and exits.
        await proc.stop();
        proc = await startMosquittoAt(port, dir, persist);
        procs.push(proc);
      });
      // Exactly once is not asserted across a mosquitto restart: mosquitto 2.0.11 sometimes
      // restores a QoS 2 message it had already PUBREL'd in its "awaiting PUBREC" state and
      // resends the PUBLISH (against [MQTT-4.3.3-1]); the client has completed that flow, so it
      // must treat the copy as a new message [MQTT-4.3.3-2]. `check` still requires every copy
      // to carry DUP 1, i.e. to be the broker's resend and never one the client caused.
      check(`QoS ${qos}, broker restart`, qos === 2 ? 'redelivery-only' : 'at-least-once', r);
      await proc.stop();
    }, 90_000);
  }
});

describe('fault injection against broker-mini', () => {
  const cutsAt = new Set([400, 1100, 1900, 2600]);
  for (const qos of [1, 2] as const) {
    it(`[MQTT-4.4.0-1] [MQTT-4.3.3-2] QoS ${qos}: ${N} messages survive cut connections on both sides`, async () => {
      const broker = await startBroker({ port: 0, host: '127.0.0.1', maxQueuedMessages: 10 * N });
      try {
        const r = await stream(broker.address.port, qos, `mini${qos}`, (i, ctl) => {
          if (cutsAt.has(i)) ctl.pub();
          if (cutsAt.has(i + 250)) ctl.sub();
        });
        check(`QoS ${qos}, cut sockets, broker-mini`, qos === 2 ? 'exactly-once' : 'at-least-once', r);
      } finally {
        await broker.close();
      }
    }, 90_000);
  }
});
