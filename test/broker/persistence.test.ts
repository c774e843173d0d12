/**
 * broker-mini with a `BrokerStorage`: what a persistent session holds and the retained messages
 * survive a restart (a new broker core on the same storage), and an acknowledgement goes out only
 * once what it acknowledges is committed. `MemoryStorage` keeps committed state across broker
 * instances in one process, so a restart needs no disk.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, PublishPacket, QoS } from '../../src/codec/index.js';
import { MemoryStorage } from '../../src/broker-mini/core/memory-storage.js';
import { startBroker } from '../../src/broker-mini/index.js';
import { RawClient, closeAllRawClients, connectPacket } from '../helpers/raw-client.js';
import { Harness, bytes, settle, text } from './harness.js';

const publishes = (packets: Packet[]): PublishPacket[] => packets.filter((p): p is PublishPacket => p.cmd === 'publish');
const pub = (topic: string, qos: QoS, packetId: number, extra: Partial<PublishPacket> = {}): PublishPacket =>
  ({ cmd: 'publish', topic, payload: bytes(`${topic}#${packetId}`), qos, retain: false, dup: false, ...(qos > 0 ? { packetId } : {}), ...extra }) as PublishPacket;

/** A broker core on `storage`, restored from it. */
async function start(storage: MemoryStorage): Promise<Harness> {
  const h = new Harness({ storage });
  await h.core.restore();
  return h;
}

/** Lets pending commits and the acknowledgements waiting for them run (each commit takes a few turns). */
async function quiesce(): Promise<void> {
  for (let i = 0; i < 20; i++) await settle();
}

/** Sends packets, lets the commits settle, and returns everything the broker sent. */
async function exchange(c: ReturnType<Harness['open']>, ...packets: Packet[]): Promise<Packet[]> {
  c.send(...packets);
  await quiesce();
  return c.take();
}

/** A client of `h` connected as `clientId` (CleanSession=0 unless said) and subscribed to `topicFilter`. */
async function subscribed(h: Harness, clientId: string, topicFilter: string, qos: QoS, cleanSession = false): Promise<ReturnType<Harness['open']>> {
  const c = h.open();
  await exchange(c, connectPacket({ clientId, cleanSession }), { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos }] });
  return c;
}

