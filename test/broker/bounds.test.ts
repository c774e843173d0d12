/**
 * The broker's memory bounds, without sockets: bytes held per session (`maxQueuedBytes`),
 * retained messages server-wide (`maxRetainedMessages`, `maxRetainedBytes`) and offline
 * persistent sessions (`maxOfflineSessions`). Each bound must hold whatever the clients do, and
 * what a bound discards must be counted, never silently lost from a connected client's view.
 */
import { describe, expect, it } from 'vitest';
import type { PublishPacket, QoS } from '../../src/codec/index.js';
import { Session, type SessionEffect } from '../../src/broker-mini/core/session.js';
import { createSessionState, type OutboundMessage } from '../../src/broker-mini/core/session-state.js';
import { connectPacket } from '../helpers/raw-client.js';
import { Harness, bytes, text } from './harness.js';

const T0 = 1_000_000;

/** A message on topic 't' whose payload is `size - 1` bytes, so it is charged `size` bytes. */
const sized = (size: number, qos: QoS = 1): OutboundMessage => ({ topic: 't', payload: new Uint8Array(size - 1), qos, retain: false });

function session(limits: { maxInflight?: number; maxQueuedMessages?: number; maxQueuedBytes: number }): { s: Session; state: ReturnType<typeof createSessionState> } {
  const s = new Session({ maxInflight: 2, maxQueuedMessages: 100, connectTimeout: 1_000, ...limits }, T0);
  s.receive(connectPacket({ clientId: 'c' }), T0);
  const state = createSessionState('c', true);
  s.accept(state, false);
  return { s, state };
}

const publishes = (effects: SessionEffect[]): PublishPacket[] =>
  effects.flatMap((e) => (e.type === 'send' && e.packet.cmd === 'publish' ? [e.packet] : []));

const pub = (topic: string, payload: string, qos: QoS = 1, packetId = 1, retain = false): PublishPacket =>
  ({ cmd: 'publish', topic, payload: bytes(payload), qos, retain, dup: false, ...(qos > 0 ? { packetId } : {}) }) as PublishPacket;

describe('maxQueuedBytes: one session', () => {
  it('charges payload plus topic bytes for queued and inflight messages; PUBACK and PUBREC release them', () => {
    const { s, state } = session({ maxQueuedBytes: 1_000 });
    const [a] = publishes(s.deliver(sized(100)));
    const [b] = publishes(s.deliver(sized(100, 2)));
    s.deliver(sized(100)); // queued behind the window of 2
    expect(state.queuedBytes).toBe(300);
    // the queued message moves into the window: still held, still charged
    expect(publishes(s.receive({ cmd: 'puback', packetId: a!.packetId! }, T0))).toHaveLength(1);
    expect(state.queuedBytes).toBe(200);
    // [MQTT-4.3.3-1] after PUBREC only the packet id is kept
    s.receive({ cmd: 'pubrec', packetId: b!.packetId! }, T0);
    expect(state.queuedBytes).toBe(100);
    s.receive({ cmd: 'pubcomp', packetId: b!.packetId! }, T0);
    expect(state.queuedBytes).toBe(100);
  });

  it('disconnects a connected client (queue-full) rather than hold more than maxQueuedBytes; what it holds stays within the bound', () => {
    const { s, state } = session({ maxInflight: 10, maxQueuedBytes: 250 });
    expect(publishes(s.deliver(sized(100)))).toHaveLength(1);
    expect(publishes(s.deliver(sized(100)))).toHaveLength(1);
    // a third would make 300 bytes: far below maxQueuedMessages, but over the byte bound
    expect(s.deliver(sized(100))).toEqual([{ type: 'close', reason: 'queue-full' }]);
    expect(state.queuedBytes).toBe(200);
    expect(state.inflight.size).toBe(2);
    expect(state.dropped).toBe(1);
  });

  it('counts the queue beyond the window too', () => {
    const { s, state } = session({ maxInflight: 1, maxQueuedBytes: 250 });
    s.deliver(sized(100));
    expect(s.deliver(sized(100))).toEqual([]); // queued
    expect(s.deliver(sized(100))).toEqual([{ type: 'close', reason: 'queue-full' }]);
    expect(state.queue).toHaveLength(1);
    expect(state.queuedBytes).toBe(200);
  });

  it('takes one message larger than the whole bound into an empty session, and nothing beside it', () => {
    const { s, state } = session({ maxQueuedBytes: 50 });
    expect(publishes(s.deliver(sized(80)))).toHaveLength(1);
    expect(state.queuedBytes).toBe(80);
    expect(s.deliver(sized(10))).toEqual([{ type: 'close', reason: 'queue-full' }]);
  });

  it('never charges QoS 0: it is written at once (and bounded by the socket buffer instead)', () => {
    const { s, state } = session({ maxQueuedBytes: 50 });
    for (let i = 0; i < 5; i++) expect(publishes(s.deliver(sized(40, 0)))).toHaveLength(1);
    expect(state.queuedBytes).toBe(0);
  });

  it('with onFull "drop" (retained messages on SUBSCRIBE) drops and counts instead of disconnecting', () => {
    const { s, state } = session({ maxQueuedBytes: 150 });
    s.deliver(sized(100), 'drop');
    expect(s.deliver(sized(100), 'drop')).toEqual([]);
    expect(state.dropped).toBe(1);
    expect(s.phase).toBe('connected');
  });
});

