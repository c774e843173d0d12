/**
 * A client under test, alone in its process so its CPU time is its own: our client
 * (`src/client`'s `connect`/`publish`), MQTT.js (`mqtt.connectAsync`/`publishAsync`), or the
 * raw-socket floor (`raw-floor.ts`: pre-encoded PUBLISHes, no client at all).
 *
 * Both publish the same 64-byte payloads (the load generator's layout, so the raw subscriber can
 * check every message), awaiting `Promise.all` over chunks of publishes. For QoS 0 a publish
 * resolves once written, for QoS 1 on its PUBACK (spec 4.3.2).
 *
 * MQTT.js leaves Nagle's algorithm on; our client sets TCP_NODELAY. For a like-for-like run the
 * MQTT.js socket gets `setNoDelay(true)` here too (`noDelay: false` in `init` keeps its default).
 */
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { cpuMicros, serve } from './rpc.js';
import { RawFloor } from './raw-floor.js';

/** Which client. */
export type ClientLib = 'mqtt311' | 'mqttjs' | 'raw';

/** The `init` request. */
export interface ClientInit {
  lib: ClientLib;
  port: number;
  topic: string;
  qos: 0 | 1;
  payloadSize: number;
  noDelay: boolean;
  /**
   * `maxInflight` for our client and the raw floor's window; undefined leaves our client's
   * default (the raw floor then uses 20); `'auto'` is our client's adaptive window. MQTT.js has no such limit: it sends every publish at once.
   */
  maxInflight: number | 'auto' | undefined;
}

/** The `run` request: publish `count` messages (stopping early after `maxMs`). */
export interface ClientRun {
  count: number;
  chunk: number;
  maxMs: number;
}

/** What a `run` measured. */
export interface ClientRunResult {
  sent: number;
  elapsedMs: number;
  cpuMicros: number;
}

type Publish = (payload: Buffer) => Promise<unknown>;

let publish: Publish | undefined;
let raw: RawFloor | undefined;
let end: (() => Promise<unknown>) | undefined;
let template: Buffer;
let seq = 0;

/** A fresh payload per message (a client may hold it until written): publisher 0, topic 0. */
function nextPayload(): Buffer {
  const b = Buffer.allocUnsafe(template.length);
  template.copy(b);
  b.writeUInt32BE(seq++, 4);
  return b;
}

async function init(opts: ClientInit): Promise<null> {
  template = Buffer.alloc(opts.payloadSize); // publisher id 0, topic index 0
  const url = `mqtt://127.0.0.1:${opts.port}`;
  if (opts.lib === 'raw') {
    raw = await RawFloor.connect(opts.port, opts.topic, opts.payloadSize, typeof opts.maxInflight === 'number' ? opts.maxInflight : 20);
    end = () => Promise.resolve(raw?.close());
  } else if (opts.lib === 'mqtt311') {
    const { connect } = await import('../../src/client/index.js');
    const window = opts.maxInflight === undefined ? {} : { maxInflight: opts.maxInflight };
    const client = await connect(url, { keepAlive: 60, clientId: `bench-mqtt311-${process.pid}`, reconnect: false, ...window });
    publish = (payload) => client.publish(opts.topic, payload, { qos: opts.qos });
    end = () => client.end();
  } else {
    const mqtt = await import('mqtt');
    const client = await mqtt.connectAsync(url, {
      keepalive: 60,
      clientId: `bench-mqttjs-${process.pid}`,
      reconnectPeriod: 0,
      clean: true,
    });
    if (opts.noDelay) (client.stream as Socket).setNoDelay?.(true);
    publish = (payload) => client.publishAsync(opts.topic, payload, { qos: opts.qos });
    end = () => client.endAsync();
  }
  return null;
}

async function run({ count, chunk, maxMs }: ClientRun): Promise<ClientRunResult> {
  if (raw) {
    const cpu0 = cpuMicros();
    const t0 = performance.now();
    const sent = await raw.run(count, maxMs);
    seq += sent;
    return { sent, elapsedMs: performance.now() - t0, cpuMicros: cpuMicros() - cpu0 };
  }
  if (!publish) throw new Error('init first');
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  let sent = 0;
  while (sent < count && performance.now() - t0 < maxMs) {
    const n = Math.min(chunk, count - sent);
    const batch = new Array<Promise<unknown>>(n);
    for (let i = 0; i < n; i++) batch[i] = publish(nextPayload());
    await Promise.all(batch);
    sent += n;
  }
  return { sent, elapsedMs: performance.now() - t0, cpuMicros: cpuMicros() - cpu0 };
}

serve({
  init,
  run,
  /** Messages published so far (warm-up included): what the subscriber should have. */
  published: () => seq,
  async close() {
    await end?.();
    return null;
  },
});