describe('persistence: a restart keeps what was committed', () => {
  it('[MQTT-3.1.2-4] [MQTT-3.1.2-5] keeps a persistent session: subscriptions and the messages queued while it was offline', async () => {
    const storage = new MemoryStorage();
    const h1 = await start(storage);
    const s = h1.open();
    await exchange(s, connectPacket({ clientId: 's', cleanSession: false }));
    expect(await exchange(s, { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'q/#', qos: 2 }] })).toMatchObject([{ cmd: 'suback', returnCodes: [2] }]);
    s.send({ cmd: 'disconnect' });
    const p = h1.open();
    await exchange(p, connectPacket({ clientId: 'p' }));
    expect(await exchange(p, pub('q/1', 1, 1), pub('q/2', 2, 2))).toEqual([
      { cmd: 'puback', packetId: 1 },
      { cmd: 'pubrec', packetId: 2 },
    ]);

    const h2 = await start(storage);
    expect(h2.core.sessions.subscriptionCount).toBe(1);
    const back = h2.open();
    const got = await exchange(back, connectPacket({ clientId: 's', cleanSession: false }));
    expect(got[0]).toMatchObject({ cmd: 'connack', sessionPresent: true });
    expect(publishes(got).map((m) => [m.topic, m.qos, text(m.payload)])).toEqual([
      ['q/1', 1, 'q/1#1'],
      ['q/2', 2, 'q/2#2'],
    ]);
    // still subscribed after the restart
    const p2 = h2.open();
    await exchange(p2, connectPacket({ clientId: 'p2' }));
    await exchange(p2, pub('q/3', 1, 3));
    expect(publishes(back.take()).map((m) => m.topic)).toEqual(['q/3']);
  });

  it('[MQTT-4.4.0-1] resends an unacknowledged delivery with DUP=1 and its packet id; an acknowledged one is gone', async () => {
    const storage = new MemoryStorage();
    const h1 = await start(storage);
    const s = await subscribed(h1, 's', 't', 2);
    h1.core.publish('t', 'acked', { qos: 1 });
    h1.core.publish('t', 'open', { qos: 1 });
    h1.core.publish('t', 'released', { qos: 2 });
    await quiesce();
    const [acked, open, released] = publishes(s.take());
    s.send({ cmd: 'puback', packetId: acked!.packetId! }, { cmd: 'pubrec', packetId: released!.packetId! });
    await quiesce();

    const h2 = await start(storage);
    const back = h2.open();
    const got = await exchange(back, connectPacket({ clientId: 's', cleanSession: false }));
    expect(got.slice(1)).toEqual([
      { ...open, dup: true },
      { cmd: 'pubrel', packetId: released!.packetId },
    ]);
  });

  it('[MQTT-4.3.2-1] forgetting an acknowledged delivery asks for no commit of its own, and is committed soon after', async () => {
    /** Counts commits, and tells the test of the next one. */
    class WatchedStorage extends MemoryStorage {
      commits = 0;
      onCommit: (() => void) | undefined;
      override commit(): Promise<void> {
        this.commits++;
        this.onCommit?.();
        return super.commit();
      }
    }
    const storage = new WatchedStorage();
    const h1 = await start(storage);
    const s = await subscribed(h1, 's', 't', 1);
    h1.core.publish('t', 'acked', { qos: 1 });
    await quiesce();
    const packetId = publishes(s.take())[0]?.packetId;
    expect(packetId).toBeTypeOf('number');
    const before = storage.commits;
    const nextCommit = new Promise<void>((resolve) => (storage.onCommit = resolve));
    s.send({ cmd: 'puback', packetId: packetId ?? 0 });
    await quiesce();
    // No packet reports the delete, so nothing waits for it: it would ride in the next commit.
    expect(storage.commits).toBe(before);
    // With no other traffic, it is committed on its own a little later.
    await nextCommit;
    await quiesce();
    const h2 = await start(storage);
    const back = h2.open();
    const got = await exchange(back, connectPacket({ clientId: 's', cleanSession: false }));
    expect(got).toMatchObject([{ cmd: 'connack', sessionPresent: true }]);
  });

  it('[MQTT-4.3.3-2] keeps an inbound QoS 2 packet id until its PUBREL: the resent PUBLISH is not delivered again', async () => {
    const storage = new MemoryStorage();
    const h1 = await start(storage);
    const sub = await subscribed(h1, 'sub', 'x', 1);
    sub.send({ cmd: 'disconnect' });
    const p = h1.open();
    await exchange(p, connectPacket({ clientId: 'p', cleanSession: false }));
    expect(await exchange(p, pub('x', 2, 7))).toEqual([{ cmd: 'pubrec', packetId: 7 }]);

    const h2 = await start(storage);
    const p2 = h2.open();
    await exchange(p2, connectPacket({ clientId: 'p', cleanSession: false }));
    expect(await exchange(p2, pub('x', 2, 7, { dup: true }), { cmd: 'pubrel', packetId: 7 })).toEqual([
      { cmd: 'pubrec', packetId: 7 },
      { cmd: 'pubcomp', packetId: 7 },
    ]);
    const back = h2.open();
    const got = await exchange(back, connectPacket({ clientId: 'sub', cleanSession: false }));
    expect(publishes(got)).toHaveLength(1);
  });

  it('[MQTT-3.3.1-5] [MQTT-3.3.1-10] keeps retained messages, and forgets a cleared one', async () => {
    const storage = new MemoryStorage();
    const h1 = await start(storage);
    const p = h1.open();
    await exchange(p, connectPacket({ clientId: 'p' }), pub('r/a', 1, 1, { retain: true }), pub('r/b', 1, 2, { retain: true }));
    await exchange(p, pub('r/b', 1, 3, { retain: true, payload: new Uint8Array(0) }));

    const h2 = await start(storage);
    expect(h2.core.retained.size).toBe(1);
    const s = h2.open();
    const got = await exchange(s, connectPacket({ clientId: 's' }), { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r/#', qos: 1 }] });
    expect(publishes(got)).toMatchObject([{ topic: 'r/a', retain: true }]);
  });

  it('[MQTT-3.1.2-6] stores nothing of a clean session, and discards a persistent one a clean session replaces', async () => {
    const storage = new MemoryStorage();
    const h1 = await start(storage);
    const c = await subscribed(h1, 'c', 'a', 1);
    c.send({ cmd: 'disconnect' });
    const clean = await subscribed(h1, 'c', 'b', 1, true);
    await storage.commit();
    expect((await storage.load()).sessions).toEqual([]);
  });
});

