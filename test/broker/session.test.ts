import { describe, expect, it } from 'vitest';
import { decode, isMqttError } from '../../src/codec/index.js';
import type { MqttError, Packet, PublishPacket } from '../../src/codec/index.js';
import { Session, type SessionEffect } from '../../src/broker-mini/core/session.js';
import { createSessionState, type OutboundMessage, type SessionState } from '../../src/broker-mini/core/session-state.js';
import { connectPacket } from '../helpers/raw-client.js';
import { rawConnect } from './bytes.js';

const OPTS = { maxInflight: 3, maxQueuedMessages: 4, maxQueuedBytes: 1_000, connectTimeout: 1_000 };
const T0 = 1_000_000;

function sends(effects: SessionEffect[]): Packet[] {
  return effects.filter((e) => e.type === 'send').map((e) => (e as { packet: Packet }).packet);
}

function decodeError(bytes: Uint8Array): MqttError {
  try {
    decode(bytes);
  } catch (e) {
    if (isMqttError(e)) return e;
  }
  throw new Error('expected a decode error');
}

/** A session past CONNECT, on a fresh state. */
function connected(fields: Parameters<typeof connectPacket>[0] = {}, state?: SessionState): { s: Session; state: SessionState } {
  const s = new Session(OPTS, T0);
  s.receive(connectPacket({ clientId: 'c', ...fields }), T0);
  const st = state ?? createSessionState('c', false);
  s.accept(st, false);
  return { s, state: st };
}

const msg = (topic: string, qos: 0 | 1 | 2, payload = 'x'): OutboundMessage => ({ topic, payload: new TextEncoder().encode(payload), qos, retain: false });

