import { describe, expect, it } from 'vitest';
import type { ClientInfo } from '../../src/broker-mini/options.js';
import type { CloseReason } from '../../src/broker-mini/core/session.js';
import { connectPacket } from '../helpers/raw-client.js';
import { Harness, bytes, settle, text } from './harness.js';

const pub = (topic: string, qos: 0 | 1 | 2, payload: string, packetId?: number) =>
  ({ cmd: 'publish', topic, payload: bytes(payload), qos, retain: false, dup: false, ...(qos > 0 ? { packetId: packetId ?? 1 } : {}) }) as const;

describe('CONNECT: ClientId', () => {
  it('[MQTT-3.1.3-5] accepts 1-23 letters and digits, and longer ids with other characters too', () => {
    const h = new Harness();
    for (const clientId of ['a', 'ABCDEFGHIJKLMNOPQRSTUVW', '0123456789abcdefghijklm', `long-id/with spaces-${'x'.repeat(200)}`]) {
      const c = h.open().send(connectPacket({ clientId }));
      expect(c.take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 0 }]);
    }
  });

  it('[MQTT-3.1.3-6] gives an empty ClientId with CleanSession=1 a unique generated id', () => {
    const h = new Harness();
    const ids: string[] = [];
    h.core.on('connect', (c) => ids.push(c.clientId));
    h.connect({ clientId: '' });
    h.connect({ clientId: '' });
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe('');
    expect(ids[0]).not.toBe(ids[1]);
    expect(h.core.connectedClient(ids[0]!)).toBeDefined();
  });

  it('[MQTT-3.1.3-8] [MQTT-3.1.3-9] refuses an empty ClientId with CleanSession=0: CONNACK 0x02, then close', () => {
    const h = new Harness();
    const c = h.open().send(connectPacket({ clientId: '', cleanSession: false }));
    expect(c.take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 2 }]);
    expect(c.isClosed).toBe(true);
  });
});