describe('maxQueuedBytes: through the broker', () => {
  it('[MQTT-3.1.2-5] bounds an offline persistent session by bytes: later messages are dropped and counted', () => {
    const h = new Harness({ maxQueuedBytes: 30 });
    h.subscriber('p', 't', 1, { cleanSession: false }).drop();
    const publisher = h.connect({ clientId: 'pub' });
    for (let i = 1; i <= 5; i++) publisher.send(pub('t', `message-${i}`, 1, i)); // 1 + 9 bytes each
    const s = h.core.sessions.get('p')!;
    expect(s.queue.map((m) => text(m.payload))).toEqual(['message-1', 'message-2', 'message-3']);
    expect(s.queuedBytes).toBe(30);
    expect(s.dropped).toBe(2);
  });

  it('[MQTT-3.1.2-4] [MQTT-4.4.0-1] a client disconnected for queue-full keeps its persistent session, and gets what it held on return', () => {
    const h = new Harness({ maxQueuedBytes: 30, maxInflight: 10 });
    const slow = h.subscriber('slow', 't', 1, { cleanSession: false });
    const publisher = h.connect({ clientId: 'pub' });
    for (let i = 1; i <= 4; i++) publisher.send(pub('t', `message-${i}`, 1, i));
    expect(slow.isClosed).toBe(true);
    expect(publisher.take().filter((p) => p.cmd === 'puback')).toHaveLength(4); // the publisher is unaffected
    const held = h.core.sessions.get('slow')!;
    expect(held.queuedBytes).toBe(30);
    const back = h.open().send(connectPacket({ clientId: 'slow', cleanSession: false }));
    const out = back.take();
    expect(out[0]).toEqual({ cmd: 'connack', sessionPresent: true, returnCode: 0 });
    // [MQTT-3.3.1-1] resent with DUP=1, in order
    expect(out.slice(1).map((p) => (p.cmd === 'publish' ? `${text(p.payload)}:${p.dup ? 'dup' : 'new'}` : p.cmd))).toEqual([
      'message-1:dup',
      'message-2:dup',
      'message-3:dup',
    ]);
  });
});

