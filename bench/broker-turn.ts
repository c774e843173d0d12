/**
 * broker-mini's own CPU per PUBLISH when each one arrives in an event-loop turn of its own, as
 * from a slow sender such as MQTT.js: no sockets, no other process, so what it measures is the
 * broker's code (decode, session, routing, encode, the writer) plus Node's stream machinery.
 *
 *   npx tsx bench/broker-turn.ts [fanin|qos1|topics] [rounds]
 *
 * The clients are in-memory Duplex streams handed to `Broker.handleConnection`. Shapes:
 * `fanin`: QoS 0 to one subscriber; `qos1`: QoS 1 to one QoS 1 subscriber, which acknowledges
 * each delivery; `topics`: QoS 0 round-robin over 300 topics, one subscriber each. Prints the
 * median and the lowest CPU µs per message over `rounds` rounds of 20,000 messages (after one
 * warm-up round). Bounded: a fixed count per round, one message per turn.
 */
import { Duplex } from 'node:stream';
import { Broker } from '../src/broker-mini/index.js';
import { encode } from '../src/codec/index.js';

const shape = process.argv[2] ?? 'fanin';
if (!['fanin', 'qos1', 'topics'].includes(shape)) throw new Error(`unknown shape '${shape}' (fanin, qos1, topics)`);
const rounds = Number(process.argv[3] ?? 6);
const PER_ROUND = 20_000;
const subscribers = shape === 'topics' ? 300 : 1;
const qos = shape === 'qos1' ? 1 : 0;

/** A client connection: what the broker writes is counted and dropped; `feed` is what it reads. */
class MemoryClient extends Duplex {
  written = 0;
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.written += chunk.length;
    cb();
  }
  feed(bytes: Uint8Array): void {
    this.push(Buffer.from(bytes));
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const connect = (clientId: string): Uint8Array =>
  encode({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId, cleanSession: true, keepAlive: 60 });

const broker = new Broker({});
const subs: MemoryClient[] = [];
for (let i = 0; i < subscribers; i++) {
  const c = new MemoryClient();
  broker.handleConnection(c);
  c.feed(connect(`sub-${i}`));
  await turn();
  c.feed(encode({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: shape === 'topics' ? `t/${i}` : 't/0', qos }] }));
  subs.push(c);
}
const pub = new MemoryClient();
broker.handleConnection(pub);
pub.feed(connect('pub'));
await turn();

// One PUBLISH per topic, encoded once; QoS 1 ones get a fresh packet id per send.
const payload = new Uint8Array(64);
const packets = Array.from({ length: subscribers }, (_, i) =>
  Buffer.from(encode({ cmd: 'publish', topic: shape === 'topics' ? `t/${i}` : 't/0', payload, qos, retain: false, dup: false, ...(qos ? { packetId: 1 } : {}) })),
);
// Every packet has the same size (topic names of one length); the id sits right before the payload (spec 3.3.2.2).
const packetIdAt = (packets[0]?.length ?? 0) - payload.length - 2;
const first = subs[0];
if (first === undefined) throw new Error('no subscriber');
const subscriber: MemoryClient = first;
let nextId = 1;
// The broker numbers its deliveries to the subscriber 1, 2, …: acknowledge them in that order.
let nextDelivery = 1;

async function round(): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < PER_ROUND; i++) {
    const p = packets[i % subscribers];
    if (p === undefined) throw new Error('packet index out of range');
    if (qos) {
      p.writeUInt16BE(nextId, packetIdAt);
      nextId = nextId === 65535 ? 1 : nextId + 1;
    }
    pub.feed(p);
    if (qos) {
      subscriber.feed(encode({ cmd: 'puback', packetId: nextDelivery }));
      nextDelivery = nextDelivery === 65535 ? 1 : nextDelivery + 1;
    }
    await turn();
  }
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / PER_ROUND;
}

await round(); // warm-up: JIT, caches
const results: number[] = [];
for (let r = 0; r < Math.max(1, rounds); r++) results.push(await round());
results.sort((a, b) => a - b);
const written = subs.reduce((n, s) => n + s.written, 0);
const median = results[Math.floor(results.length / 2)] ?? NaN;
const lowest = results[0] ?? NaN;
console.log(
  `${shape}: CPU µs per message, median ${median.toFixed(2)}, lowest ${lowest.toFixed(2)} ` +
    `(${rounds} rounds of ${PER_ROUND}; ${written} bytes delivered)`,
);
await broker.close();