describe('CONNECT: clean and persistent sessions', () => {
  it('[MQTT-3.2.2-3] [MQTT-3.2.2-2] CleanSession=0: Session Present 0 the first time, 1 when the session was stored', () => {
    const h = new Harness();
    const a = h.open().send(connectPacket({ clientId: 'p', cleanSession: false }));
    expect(a.take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 0 }]);
    a.send({ cmd: 'disconnect' });
    const b = h.open().send(connectPacket({ clientId: 'p', cleanSession: false }));
    expect(b.take()).toEqual([{ cmd: 'connack', sessionPresent: true, returnCode: 0 }]);
  });

  it('[MQTT-3.1.2-6] [MQTT-3.2.2-1] CleanSession=1 discards a stored session: Session Present 0, old subscriptions gone', () => {
    const h = new Harness();
    h.subscriber('p', 'news', 1, { cleanSession: false }).send({ cmd: 'disconnect' });
    const c = h.open().send(connectPacket({ clientId: 'p', cleanSession: true }));
    expect(c.take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 0 }]);
    h.connect({ clientId: 'pub' }).send(pub('news', 1, 'x'));
    expect(c.take()).toEqual([]);
    c.send({ cmd: 'disconnect' });
    // and it is not reused later either
    const d = h.open().send(connectPacket({ clientId: 'p', cleanSession: false }));
    expect(d.take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 0 }]);
  });

  it('[MQTT-3.1.2-4] [MQTT-3.1.3-2] [MQTT-4.1.0-1] a resumed session keeps its subscriptions: no need to subscribe again', () => {
    const h = new Harness();
    h.subscriber('p', 'news/#', 1, { cleanSession: false }).send({ cmd: 'disconnect' });
    const c = h.connect({ clientId: 'p', cleanSession: false });
    h.connect({ clientId: 'pub' }).send(pub('news/a', 1, 'hello'));
    expect(c.take()).toMatchObject([{ cmd: 'publish', topic: 'news/a', qos: 1 }]);
  });

  it('[MQTT-4.1.0-2] a CleanSession=1 session lasts exactly as long as its connection', () => {
    const h = new Harness();
    const c = h.subscriber('s', 'a', 0);
    expect(h.core.sessions.get('s')).toBeDefined();
    expect(h.core.sessions.subscriptionCount).toBe(1);
    c.send({ cmd: 'disconnect' });
    expect(h.core.sessions.get('s')).toBeUndefined();
    expect(h.core.sessions.subscriptionCount).toBe(0);
  });

  it('[MQTT-3.1.2-5] queues QoS 1 and 2 (not QoS 0) for an offline persistent session and delivers them, in order, on return', () => {
    const h = new Harness();
    h.subscriber('p', 't', 2, { cleanSession: false }).drop();
    const publisher = h.connect({ clientId: 'pub' });
    publisher.send(pub('t', 1, 'one', 1), pub('t', 0, 'zero'), pub('t', 2, 'two', 2), pub('t', 1, 'three', 3));
    expect(h.core.sessions.get('p')!.queue).toHaveLength(3);
    const c = h.open().send(connectPacket({ clientId: 'p', cleanSession: false }));
    const out = c.take();
    expect(out[0]).toEqual({ cmd: 'connack', sessionPresent: true, returnCode: 0 });
    expect(out.slice(1).map((p) => (p.cmd === 'publish' ? `${text(p.payload)}:q${p.qos}` : p.cmd))).toEqual(['one:q1', 'two:q2', 'three:q1']);
  });

  it('bounds the offline queue at maxQueuedMessages and counts what it drops', () => {
    const h = new Harness({ maxQueuedMessages: 5 });
    h.subscriber('p', 't', 1, { cleanSession: false }).drop();
    const publisher = h.connect({ clientId: 'pub' });
    for (let i = 1; i <= 8; i++) publisher.send(pub('t', 1, `m${i}`, i));
    const s = h.core.sessions.get('p')!;
    expect(s.queue).toHaveLength(5);
    expect(s.dropped).toBe(3);
    expect(s.queue.map((m) => text(m.payload))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('[MQTT-4.4.0-1] resends unacknowledged deliveries on reconnect with DUP=1 and the same packet ids', () => {
    const h = new Harness();
    const sub = h.subscriber('p', 't', 2, { cleanSession: false });
    h.connect({ clientId: 'pub' }).send(pub('t', 1, 'a', 1), pub('t', 2, 'b', 2));
    const first = sub.take();
    expect(first).toMatchObject([{ cmd: 'publish', dup: false }, { cmd: 'publish', dup: false }]);
    const ids = first.map((p) => (p.cmd === 'publish' ? p.packetId : 0));
    sub.drop();
    const again = h.open().send(connectPacket({ clientId: 'p', cleanSession: false })).take();
    expect(again.slice(1)).toMatchObject([
      { cmd: 'publish', dup: true, packetId: ids[0], qos: 1 },
      { cmd: 'publish', dup: true, packetId: ids[1], qos: 2 },
    ]);
  });
});

describe('CONNECT: inbound QoS 2 across a reconnect', () => {
  it('[MQTT-4.3.3-2] [MQTT-4.1.0-1] remembers an inbound QoS 2 id awaiting PUBREL across reconnects of a persistent session', () => {
    const h = new Harness();
    const s = h.subscriber('s', 't', 2);
    const a = h.connect({ clientId: 'q2', cleanSession: false });
    a.send(pub('t', 2, 'once', 9));
    expect(a.take()).toEqual([{ cmd: 'pubrec', packetId: 9 }]);
    a.drop();
    const b = h.connect({ clientId: 'q2', cleanSession: false });
    b.send({ ...pub('t', 2, 'once', 9), dup: true }); // the client resends: not a new message
    expect(b.take()).toEqual([{ cmd: 'pubrec', packetId: 9 }]);
    b.send({ cmd: 'pubrel', packetId: 9 });
    expect(b.take()).toEqual([{ cmd: 'pubcomp', packetId: 9 }]);
    expect(s.take().filter((p) => p.cmd === 'publish')).toHaveLength(1);
  });
});

describe('CONNECT: session takeover', () => {
  it('[MQTT-3.1.4-2] a second connection with the same ClientId closes the first, whose will is published', () => {
    const h = new Harness();
    const watcher = h.subscriber('w', 'will/#', 0);
    const reasons: CloseReason[] = [];
    h.core.on('disconnect', (_c, reason) => reasons.push(reason));
    const first = h.connect({ clientId: 'dup', will: { topic: 'will/dup', payload: bytes('gone'), qos: 0, retain: false } });
    const second = h.connect({ clientId: 'dup' });
    expect(first.isClosed).toBe(true);
    expect(second.isClosed).toBe(false);
    expect(reasons).toEqual(['takeover']);
    expect(watcher.take()).toMatchObject([{ cmd: 'publish', topic: 'will/dup' }]);
    expect(h.core.connectedClient('dup')).toBe(second.handle);
    // the old connection's later close changes nothing for the new one
    first.drop();
    expect(h.core.connectedClient('dup')).toBe(second.handle);
  });

  it('[MQTT-3.1.4-2] [MQTT-3.1.4-3] takeover with CleanSession=0 resumes the session the first connection had', () => {
    const h = new Harness();
    h.subscriber('dup', 't', 1, { cleanSession: false });
    const second = h.open().send(connectPacket({ clientId: 'dup', cleanSession: false }));
    expect(second.take()).toEqual([{ cmd: 'connack', sessionPresent: true, returnCode: 0 }]);
    h.connect({ clientId: 'pub' }).send(pub('t', 1, 'x'));
    expect(second.take()).toMatchObject([{ cmd: 'publish', topic: 't' }]);
  });
});

describe('CONNECT: authentication', () => {
  it('[MQTT-3.2.2-4] [MQTT-3.2.2-5] allowAnonymous: false refuses a client without user name with CONNACK 5 and closes', () => {
    const h = new Harness({ allowAnonymous: false });
    const c = h.open().send(connectPacket({ clientId: 'a' }));
    expect(c.take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 5 }]);
    expect(c.isClosed).toBe(true);
  });

  it('checks the users table: right password 0, wrong password 4', () => {
    const h = new Harness({ allowAnonymous: false, users: { alice: 'pw' } });
    expect(h.open().send(connectPacket({ clientId: 'a', username: 'alice', password: bytes('pw') })).take()).toEqual([
      { cmd: 'connack', sessionPresent: false, returnCode: 0 },
    ]);
    expect(h.open().send(connectPacket({ clientId: 'b', username: 'alice', password: bytes('no') })).take()).toEqual([
      { cmd: 'connack', sessionPresent: false, returnCode: 4 },
    ]);
  });

  it('lets an authenticate hook refuse (false → 4 with credentials, a number → that code, a throw → 3)', () => {
    const seen: Array<string | undefined> = [];
    const h = new Harness({
      authenticate: ({ username, clientId }) => {
        seen.push(username);
        if (clientId === 'boom') throw new Error('hook bug');
        if (clientId === 'banned') return 5;
        return username === 'ok';
      },
    });
    const code = (clientId: string, username?: string) =>
      h.open().send(connectPacket({ clientId, ...(username ? { username } : {}) })).take()[0];
    expect(code('a', 'ok')).toMatchObject({ returnCode: 0 });
    expect(code('b', 'nope')).toMatchObject({ returnCode: 4 });
    expect(code('c')).toMatchObject({ returnCode: 5 });
    expect(code('banned', 'ok')).toMatchObject({ returnCode: 5 });
    expect(code('boom', 'ok')).toMatchObject({ returnCode: 3 });
    expect(seen).toEqual(['ok', 'nope', undefined, 'ok', 'ok']);
  });

  it('holds packets sent right after CONNECT until an asynchronous authenticate hook has answered', async () => {
    let allow!: (v: boolean) => void;
    const h = new Harness({ authenticate: () => new Promise<boolean>((r) => (allow = r)) });
    const c = h.open();
    c.send(connectPacket({ clientId: 'a' }), { cmd: 'subscribe', packetId: 3, subscriptions: [{ topicFilter: 't', qos: 1 }] }, { cmd: 'pingreq' });
    expect(c.take()).toEqual([]);
    expect(c.link.paused).toBe(true);
    allow(true);
    await settle();
    expect(c.take()).toEqual([
      { cmd: 'connack', sessionPresent: false, returnCode: 0 },
      { cmd: 'suback', packetId: 3, returnCodes: [1] },
      { cmd: 'pingresp' },
    ]);
    expect(c.link.paused).toBe(false);
  });

  it('[MQTT-3.1.4-5] after an asynchronous refusal, the packets sent behind the CONNECT are ignored', async () => {
    const h = new Harness({ authenticate: ({ clientId }) => (clientId === 'w' ? true : Promise.resolve(false)) });
    const watcher = h.subscriber('w', '#', 0);
    const c = h.open();
    c.send(connectPacket({ clientId: 'a', username: 'x' }), pub('t', 0, 'sneaky'));
    await settle();
    expect(c.take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 4 }]);
    expect(c.isClosed).toBe(true);
    expect(watcher.take()).toEqual([]);
  });

  it('emits connect and disconnect with the client description', () => {
    const h = new Harness();
    const events: Array<[string, ClientInfo, CloseReason?]> = [];
    h.core.on('connect', (c) => events.push(['connect', c]));
    h.core.on('disconnect', (c, r) => events.push(['disconnect', c, r]));
    h.connect({ clientId: 'e', username: 'u', keepAlive: 30 }).send({ cmd: 'disconnect' });
    expect(events).toEqual([
      ['connect', { clientId: 'e', username: 'u', cleanSession: true, keepAlive: 30, remoteAddress: 'memory', protocolVersion: 4 }],
      ['disconnect', { clientId: 'e', username: 'u', cleanSession: true, keepAlive: 30, remoteAddress: 'memory', protocolVersion: 4 }, 'disconnect'],
    ]);
  });

  it('hands every hook and event of one connection the same client description, also to a broker that only listens for disconnect', () => {
    const h = new Harness();
    const seen: ClientInfo[] = [];
    h.core.on('disconnect', (c) => seen.push(c));
    // Nothing asked for the description while the client was connected: it is made at the end.
    h.connect({ clientId: 'quiet', username: 'q', keepAlive: 7, cleanSession: false }).send({ cmd: 'disconnect' });
    expect(seen).toEqual([{ clientId: 'quiet', username: 'q', cleanSession: false, keepAlive: 7, remoteAddress: 'memory', protocolVersion: 4 }]);
    h.core.on('connect', (c) => seen.push(c));
    h.core.on('subscribe', (_s, c) => seen.push(c));
    h.connect({ clientId: 'busy' }).send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 0 }] }, { cmd: 'disconnect' });
    expect(seen.slice(1)).toHaveLength(3);
    expect(seen[2]).toBe(seen[1]);
    expect(seen[3]).toBe(seen[1]);
  });
});

