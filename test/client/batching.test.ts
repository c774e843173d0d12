/**
 * The client's cheap paths, for behaviour rather than speed (speed is measured in bench/e2e):
 * writes batched per task, the publish fast path of the session, the turn clock, the queue and
 * packet identifier structures, the topic validation cache, and the TCP transport's direct reads.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:net';
import { Decoder, encode, type Packet, type PublishPacket } from '../../src/codec/index.js';
import { createClient, type MqttClient } from '../../src/client/core/index.js';
import type { ClientOptions } from '../../src/client/core/options.js';
import { ClientSession } from '../../src/client/core/session.js';
import type { PublishCommand } from '../../src/client/core/types.js';
import { Fifo } from '../../src/client/core/fifo.js';
import { PacketIdAllocator } from '../../src/client/core/packet-ids.js';
import { TurnClock } from '../../src/client/core/timer.js';
import { netTransport } from '../../src/client/transport-net.js';
import { scripted } from './scripted.js';

const clients: MqttClient[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  vi.restoreAllMocks();
});

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A connected client on a scripted server whose every `Transport.write` call is recorded. */
async function setup(options: ClientOptions = {}) {
  const server = scripted();
  const writes: Uint8Array[][] = [];
  const pending = createClient('mqtt://test', {
    clientId: 'batch',
    reconnect: false,
    ...options,
    transport: async (o) => {
      const t = await server.factory(o);
      const write = t.write;
      t.write = (data) => {
        writes.push(data instanceof Uint8Array ? [data] : [...data]);
        return write(data);
      };
      return t;
    },
  });
  const conn = await server.next();
  await conn.accept();
  const client = await pending;
  clients.push(client);
  await nextTask(); // the link is quiet again
  writes.length = 0;
  return { conn, client, writes };
}

/** The packets in recorded writes, in order. */
function packetsOf(writes: Uint8Array[][]): Packet[] {
  const decoder = new Decoder();
  for (const parts of writes) for (const part of parts) decoder.push(part);
  const out: Packet[] = [];
  for (let p = decoder.next(); p; p = decoder.next()) out.push(p);
  return out;
}

