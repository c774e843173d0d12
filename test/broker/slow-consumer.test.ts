/**
 * A subscriber that stops reading while large QoS 1 messages keep coming, over real sockets:
 * the broker must hold at most `maxQueuedBytes` for it, cut it loose, and keep the publisher and
 * the other subscribers flowing — and the persistent session it leaves behind stays bounded too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../src/codec/index.js';
import { startBroker, type Broker, type CloseReason } from '../../src/broker-mini/index.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';
import { subscribedEvent } from './wait.js';

const MiB = 1024 * 1024;
const LIMITS = { maxQueuedBytes: 4 * MiB, maxPacketSize: 2 * MiB, maxInflight: 100, maxQueuedMessages: 1_000 };
const SIZE = MiB / 2;
const COUNT = 24; // 12 MiB in all: three times the bound

let broker: Broker;
let port: number;
const reasons = new Map<string, CloseReason>();

beforeAll(async () => {
  broker = await startBroker({ port: 0, ...LIMITS });
  port = broker.address.port;
  broker.on('disconnect', (c, r) => reasons.set(c.clientId, r));
});
afterEach(() => closeAllRawClients());
afterAll(() => broker.close());

async function subscriber(clientId: string, cleanSession: boolean): Promise<RawClient> {
  const c = await RawClient.connect(port);
  expect(await c.handshake({ clientId, cleanSession })).toMatchObject({ returnCode: 0 });
  const ready = subscribedEvent(broker, clientId);
  c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'big', qos: 1 }] });
  await c.expect('suback');
  await ready;
  return c;
}

const big = (i: number): PublishPacket => ({ cmd: 'publish', topic: 'big', payload: new Uint8Array(SIZE).fill(i), qos: 1, retain: false, dup: false, packetId: i + 1 });

describe('slow subscriber, large QoS 1 messages', () => {
  it('holds at most maxQueuedBytes for a subscriber that never reads, disconnects it, and keeps everyone else flowing', async () => {
    const slow = await subscriber('slow', false);
    slow.socket.pause(); // never reads, so never acknowledges
    const steady = await subscriber('steady', true);
    const received: number[] = [];
    const reading = (async () => {
      while (received.length < COUNT) {
        const p = await steady.expect('publish', 10_000);
        received.push(p.payload[0]!);
        steady.send({ cmd: 'puback', packetId: p.packetId! });
      }
    })();

    const pub = await RawClient.connect(port);
    await pub.handshake({ clientId: 'big-pub' });
    let maxHeld = 0;
    for (let i = 0; i < COUNT; i++) {
      pub.send(big(i));
      expect(await pub.expect('puback', 10_000)).toEqual({ cmd: 'puback', packetId: i + 1 });
      maxHeld = Math.max(maxHeld, broker.sessionInfo('slow')!.queuedBytes);
    }
    await reading;

    // the bound held at every step, and the slow client was cut loose once it was reached
    expect(maxHeld).toBeLessThanOrEqual(LIMITS.maxQueuedBytes);
    expect(maxHeld).toBeGreaterThan(LIMITS.maxQueuedBytes - SIZE - 4);
    expect(reasons.get('slow')).toBe('queue-full');
    slow.socket.resume(); // a paused socket would never notice the close
    expect(await slow.closesWithin(5_000)).toBe(true);
    // [MQTT-4.6.0-6] the steady subscriber got every message, in order; the publisher every PUBACK
    expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    expect(steady.isClosed).toBe(false);
    expect(pub.isClosed).toBe(false);

    // [MQTT-3.1.2-5] the persistent session stays, within the bound: later messages were dropped and counted
    const info = broker.sessionInfo('slow')!;
    expect(info).toMatchObject({ connected: false, persistent: true });
    expect(info.queuedBytes).toBeLessThanOrEqual(LIMITS.maxQueuedBytes);
    expect(info.dropped).toBe(COUNT - info.inflight - info.queued);

    // [MQTT-4.4.0-1] what it held is delivered when the client returns, in order, DUP=1
    const back = await RawClient.connect(port);
    expect(await back.handshake({ clientId: 'slow', cleanSession: false })).toMatchObject({ sessionPresent: true, returnCode: 0 });
    const held = info.inflight + info.queued;
    for (let i = 0; i < held; i++) {
      const p = await back.expect('publish', 10_000);
      expect(p.payload[0]).toBe(i);
      expect(p.dup).toBe(i < info.inflight); // [MQTT-3.3.1-1] a resent PUBLISH carries DUP=1
      back.send({ cmd: 'puback', packetId: p.packetId! });
    }
    expect(await back.nothingWithin(100)).toBe(true);
  });
});
