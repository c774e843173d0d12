/**
 * Connections share spare decoders (connection.ts): one holds a decoder of its own only while part
 * of a packet is pending. These cases, over real sockets, check that no bytes or errors cross from
 * one connection to another: a partial packet survives other connections' whole packets, and a
 * connection whose input the decoder refused leaves nothing behind for the next one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { encode, type PublishPacket } from '../../src/codec/index.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';

let broker: Broker;
let port: number;

beforeAll(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1' });
  port = broker.address.port;
});
afterAll(async () => {
  await closeAllRawClients();
  await broker.close();
});

const publish = (packetId: number, text: string): PublishPacket => ({
  cmd: 'publish',
  topic: 'share/t',
  qos: 1,
  packetId,
  dup: false,
  retain: false,
  payload: new TextEncoder().encode(text),
});

/** Resolves once `check` holds, testing after every event-loop turn; rejects after `ms`. */
async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setImmediate(r));
  }
}

async function connected(clientId: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  expect((await c.handshake({ clientId })).returnCode).toBe(0);
  return c;
}

describe('decoders shared between connections', () => {
  it('a packet split across chunks is completed while other connections send whole packets', async () => {
    const sub = await connected('share-sub');
    sub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'share/t', qos: 1 }] });
    await sub.expect('suback');
    const a = await connected('share-a');
    const b = await connected('share-b');

    const bytesA = encode(publish(7, 'from a, in two pieces'));
    const half = Math.floor(bytesA.length / 2);
    a.sendBytes(bytesA.subarray(0, half));
    await until(() => broker.memory.partialBytes >= half);
    b.send(publish(9, 'from b, whole'));
    expect((await b.expect('puback')).packetId).toBe(9);
    a.sendBytes(bytesA.subarray(half));
    expect((await a.expect('puback')).packetId).toBe(7);

    const got = [await sub.expect('publish'), await sub.expect('publish')].map((p) => new TextDecoder().decode(p.payload));
    expect(got).toEqual(['from b, whole', 'from a, in two pieces']);
  });

  it('[MQTT-4.8.0-1] a connection refused by the decoder leaves nothing behind for the next one', async () => {
    const bad = await connected('share-bad');
    bad.sendBytes([0x00, 0x00]); // packet type 0 is reserved
    expect(await bad.closesWithin()).toBe(true);

    const good = await connected('share-good');
    good.send(publish(3, 'after the bad one'));
    expect((await good.expect('puback')).packetId).toBe(3);
  });
});