describe('Session: the CONNECT phase', () => {
  it('[MQTT-3.1.0-1] closes a connection whose first packet is not CONNECT', () => {
    const s = new Session(OPTS, T0);
    const out = s.receive({ cmd: 'pingreq' }, T0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: 'close', reason: 'protocol-error', error: { code: 'CONNECT_EXPECTED', rule: 'MQTT-3.1.0-1' } });
  });

  it('asks the broker to decide a CONNECT, then holds the phase until it does', () => {
    const s = new Session(OPTS, T0);
    const p = connectPacket({ clientId: 'a' });
    expect(s.receive(p, T0)).toEqual([{ type: 'connect', packet: p }]);
    expect(s.phase).toBe('connecting');
  });

  it('[MQTT-3.2.0-1] [MQTT-3.1.4-4] [MQTT-3.2.2-1] accepting sends CONNACK 0 first, Session Present 0', () => {
    const s = new Session(OPTS, T0);
    s.receive(connectPacket({ clientId: 'a' }), T0);
    const out = sends(s.accept(createSessionState('a', false), false));
    expect(out[0]).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    expect(s.phase).toBe('connected');
  });

  it('[MQTT-3.2.2-4] [MQTT-3.2.2-5] refusing sends CONNACK with the code and Session Present 0, then closes', () => {
    const s = new Session(OPTS, T0);
    s.receive(connectPacket({ clientId: 'a', cleanSession: false }), T0);
    const out = s.refuse(5);
    expect(out).toEqual([{ type: 'send', packet: { cmd: 'connack', sessionPresent: false, returnCode: 5 } }, { type: 'close', reason: 'refused' }]);
  });

  it('[MQTT-3.1.4-5] ignores everything the client sent after a refused CONNECT', () => {
    const s = new Session(OPTS, T0);
    s.receive(connectPacket({ clientId: 'a' }), T0);
    s.refuse(4);
    expect(s.receive({ cmd: 'publish', topic: 't', payload: new Uint8Array(1), qos: 1, retain: false, dup: false, packetId: 1 }, T0)).toEqual([]);
    expect(s.receive({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }] }, T0)).toEqual([]);
    expect(s.end('refused')).toBeUndefined();
  });

  it('[MQTT-3.1.2-2] answers an unsupported protocol level with CONNACK 0x01, then closes', () => {
    const err = decodeError(rawConnect({ level: 3 }));
    expect(err).toMatchObject({ code: 'UNSUPPORTED_PROTOCOL_LEVEL', rule: 'MQTT-3.1.2-2' });
    const out = new Session(OPTS, T0).fail(err);
    expect(sends(out)).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 1 }]);
    expect(out.at(-1)).toMatchObject({ type: 'close', reason: 'refused' });
  });

  it('[MQTT-3.1.2-1] closes without CONNACK when the protocol name is not MQTT (nor MQTT 3.1\'s MQIsdp)', () => {
    const err = decodeError(rawConnect({ name: 'MQTTv3', level: 3 }));
    expect(err).toMatchObject({ code: 'INVALID_PROTOCOL_NAME', rule: 'MQTT-3.1.2-1' });
    const out = new Session(OPTS, T0).fail(err);
    expect(sends(out)).toEqual([]);
    expect(out).toMatchObject([{ type: 'close', reason: 'protocol-error', error: { code: 'INVALID_PROTOCOL_NAME' } }]);
  });

  it('[MQTT-3.1.4-1] closes without CONNACK when the CONNECT is invalid (reserved flag set)', () => {
    const err = decodeError(rawConnect({ flags: 0x03 }));
    expect(err).toMatchObject({ code: 'INVALID_CONNECT_FLAGS', rule: 'MQTT-3.1.2-3' });
    const out = new Session(OPTS, T0).fail(err);
    expect(sends(out)).toEqual([]);
    expect(out).toMatchObject([{ type: 'close', reason: 'protocol-error' }]);
  });

  it('[MQTT-3.1.0-2] closes on a second CONNECT, and the will is published', () => {
    const will = { topic: 'w', payload: new Uint8Array([1]), qos: 0 as const, retain: false };
    const { s } = connected({ will });
    const out = s.receive(connectPacket({ clientId: 'c' }), T0);
    expect(out).toMatchObject([{ type: 'close', reason: 'protocol-error', error: { code: 'DUPLICATE_CONNECT', rule: 'MQTT-3.1.0-2' } }]);
    expect(s.end('protocol-error')).toEqual(will);
  });

  it.each(['connack', 'suback', 'unsuback', 'pingresp'] as const)('[MQTT-4.8.0-1] closes when a client sends the server-only %s', (cmd) => {
    const { s } = connected();
    const packets: Record<typeof cmd, Packet> = {
      connack: { cmd: 'connack', sessionPresent: false, returnCode: 0 },
      suback: { cmd: 'suback', packetId: 1, returnCodes: [0] },
      unsuback: { cmd: 'unsuback', packetId: 1 },
      pingresp: { cmd: 'pingresp' },
    };
    expect(s.receive(packets[cmd], T0)).toMatchObject([{ type: 'close', reason: 'protocol-error', error: { code: 'UNEXPECTED_PACKET', rule: 'MQTT-4.8.0-1' } }]);
  });

  it('[MQTT-4.8.0-1] closes on a malformed packet after CONNECT', () => {
    const { s } = connected();
    const err = decodeError(Uint8Array.from([0x62, 0x02, 0x00, 0x00])); // PUBREL with packet id 0
    expect(s.fail(err)).toMatchObject([{ type: 'close', reason: 'protocol-error', error: { code: err.code } }]);
  });
});

