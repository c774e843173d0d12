/**
 * The client store (src/client/core/store.ts) without a disk: what the session records, what a
 * new session resumes from it, and the client's write-ahead (a packet leaves only after the
 * change it depends on is committed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Packet, PublishPacket } from '../../src/codec/index.js';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { connect, MemoryClientStore, type ClientStoreOp } from '../../src/client/index.js';
import { ClientSession } from '../../src/client/core/session.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const options = { clientId: 'c', cleanSession: false, keepAlive: 0 };

describe('client store: the session records its QoS flows', () => {
  it('[MQTT-4.4.0-1] a new session with the same store resends unacknowledged flows in order, PUBLISH with DUP 1, PUBREL as PUBREL', async () => {
    const store = new MemoryClientStore();
    await store.open('c');
    const s1 = new ClientSession(options, store);
    s1.open(0);
    s1.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 0);
    const publish = (op: number, topic: string, qos: 1 | 2) => s1.command({ kind: 'publish', op, topic, payload: bytes(topic), qos, retain: false }, 1).packets[0] as PublishPacket;
    const ids = [publish(1, 'a', 1), publish(2, 'b', 2), publish(3, 'c', 1)].map((p) => p.packetId!);
    expect(store.pending).toBe(true);
    s1.receive({ cmd: 'pubrec', packetId: ids[1]! }, 2); // b: PUBREL now
    s1.receive({ cmd: 'puback', packetId: ids[2]! }, 2); // c: done
    s1.receive({ cmd: 'publish', topic: 'in', payload: bytes('x'), qos: 2, retain: false, dup: false, packetId: 9 }, 2);
    await store.commit();
    expect(store.pending).toBe(false);

    // The process "restarts": a new session, the same store.
    const state = await store.open('c');
    expect(state.outgoing.map((p) => [p.packetId, p.topic, p.stage, p.payload.length])).toEqual([
      [ids[0], 'a', 'publish', 1],
      [ids[1], 'b', 'pubrel', 0],
    ]);
    expect(state.inboundQos2).toEqual([9]);
    const s2 = new ClientSession(options, store);
    s2.restore(state);
    s2.open(10);
    const resumed = s2.receive({ cmd: 'connack', sessionPresent: true, returnCode: 0 }, 10);
    expect(resumed.packets).toEqual([
      { cmd: 'publish', topic: 'a', payload: bytes('a'), qos: 1, retain: false, dup: true, packetId: ids[0] },
      { cmd: 'pubrel', packetId: ids[1] },
    ]);
    // [MQTT-4.3.3-2] the server resends the QoS 2 message it has no PUBCOMP for: acknowledged, not delivered again.
    const again = s2.receive({ cmd: 'publish', topic: 'in', payload: bytes('x'), qos: 2, retain: false, dup: true, packetId: 9 }, 11);
    expect(again.packets).toEqual([{ cmd: 'pubrec', packetId: 9 }]);
    expect(again.events).toEqual([]);
    s2.receive({ cmd: 'pubrel', packetId: 9 }, 12);
    // [MQTT-2.3.1-2] a new publish does not take an identifier of a resumed flow.
    const next = s2.command({ kind: 'publish', op: 4, topic: 'd', payload: bytes('d'), qos: 1, retain: false }, 12).packets[0] as PublishPacket;
    expect(ids.slice(0, 2)).not.toContain(next.packetId);
    s2.receive({ cmd: 'puback', packetId: ids[0]! }, 13);
    s2.receive({ cmd: 'pubcomp', packetId: ids[1]! }, 13);
    await store.commit();
    const after = await store.open('c');
    expect(after.outgoing.map((p) => p.topic)).toEqual(['d']);
    expect(after.inboundQos2).toEqual([]);
  });
});

/** A memory store that logs its transactions, and can be made to fail. */
class LoggingStore extends MemoryClientStore {
  log: string[] = [];
  fail = false;
  protected override writeBatch(clientId: string, ops: readonly ClientStoreOp[]): void {
    if (this.fail) throw new Error('disk full');
    this.log.push(`commit ${ops.map((o) => o.kind).join(',')}`);
    super.writeBatch(clientId, ops);
  }
}

describe('client store: write-ahead against broker-mini', () => {
  let broker: Broker;
  let url: string;
  beforeAll(async () => {
    broker = await startBroker({ port: 0, host: '127.0.0.1' });
    url = `mqtt://127.0.0.1:${broker.address.port}`;
  });
  afterAll(() => broker.close());

  it('a QoS 1/2 PUBLISH and its PUBREL leave only after the store committed them; publish() resolves after', async () => {
    const store = new LoggingStore();
    const client = await connect(url, { clientId: 'wa-1', cleanSession: false, store });
    client.on('packetsend', (p) => {
      if (p.cmd === 'publish' || p.cmd === 'pubrel') store.log.push(`send ${p.cmd}`);
    });
    await client.publish('wa/x', 'one', { qos: 1 });
    store.log.push('resolved 1');
    await client.publish('wa/x', 'two', { qos: 2 });
    store.log.push('resolved 2');
    await client.end();
    // Each packet is preceded by its own committed change: the k-th send comes after k commits holding a put.
    let puts = 0;
    let sends = 0;
    for (const line of store.log) {
      if (line.startsWith('commit')) puts += line.split(',').filter((k) => k.endsWith('putOutgoing')).length;
      if (line.startsWith('send')) expect(puts).toBeGreaterThan(sends++);
    }
    expect(sends).toBe(3);
    // A publish resolves after its PUBLISH was sent (so after it was stored).
    expect(store.log.indexOf('resolved 1')).toBeGreaterThan(store.log.indexOf('send publish'));
    expect(store.log.indexOf('resolved 2')).toBeGreaterThan(store.log.indexOf('send pubrel'));
    // The acknowledged flows are deleted once end() committed.
    expect((await store.open('wa-1')).outgoing).toEqual([]);
  });

  it('cleanSession true discards what the store held [MQTT-3.1.2-6]', async () => {
    const store = new MemoryClientStore();
    await store.open('wa-2');
    store.putOutgoing({ seq: 1, packetId: 5, topic: 'wa/old', payload: bytes('old'), qos: 1, retain: false, stage: 'publish' });
    store.putInboundQos2(7);
    await store.commit();
    const sent: Packet[] = [];
    const client = await connect(url, { clientId: 'wa-2', cleanSession: true, store });
    client.on('packetsend', (p) => sent.push(p));
    await client.end();
    expect(sent.filter((p) => p.cmd === 'publish')).toEqual([]);
    expect(await store.open('wa-2')).toEqual({ outgoing: [], inboundQos2: [] });
  });

  it('a store that cannot commit fails the publish with STORAGE_IO and ends the client; nothing is sent', async () => {
    const store = new LoggingStore();
    const client = await connect(url, { clientId: 'wa-3', cleanSession: false, store });
    const sent: Packet[] = [];
    client.on('packetsend', (p) => sent.push(p));
    client.on('error', () => {});
    store.fail = true;
    await expect(client.publish('wa/x', 'lost', { qos: 1 })).rejects.toMatchObject({ name: 'StorageError', code: 'STORAGE_IO' });
    expect(sent.filter((p) => p.cmd === 'publish')).toEqual([]);
    expect(client.connected).toBe(false);
  });
});
