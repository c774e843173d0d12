/**
 * Broken and hostile clients against a real broker on a real socket: each must lose only its own
 * connection, while a well-behaved pair of clients keeps exchanging messages, and the broker's
 * memory for a client that will not read stays bounded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/index.js';
import type { PublishPacket } from '../../src/codec/index.js';
import { startBroker, type Broker, type CloseReason } from '../../src/broker-mini/index.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';

let broker: Broker;
let port: number;
const reasons = new Map<string, CloseReason>();
const LIMITS = { maxInflight: 10, maxQueuedMessages: 50, maxPacketSize: 64 * 1024, socketHighWaterMark: 64 * 1024 };

beforeAll(async () => {
  broker = await startBroker({ port: 0, connectTimeout: 500, ...LIMITS });
  port = broker.address.port;
  broker.on('disconnect', (c, r) => reasons.set(c.clientId, r));
});
afterEach(() => closeAllRawClients());
afterAll(() => broker.close());

async function client(clientId: string, keepAlive = 0): Promise<RawClient> {
  const c = await RawClient.connect(port);
  expect(await c.handshake({ clientId, keepAlive })).toMatchObject({ returnCode: 0 });
  return c;
}

async function subscribe(c: RawClient, clientId: string, topicFilter: string, qos: 0 | 1 | 2): Promise<void> {
  const ready = new Promise<void>((resolve) => {
    const on = (_s: unknown, info: { clientId: string }) => {
      if (info.clientId === clientId) {
        broker.off('subscribe', on);
        resolve();
      }
    };
    broker.on('subscribe', on);
  });
  c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos }] });
  expect(await c.expect('suback')).toEqual({ cmd: 'suback', packetId: 1, returnCodes: [qos] });
  await ready;
}

const publish = (topic: string, i: number, qos: 0 | 1 = 1, size = 8): PublishPacket =>
  ({ cmd: 'publish', topic, payload: new Uint8Array(size).fill(i & 0xff), qos, retain: false, dup: false, ...(qos ? { packetId: (i % 65_535) + 1 } : {}) }) as PublishPacket;

describe('hostile clients', () => {
  it('[MQTT-4.8.0-1] many bad clients at once lose only their own connections; a good pair keeps flowing, in order', async () => {
    const good = await client('good-sub');
    await subscribe(good, 'good-sub', 'good/#', 1);
    const sender = await client('good-pub');

    const garbage = await RawClient.connect(port); // reserved packet type 0 and noise
    garbage.sendBytes([0x00, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]);
    const huge = await RawClient.connect(port); // announces ~256 MB: refused from the header alone
    huge.sendBytes([0x30, 0xff, 0xff, 0xff, 0x7f]);
    const silent = await RawClient.connect(port); // connects, never sends a byte
    const halfConnect = await RawClient.connect(port); // starts a CONNECT and stops
    halfConnect.sendBytes(encode({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'half', cleanSession: true, keepAlive: 0 }).slice(0, 6));
    const violator = await client('violator'); // sends a server-only packet
    violator.sendBytes(encode({ cmd: 'suback', packetId: 1, returnCodes: [0] }));
    const badTopic = await client('bad-topic'); // wildcard in a PUBLISH topic
    badTopic.sendBytes([0x30, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x23]);
    const badFlags = await client('bad-flags'); // SUBSCRIBE with flags 0000 instead of 0010
    badFlags.sendBytes([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]);
    const zeroId = await client('zero-id'); // QoS 1 PUBLISH with packet id 0
    zeroId.sendBytes([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00]);
    const nul = await client('nul'); // U+0000 in a topic
    nul.sendBytes([0x30, 0x04, 0x00, 0x02, 0x61, 0x00]);

    // The good pair exchanges 200 QoS 1 messages, ten at a time (a burst larger than the
    // subscriber's window and queue would get a subscriber disconnected by design).
    const N = 200;
    const received: number[] = [];
    for (let batch = 0; batch < N / 10; batch++) {
      for (let i = batch * 10; i < batch * 10 + 10; i++) sender.send(publish('good/x', i));
      for (let i = 0; i < 10; i++) {
        const p = await good.expect('publish', 10_000);
        received.push(p.payload[0]!);
        good.send({ cmd: 'puback', packetId: p.packetId! });
        expect(await sender.expect('puback', 10_000)).toMatchObject({ cmd: 'puback' });
      }
    }
    expect(received).toEqual(Array.from({ length: N }, (_, i) => i & 0xff));

    for (const bad of [garbage, huge, violator, badTopic, badFlags, zeroId, nul]) expect(await bad.closesWithin(3_000)).toBe(true);
    // the silent ones are cut by connectTimeout
    expect(await silent.closesWithin(3_000)).toBe(true);
    expect(await halfConnect.closesWithin(3_000)).toBe(true);
    for (const id of ['violator', 'bad-topic', 'bad-flags', 'zero-id', 'nul']) expect(reasons.get(id)).toBe('protocol-error');
    expect(good.isClosed).toBe(false);
    expect(sender.isClosed).toBe(false);
  });

  it('refuses an oversized packet from its header, before buffering the body', async () => {
    const codes: string[] = [];
    broker.on('clientError', (_c, e) => codes.push(e.code));
    const c = await client('too-big');
    // a PUBLISH announcing maxPacketSize + 1 bytes; only the header is ever sent
    const len = LIMITS.maxPacketSize + 1;
    c.sendBytes([0x30, (len & 0x7f) | 0x80, ((len >> 7) & 0x7f) | 0x80, len >> 14]);
    expect(await c.closesWithin(2_000)).toBe(true);
    expect(codes).toEqual(['PACKET_TOO_LARGE']);
  });

  it('disconnects a QoS 1 subscriber that never reads once its queue is full; the queue never exceeds the limit', async () => {
    const slow = await client('slow');
    await subscribe(slow, 'slow', 'flood/#', 1);
    slow.socket.pause(); // never reads again, so never acknowledges
    const fast = await client('fast');
    await subscribe(fast, 'fast', 'flood/#', 0);
    const pub = await client('flooder');
    const total = LIMITS.maxInflight + LIMITS.maxQueuedMessages + 20;
    let maxQueued = 0;
    for (let i = 0; i < total; i++) {
      pub.send(publish('flood/a', i));
      await pub.expect('puback');
      maxQueued = Math.max(maxQueued, broker.sessionInfo('slow')?.queued ?? 0);
    }
    expect(maxQueued).toBeLessThanOrEqual(LIMITS.maxQueuedMessages);
    expect(reasons.get('slow')).toBe('queue-full');
    slow.socket.resume(); // a paused socket would never notice the close
    expect(await slow.closesWithin(3_000)).toBe(true);
    // the others are unaffected: the fast subscriber got every message
    let got = 0;
    while (got < total) {
      await fast.expect('publish', 5_000);
      got++;
    }
    expect(fast.isClosed).toBe(false);
  });

  it('drops QoS 0 messages to a client that does not read, instead of buffering them without bound', async () => {
    const lazy = await client('lazy');
    await subscribe(lazy, 'lazy', 'bulk/#', 0);
    lazy.socket.pause();
    const pub = await client('bulk-pub');
    // 24 MiB of QoS 0 at a client that reads nothing: far more than the socket buffers hold
    const size = 60 * 1024;
    for (let i = 0; i < 400; i++) {
      pub.send(publish('bulk/a', i, 0, size));
      if (i % 20 === 19) {
        pub.send({ cmd: 'pingreq' });
        await pub.expect('pingresp', 10_000);
      }
    }
    const info = broker.sessionInfo('lazy')!;
    expect(info.dropped).toBeGreaterThan(0);
    expect(info.connected).toBe(true);
    // and the broker still answers everyone else promptly
    const probe = await client('probe');
    probe.send({ cmd: 'pingreq' });
    expect(await probe.next()).toEqual({ cmd: 'pingresp' });
  });

  it('keeps serving when a client floods PINGREQs without reading the answers', async () => {
    const flooder = await client('ping-flood');
    flooder.socket.pause();
    const ping = encode({ cmd: 'pingreq' });
    const burst = new Uint8Array(ping.length * 50_000);
    for (let i = 0; i < 50_000; i++) burst.set(ping, i * ping.length);
    for (let i = 0; i < 20; i++) flooder.sendBytes(burst); // 2 MB of PINGREQ → 2 MB of PINGRESP nobody reads
    const probe = await client('probe2');
    probe.send({ cmd: 'pingreq' });
    expect(await probe.next()).toEqual({ cmd: 'pingresp' });
    expect(flooder.isClosed).toBe(false);
  });
});