describe('Session: inbound PUBLISH', () => {
  const pub = (qos: 0 | 1 | 2, packetId?: number, dup = false): PublishPacket =>
    ({ cmd: 'publish', topic: 't', payload: new Uint8Array([7]), qos, retain: false, dup, ...(packetId ? { packetId } : {}) }) as PublishPacket;

  it('[MQTT-3.3.4-1] routes a QoS 0 PUBLISH and answers nothing', () => {
    const { s } = connected();
    expect(s.receive(pub(0), T0)).toEqual([{ type: 'publish', packet: pub(0) }]);
  });

  it('[MQTT-4.3.2-2] [MQTT-2.3.1-6] routes a QoS 1 PUBLISH, then PUBACKs its packet id; the id reused later is a new message', () => {
    const { s } = connected();
    expect(s.receive(pub(1, 9), T0)).toEqual([{ type: 'publish', packet: pub(1, 9) }, { type: 'send', packet: { cmd: 'puback', packetId: 9 } }]);
    expect(s.receive(pub(1, 9), T0)[0]).toEqual({ type: 'publish', packet: pub(1, 9) });
  });

  it('[MQTT-4.3.3-2] QoS 2: routes once, re-PUBRECs a resend without routing it again, PUBCOMPs the PUBREL, then the id is new', () => {
    const { s } = connected();
    expect(s.receive(pub(2, 5), T0)).toEqual([{ type: 'publish', packet: pub(2, 5) }, { type: 'send', packet: { cmd: 'pubrec', packetId: 5 } }]);
    expect(s.receive(pub(2, 5, true), T0)).toEqual([{ type: 'send', packet: { cmd: 'pubrec', packetId: 5 } }]);
    expect(s.receive({ cmd: 'pubrel', packetId: 5 }, T0)).toEqual([{ type: 'send', packet: { cmd: 'pubcomp', packetId: 5 } }]);
    expect(s.receive(pub(2, 5), T0)[0]).toEqual({ type: 'publish', packet: pub(2, 5) });
  });

  it('[MQTT-4.3.3-2] answers PUBCOMP to a PUBREL for an unknown packet id', () => {
    const { s } = connected();
    expect(s.receive({ cmd: 'pubrel', packetId: 77 }, T0)).toEqual([{ type: 'send', packet: { cmd: 'pubcomp', packetId: 77 } }]);
  });

  it('[MQTT-4.6.0-2] [MQTT-4.6.0-3] sends PUBACKs and PUBRECs in the order the PUBLISHes arrived', () => {
    const { s } = connected();
    const acks = [pub(1, 3), pub(2, 1), pub(1, 2), pub(2, 4)].flatMap((p) => sends(s.receive(p, T0)));
    expect(acks).toEqual([
      { cmd: 'puback', packetId: 3 },
      { cmd: 'pubrec', packetId: 1 },
      { cmd: 'puback', packetId: 2 },
      { cmd: 'pubrec', packetId: 4 },
    ]);
  });

  it('[MQTT-3.12.4-1] answers PINGREQ with PINGRESP', () => {
    const { s } = connected();
    expect(s.receive({ cmd: 'pingreq' }, T0)).toEqual([{ type: 'send', packet: { cmd: 'pingresp' } }]);
  });

  it('passes SUBSCRIBE and UNSUBSCRIBE to the broker', () => {
    const { s } = connected();
    const sub = { cmd: 'subscribe' as const, packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 1 as const }] };
    const unsub = { cmd: 'unsubscribe' as const, packetId: 2, topicFilters: ['a'] };
    expect(s.receive(sub, T0)).toEqual([{ type: 'subscribe', packet: sub }]);
    expect(s.receive(unsub, T0)).toEqual([{ type: 'unsubscribe', packet: unsub }]);
  });
});