describe('persistence: acknowledgements wait for the commit', () => {
  /** A storage whose commits resolve only when the test says so. */
  class HeldStorage extends MemoryStorage {
    held: Array<() => void> = [];
    /** While false, commits resolve as MemoryStorage's do. */
    holding = true;
    override commit(): Promise<void> {
      const done = super.commit();
      if (!this.holding) return done;
      return new Promise((resolve, reject) => this.held.push(() => done.then(resolve, reject)));
    }
    letThrough(): void {
      for (const r of this.held.splice(0)) r();
    }
  }

  /** A client of a broker on `storage`, connected as `c` (CleanSession=1), its CONNACK taken. */
  async function connectedClient(storage: HeldStorage): Promise<ReturnType<Harness['open']>> {
    const h = await start(storage);
    const c = h.open();
    c.send(connectPacket({ clientId: 'c' }));
    await settle();
    c.take();
    return c;
  }

  it('[MQTT-4.3.2-2] [MQTT-4.3.3-2] sends PUBACK and PUBREC, and a persistent CONNACK and SUBACK, only after the commit resolves', async () => {
    const storage = new HeldStorage();
    const h = await start(storage);
    const c = h.open();
    c.send(connectPacket({ clientId: 'c', cleanSession: false }));
    await settle();
    // The new persistent session's record first.
    expect(c.take()).toEqual([]);
    storage.letThrough();
    await settle();
    expect(c.take()).toMatchObject([{ cmd: 'connack' }]);
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 1 }] });
    // A retained QoS 1 message (the retained store changes) and a QoS 2 one (its id is kept).
    c.send(pub('other', 1, 2, { retain: true }), pub('other', 2, 3));
    await settle();
    expect(c.take()).toEqual([]);
    storage.letThrough();
    await settle();
    expect(c.take().map((p) => p.cmd)).toEqual(['suback']);
    // Both PUBLISHes were handled while their commit was pending: they share it, and their
    // acknowledgements go out together, in order [MQTT-4.6.0-2], once it resolves.
    expect(c.take()).toEqual([]);
    storage.letThrough();
    await settle();
    expect(c.take().map((p) => p.cmd)).toEqual(['puback', 'pubrec']);
  });

  it('[MQTT-4.3.2-2] a PUBLISH that changes nothing stored is acknowledged without waiting for a commit', async () => {
    const storage = new HeldStorage();
    const h = await start(storage);
    const c = h.open();
    c.send(connectPacket({ clientId: 'c' }));
    await settle();
    expect(c.take()).toMatchObject([{ cmd: 'connack' }]);
    // No subscriber, no retain: nothing to make durable before the PUBACK.
    c.send(pub('nobody', 1, 1));
    await settle();
    expect(c.take()).toEqual([{ cmd: 'puback', packetId: 1 }]);
    expect(storage.held).toEqual([]);
  });

  it('[MQTT-4.6.0-2] held PUBACKs leave commit by commit, in order, without waiting for later commits', async () => {
    const storage = new HeldStorage();
    const c = await connectedClient(storage);
    c.send(pub('r/1', 1, 1, { retain: true }));
    await settle();
    const firstCommit = storage.held.length;
    c.send(pub('r/2', 1, 2, { retain: true }));
    await settle();
    expect(storage.held.length).toBeGreaterThan(firstCommit);
    // Only the first message's commit resolves: its PUBACK goes out, the second's stays held.
    for (const r of storage.held.splice(0, firstCommit)) r();
    await settle();
    expect(c.take()).toEqual([{ cmd: 'puback', packetId: 1 }]);
    storage.letThrough();
    await settle();
    expect(c.take()).toEqual([{ cmd: 'puback', packetId: 2 }]);
  });

  it('stops reading from a client with 1,024 acknowledgements held, and reads again once they are out', async () => {
    const storage = new HeldStorage();
    const c = await connectedClient(storage);
    c.send(...Array.from({ length: 1023 }, (_, i) => pub('r', 1, i + 1, { retain: true })));
    await settle();
    expect(c.link.paused).toBe(false);
    c.send(pub('r', 1, 1024, { retain: true }));
    await settle();
    expect(c.link.paused).toBe(true);
    storage.letThrough();
    await settle();
    expect(c.take()).toHaveLength(1024);
    expect(c.link.paused).toBe(false);
  });

  it('[MQTT-4.3.2-2] a DISCONNECT after a PUBLISH whose PUBACK is held closes the connection only after the PUBACK', async () => {
    const storage = new HeldStorage();
    const c = await connectedClient(storage);
    c.send(pub('r', 1, 1, { retain: true }), { cmd: 'disconnect' });
    await settle();
    expect(c.take()).toEqual([]);
    expect(c.isClosed).toBe(false);
    storage.letThrough();
    await settle();
    expect(c.take()).toEqual([{ cmd: 'puback', packetId: 1 }]);
    expect(c.isClosed).toBe(true);
  });

  it('[MQTT-4.3.3-2] a packet id given to a persistent session, its PUBREL and a PUBCOMP go out only once committed', async () => {
    // Sent earlier, a crash could take them back: the message would come again under another
    // id (delivered twice), or a released id would still be held (a new message taken as a DUP).
    const storage = new HeldStorage();
    storage.holding = false;
    const h = await start(storage);
    const s = await subscribed(h, 's', 't', 2);
    const p = h.open();
    await exchange(p, connectPacket({ clientId: 'p', cleanSession: false }));
    storage.holding = true;
    p.send(pub('t', 2, 9));
    await quiesce();
    expect(s.take()).toEqual([]);
    storage.letThrough();
    await quiesce();
    const [delivery] = publishes(s.take());
    expect(delivery).toMatchObject({ topic: 't', qos: 2, packetId: expect.any(Number) });
    expect(p.take()).toEqual([{ cmd: 'pubrec', packetId: 9 }]);
    s.send({ cmd: 'pubrec', packetId: delivery!.packetId! });
    p.send({ cmd: 'pubrel', packetId: 9 });
    await quiesce();
    expect([...s.take(), ...p.take()]).toEqual([]);
    storage.letThrough();
    await quiesce();
    expect(s.take()).toEqual([{ cmd: 'pubrel', packetId: delivery!.packetId }]);
    expect(p.take()).toEqual([{ cmd: 'pubcomp', packetId: 9 }]);
  });

  it('a failed commit closes the connection without the acknowledgement', async () => {
    const storage = new MemoryStorage();
    const h = await start(storage);
    storage.commit = () => Promise.reject(new Error('disk full'));
    const c = h.open();
    c.send(connectPacket({ clientId: 'c', cleanSession: false }));
    c.take();
    c.send(pub('t', 1, 1));
    await settle();
    expect(c.take()).toEqual([]);
    expect(c.isClosed).toBe(true);
  });
});

