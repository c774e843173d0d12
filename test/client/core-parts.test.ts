/**
 * The small sans-IO parts of the client: backoff, keep-alive, packet ids, option resolution,
 * message streams and handler dispatch.
 */
import { describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../src/codec/index.js';
import { Backoff } from '../../src/client/core/backoff.js';
import { MessageDispatcher } from '../../src/client/core/dispatch.js';
import { KeepAlive, defaultPingTimeout } from '../../src/client/core/keepalive.js';
import { toMessage } from '../../src/client/core/message.js';
import { MessageStream } from '../../src/client/core/message-stream.js';
import { resolveOptions, generateClientId } from '../../src/client/core/options.js';
import { PacketIdAllocator } from '../../src/client/core/packet-ids.js';

const enc = new TextEncoder();
const msg = (topic: string, text = 'x', extra: Partial<PublishPacket> = {}) =>
  toMessage({ cmd: 'publish', topic, payload: enc.encode(text), qos: 0, retain: false, dup: false, ...extra });

function caught(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('Backoff', () => {
  it('doubles from initialDelay up to maxDelay', () => {
    const b = new Backoff({ initialDelay: 1000, maxDelay: 30_000, jitter: 0 });
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    b.reset();
    expect(b.next()).toBe(1000);
  });

  it('jitter draws each delay from [base × (1 − jitter), base]', () => {
    const low = new Backoff({ initialDelay: 1000, jitter: 0.5 }, () => 1);
    const high = new Backoff({ initialDelay: 1000, jitter: 0.5 }, () => 0);
    expect(low.next()).toBe(500);
    expect(high.next()).toBe(1000);
    const real = new Backoff({ initialDelay: 1000, maxDelay: 4000 });
    for (let i = 0; i < 50; i++) {
      const d = real.next()!;
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });

  it('gives up after maxAttempts', () => {
    const b = new Backoff({ maxAttempts: 2, jitter: 0 });
    expect([b.next(), b.next(), b.next()]).toEqual([1000, 2000, undefined]);
    expect(b.attempts).toBe(2);
  });
});

describe('KeepAlive', () => {
  it('[MQTT-3.1.2-23] asks for a PINGREQ once nothing was sent for the interval', () => {
    const k = new KeepAlive(5, 1000);
    k.reset(0);
    k.received(4000, false);
    expect(k.check(4999)).toBeUndefined();
    expect(k.check(5000)).toBe('ping');
    expect(k.pinging).toBe(true);
    expect(k.check(5999)).toBeUndefined();
    expect(k.check(6000)).toBe('dead');
  });

  it('also pings when nothing was received for the interval (half-open connections)', () => {
    const k = new KeepAlive(5, 1000);
    k.reset(0);
    k.sent(4000);
    expect(k.deadline()).toBe(5000);
    expect(k.check(5000)).toBe('ping');
    k.received(5100, true);
    expect(k.pinging).toBe(false);
  });

  it('the default ping timeout is half of min(keepAlive, 30 s), at least 1 s', () => {
    expect(defaultPingTimeout(60)).toBe(15_000);
    expect(defaultPingTimeout(10)).toBe(5_000);
    expect(defaultPingTimeout(1)).toBe(1_000);
  });

  it('keepAlive 0 turns it off', () => {
    const k = new KeepAlive(0);
    k.reset(0);
    expect(k.check(1e12)).toBeUndefined();
    expect(k.deadline()).toBeUndefined();
  });
});

describe('PacketIdAllocator', () => {
  it('[MQTT-2.3.1-2] hands out 1..65535, skipping ids in use, and then runs out', () => {
    const a = new PacketIdAllocator();
    const all = new Set<number>();
    for (let i = 0; i < 65535; i++) all.add(a.allocate()!);
    expect(all.size).toBe(65535);
    expect(Math.min(...all)).toBe(1);
    expect(Math.max(...all)).toBe(65535);
    expect(a.allocate()).toBeUndefined();
    a.release(777);
    expect(a.allocate()).toBe(777);
  });

  it('[MQTT-2.3.1-3] does not hand a released id out again at once', () => {
    const a = new PacketIdAllocator();
    const first = a.allocate()!;
    a.release(first);
    expect(a.allocate()).not.toBe(first);
  });
});

describe('resolveOptions', () => {
  it('reads protocol, host, port and credentials from the URL', () => {
    const r = resolveOptions('mqtts://us%40er:p%3Ass@broker.example:1234');
    expect(r.url.protocol).toBe('mqtts:');
    expect(r.host).toBe('broker.example');
    expect(r.port).toBe(1234);
    expect(r.session.username).toBe('us@er');
    expect(new TextDecoder().decode(r.session.password)).toBe('p:ss');
  });

  it('uses default ports 1883 and 8883, and options override the URL', () => {
    expect(resolveOptions('mqtt://h').port).toBe(1883);
    expect(resolveOptions('mqtts://h').port).toBe(8883);
    expect(resolveOptions({ host: 'a', protocol: 'mqtts' }).port).toBe(8883);
    const r = resolveOptions('mqtt://h:1', { port: 2, host: '127.0.0.1', clientId: 'x' });
    expect([r.host, r.port, r.session.clientId, r.url.href]).toEqual(['127.0.0.1', 2, 'x', 'mqtt://127.0.0.1:2']);
    expect(resolveOptions('mqtt://[::1]:1883').host).toBe('::1');
  });

  it('defaults: generated clientId, cleanSession true, keepAlive 60, reconnect on', () => {
    const r = resolveOptions('mqtt://h');
    expect(r.session.clientId).toMatch(/^mqtt311_[0-9a-f]{16}$/);
    expect(generateClientId()).not.toBe(generateClientId());
    expect(r.session).toMatchObject({ cleanSession: true, keepAlive: 60, maxInflight: 20, maxQueued: 1000 });
    expect(r.reconnect).toEqual({});
    expect(resolveOptions('mqtt://h', { reconnect: false }).reconnect).toBe(false);
  });

  it('[MQTT-3.1.3-7] refuses an empty clientId with cleanSession false before connecting', () => {
    expect(caught(() => resolveOptions('mqtt://h', { clientId: '', cleanSession: false }))).toMatchObject({ code: 'INVALID_OPTIONS', rule: 'MQTT-3.1.3-7' });
    expect(resolveOptions('mqtt://h', { clientId: '' }).session.clientId).toBe('');
  });

  it('[MQTT-3.1.2-22] refuses a password without a user name', () => {
    expect(caught(() => resolveOptions('mqtt://h', { password: 'p' }))).toMatchObject({ code: 'INVALID_OPTIONS', rule: 'MQTT-3.1.2-22' });
  });

  it('refuses a will with a wildcard topic or QoS 3, and a bad keepAlive', () => {
    expect(caught(() => resolveOptions('mqtt://h', { will: { topic: 'a/#', payload: 'x' } }))).toMatchObject({ code: 'INVALID_TOPIC' });
    expect(caught(() => resolveOptions('mqtt://h', { will: { topic: 'a', payload: 'x', qos: 3 as 0 } }))).toMatchObject({ code: 'INVALID_QOS', rule: 'MQTT-3.1.2-14' });
    expect(caught(() => resolveOptions('mqtt://h', { keepAlive: 70_000 }))).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect(caught(() => resolveOptions('not a url'))).toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});

describe('MessageStream', () => {
  it('yields pushed messages in order and ends after the buffer is read', async () => {
    const s = new MessageStream({}, () => {});
    s.push(msg('a'));
    s.push(msg('b'));
    s.end();
    const topics: string[] = [];
    for await (const m of s) topics.push(m.topic);
    expect(topics).toEqual(['a', 'b']);
  });

  it('wakes a waiting consumer', async () => {
    const s = new MessageStream({}, () => {});
    const next = s.next();
    s.push(msg('late'));
    expect((await next).value?.topic).toBe('late');
  });

  it('fails with MESSAGES_OVERFLOW after the buffered messages when the consumer falls behind', async () => {
    let done = 0;
    const s = new MessageStream({ bufferSize: 2 }, () => done++);
    for (const t of ['a', 'b', 'c', 'd']) s.push(msg(t));
    expect(done).toBe(1);
    expect((await s.next()).value?.topic).toBe('a');
    expect((await s.next()).value?.topic).toBe('b');
    await expect(s.next()).rejects.toMatchObject({ code: 'MESSAGES_OVERFLOW' });
    expect((await s.next()).done).toBe(true);
  });

  it('break in for-await unregisters the stream', async () => {
    let done = 0;
    const s = new MessageStream({}, () => done++);
    s.push(msg('a'));
    for await (const _ of s) break;
    expect(done).toBe(1);
    expect(s.open).toBe(false);
  });

  it('an AbortSignal ends it', async () => {
    const ac = new AbortController();
    const s = new MessageStream({ signal: ac.signal }, () => {});
    const next = s.next();
    ac.abort();
    expect((await next).done).toBe(true);
  });
});

describe('MessageDispatcher', () => {
  it('routes by topic filter, including [MQTT-4.7.2-1] for $ topics', () => {
    const d = new MessageDispatcher();
    const got: string[] = [];
    d.handle('a/+', (m) => void got.push(`+:${m.topic}`));
    d.handle('#', (m) => void got.push(`#:${m.topic}`));
    const off = d.handle('a/b', (m) => void got.push(`ab:${m.topic}`));
    d.deliver(msg('a/b'), () => {});
    d.deliver(msg('$SYS/x'), () => {});
    off();
    d.deliver(msg('a/b'), () => {});
    expect(got).toEqual(['+:a/b', '#:a/b', 'ab:a/b', '+:a/b', '#:a/b']);
  });

  it('reports a throwing or rejecting handler as HANDLER_ERROR and still runs the others', async () => {
    const d = new MessageDispatcher();
    const errors: any[] = [];
    const boom = new Error('boom');
    let ran = false;
    d.handle('t', () => {
      throw boom;
    });
    d.handle('t', async () => {
      throw boom;
    });
    d.handle('t', () => void (ran = true));
    d.deliver(msg('t'), (e) => errors.push(e));
    await new Promise((r) => setTimeout(r, 0));
    expect(ran).toBe(true);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ code: 'HANDLER_ERROR', cause: boom });
  });

  it('refuses an invalid handler filter with the codec error', () => {
    expect(caught(() => new MessageDispatcher().handle('a/#/b', () => {}))).toMatchObject({ code: 'INVALID_TOPIC_FILTER' });
  });

  it('a Message decodes its payload as UTF-8 on demand', () => {
    const m = msg('t', 'grüße', { qos: 1, packetId: 3, retain: true });
    expect(m.text).toBe('grüße');
    expect([m.qos, m.retain, m.dup]).toEqual([1, true, false]);
    expect(m.packet.packetId).toBe(3);
  });
});