describe('Session: outbound delivery', () => {
  it('[MQTT-4.3.1-1] delivers QoS 0 as PUBLISH QoS 0, DUP 0, no packet id', () => {
    const { s } = connected();
    expect(sends(s.deliver(msg('t', 0)))).toEqual([{ cmd: 'publish', topic: 't', payload: msg('t', 0).payload, qos: 0, retain: false, dup: false }]);
  });

  it('[MQTT-4.3.2-1] [MQTT-3.3.1-3] QoS 1: a fresh packet id, DUP 0, kept until its PUBACK', () => {
    const { s, state } = connected();
    const [p] = sends(s.deliver(msg('t', 1))) as PublishPacket[];
    expect(p).toMatchObject({ cmd: 'publish', qos: 1, dup: false });
    expect(p!.packetId).toBeGreaterThan(0);
    expect(state.inflight.has(p!.packetId!)).toBe(true);
    s.receive({ cmd: 'puback', packetId: p!.packetId! }, T0);
    expect(state.inflight.size).toBe(0);
  });

  it('[MQTT-4.3.3-1] QoS 2: PUBREC is answered by PUBREL with the same id, the message is then released, PUBCOMP ends it', () => {
    const { s, state } = connected();
    const [p] = sends(s.deliver(msg('t', 2))) as PublishPacket[];
    expect(sends(s.receive({ cmd: 'pubrec', packetId: p!.packetId! }, T0))).toEqual([{ cmd: 'pubrel', packetId: p!.packetId }]);
    const held = state.inflight.get(p!.packetId!)!;
    expect(held.phase).toBe('pubrel');
    expect(held.message.payload.length).toBe(0);
    // a repeated PUBREC gets the PUBREL again, never the PUBLISH
    expect(sends(s.receive({ cmd: 'pubrec', packetId: p!.packetId! }, T0))).toEqual([{ cmd: 'pubrel', packetId: p!.packetId }]);
    s.receive({ cmd: 'pubcomp', packetId: p!.packetId! }, T0);
    expect(state.inflight.size).toBe(0);
  });

  it('[MQTT-4.6.0-4] sends PUBRELs in the order the PUBRECs arrived', () => {
    const { s } = connected();
    const ids = [1, 2, 3].map(() => (sends(s.deliver(msg('t', 2)))[0] as PublishPacket).packetId!);
    const order = [ids[1]!, ids[0]!, ids[2]!];
    expect(order.flatMap((id) => sends(s.receive({ cmd: 'pubrec', packetId: id }, T0)))).toEqual(order.map((id) => ({ cmd: 'pubrel', packetId: id })));
  });

  it('[MQTT-2.3.1-4] never reuses a packet id still in flight, including across the 65535 wrap', () => {
    const { s } = connected();
    const deliver = () => (sends(s.deliver(msg('t', 1)))[0] as PublishPacket).packetId!;
    /** Delivers and acknowledges one message at a time up to packet id `last`. */
    const cycleTo = (last: number) => {
      for (let id = deliver(); ; id = deliver()) {
        s.receive({ cmd: 'puback', packetId: id }, T0);
        if (id === last) return;
      }
    };
    cycleTo(65_534);
    const ids = [1, 2, 3].map(deliver);
    expect(ids).toEqual([65_535, 1, 2]);
    // 1 and 2 stay in flight: after wrapping all the way round, they are skipped
    s.receive({ cmd: 'puback', packetId: 65_535 }, T0);
    cycleTo(65_535);
    expect(deliver()).toBe(3);
  });

  it('[MQTT-4.6.0-6] queues beyond the inflight window and sends in order as acks free slots', () => {
    const { s, state } = connected();
    const first = [1, 2, 3].map((i) => sends(s.deliver(msg('t', 1, `m${i}`)))[0] as PublishPacket);
    expect(s.deliver(msg('t', 1, 'm4'))).toEqual([]);
    expect(s.deliver(msg('t', 2, 'm5'))).toEqual([]);
    expect(state.queue).toHaveLength(2);
    const next = sends(s.receive({ cmd: 'puback', packetId: first[1]!.packetId! }, T0)) as PublishPacket[];
    expect(next.map((p) => new TextDecoder().decode(p.payload))).toEqual(['m4']);
    const last = sends(s.receive({ cmd: 'puback', packetId: first[0]!.packetId! }, T0)) as PublishPacket[];
    expect(last).toMatchObject([{ qos: 2 }]);
    expect(new TextDecoder().decode(last[0]!.payload)).toBe('m5');
  });

  it('disconnects a client whose queue is full instead of growing it', () => {
    const { s, state } = connected();
    for (let i = 0; i < OPTS.maxInflight + OPTS.maxQueuedMessages; i++) s.deliver(msg('t', 1));
    expect(state.queue).toHaveLength(OPTS.maxQueuedMessages);
    expect(s.deliver(msg('t', 1))).toEqual([{ type: 'close', reason: 'queue-full' }]);
    expect(state.queue).toHaveLength(OPTS.maxQueuedMessages);
  });

  it('QoS 0 is never queued behind the window: it goes straight out', () => {
    const { s } = connected();
    for (let i = 0; i < 5; i++) s.deliver(msg('t', 1));
    expect(sends(s.deliver(msg('t', 0)))).toHaveLength(1);
  });

  it('[MQTT-4.4.0-1] [MQTT-3.3.1-1] [MQTT-4.6.0-1] on resume resends unacked PUBLISHes with DUP=1 and PUBRELs, original ids and order, then the queue', () => {
    const state = createSessionState('c', true);
    const first = new Session(OPTS, T0);
    first.receive(connectPacket({ clientId: 'c', cleanSession: false }), T0);
    first.accept(state, false);
    const sent = [1, 2, 3].map((i) => sends(first.deliver(msg('t', i === 2 ? 2 : 1, `m${i}`)))[0] as PublishPacket);
    first.deliver(msg('t', 1, 'm4')); // queued: the window (3) is full
    first.receive({ cmd: 'pubrec', packetId: sent[1]!.packetId! }, T0); // m2 now awaits PUBCOMP
    first.end('connection-lost');

    const second = new Session(OPTS, T0);
    second.receive(connectPacket({ clientId: 'c', cleanSession: false }), T0);
    const out = sends(second.accept(state, true));
    expect(out[0]).toEqual({ cmd: 'connack', sessionPresent: true, returnCode: 0 });
    expect(out.slice(1)).toMatchObject([
      { cmd: 'publish', packetId: sent[0]!.packetId, dup: true, qos: 1 },
      { cmd: 'pubrel', packetId: sent[1]!.packetId },
      { cmd: 'publish', packetId: sent[2]!.packetId, dup: true, qos: 1 },
    ]);
    expect(out).toHaveLength(4); // m4 waits: still three inflight
    const after = sends(second.receive({ cmd: 'puback', packetId: sent[0]!.packetId! }, T0)) as PublishPacket[];
    expect(after).toMatchObject([{ cmd: 'publish', dup: false }]);
    expect(new TextDecoder().decode(after[0]!.payload)).toBe('m4');
  });
});

