/**
 * The sans-IO client session, driven with plain packets and a fake clock: no sockets, no timers.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, PublishPacket } from '../../src/codec/index.js';
import { ClientSession, type SessionOptions } from '../../src/client/core/session.js';
import type { Command, SessionEvent, Step } from '../../src/client/core/types.js';
import { ClientError, ConnackError } from '../../src/client/errors.js';

const payload = new TextEncoder().encode('x');

function session(options: Partial<SessionOptions> = {}): ClientSession {
  return new ClientSession({ clientId: 'c1', cleanSession: true, keepAlive: 0, ...options });
}

/** A session that has sent CONNECT and received CONNACK 0. */
function connected(options: Partial<SessionOptions> = {}, sessionPresent = false): ClientSession {
  const s = session(options);
  s.open(0);
  s.receive({ cmd: 'connack', sessionPresent, returnCode: 0 }, 0);
  return s;
}

let nextOp = 1;
function pub(qos: 0 | 1 | 2, topic = 't'): Command {
  return { kind: 'publish', op: nextOp++, topic, payload, qos, retain: false };
}

const cmds = (step: Step) => step.packets.map((p) => p.cmd);
const events = (step: Step, type: SessionEvent['type']) => step.events.filter((e) => e.type === type);
const ids = (step: Step) => step.packets.map((p) => ('packetId' in p ? p.packetId : undefined));

describe('connecting', () => {
  it('[MQTT-3.1.0-1] the first packet on a new connection is CONNECT', () => {
    const s = session({ username: 'u', password: payload, will: { topic: 'w', payload, qos: 1, retain: true } });
    const step = s.open(0);
    expect(step.packets).toHaveLength(1);
    expect(step.packets[0]).toMatchObject({
      cmd: 'connect',
      protocolName: 'MQTT',
      protocolLevel: 4,
      clientId: 'c1',
      cleanSession: true,
      username: 'u',
      will: { topic: 'w', qos: 1, retain: true },
    });
  });

  it('[MQTT-3.1.0-1] commands issued before CONNACK wait; CONNECT still goes first', () => {
    const s = session();
    const early = s.command(pub(1), 0);
    expect(early.packets).toEqual([]);
    expect(cmds(s.open(1))).toEqual(['connect']);
    const step = s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 2);
    expect(cmds(step)).toEqual(['publish']);
    expect(events(step, 'connected')).toHaveLength(1);
  });

  it('[MQTT-3.1.3-7] refuses an empty clientId without cleanSession', () => {
    const attempt = () => session({ clientId: '', cleanSession: false });
    expect(attempt).toThrow(ClientError);
    try {
      attempt();
    } catch (e) {
      expect(e).toMatchObject({ code: 'INVALID_OPTIONS', rule: 'MQTT-3.1.3-7' });
    }
    expect(() => session({ clientId: '', cleanSession: true })).not.toThrow();
  });

  it('reports a refused CONNACK as ConnackError with the return code', () => {
    const s = session();
    s.open(0);
    const step = s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 5 }, 1);
    const [close] = events(step, 'close') as Array<{ error: Error }>;
    expect(close!.error).toBeInstanceOf(ConnackError);
    expect(close!.error).toMatchObject({ code: 'CONNACK_REFUSED', returnCode: 5 });
    expect(s.state).toBe('offline');
  });

  it('[MQTT-3.2.0-1] closes when the server\'s first packet is not CONNACK', () => {
    const s = session();
    s.open(0);
    const step = s.receive({ cmd: 'pingresp' }, 1);
    expect(events(step, 'close')[0]).toMatchObject({ error: { code: 'PROTOCOL_ERROR', rule: 'MQTT-3.2.0-1' } });
  });

  it('times out waiting for CONNACK', () => {
    const s = session({ connectTimeout: 1000 });
    s.open(0);
    expect(s.deadline()).toBe(1000);
    expect(s.tick(999).events).toEqual([]);
    expect(events(s.tick(1000), 'close')[0]).toMatchObject({ error: { code: 'CONNECT_TIMEOUT' } });
  });

  it('[MQTT-4.8.0-1] a packet a server never sends closes the connection', () => {
    for (const p of [{ cmd: 'pingreq' }, { cmd: 'disconnect' }, { cmd: 'connack', sessionPresent: false, returnCode: 0 }] as Packet[]) {
      const s = connected();
      expect(events(s.receive(p, 1), 'close')[0]).toMatchObject({ error: { code: 'PROTOCOL_ERROR', rule: 'MQTT-4.8.0-1' } });
    }
  });
});

