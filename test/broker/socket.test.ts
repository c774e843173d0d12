import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from 'node:net';
import { Duplex } from 'node:stream';
import { encode } from '../../src/codec/index.js';
import type { MqttError, PublishPacket } from '../../src/codec/index.js';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import type { BrokerError, ClientInfo } from '../../src/broker-mini/index.js';
import { RawClient, closeAllRawClients, connectPacket } from '../helpers/raw-client.js';
import { rawConnect } from './bytes.js';

let broker: Broker;
let port: number;
const errors: Array<MqttError | BrokerError> = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, connectTimeout: 400, maxPacketSize: 64 * 1024 * 1024 });
  port = broker.address.port;
  broker.on('clientError', (_c, e) => errors.push(e));
});
afterEach(async () => {
  await closeAllRawClients();
  errors.length = 0;
});
afterAll(() => broker.close());

async function client(clientId: string, fields: Parameters<typeof connectPacket>[0] = {}): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const connack = await c.handshake({ clientId, ...fields });
  expect(connack).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
  return c;
}

function subscribed(clientId: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (_s: unknown, c: { clientId: string }) => {
      if (c.clientId !== clientId) return;
      broker.off('subscribe', on);
      resolve();
    };
    broker.on('subscribe', on);
  });
}

describe('over TCP', () => {
  it('[MQTT-7.1.1-1] serves MQTT over a TCP byte stream on the requested address', async () => {
    expect(broker.address.host).toBe('127.0.0.1');
    expect(broker.address.port).toBeGreaterThan(0);
    const c = await client('tcp');
    c.send({ cmd: 'pingreq' });
    expect(await c.next()).toEqual({ cmd: 'pingresp' });
  });

  it('[MQTT-3.1.2-2] answers protocol level 3 with CONNACK 0x01 and closes', async () => {
    const c = await RawClient.connect(port);
    c.sendBytes(rawConnect({ level: 3 }));
    expect(await c.next()).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 1 });
    expect(await c.closesWithin(2_000)).toBe(true);
  });

  it('[MQTT-3.1.2-1] [MQTT-3.2.2-6] closes without any CONNACK when the protocol name is wrong', async () => {
    const c = await RawClient.connect(port);
    c.sendBytes(rawConnect({ name: 'MQXX' }));
    expect(await c.closesWithin(2_000)).toBe(true);
    expect(c.pending).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(['INVALID_PROTOCOL_NAME']);
  });

  it('[MQTT-3.1.4-1] closes without CONNACK when the CONNECT breaks section 3.1 (reserved flag)', async () => {
    const c = await RawClient.connect(port);
    c.sendBytes(rawConnect({ flags: 0x03 }));
    expect(await c.closesWithin(2_000)).toBe(true);
    expect(c.pending).toEqual([]);
    expect(errors).toMatchObject([{ code: 'INVALID_CONNECT_FLAGS', rule: 'MQTT-3.1.2-3' }]);
  });

  it('[MQTT-3.1.0-2] drops a client that sends a second CONNECT', async () => {
    const c = await client('twice');
    c.send(connectPacket({ clientId: 'twice' }));
    expect(await c.closesWithin(2_000)).toBe(true);
    expect(errors).toMatchObject([{ code: 'DUPLICATE_CONNECT', rule: 'MQTT-3.1.0-2' }]);
  });

  it('[MQTT-3.1.4-5] ignores what follows a refused CONNECT in the same write', async () => {
    const c = await RawClient.connect(port);
    const refused = encode(connectPacket({ clientId: '', cleanSession: false }));
    const sneaky = encode({ cmd: 'publish', topic: 'sneaky', payload: new Uint8Array([1]), qos: 0, retain: true, dup: false });
    c.sendBytes(Uint8Array.from([...refused, ...sneaky]));
    expect(await c.next()).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 2 });
    expect(await c.closesWithin(2_000)).toBe(true);
    expect(broker.retained.get('sneaky')).toBeUndefined();
  });

  it('closes a connection that sends no CONNECT within connectTimeout', async () => {
    const c = await RawClient.connect(port);
    expect(await c.closesWithin(3_000)).toBe(true);
    expect(c.pending).toEqual([]);
  });

  it('[MQTT-3.1.2-24] drops a client silent for 1.5 × keepAlive', async () => {
    const c = await client('sleepy', { keepAlive: 1 });
    const started = Date.now();
    expect(await c.closesWithin(5_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
  });

  it('tells disconnect listeners the address of a client that vanished before anything asked who it was', async () => {
    const gone = new Promise<ClientInfo>((resolve) => {
      const on = (c: ClientInfo) => {
        if (c.clientId !== 'vanish') return;
        broker.off('disconnect', on);
        resolve(c);
      };
      broker.on('disconnect', on);
    });
    const c = await client('vanish', { keepAlive: 9 });
    c.destroy();
    expect(await gone).toEqual({ clientId: 'vanish', username: undefined, cleanSession: true, keepAlive: 9, remoteAddress: '127.0.0.1', protocolVersion: 4 });
  });

  it('runs a QoS 2 exchange end to end, exactly once', async () => {
    const sub = await client('q2sub');
    const ready = subscribed('q2sub');
    sub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'q2/#', qos: 2 }] });
    expect(await sub.next()).toEqual({ cmd: 'suback', packetId: 1, returnCodes: [2] });
    await ready;
    const pub = await client('q2pub');
    const msg: PublishPacket = { cmd: 'publish', topic: 'q2/x', payload: new Uint8Array([42]), qos: 2, retain: false, dup: false, packetId: 10 };
    pub.send(msg);
    expect(await pub.next()).toEqual({ cmd: 'pubrec', packetId: 10 });
    pub.send({ ...msg, dup: true }); // a resend before PUBREL: acknowledged, not delivered again
    expect(await pub.next()).toEqual({ cmd: 'pubrec', packetId: 10 });
    pub.send({ cmd: 'pubrel', packetId: 10 });
    expect(await pub.next()).toEqual({ cmd: 'pubcomp', packetId: 10 });
    const got = await sub.expect('publish');
    expect(got).toMatchObject({ topic: 'q2/x', qos: 2, dup: false });
    sub.send({ cmd: 'pubrec', packetId: got.packetId! });
    expect(await sub.next()).toEqual({ cmd: 'pubrel', packetId: got.packetId });
    sub.send({ cmd: 'pubcomp', packetId: got.packetId! });
    expect(await sub.nothingWithin(150)).toBe(true);
  });

  it('decodes packets split into single bytes, and several packets in one write', async () => {
    const c = await RawClient.connect(port);
    const bytes = Uint8Array.from([...encode(connectPacket({ clientId: 'bytewise' })), ...encode({ cmd: 'pingreq' }), ...encode({ cmd: 'pingreq' })]);
    for (const b of bytes) c.sendBytes([b]);
    expect(await c.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
    expect(await c.next()).toEqual({ cmd: 'pingresp' });
    expect(await c.next()).toEqual({ cmd: 'pingresp' });
  });

  it('carries a 4 MiB payload intact', async () => {
    const sub = await client('bigsub');
    const ready = subscribed('bigsub');
    sub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'big', qos: 1 }] });
    await sub.next();
    await ready;
    const payload = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
    const pub = await client('bigpub');
    pub.send({ cmd: 'publish', topic: 'big', payload, qos: 1, retain: false, dup: false, packetId: 1 });
    expect(await pub.next(10_000)).toEqual({ cmd: 'puback', packetId: 1 });
    const got = await sub.expect('publish', 10_000);
    expect(got.payload.length).toBe(payload.length);
    expect(Buffer.from(got.payload).equals(Buffer.from(payload))).toBe(true);
  });

  it('serves any Node Duplex passed to handleConnection', async () => {
    // a pair of in-memory streams wired back to back
    let toBroker!: Duplex;
    const fromBroker: Buffer[] = [];
    const clientSide = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        toBroker.push(chunk);
        cb();
      },
    });
    toBroker = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        fromBroker.push(chunk);
        clientSide.push(chunk);
        cb();
      },
    });
    broker.handleConnection(toBroker);
    const got = new Promise<Buffer>((resolve) => clientSide.once('data', resolve));
    clientSide.write(encode(connectPacket({ clientId: 'duplex' })));
    expect([...(await got)]).toEqual([0x20, 0x02, 0x00, 0x00]); // CONNACK, accepted
    toBroker.destroy();
    clientSide.destroy();
  });
});

describe('closing the broker', () => {
  it('closes every client, stops listening, and can be called twice', async () => {
    const b = await startBroker({ port: 0 });
    const p = b.address.port;
    const c = await RawClient.connect(p);
    await c.handshake({ clientId: 'x' });
    await Promise.all([b.close(), b.close()]);
    expect(await c.closesWithin(2_000)).toBe(true);
    await expect(
      new Promise((resolve, reject) => {
        const s = createConnection({ host: '127.0.0.1', port: p });
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects when the port is taken', async () => {
    await expect(startBroker({ port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