describe('Session: wills, keep-alive, timeouts', () => {
  const will = { topic: 'will', payload: new Uint8Array([1]), qos: 1 as const, retain: true };

  it('[MQTT-3.1.2-8] [MQTT-3.1.2-10] hands out the will once when the connection is lost', () => {
    const { s } = connected({ will });
    expect(s.end('connection-lost')).toEqual(will);
    expect(s.end('connection-lost')).toBeUndefined();
  });

  it('[MQTT-3.14.4-3] discards the will on DISCONNECT', () => {
    const { s } = connected({ will });
    expect(s.receive({ cmd: 'disconnect' }, T0)).toEqual([{ type: 'close', reason: 'disconnect' }]);
    expect(s.will).toBeUndefined();
    expect(s.end('disconnect')).toBeUndefined();
  });

  it('[MQTT-3.1.2-12] has no will to publish when the Will Flag was 0', () => {
    const { s } = connected();
    expect(s.end('keepalive-timeout')).toBeUndefined();
  });

  it('[MQTT-3.1.2-24] closes after 1.5 × keepAlive without a packet, not before', () => {
    const { s } = connected({ keepAlive: 10 });
    expect(s.tick(T0 + 15_000)).toEqual([]);
    s.receive({ cmd: 'pingreq' }, T0 + 14_000); // any packet restarts the clock
    expect(s.tick(T0 + 28_000)).toEqual([]);
    expect(s.tick(T0 + 29_001)).toEqual([{ type: 'close', reason: 'keepalive-timeout' }]);
    expect(s.end('keepalive-timeout')).toBeUndefined();
  });

  it('[MQTT-3.1.2-24] a keep-alive timeout publishes the will, like a network failure', () => {
    const { s } = connected({ keepAlive: 1, will });
    expect(s.tick(T0 + 1_501)).toMatchObject([{ reason: 'keepalive-timeout' }]);
    expect(s.end('keepalive-timeout')).toEqual(will);
  });

  it('never times out a keepAlive of 0', () => {
    const { s } = connected({ keepAlive: 0 });
    expect(s.tick(T0 + 10 * 24 * 3600_000)).toEqual([]);
  });

  it('closes a connection that sends no CONNECT within connectTimeout', () => {
    const s = new Session(OPTS, T0);
    expect(s.tick(T0 + 999)).toEqual([]);
    expect(s.tick(T0 + 1_000)).toEqual([{ type: 'close', reason: 'connect-timeout' }]);
  });

  it('publishes no will when the broker shuts down', () => {
    const { s } = connected({ will });
    expect(s.end('broker-closing')).toBeUndefined();
  });
});