describe('packet identifiers', () => {
  it('[MQTT-2.3.1-2] gives every SUBSCRIBE, UNSUBSCRIBE and QoS>0 PUBLISH an id not in use', () => {
    const s = connected({ maxInflight: 1000 });
    const got: number[] = [];
    for (let i = 0; i < 300; i++) {
      got.push(...(ids(s.command(pub(((i % 2) + 1) as 1 | 2), 0)) as number[]));
      got.push(...(ids(s.command({ kind: 'subscribe', op: nextOp++, subscriptions: [{ topicFilter: 'a', qos: 0 }] }, 0)) as number[]));
      got.push(...(ids(s.command({ kind: 'unsubscribe', op: nextOp++, topicFilters: ['a'] }, 0)) as number[]));
    }
    expect(got).toHaveLength(900);
    expect(new Set(got).size).toBe(900);
    expect(got.every((id) => id >= 1 && id <= 65535)).toBe(true);
    expect(ids(s.command(pub(0), 0))).toEqual([undefined]);
  });

  it('[MQTT-2.3.1-2] never reuses an id while its flow is open, across the 65535 wrap', () => {
    const s = connected({ maxInflight: 65535, maxQueued: 0 });
    // Hold id 1 open (QoS 2, PUBREC received: awaiting PUBCOMP), then cycle through all others.
    const first = s.command(pub(2), 0).packets[0] as PublishPacket;
    expect(first.packetId).toBe(1);
    s.receive({ cmd: 'pubrec', packetId: 1 }, 0);
    const seen = new Set<number>();
    for (let i = 0; i < 70_000; i++) {
      const p = s.command(pub(1), 0).packets[0] as PublishPacket;
      expect(p.packetId).not.toBe(1);
      seen.add(p.packetId!);
      s.receive({ cmd: 'puback', packetId: p.packetId! }, 0);
    }
    expect(seen.size).toBe(65534);
  });

  it('[MQTT-2.3.1-3] an id becomes free only after the final ack of its flow', () => {
    const s = connected({ maxInflight: 65535 });
    const p = s.command(pub(2), 0).packets[0] as PublishPacket;
    s.receive({ cmd: 'pubrec', packetId: p.packetId! }, 0);
    expect(s.counts.inflight).toBe(1);
    s.receive({ cmd: 'pubcomp', packetId: p.packetId! }, 0);
    expect(s.counts.inflight).toBe(0);
    expect(s.idle).toBe(true);
  });

  it('refuses a publish with PACKET_IDS_EXHAUSTED when all 65535 ids are in flight', () => {
    const s = connected({ maxInflight: 65535 });
    for (let i = 0; i < 65535; i++) s.command(pub(1), 0);
    const step = s.command({ kind: 'subscribe', op: 7, subscriptions: [{ topicFilter: 'a', qos: 0 }] }, 0);
    expect(step.packets).toEqual([]);
    expect(events(step, 'failed')[0]).toMatchObject({ op: 7, error: { code: 'PACKET_IDS_EXHAUSTED', rule: 'MQTT-2.3.1-2' } });
  });
});

