/**
 * The in-flight window of the sans-IO session: 20 by default; adaptive with `maxInflight: 'auto'`
 * (starts at 20, widens by one per PUBACK that arrives while it is full, up to 1000, back to 20
 * on a new connection; QoS 2 held at 20); fixed for a number. Plain packets, no sockets.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, PublishPacket } from '../../src/codec/index.js';
import { ClientSession, type SessionOptions } from '../../src/client/core/session.js';
import type { Command } from '../../src/client/core/types.js';
import { resolveOptions } from '../../src/client/core/options.js';

const payload = new Uint8Array([1]);
let nextOp = 1;
const pub = (qos: 1 | 2): Command => ({ kind: 'publish', op: nextOp++, topic: 't', payload, qos, retain: false });

function connected(options: Partial<SessionOptions> = {}): ClientSession {
  const s = new ClientSession({ clientId: 'w', cleanSession: true, keepAlive: 0, maxQueued: 5000, maxInflight: 'auto', ...options });
  s.open(0);
  s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 0);
  return s;
}

/** Issues `n` publishes; returns the packet ids sent at once. */
function publish(s: ClientSession, n: number, qos: 1 | 2 = 1): number[] {
  const sent: Packet[] = [];
  for (let i = 0; i < n; i++) sent.push(...s.command(pub(qos), 0).packets);
  return sent.map((p) => (p as PublishPacket).packetId ?? 0);
}

/** Acknowledges (PUBACK) each id; returns the ids of the PUBLISHes that followed. */
function ack(s: ClientSession, packetIds: number[]): number[] {
  return packetIds.flatMap((packetId) => s.receive({ cmd: 'puback', packetId }, 1).packets.map((p) => (p as PublishPacket).packetId ?? 0));
}

describe("adaptive in-flight window (maxInflight: 'auto')", () => {
  it('starts at 20: the 21st QoS 1 publish waits in the queue', () => {
    const s = connected();
    expect(s.window).toBe(20);
    expect(publish(s, 25)).toHaveLength(20);
    expect(s.counts).toMatchObject({ inflight: 20, queued: 5 });
  });

  it('widens by one per PUBACK received while the window is full: two PUBLISHes follow each', () => {
    const s = connected();
    const first = publish(s, 100);
    expect(ack(s, first.slice(0, 3))).toHaveLength(6);
    expect(s.window).toBe(23);
    expect(s.counts.inflight).toBe(23);
  });

  it('does not widen while the window is not full (nothing waits on it)', () => {
    const s = connected();
    const sent = publish(s, 5);
    ack(s, sent);
    expect(s.window).toBe(20);
  });

  it('grows no further than 1000', () => {
    const s = connected();
    let inFlight = publish(s, 4000);
    for (let round = 0; round < 20 && inFlight.length > 0; round++) inFlight = ack(s, inFlight);
    expect(s.window).toBe(1000);
    expect(s.counts.inflight).toBeLessThanOrEqual(1000);
  });

  it('starts again at 20 on a new connection', () => {
    const s = connected();
    ack(s, publish(s, 200).slice(0, 20));
    expect(s.window).toBe(40);
    s.connectionClosed(2);
    s.open(3);
    s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 3);
    expect(s.window).toBe(20);
  });

  it('keeps QoS 2 at 20 in flight however wide the window has grown', () => {
    const s = connected();
    const first = publish(s, 60);
    const second = ack(s, first);
    ack(s, second);
    expect(s.window).toBeGreaterThan(40);
    expect(s.counts).toMatchObject({ inflight: 0, queued: 0 });
    expect(publish(s, 30, 2)).toHaveLength(20);
    expect(s.counts).toMatchObject({ inflight: 20, queued: 10 });
  });
});

describe('fixed in-flight window (a number, or the default 20)', () => {
  it('never widens, and applies to QoS 2 alike', () => {
    const s = connected({ maxInflight: 30 });
    const sent = publish(s, 100);
    expect(sent).toHaveLength(30);
    expect(ack(s, sent.slice(0, 10))).toHaveLength(10);
    expect(s.window).toBe(30);
    const q2 = connected({ maxInflight: 30 });
    expect(publish(q2, 40, 2)).toHaveLength(30);
  });

  it('is 20 when not given, and never widens then', () => {
    expect(resolveOptions('mqtt://h').session.maxInflight).toBe(20);
    expect(resolveOptions('mqtt://h', { maxInflight: 'auto' }).session.maxInflight).toBe('auto');
    const s = new ClientSession({ clientId: 'd', cleanSession: true, keepAlive: 0 });
    s.open(0);
    s.receive({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 0);
    const sent = publish(s, 50);
    expect(sent).toHaveLength(20);
    expect(ack(s, sent)).toHaveLength(20);
    expect(s.window).toBe(20);
  });
});