describe('persistence over TCP: startBroker({ storage }) restores before it listens', () => {
  // `listeners` is how `mqtt311 broker -c` starts it: the store must be read on that path too.
  const shapes = { port: () => ({ port: 0 }), listeners: () => ({ listeners: [{ port: 0, host: '127.0.0.1' }] }) };
  it.each(Object.keys(shapes) as (keyof typeof shapes)[])('[MQTT-3.1.2-4] [MQTT-3.2.2-2] a QoS 1 message queued before a restart reaches its persistent subscriber after it (%s)', async (shape) => {
    const storage = new MemoryStorage();
    const first = await startBroker({ ...shapes[shape](), storage });
    const sub = await RawClient.connect(first.address.port);
    await sub.handshake({ clientId: 'tcp-sub', cleanSession: false });
    sub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'restart/#', qos: 1 }] });
    await sub.expect('suback');
    sub.send({ cmd: 'disconnect' });
    await sub.closed;
    const p = await RawClient.connect(first.address.port);
    await p.handshake({ clientId: 'tcp-pub' });
    p.send(pub('restart/a', 1, 9));
    await p.expect('puback');
    await first.close();
    await closeAllRawClients();

    const second = await startBroker({ ...shapes[shape](), storage });
    try {
      const back = await RawClient.connect(second.address.port);
      expect(await back.handshake({ clientId: 'tcp-sub', cleanSession: false })).toMatchObject({ sessionPresent: true });
      expect(await back.expect('publish')).toMatchObject({ topic: 'restart/a', qos: 1, dup: false });
    } finally {
      await closeAllRawClients();
      await second.close();
    }
  });
});