describe('outgoing QoS flows', () => {
  it('[MQTT-4.3.1-1] QoS 0: PUBLISH with QoS 0 and DUP 0, done at once', () => {
    const s = connected();
    const c = pub(0);
    const step = s.command(c, 0);
    expect(step.packets).toEqual([{ cmd: 'publish', topic: 't', payload, qos: 0, retain: false, dup: false }]);
    expect(step.events).toEqual([{ type: 'done', op: c.op }]);
  });

  it('[MQTT-4.3.2-1] QoS 1: DUP 0, unacknowledged until PUBACK', () => {
    const s = connected();
    const c = pub(1);
    const step = s.command(c, 0);
    expect(step.packets[0]).toMatchObject({ cmd: 'publish', qos: 1, dup: false, packetId: 1 });
    expect(step.events).toEqual([]);
    expect(s.receive({ cmd: 'puback', packetId: 1 }, 1).events).toEqual([{ type: 'done', op: c.op }]);
  });

  it('[MQTT-4.3.3-1] QoS 2: PUBREC → PUBREL with the same id, done at PUBCOMP, PUBLISH never resent after PUBREL', () => {
    const s = connected();
    const c = pub(2);
    expect(s.command(c, 0).packets[0]).toMatchObject({ qos: 2, dup: false, packetId: 1 });
    const rec = s.receive({ cmd: 'pubrec', packetId: 1 }, 1);
    expect(rec.packets).toEqual([{ cmd: 'pubrel', packetId: 1 }]);
    expect(rec.events).toEqual([]);
    // After a reconnect only the PUBREL is resent, not the PUBLISH.
    s.connectionClosed(2);
    s.open(3);
    const again = s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 4);
    expect(again.packets).toEqual([{ cmd: 'pubrel', packetId: 1 }]);
    expect(s.receive({ cmd: 'pubcomp', packetId: 1 }, 5).events).toEqual([{ type: 'done', op: c.op }]);
  });

  it('[MQTT-4.6.0-4] PUBRELs go out in the order the PUBRECs arrive', () => {
    const s = connected();
    for (let i = 0; i < 3; i++) s.command(pub(2), 0);
    const out = [3, 1, 2].flatMap((id) => s.receive({ cmd: 'pubrec', packetId: id }, 1).packets);
    expect(out).toEqual([3, 1, 2].map((packetId) => ({ cmd: 'pubrel', packetId })));
  });

  it('treats an ack that does not fit the packet in flight as a protocol error', () => {
    const s = connected();
    s.command(pub(1), 0);
    expect(events(s.receive({ cmd: 'pubrec', packetId: 1 }, 1), 'close')[0]).toMatchObject({ error: { code: 'PROTOCOL_ERROR' } });
  });

  it('ignores an ack for an id that is not in flight (a late duplicate)', () => {
    const s = connected();
    const step = s.receive({ cmd: 'puback', packetId: 42 }, 1);
    expect(step).toEqual({ packets: [], events: [] });
    expect(s.state).toBe('connected');
  });

  it('[MQTT-3.9.3-1] a SUBACK with the wrong number of return codes is a protocol error', () => {
    const s = connected();
    s.command({ kind: 'subscribe', op: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }, { topicFilter: 'b', qos: 1 }] }, 0);
    const step = s.receive({ cmd: 'suback', packetId: 1, returnCodes: [0] }, 1);
    expect(events(step, 'close')[0]).toMatchObject({ error: { code: 'PROTOCOL_ERROR', rule: 'MQTT-3.9.3-1' } });
  });

  it('reports SUBACK return codes, refusals included', () => {
    const s = connected();
    s.command({ kind: 'subscribe', op: 9, subscriptions: [{ topicFilter: 'a', qos: 2 }, { topicFilter: 'b', qos: 1 }] }, 0);
    expect(s.receive({ cmd: 'suback', packetId: 1, returnCodes: [1, 0x80] }, 1).events).toEqual([{ type: 'done', op: 9, returnCodes: [1, 0x80] }]);
    expect([...s.subscriptions.keys()]).toEqual(['a']);
  });
});

describe('in-flight window and queue', () => {
  it('holds QoS>0 publishes beyond maxInflight in the queue, in order', () => {
    const s = connected({ maxInflight: 2 });
    const sent = [1, 2, 3, 4].flatMap(() => s.command(pub(1), 0).packets);
    expect(sent.map((p) => (p as PublishPacket).packetId)).toEqual([1, 2]);
    expect(s.counts).toMatchObject({ queued: 2, inflight: 2 });
    expect(ids(s.receive({ cmd: 'puback', packetId: 2 }, 1))).toEqual([3]);
    expect(ids(s.receive({ cmd: 'puback', packetId: 1 }, 1))).toEqual([4]);
  });

  it('keeps QoS 0 behind queued QoS 1 so messages leave in publish order', () => {
    const s = connected({ maxInflight: 1 });
    s.command(pub(1, 'a'), 0);
    s.command(pub(1, 'b'), 0);
    expect(s.command(pub(0, 'c'), 0).packets).toEqual([]);
    const step = s.receive({ cmd: 'puback', packetId: 1 }, 1);
    expect(step.packets.map((p) => (p as PublishPacket).topic)).toEqual(['b', 'c']);
  });

  it('refuses with QUEUE_FULL beyond maxQueued — never a silent drop', () => {
    const s = session({ maxQueued: 2 });
    s.command(pub(1), 0);
    s.command(pub(0), 0);
    const step = s.command({ ...pub(1), op: 99 }, 0);
    expect(step.events).toEqual([{ type: 'failed', op: 99, error: expect.objectContaining({ code: 'QUEUE_FULL' }) }]);
    expect(s.counts.queued).toBe(2);
  });

  it('withdraws a queued command on cancel, but not one already sent', () => {
    const s = connected({ maxInflight: 1 });
    const a = pub(1);
    const b = pub(1);
    s.command(a, 0);
    s.command(b, 0);
    expect(s.cancel(b.op)).toBe(true);
    expect(s.cancel(a.op)).toBe(false);
    expect(s.receive({ cmd: 'puback', packetId: 1 }, 1).packets).toEqual([]);
  });
});

