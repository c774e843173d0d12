import { describe, expect, it } from 'vitest';
import { topicMatches } from '../../src/codec/index.js';
import type { Packet, PublishPacket, QoS } from '../../src/codec/index.js';
import { Harness, bytes, settle, text } from './harness.js';

const pub = (topic: string, qos: QoS, payload: string, extra: Partial<PublishPacket> = {}): PublishPacket =>
  ({ cmd: 'publish', topic, payload: bytes(payload), qos, retain: false, dup: false, ...(qos > 0 ? { packetId: 1 } : {}), ...extra }) as PublishPacket;

const publishes = (packets: Packet[]): PublishPacket[] => packets.filter((p): p is PublishPacket => p.cmd === 'publish');
const payloads = (packets: Packet[]): string[] => publishes(packets).map((p) => text(p.payload));

describe('routing', () => {
  it('[MQTT-4.5.0-1] [MQTT-3.3.2-3] hands a message to every matching subscription, under the topic it was published to', () => {
    const h = new Harness();
    const filters = ['a/b', 'a/+', 'a/#', '#', 'x/#'];
    const subs = filters.map((f, i) => h.subscriber(`s${i}`, f, 0));
    h.connect({ clientId: 'p' }).send(pub('a/b', 0, 'hi'));
    subs.forEach((s, i) => {
      const got = publishes(s.take());
      if (filters[i] === 'x/#') expect(got).toEqual([]);
      else {
        expect(got).toHaveLength(1);
        expect(got[0]!.topic).toBe('a/b');
        expect(topicMatches(filters[i]!, got[0]!.topic)).toBe(true);
      }
    });
  });

  it.each([
    [0, 0, 0], [0, 1, 0], [0, 2, 0],
    [1, 0, 0], [1, 1, 1], [1, 2, 1],
    [2, 0, 0], [2, 1, 1], [2, 2, 2],
  ] as const)('[MQTT-3.8.4-6] a QoS %i message to a QoS %i subscription is delivered at QoS %i', (sent, granted, expected) => {
    const h = new Harness();
    const s = h.subscriber('s', 't', granted);
    h.connect({ clientId: 'p' }).send(pub('t', sent, 'x'));
    expect(publishes(s.take())).toMatchObject([{ qos: expected }]);
  });

  it('[MQTT-3.3.5-1] overlapping subscriptions of one client give one copy, at the highest granted QoS', () => {
    const h = new Harness();
    const s = h.connect({ clientId: 's' });
    s.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/#', qos: 0 }, { topicFilter: 'a/+', qos: 2 }, { topicFilter: 'a/b', qos: 1 }] });
    s.take();
    h.connect({ clientId: 'p' }).send(pub('a/b', 2, 'x'));
    expect(publishes(s.take())).toMatchObject([{ topic: 'a/b', qos: 2 }]);
  });

  it('[MQTT-3.3.1-3] [MQTT-3.3.1-9] outbound DUP and RETAIN are the server’s own: 0 on a live delivery', () => {
    const h = new Harness();
    const s = h.subscriber('s', 't', 1);
    h.connect({ clientId: 'p' }).send(pub('t', 1, 'x', { dup: true, retain: true }));
    expect(publishes(s.take())).toMatchObject([{ dup: false, retain: false, qos: 1 }]);
  });

  it('delivers a publisher its own messages when it is subscribed', () => {
    const h = new Harness();
    const c = h.subscriber('me', 'echo', 1);
    c.send(pub('echo', 1, 'ping'));
    const out = c.take();
    expect(out.map((p) => p.cmd).sort()).toEqual(['puback', 'publish']);
  });

  it('[MQTT-4.6.0-5] [MQTT-4.6.0-6] keeps each publisher’s order per topic and QoS, also through the queue', () => {
    const h = new Harness({ maxInflight: 2 });
    const s = h.subscriber('s', 't/#', 2);
    const p = h.connect({ clientId: 'p' });
    const received: string[] = [];
    let unacked: number[] = [];
    for (let i = 0; i < 30; i++) {
      p.send(pub('t/a', 1, `${i}`, { packetId: i + 1 }));
      for (const m of publishes(s.take())) {
        received.push(text(m.payload));
        unacked.push(m.packetId!);
      }
      // the subscriber acknowledges only now and then, so messages wait in the queue meanwhile
      if (i % 5 === 4) {
        for (const id of unacked) s.send({ cmd: 'puback', packetId: id });
        unacked = [];
      }
    }
    expect(h.core.sessions.get('s')!.queue.length).toBeGreaterThan(0);
    for (let more = publishes(s.take()); unacked.length > 0 || more.length > 0; more = publishes(s.take())) {
      for (const m of more) {
        received.push(text(m.payload));
        unacked.push(m.packetId!);
      }
      const ids = unacked;
      unacked = [];
      for (const id of ids) s.send({ cmd: 'puback', packetId: id });
    }
    expect(received).toEqual(Array.from({ length: 30 }, (_, i) => `${i}`));
  });

  it('broker.publish injects a message from inside the process', () => {
    const h = new Harness();
    const s = h.subscriber('s', 'in/#', 1);
    h.core.publish('in/proc', 'hello', { qos: 1 });
    expect(publishes(s.take())).toMatchObject([{ topic: 'in/proc', qos: 1 }]);
    expect(() => h.core.publish('bad/#', 'x')).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
  });
});

