/**
 * Regressions found by attacking a running broker over real sockets: inputs that are valid MQTT
 * but extreme (topics of 32,768 levels, more retained messages than a client's queue, one SUBSCRIBE
 * with tens of thousands of filters). Each must be served, or refused per client, without
 * disconnecting anyone else and without growing memory in proportion to a few bytes of input.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import type { PublishPacket, QoS } from '../../src/codec/index.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';
import { waitForEvent } from './wait.js';

let broker: Broker;
let port: number;
const LIMITS = { maxInflight: 10, maxQueuedMessages: 20, maxSubscriptions: 50 };

beforeAll(async () => {
  broker = await startBroker({ port: 0, ...LIMITS });
  port = broker.address.port;
});
afterEach(() => closeAllRawClients());
afterAll(() => broker.close());

async function client(clientId: string, fields: Parameters<RawClient['handshake']>[0] = {}): Promise<RawClient> {
  const c = await RawClient.connect(port);
  expect(await c.handshake({ clientId, ...fields })).toMatchObject({ returnCode: 0 });
  return c;
}

const publish = (topic: string, qos: QoS, packetId: number, retain = false): PublishPacket =>
  ({ cmd: 'publish', topic, payload: new Uint8Array([packetId & 0xff]), qos, retain, dup: false, ...(qos > 0 ? { packetId } : {}) }) as PublishPacket;

/** A topic (or filter) of `n` levels, each `level`. */
const deep = (n: number, level: string): string => Array(n).fill(level).join('/');

describe('extreme but valid input', () => {
  it('[MQTT-4.7.3-3] routes a topic of 32,768 levels (65,535 bytes) to matching deep filters without exhausting the stack', async () => {
    const topic = deep(32_768, ''); // 32,767 '/' separators: the longest topic there is
    expect(topic.length).toBe(32_767);
    const literal = deep(16_384, 'a'); // 32,767 bytes
    const sub = await client('deep-sub');
    sub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: topic, qos: 1 }, { topicFilter: deep(16_384, '+'), qos: 1 }] });
    expect(await sub.expect('suback')).toEqual({ cmd: 'suback', packetId: 1, returnCodes: [1, 1] });

    const pub = await client('deep-pub');
    pub.send(publish(topic, 1, 1));
    expect(await pub.expect('puback')).toEqual({ cmd: 'puback', packetId: 1 });
    expect(await sub.expect('publish')).toMatchObject({ topic });
    pub.send(publish(literal, 1, 2));
    expect(await pub.expect('puback')).toEqual({ cmd: 'puback', packetId: 2 });
    expect(await sub.expect('publish')).toMatchObject({ topic: literal });
    expect(pub.isClosed).toBe(false);
  });

  it('[MQTT-3.1.2-8] publishes a will whose topic has 16,384 levels to a subscriber of that depth', async () => {
    const topic = deep(16_384, 'w');
    const sub = await client('deep-will-sub');
    sub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: deep(16_384, '+'), qos: 0 }] });
    await sub.expect('suback');
    const dying = await client('deep-will', { will: { topic, payload: new Uint8Array([7]), qos: 0, retain: false } });
    dying.destroy();
    expect(await sub.expect('publish')).toMatchObject({ topic, qos: 0 });
  });

  it('[MQTT-3.8.4-1] [MQTT-3.3.1-6] answers a SUBSCRIBE matching more retained messages than the window and queue hold: SUBACK, then what fits; the client stays', async () => {
    const retained = LIMITS.maxInflight + LIMITS.maxQueuedMessages + 15;
    const pub = await client('retainer');
    for (let i = 1; i <= retained; i++) pub.send(publish(`kept/${i}`, 1, i, true));
    for (let i = 1; i <= retained; i++) await pub.expect('puback');

    const sub = await client('late-sub');
    sub.send({ cmd: 'subscribe', packetId: 9, subscriptions: [{ topicFilter: 'kept/#', qos: 1 }] });
    expect(await sub.expect('suback')).toEqual({ cmd: 'suback', packetId: 9, returnCodes: [1] });
    const info = broker.sessionInfo('late-sub')!;
    // the first message that does not fit ends the retained delivery (the rest would not fit either)
    expect(info).toMatchObject({ connected: true, inflight: LIMITS.maxInflight, queued: LIMITS.maxQueuedMessages, dropped: 1 });
    // acknowledging drains the queue: every message that fitted arrives, with RETAIN=1 [MQTT-3.3.1-8]
    for (let i = 0; i < LIMITS.maxInflight + LIMITS.maxQueuedMessages; i++) {
      const p = await sub.expect('publish');
      expect(p.retain).toBe(true);
      sub.send({ cmd: 'puback', packetId: p.packetId! });
    }
    expect(await sub.nothingWithin(100)).toBe(true);
    expect(sub.isClosed).toBe(false);
  });

  it('[MQTT-3.9.3-1] refuses (0x80) new filters beyond maxSubscriptions, in request order; held filters can still be renewed', async () => {
    const c = await client('many-filters');
    const filters = Array.from({ length: LIMITS.maxSubscriptions + 5 }, (_, i) => ({ topicFilter: `f/${i}`, qos: 1 as const }));
    const subscribed = waitForEvent(broker, 'subscribe', (_s, info) => info.clientId === 'many-filters');
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: filters });
    const suback = await c.expect('suback');
    expect(suback.returnCodes).toEqual([...Array(LIMITS.maxSubscriptions).fill(1), ...Array(5).fill(0x80)]);
    const [reported] = await subscribed;
    expect(reported.filter((s) => s.qos === 0x80)).toHaveLength(5);
    expect(broker.sessionInfo('many-filters')!.subscriptions).toHaveLength(LIMITS.maxSubscriptions);

    // an identical filter replaces its subscription [MQTT-3.8.4-3], so it is not a new one
    c.send({ cmd: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'f/0', qos: 2 }, { topicFilter: 'g/new', qos: 0 }] });
    expect(await c.expect('suback')).toEqual({ cmd: 'suback', packetId: 2, returnCodes: [2, 0x80] });
    // after an UNSUBSCRIBE there is room again
    c.send({ cmd: 'unsubscribe', packetId: 3, topicFilters: ['f/1'] });
    await c.expect('unsuback');
    c.send({ cmd: 'subscribe', packetId: 4, subscriptions: [{ topicFilter: 'g/new', qos: 0 }] });
    expect(await c.expect('suback')).toEqual({ cmd: 'suback', packetId: 4, returnCodes: [0] });
  });
});