describe('incoming QoS flows', () => {
  const incoming = (qos: 0 | 1 | 2, packetId?: number, dup = false): PublishPacket => ({
    cmd: 'publish', topic: 'in', payload, qos, retain: false, dup, ...(packetId ? { packetId } : {}),
  });

  it('[MQTT-3.3.4-1] [MQTT-4.5.0-2] answers each PUBLISH as its QoS requires', () => {
    const s = connected();
    expect(s.receive(incoming(0), 1).packets).toEqual([]);
    expect(s.receive(incoming(1, 5), 1).packets).toEqual([{ cmd: 'puback', packetId: 5 }]);
    expect(s.receive(incoming(2, 6), 1).packets).toEqual([{ cmd: 'pubrec', packetId: 6 }]);
  });

  it('[MQTT-2.3.1-6] acks echo the packet id of the PUBLISH', () => {
    const s = connected();
    for (const id of [1, 300, 65535]) {
      expect(s.receive(incoming(1, id), 1).packets).toEqual([{ cmd: 'puback', packetId: id }]);
    }
  });

  it('[MQTT-4.3.2-2] a QoS 1 PUBLISH reusing an acknowledged id is a new message', () => {
    const s = connected();
    expect(events(s.receive(incoming(1, 3), 1), 'message')).toHaveLength(1);
    expect(events(s.receive(incoming(1, 3), 2), 'message')).toHaveLength(1);
  });

  it('[MQTT-4.3.3-2] delivers a resent QoS 2 PUBLISH once, PUBRECs every copy, PUBCOMPs the PUBREL', () => {
    const s = connected();
    const first = s.receive(incoming(2, 9), 1);
    expect(events(first, 'message')).toHaveLength(1);
    const dup = s.receive(incoming(2, 9, true), 2);
    expect(dup.packets).toEqual([{ cmd: 'pubrec', packetId: 9 }]);
    expect(events(dup, 'message')).toHaveLength(0);
    expect(s.receive({ cmd: 'pubrel', packetId: 9 }, 3).packets).toEqual([{ cmd: 'pubcomp', packetId: 9 }]);
    // After PUBCOMP the id means a new publication.
    expect(events(s.receive(incoming(2, 9), 4), 'message')).toHaveLength(1);
  });

  it('[MQTT-4.3.3-2] answers a PUBREL for an unknown id with PUBCOMP', () => {
    const s = connected();
    expect(s.receive({ cmd: 'pubrel', packetId: 77 }, 1).packets).toEqual([{ cmd: 'pubcomp', packetId: 77 }]);
  });

  it('[MQTT-4.3.3-2] remembers QoS 2 ids across a reconnect that resumes the session', () => {
    const s = connected({ cleanSession: false });
    s.receive(incoming(2, 4), 1);
    s.connectionClosed(2);
    s.open(3);
    s.receive({ cmd: 'connack', sessionPresent: true, returnCode: 0 }, 4);
    const resent = s.receive(incoming(2, 4, true), 5);
    expect(events(resent, 'message')).toHaveLength(0);
    expect(resent.packets).toEqual([{ cmd: 'pubrec', packetId: 4 }]);
  });

  it('[MQTT-3.1.2-6] forgets QoS 2 ids when the server starts a new session', () => {
    const s = connected({ cleanSession: true });
    s.receive(incoming(2, 4), 1);
    s.connectionClosed(2);
    s.open(3);
    s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 4);
    expect(s.counts.awaitingRelease).toBe(0);
    expect(events(s.receive(incoming(2, 4), 5), 'message')).toHaveLength(1);
  });

  it('[MQTT-4.6.0-2] [MQTT-4.6.0-3] sends PUBACKs and PUBRECs in arrival order', () => {
    const s = connected();
    const order = [7, 3, 9, 1, 4];
    const acks = order.flatMap((id, i) => s.receive(incoming(i % 2 ? 2 : 1, id), i).packets);
    expect(acks.map((p) => [p.cmd, (p as { packetId: number }).packetId])).toEqual(
      order.map((id, i) => [i % 2 ? 'pubrec' : 'puback', id]),
    );
  });

  it('delivers the message event after its ack is produced', () => {
    const s = connected();
    const step = s.receive(incoming(1, 2), 1);
    expect(step.packets).toHaveLength(1);
    expect(step.events).toEqual([{ type: 'message', packet: incoming(1, 2) }]);
  });
});