describe('batched writes', () => {
  it('a burst of QoS 0 publishes in one task leaves in two transport writes, in order', async () => {
    const { client, writes } = await setup();
    const done = Array.from({ length: 50 }, (_, i) => client.publish('burst', String(i)));
    // The first went out at once; the other 49 wait for the current microtasks to finish.
    expect(writes).toHaveLength(1);
    await Promise.all(done);
    expect(writes).toHaveLength(2);
    const payloads = packetsOf(writes).map((p) => text((p as PublishPacket).payload));
    expect(payloads).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it('a lone publish on a quiet link is written before publish() returns', async () => {
    const { client, writes } = await setup();
    const done = client.publish('lone', 'x');
    expect(packetsOf(writes)).toMatchObject([{ cmd: 'publish', topic: 'lone' }]);
    await done;
  });

  it('hands a PUBLISH payload of 16 KiB or more to the transport uncopied, after what was batched before it', async () => {
    const { client, writes } = await setup();
    const big = new Uint8Array(20_000).fill(7);
    const done = [client.publish('small', 'a'), client.publish('small', 'b'), client.publish('big', big)];
    await Promise.all(done);
    const last = writes[writes.length - 1];
    expect(last).toHaveLength(2);
    expect(last![1]).toBe(big); // the caller's own array
    expect(packetsOf(writes).map((p) => (p as PublishPacket).topic)).toEqual(['small', 'small', 'big']);
  });

  it('when a batch fills the transport, its QoS 0 publishes resolve at drain and later ones wait in the queue', async () => {
    const { conn, client, writes } = await setup();
    const settled: string[] = [];
    const track = (name: string, p: Promise<void>) => p.then(() => settled.push(name));
    const first = track('0', client.publish('t', '0')); // at once, with room to spare
    conn.writeResult = false; // the batch that follows fills the buffer
    const batch = [1, 2, 3].map((i) => track(String(i), client.publish('t', String(i))));
    await first;
    await nextTask();
    expect(writes).toHaveLength(2);
    expect(settled).toEqual(['0']);
    const later = track('4', client.publish('t', '4'));
    await nextTask();
    expect(writes).toHaveLength(2); // '4' waits in the bounded queue, not in the transport
    conn.drain();
    await Promise.all([...batch, later]);
    expect(settled).toEqual(['0', '1', '2', '3', '4']);
    expect(packetsOf(writes).map((p) => text((p as PublishPacket).payload))).toEqual(['0', '1', '2', '3', '4']);
  });

  it('[MQTT-4.6.0-2] the PUBACKs for a chunk of QoS 1 PUBLISHes leave in one write, in the order the PUBLISHes arrived', async () => {
    const { conn, writes } = await setup();
    const ids = [7, 3, 9, 1, 5];
    const chunk = ids.map((packetId) => encode({ cmd: 'publish', topic: 'in', payload: new Uint8Array(1), qos: 1, retain: false, dup: false, packetId }));
    conn.send(Uint8Array.from(chunk.flatMap((b) => [...b])));
    for (const _ of ids) await conn.expect('puback');
    expect(writes).toHaveLength(1);
    expect(packetsOf(writes)).toEqual(ids.map((packetId) => ({ cmd: 'puback', packetId })));
  });
});

describe('ClientSession.publishNow', () => {
  const payload = new Uint8Array([1]);
  let op = 1;
  const pub = (qos: 0 | 1, topic = 't'): PublishCommand => ({ kind: 'publish', op: op++, topic, payload, qos, retain: false });
  const connected = (maxInflight = 20) => {
    const s = new ClientSession({ clientId: 'fast', cleanSession: true, keepAlive: 0, maxInflight });
    s.open(0);
    s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 0);
    return s;
  };

  it('returns nothing and changes nothing unless connected', () => {
    const s = new ClientSession({ clientId: 'fast', cleanSession: true, keepAlive: 0 });
    expect(s.publishNow(pub(0), 0)).toBeUndefined();
    s.open(0);
    expect(s.publishNow(pub(1), 0)).toBeUndefined();
    expect(s.counts).toEqual({ queued: 0, inflight: 0, awaitingRelease: 0 });
  });

  it('[MQTT-4.3.1-1] a QoS 0 PUBLISH: DUP 0, no packet identifier, nothing left in flight', () => {
    const s = connected();
    expect(s.publishNow(pub(0, 'a/b'), 0)).toEqual({ cmd: 'publish', topic: 'a/b', payload, qos: 0, retain: false, dup: false });
    expect(s.idle).toBe(true);
  });

  it('[MQTT-2.3.1-2] [MQTT-4.3.2-1] a QoS 1 PUBLISH gets a fresh identifier and completes at its PUBACK', () => {
    const s = connected();
    const cmd = pub(1);
    const a = s.publishNow(cmd, 0)!;
    const b = s.publishNow(pub(1), 0)!;
    expect(a).toMatchObject({ qos: 1, dup: false });
    expect(a.packetId).not.toBe(b.packetId);
    const step = s.receive({ cmd: 'puback', packetId: a.packetId! }, 1);
    expect(step.events).toEqual([{ type: 'done', op: cmd.op }]);
    expect(s.counts.inflight).toBe(1);
  });

  it('declines, changing nothing, when the window is full or work is queued ahead', () => {
    const s = connected(1);
    expect(s.publishNow(pub(1), 0)).toBeDefined();
    expect(s.publishNow(pub(1), 0)).toBeUndefined(); // window of 1 is full
    s.command(pub(1), 0); // queued behind the window
    expect(s.publishNow(pub(0), 0)).toBeUndefined(); // QoS 0 may not overtake the queue
    expect(s.counts).toEqual({ queued: 1, inflight: 1, awaitingRelease: 0 });
  });
});

describe('publish validation', () => {
  it('[MQTT-4.7.1-1] [MQTT-4.7.3-1] rejects a wildcard or empty topic name however many valid topics were published before', async () => {
    const { client } = await setup();
    await Promise.all(Array.from({ length: 300 }, (_, i) => client.publish(`valid/${i}`, 'x')));
    await client.publish('a', 'x');
    await expect(client.publish('a/#', 'x')).rejects.toMatchObject({ code: 'INVALID_TOPIC', rule: 'MQTT-4.7.1-1' });
    await expect(client.publish('a/+', 'x')).rejects.toMatchObject({ code: 'INVALID_TOPIC', rule: 'MQTT-4.7.1-1' });
    await expect(client.publish('', 'x')).rejects.toMatchObject({ code: 'INVALID_TOPIC', rule: 'MQTT-4.7.3-1' });
  });

  it('rejects a payload that is not bytes with the codec\'s error, before anything is sent', async () => {
    const { client, writes } = await setup();
    await expect(client.publish('t', 42 as unknown as Uint8Array)).rejects.toMatchObject({ code: 'INVALID_PACKET' });
    expect(writes).toHaveLength(0);
  });
});

describe('TurnClock', () => {
  it('reads the clock once per task', async () => {
    const now = vi.spyOn(Date, 'now').mockReturnValueOnce(1000).mockReturnValueOnce(2000);
    const clock = new TurnClock();
    expect([clock.now(), clock.now(), clock.now()]).toEqual([1000, 1000, 1000]);
    await nextTask();
    expect(clock.now()).toBe(2000);
    expect(now).toHaveBeenCalledTimes(2);
  });
});

describe('Fifo', () => {
  it('keeps order through shifts, removals and compaction', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 3000; i++) q.push(i);
    for (let i = 0; i < 2000; i++) expect(q.shift()).toBe(i);
    expect(q.length).toBe(1000);
    expect(q.remove((n) => n === 2500)).toBe(true);
    expect(q.remove((n) => n === 2500)).toBe(false);
    expect(q.peek()).toBe(2000);
    const rest = q.clear();
    expect(rest).toHaveLength(999);
    expect(rest.slice(499, 502)).toEqual([2499, 2501, 2502]);
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
  });
});

describe('PacketIdAllocator', () => {
  it('[MQTT-2.3.1-1] knows only the identifiers 1-65535 it handed out', () => {
    const ids = new PacketIdAllocator();
    const id = ids.allocate()!;
    expect(ids.has(id)).toBe(true);
    for (const bad of [0, 65536, -1, 1.5, Number.NaN]) expect(ids.has(bad)).toBe(false);
    ids.release(4242); // never handed out: nothing changes
    expect(ids.size).toBe(1);
    ids.release(id);
    expect([ids.has(id), ids.size]).toEqual([false, 0]);
  });
});

describe('TCP transport reads', () => {
  it('holds bytes that arrive before the data callback is registered', async () => {
    const server = createServer((socket) => socket.end('early bytes'));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const transport = await netTransport({ url: new URL(`mqtt://127.0.0.1:${port}`), host: '127.0.0.1', port });
    await nextTask();
    await nextTask();
    const chunks: Uint8Array[] = [];
    const closed = new Promise<void>((resolve) => transport.onClose(() => resolve()));
    transport.onData((chunk) => chunks.push(chunk));
    await closed;
    expect(text(Buffer.concat(chunks))).toBe('early bytes');
    transport.destroy();
  });
});