describe('SUBSCRIBE and UNSUBSCRIBE', () => {
  it('[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-2.3.1-7] [MQTT-3.8.4-5] [MQTT-3.9.3-1] answers with a SUBACK with the same id and one code per filter, in order', () => {
    const h = new Harness({ acl: [{ topic: 'ok/#', access: 'readwrite' }] });
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 4242, subscriptions: [{ topicFilter: 'ok/2', qos: 2 }, { topicFilter: 'no', qos: 1 }, { topicFilter: 'ok/0', qos: 0 }, { topicFilter: 'ok/+', qos: 1 }] });
    expect(c.take()).toEqual([{ cmd: 'suback', packetId: 4242, returnCodes: [2, 0x80, 0, 1] }]);
  });

  it('[MQTT-3.8.3-2] supports wildcard filters, so it grants them', () => {
    const h = new Harness();
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '+/x/#', qos: 1 }] });
    expect(c.take()).toEqual([{ cmd: 'suback', packetId: 1, returnCodes: [1] }]);
  });

  it('[MQTT-3.8.4-4] handles a multi-filter SUBSCRIBE like one SUBSCRIBE per filter, with one SUBACK', () => {
    const h = new Harness();
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 7, subscriptions: [{ topicFilter: 'a', qos: 0 }, { topicFilter: 'b', qos: 1 }] });
    expect(c.take()).toHaveLength(1);
    const p = h.connect({ clientId: 'p' });
    p.send(pub('a', 1, '1'), pub('b', 1, '2'));
    expect(publishes(c.take())).toMatchObject([{ topic: 'a', qos: 0 }, { topic: 'b', qos: 1 }]);
  });

  it('[MQTT-3.8.4-3] subscribing again to the same filter replaces it (new QoS) and sends the retained message again', () => {
    const h = new Harness();
    h.connect({ clientId: 'p' }).send(pub('r', 2, 'kept', { retain: true }));
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r', qos: 0 }] });
    expect(c.take()).toMatchObject([{ cmd: 'suback' }, { cmd: 'publish', retain: true, qos: 0 }]);
    c.send({ cmd: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'r', qos: 2 }] });
    expect(c.take()).toMatchObject([{ cmd: 'suback', returnCodes: [2] }, { cmd: 'publish', retain: true, qos: 2 }]);
    expect(h.core.sessions.subscriptionCount).toBe(1);
    h.connect({ clientId: 'p2' }).send(pub('r', 2, 'live'));
    expect(publishes(c.take())).toMatchObject([{ qos: 2, retain: false }]); // one copy, new QoS
  });

  it('[MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-4] unsubscribes by exact filter string, answers UNSUBACK with the same id, and stops delivery', () => {
    const h = new Harness();
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/+', qos: 0 }, { topicFilter: 'a/b', qos: 0 }] });
    c.take();
    c.send({ cmd: 'unsubscribe', packetId: 99, topicFilters: ['a/#', 'a/+'] });
    expect(c.take()).toEqual([{ cmd: 'unsuback', packetId: 99 }]);
    const p = h.connect({ clientId: 'p' });
    p.send(pub('a/b', 0, 'still'), pub('a/c', 0, 'gone'));
    expect(payloads(c.take())).toEqual(['still']);
  });

  it('[MQTT-3.10.4-5] [MQTT-3.10.4-6] sends one UNSUBACK even when nothing matched', () => {
    const h = new Harness();
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'unsubscribe', packetId: 5, topicFilters: ['x', 'y', 'z'] });
    expect(c.take()).toEqual([{ cmd: 'unsuback', packetId: 5 }]);
  });

  it('[MQTT-3.10.4-3] completes QoS 1 and 2 deliveries already started when the subscription goes away', () => {
    const h = new Harness();
    const c = h.subscriber('c', 't', 2);
    h.connect({ clientId: 'p' }).send(pub('t', 2, 'x'));
    const [m] = publishes(c.take());
    c.send({ cmd: 'unsubscribe', packetId: 2, topicFilters: ['t'] });
    c.take();
    c.send({ cmd: 'pubrec', packetId: m!.packetId! });
    expect(c.take()).toEqual([{ cmd: 'pubrel', packetId: m!.packetId }]);
    c.send({ cmd: 'pubcomp', packetId: m!.packetId! });
    expect(h.core.sessions.get('c')!.inflight.size).toBe(0);
  });

  it('emits subscribe and unsubscribe after answering', () => {
    const h = new Harness({ authorizeSubscribe: (_c, f) => f !== 'no' });
    const seen: unknown[] = [];
    h.core.on('subscribe', (subs, c) => seen.push([c.clientId, subs]));
    h.core.on('unsubscribe', (filters, c) => seen.push([c.clientId, filters]));
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 1 }, { topicFilter: 'no', qos: 0 }] });
    c.send({ cmd: 'unsubscribe', packetId: 2, topicFilters: ['a'] });
    expect(seen).toEqual([
      ['c', [{ topicFilter: 'a', qos: 1 }, { topicFilter: 'no', qos: 0x80 }]],
      ['c', ['a']],
    ]);
  });
});