describe('retained messages: server-wide bounds', () => {
  it('[MQTT-3.3.1-7] beyond maxRetainedMessages a new topic is forwarded but not retained; existing topics still update; logged once', () => {
    const log: string[] = [];
    const h = new Harness({ maxRetainedMessages: 2, logger: (l) => log.push(l) });
    const live = h.subscriber('live', '#', 0);
    const publisher = h.connect({ clientId: 'pub' });
    publisher.send(pub('a', 'a1', 0, 0, true), pub('b', 'b1', 0, 0, true), pub('c', 'c1', 0, 0, true), pub('d', 'd1', 0, 0, true));
    expect(live.take().map((p) => (p.cmd === 'publish' ? p.topic : p.cmd))).toEqual(['a', 'b', 'c', 'd']);
    expect([...h.core.retained.values()].map((m) => m.topic)).toEqual(['a', 'b']);
    expect(h.core.stats.retainedRefused).toBe(2);
    expect(log.filter((l) => l.includes('retained store full'))).toHaveLength(1);
    // replacing a topic's message needs no new slot
    publisher.send(pub('a', 'a2', 0, 0, true));
    expect(text(h.core.retained.get('a')!.payload)).toBe('a2');
    // [MQTT-3.3.1-10] clearing one makes room
    publisher.send(pub('b', '', 0, 0, true), pub('c', 'c2', 0, 0, true));
    expect([...h.core.retained.values()].map((m) => `${m.topic}=${text(m.payload)}`)).toEqual(['a=a2', 'c=c2']);
  });

  it('[MQTT-3.3.1-7] beyond maxRetainedBytes the message is not retained and the topic’s older one is removed, so no stale value is handed out', () => {
    const h = new Harness({ maxRetainedBytes: 20 });
    const publisher = h.connect({ clientId: 'pub' });
    publisher.send(pub('a', 'x'.repeat(9), 0, 0, true), pub('b', 'y'.repeat(9), 0, 0, true)); // 10 bytes each
    expect(h.core.retained.bytes).toBe(20);
    publisher.send(pub('a', 'z'.repeat(10), 0, 0, true)); // 11 bytes: 21 in all
    expect(h.core.retained.get('a')).toBeUndefined();
    expect(h.core.retained.bytes).toBe(10);
    expect(h.core.stats.retainedRefused).toBe(1);
    const late = h.connect({ clientId: 'late' });
    late.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '+', qos: 1 }] });
    expect(late.take().map((p) => (p.cmd === 'publish' ? p.topic : p.cmd))).toEqual(['suback', 'b']);
  });
});

describe('maxOfflineSessions', () => {
  it('[MQTT-3.2.2-3] discards the session offline longest: its subscriptions go, and its client finds Session Present 0', () => {
    const h = new Harness({ maxOfflineSessions: 2 });
    for (const id of ['a', 'b', 'c']) h.subscriber(id, `${id}/t`, 1, { cleanSession: false }).drop();
    expect(h.core.sessions.get('a')).toBeUndefined();
    expect(h.core.sessions.offlineCount).toBe(2);
    expect(h.core.stats.offlineSessionsDiscarded).toBe(1);
    expect(h.core.sessions.subscriptionCount).toBe(2);
    // a message for the discarded session has nowhere to go; one for a kept session is queued
    const publisher = h.connect({ clientId: 'pub' });
    publisher.send(pub('a/t', 'lost', 1, 1), pub('b/t', 'kept', 1, 2));
    expect(h.core.sessions.get('b')!.queue).toHaveLength(1);
    const a = h.open().send(connectPacket({ clientId: 'a', cleanSession: false }));
    expect(a.take()[0]).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    const b = h.open().send(connectPacket({ clientId: 'b', cleanSession: false }));
    expect(b.take()[0]).toEqual({ cmd: 'connack', sessionPresent: true, returnCode: 0 });
  });

  it('[MQTT-3.1.2-4] counts only offline sessions: connected clients, and clients that come back, are never discarded', () => {
    const h = new Harness({ maxOfflineSessions: 1 });
    const online = h.subscriber('online', 'o', 1, { cleanSession: false });
    h.subscriber('x', 'x', 1, { cleanSession: false }).drop();
    // x comes back, so it is online again; y going offline leaves one offline session
    const x = h.open().send(connectPacket({ clientId: 'x', cleanSession: false }));
    expect(x.take()[0]).toMatchObject({ sessionPresent: true });
    h.subscriber('y', 'y', 1, { cleanSession: false }).drop();
    expect(h.core.stats.offlineSessionsDiscarded).toBe(0);
    // a takeover passes through offline for an instant and must not cost anyone their session
    const again = h.open().send(connectPacket({ clientId: 'online', cleanSession: false }));
    expect(again.take()[0]).toMatchObject({ sessionPresent: true });
    expect(online.isClosed).toBe(true);
    expect(h.core.stats.offlineSessionsDiscarded).toBe(0);
    expect(h.core.sessions.get('y')).toBeDefined();
  });
});