describe('timers', () => {
  it('[MQTT-3.1.2-24] drops a client silent for 1.5 × keepAlive and publishes its will', () => {
    const h = new Harness();
    const watcher = h.subscriber('w', 'w/#', 0, { keepAlive: 0 });
    const c = h.connect({ clientId: 'k', keepAlive: 2, will: { topic: 'w/k', payload: bytes('bye'), qos: 0, retain: false } });
    const reasons: CloseReason[] = [];
    h.core.on('disconnect', (_c, r) => reasons.push(r));
    h.clock.advance(2_900);
    h.core.tick();
    expect(c.isClosed).toBe(false);
    h.clock.advance(200);
    h.core.tick();
    expect(c.isClosed).toBe(true);
    expect(reasons).toEqual(['keepalive-timeout']);
    expect(watcher.take()).toMatchObject([{ cmd: 'publish', topic: 'w/k' }]);
  });

  it('closes a connection that sends no CONNECT within connectTimeout', () => {
    const h = new Harness({ connectTimeout: 500 });
    const c = h.open();
    h.clock.advance(499);
    h.core.tick();
    expect(c.isClosed).toBe(false);
    h.clock.advance(1);
    h.core.tick();
    expect(c.isClosed).toBe(true);
    expect(c.take()).toEqual([]);
    expect(h.core.connectionCount).toBe(0);
  });
});