describe('retained messages', () => {
  it('[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] stores a RETAIN=1 message and sends it to new subscribers with RETAIN=1', () => {
    const h = new Harness();
    h.connect({ clientId: 'p' }).send(pub('r/1', 1, 'one', { retain: true }), pub('r/2', 0, 'two', { retain: true }));
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r/+', qos: 2 }] });
    const out = c.take();
    expect(out[0]).toMatchObject({ cmd: 'suback' });
    expect(publishes(out).map((p) => [p.topic, p.retain, p.qos])).toEqual([['r/1', true, 1], ['r/2', true, 0]]);
  });

  it('delivers a retained message at min(stored QoS, granted QoS)', () => {
    const h = new Harness();
    h.connect({ clientId: 'p' }).send(pub('r', 2, 'x', { retain: true }));
    const d = h.connect({ clientId: 'd' });
    d.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r', qos: 1 }] });
    expect(publishes(d.take())).toMatchObject([{ qos: 1, retain: true }]);
  });

  it('[MQTT-3.3.1-7] a newer retained message replaces the older one', () => {
    const h = new Harness();
    const p = h.connect({ clientId: 'p' });
    p.send(pub('r', 1, 'old', { retain: true }), pub('r', 0, 'new', { retain: true }));
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r', qos: 1 }] });
    expect(payloads(c.take())).toEqual(['new']);
  });

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained message is forwarded as usual and clears the topic', () => {
    const h = new Harness();
    const p = h.connect({ clientId: 'p' });
    p.send(pub('r', 0, 'x', { retain: true }));
    const live = h.subscriber('live', 'r', 0);
    live.take();
    p.send(pub('r', 0, '', { retain: true }));
    expect(publishes(live.take())).toMatchObject([{ topic: 'r', retain: false }]);
    expect(h.core.retained.get('r')).toBeUndefined();
    const late = h.connect({ clientId: 'late' });
    late.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r', qos: 0 }] });
    expect(late.take()).toEqual([{ cmd: 'suback', packetId: 1, returnCodes: [0] }]);
  });

  it('[MQTT-3.3.1-12] a RETAIN=0 message neither stores nor replaces the retained one', () => {
    const h = new Harness();
    const p = h.connect({ clientId: 'p' });
    p.send(pub('r', 0, 'kept', { retain: true }), pub('r', 0, 'passing'), pub('s', 0, 'never'));
    expect(text(h.core.retained.get('r')!.payload)).toBe('kept');
    expect(h.core.retained.get('s')).toBeUndefined();
  });

  it('[MQTT-3.1.2-7] retained messages outlive the session that published them', () => {
    const h = new Harness();
    h.connect({ clientId: 'p' }).send(pub('r', 1, 'stays', { retain: true }), { cmd: 'disconnect' });
    expect(h.core.sessions.get('p')).toBeUndefined();
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r', qos: 1 }] });
    expect(payloads(c.take())).toEqual(['stays']);
  });
});