describe('reconnecting', () => {
  function reconnect(s: ClientSession, sessionPresent: boolean, now = 100): Step {
    s.connectionClosed(now);
    s.open(now + 1);
    return s.receive({ cmd: 'connack', sessionPresent, returnCode: 0 }, now + 2);
  }

  it('[MQTT-4.4.0-1] [MQTT-4.6.0-1] [MQTT-3.3.1-1] resends unacked PUBLISH (DUP 1) and PUBREL with original ids, in original order, all at once', () => {
    const s = connected({ cleanSession: false, maxInflight: 10 });
    for (let i = 0; i < 5; i++) s.command(pub(i % 2 ? 2 : 1, `m${i}`), 0);
    s.receive({ cmd: 'puback', packetId: 1 }, 1); // m0 done
    s.receive({ cmd: 'pubrec', packetId: 2 }, 1); // m1 awaiting PUBCOMP
    const step = reconnect(s, true);
    expect(step.packets.map((p) => [p.cmd, (p as PublishPacket).packetId, (p as PublishPacket).dup])).toEqual([
      ['pubrel', 2, undefined],
      ['publish', 3, true],
      ['publish', 4, true],
      ['publish', 5, true],
    ]);
  });

  it('[MQTT-2.3.1-3] a resent packet keeps its id, which stays reserved until its final ack', () => {
    const s = connected({ cleanSession: false });
    s.command(pub(1), 0);
    reconnect(s, true);
    const fresh = s.command(pub(1), 200).packets[0] as PublishPacket;
    expect(fresh.packetId).toBe(2);
  });

  it('publishes unacked messages again as new (DUP 0) when the server has a new session, and resubscribes', () => {
    const s = connected({ cleanSession: true });
    s.command({ kind: 'subscribe', op: 50, subscriptions: [{ topicFilter: 'a/#', qos: 1 }] }, 0);
    s.receive({ cmd: 'suback', packetId: 1, returnCodes: [1] }, 0);
    s.command(pub(1), 0);
    const step = reconnect(s, false);
    expect(step.packets).toHaveLength(2);
    expect(step.packets[0]).toMatchObject({ cmd: 'subscribe', subscriptions: [{ topicFilter: 'a/#', qos: 1 }] });
    expect(step.packets[1]).toMatchObject({ cmd: 'publish', packetId: 2, dup: false });
    // The resubscribe is the session's own: its SUBACK produces no 'done'.
    const id = (step.packets[0] as { packetId: number }).packetId;
    expect(s.receive({ cmd: 'suback', packetId: id, returnCodes: [1] }, 300).events).toEqual([]);
  });

  it('does not resubscribe when the server resumed the session', () => {
    const s = connected({ cleanSession: false });
    s.command({ kind: 'subscribe', op: 51, subscriptions: [{ topicFilter: 'a', qos: 0 }] }, 0);
    s.receive({ cmd: 'suback', packetId: 1, returnCodes: [0] }, 0);
    expect(reconnect(s, true).packets).toEqual([]);
  });

  it('forgets a subscription at UNSUBACK', () => {
    const s = connected();
    s.command({ kind: 'subscribe', op: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }] }, 0);
    s.receive({ cmd: 'suback', packetId: 1, returnCodes: [0] }, 0);
    s.command({ kind: 'unsubscribe', op: 2, topicFilters: ['a'] }, 0);
    s.receive({ cmd: 'unsuback', packetId: 2 }, 0);
    expect(reconnect(s, false).packets).toEqual([]);
  });

  it('sends queued work after the resend, preserving order', () => {
    const s = connected({ cleanSession: false });
    s.command(pub(1, 'before'), 0);
    s.connectionClosed(1);
    expect(s.command(pub(1, 'offline'), 2).packets).toEqual([]);
    s.open(3);
    const step = s.receive({ cmd: 'connack', sessionPresent: true, returnCode: 0 }, 4);
    expect(step.packets.map((p) => (p as PublishPacket).topic)).toEqual(['before', 'offline']);
  });
});