describe('wills', () => {
  const will = (retain: boolean, qos: QoS = 1) => ({ topic: 'will/x', payload: bytes('gone'), qos, retain });

  it('[MQTT-3.1.2-8] [MQTT-3.1.2-16] publishes the will, not retained, when the connection is lost', () => {
    const h = new Harness();
    const w = h.subscriber('w', 'will/#', 2);
    h.connect({ clientId: 'x', will: will(false, 1) }).drop();
    expect(publishes(w.take())).toMatchObject([{ topic: 'will/x', qos: 1, retain: false }]);
    expect(h.core.retained.get('will/x')).toBeUndefined();
  });

  it('[MQTT-3.1.2-17] publishes a Will Retain=1 will as a retained message', () => {
    const h = new Harness();
    h.connect({ clientId: 'x', will: will(true, 2) }).drop();
    expect(h.core.retained.get('will/x')).toMatchObject({ qos: 2 });
    const late = h.connect({ clientId: 'late' });
    late.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'will/#', qos: 2 }] });
    expect(publishes(late.take())).toMatchObject([{ topic: 'will/x', retain: true, qos: 2 }]);
  });

  it('[MQTT-3.1.2-8] [MQTT-4.8.0-1] publishes the will when the connection is closed for a protocol violation', () => {
    const h = new Harness();
    const w = h.subscriber('w', 'will/#', 0);
    const errors: string[] = [];
    h.core.on('clientError', (c, e) => errors.push(`${c?.clientId}:${e.code}`));
    const x = h.connect({ clientId: 'x', will: will(false) });
    x.send({ cmd: 'pingresp' });
    expect(x.isClosed).toBe(true);
    expect(errors).toEqual(['x:UNEXPECTED_PACKET']);
    expect(publishes(w.take())).toHaveLength(1);
  });

  it('[MQTT-3.14.4-3] [MQTT-3.1.2-10] discards the will on DISCONNECT', () => {
    const h = new Harness();
    const w = h.subscriber('w', 'will/#', 0);
    const x = h.connect({ clientId: 'x', will: will(true) });
    x.send({ cmd: 'disconnect' });
    x.drop();
    expect(w.take()).toEqual([]);
    expect(h.core.retained.size).toBe(0);
  });

  it('[MQTT-3.1.2-12] publishes nothing when the Will Flag was 0', () => {
    const h = new Harness();
    const w = h.subscriber('w', '#', 0);
    h.connect({ clientId: 'x' }).drop();
    expect(w.take()).toEqual([]);
  });
});