describe('keep alive', () => {
  it('[MQTT-3.1.2-23] sends PINGREQ when nothing was sent for keepAlive seconds', () => {
    const s = session({ keepAlive: 10 });
    s.open(0);
    s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 0);
    expect(s.deadline()).toBe(10_000);
    expect(s.tick(9_999).packets).toEqual([]);
    expect(s.tick(10_000).packets).toEqual([{ cmd: 'pingreq' }]);
  });

  it('[MQTT-3.1.2-23] any packet sent postpones the PINGREQ', () => {
    const s = session({ keepAlive: 10 });
    s.open(0);
    s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 0);
    s.command(pub(0), 6_000);
    s.receive({ cmd: 'publish', topic: 'x', payload, qos: 0, retain: false, dup: false }, 6_000);
    expect(s.tick(10_000).packets).toEqual([]);
    expect(s.deadline()).toBe(16_000);
    expect(s.tick(16_000).packets).toEqual([{ cmd: 'pingreq' }]);
  });

  it('treats a missing PINGRESP as a dead connection', () => {
    const s = session({ keepAlive: 10, pingTimeout: 2_000 });
    s.open(0);
    s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 0);
    s.tick(10_000);
    expect(s.deadline()).toBe(12_000);
    expect(events(s.tick(12_000), 'close')[0]).toMatchObject({ error: { code: 'PING_TIMEOUT' } });
    expect(s.state).toBe('offline');
  });

  it('a PINGRESP in time keeps the connection', () => {
    const s = session({ keepAlive: 10, pingTimeout: 2_000 });
    s.open(0);
    s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 0);
    s.tick(10_000);
    s.receive({ cmd: 'pingresp' }, 10_500);
    expect(s.tick(12_000).events).toEqual([]);
    expect(s.state).toBe('connected');
  });

  it('keepAlive 0 needs no timer', () => {
    const s = connected({ keepAlive: 0 });
    expect(s.deadline()).toBeUndefined();
  });
});

describe('disconnecting', () => {
  it('[MQTT-3.14.4-2] sends nothing after DISCONNECT', () => {
    const s = connected();
    s.command(pub(1), 0);
    const step = s.disconnect(1);
    expect(cmds(step)).toEqual(['disconnect']);
    expect(events(step, 'failed')[0]).toMatchObject({ error: { code: 'CLIENT_CLOSED' } });
    // Incoming traffic after DISCONNECT is not answered, and commands are refused.
    const pubIn: PublishPacket = { cmd: 'publish', topic: 'x', payload, qos: 1, retain: false, dup: false, packetId: 1 };
    expect(s.receive(pubIn, 2).packets).toEqual([]);
    expect(s.tick(1e9).packets).toEqual([]);
    const refused = s.command(pub(0), 3);
    expect(refused.packets).toEqual([]);
    expect(refused.events[0]).toMatchObject({ type: 'failed', error: { code: 'CLIENT_CLOSED' } });
    s.connectionClosed(4);
    expect(s.state).toBe('closed');
  });

  it('close() fails every queued and in-flight operation with the given error', () => {
    const s = connected({ maxInflight: 1 });
    const a = pub(1);
    const b = pub(1);
    s.command(a, 0);
    s.command(b, 0);
    const err = new ClientError('CONNECTION_LOST', 'gone');
    const step = s.close(err, 1);
    expect(step.events).toEqual([
      { type: 'failed', op: a.op, error: err },
      { type: 'failed', op: b.op, error: err },
    ]);
    expect(s.idle).toBe(true);
  });
});