describe('authorisation', () => {
  it('[MQTT-3.3.5-2] acknowledges an unauthorised PUBLISH as its QoS requires but neither forwards nor retains it', () => {
    const h = new Harness({ authorizePublish: (_c, topic) => !topic.startsWith('forbidden') });
    const s = h.subscriber('s', '#', 2);
    const p = h.connect({ clientId: 'p' });
    p.send(pub('forbidden/a', 1, 'x', { retain: true }));
    expect(p.take()).toEqual([{ cmd: 'puback', packetId: 1 }]);
    p.send(pub('forbidden/b', 2, 'y', { packetId: 2 }));
    expect(p.take()).toEqual([{ cmd: 'pubrec', packetId: 2 }]);
    expect(s.take()).toEqual([]);
    expect(h.core.retained.size).toBe(0);
  });

  it('[MQTT-4.8.0-2] closes the connection without acknowledging when authorizePublish fails, sync or async', async () => {
    const h = new Harness({
      authorizePublish: (_c, topic) => {
        if (topic === 'sync') throw new Error('hook bug');
        return topic === 'async' ? Promise.reject(new Error('backend down')) : true;
      },
    });
    const s = h.subscriber('s', '#', 1);
    const reasons: string[] = [];
    h.core.on('disconnect', (c, r) => reasons.push(`${c.clientId}:${r}`));
    const a = h.connect({ clientId: 'a' });
    a.send(pub('sync', 1, 'x'));
    expect(a.take()).toEqual([]);
    expect(a.isClosed).toBe(true);
    const b = h.connect({ clientId: 'b' });
    b.send(pub('async', 1, 'y'));
    await settle();
    expect(b.take()).toEqual([]);
    expect(b.isClosed).toBe(true);
    expect(reasons).toEqual(['a:server-error', 'b:server-error']);
    expect(s.take()).toEqual([]);
  });

  it('grants what authorizeSubscribe allows: true → requested, a QoS → at most that, false or a throw → 0x80', () => {
    const h = new Harness({
      authorizeSubscribe: (_c, f) => {
        if (f === 'boom') throw new Error('hook bug');
        return f === 'low' ? 0 : f !== 'no';
      },
    });
    const c = h.connect({ clientId: 'c' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: ['yes', 'low', 'no', 'boom'].map((topicFilter) => ({ topicFilter, qos: 2 as const })) });
    expect(c.take()).toEqual([{ cmd: 'suback', packetId: 1, returnCodes: [2, 0, 0x80, 0x80] }]);
  });

  it('keeps a publisher’s order when authorizePublish is asynchronous and slow for some messages', async () => {
    const h = new Harness({ authorizePublish: (_c, topic) => (topic === 'slow' ? new Promise((r) => setTimeout(() => r(true), 20)) : true) });
    const s = h.subscriber('s', '#', 1);
    const p = h.connect({ clientId: 'p' });
    p.send(pub('slow', 1, 'first', { packetId: 1 }), pub('fast', 1, 'second', { packetId: 2 }));
    expect(p.take()).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    await settle();
    expect(payloads(s.take())).toEqual(['first', 'second']);
    expect(p.take()).toEqual([{ cmd: 'puback', packetId: 1 }, { cmd: 'puback', packetId: 2 }]);
  });

  it('ACL: a broad subscription allowed by one rule still skips topics a deny rule names', () => {
    const h = new Harness({ acl: [{ topic: '#', access: 'readwrite' }, { user: 'guest', topic: 'secret/#', access: 'deny' }] });
    const g = h.connect({ clientId: 'g', username: 'guest' });
    g.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }, { topicFilter: 'secret/+', qos: 0 }] });
    expect(g.take()).toEqual([{ cmd: 'suback', packetId: 1, returnCodes: [0, 0x80] }]);
    const p = h.connect({ clientId: 'p' });
    p.send(pub('open', 0, 'a'), pub('secret/x', 0, 'b'));
    expect(payloads(g.take())).toEqual(['a']);
  });

  it('ACL: a client may not publish where no write rule allows it', () => {
    const h = new Harness({ acl: [{ topic: 'in/%c', access: 'write' }, { topic: '#', access: 'read' }] });
    const s = h.subscriber('s', '#', 0);
    const p = h.connect({ clientId: 'p' });
    p.send(pub('in/p', 0, 'mine'), pub('in/q', 0, 'theirs'));
    expect(payloads(s.take())).toEqual(['mine']);
  });

  it('emits publish for each routed message, with the sending client', () => {
    const h = new Harness({ authorizePublish: (_c, t) => t !== 'no' });
    const seen: string[] = [];
    h.core.on('publish', (topic, packet, client) => seen.push(`${topic}:${text(packet.payload)}:${client?.clientId ?? '-'}`));
    h.connect({ clientId: 'p' }).send(pub('a', 0, '1'), pub('no', 0, '2'));
    h.core.publish('b', '3');
    expect(seen).toEqual(['a:1:p', 'b:3:-']);
  });
});
