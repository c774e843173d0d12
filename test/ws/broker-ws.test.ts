/**
 * broker-mini behind its WebSocket listener, seen by raw WebSocket clients: the server side of
 * chapter 6 with the real broker, and one misbehaving WebSocket client never hurting others.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encode, type Packet } from '../../src/codec/index.js';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { startWsListener, type WsListener } from '../../src/broker-mini/ws-listener.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import { registerWsTransport } from '../../src/client/transport-ws.js';
import { RawWsClient, until } from './helpers.js';

registerWsTransport();

let broker: Broker;
let wsl: WsListener;
let tcp: MqttClient;
const raws: RawWsClient[] = [];

async function raw(): Promise<RawWsClient> {
  const c = await RawWsClient.open(wsl.url);
  raws.push(c);
  return c;
}

const CONNECT = (clientId: string, extra: Partial<Extract<Packet, { cmd: 'connect' }>> = {}): Packet => ({
  cmd: 'connect',
  protocolName: 'MQTT',
  protocolLevel: 4,
  clientId,
  cleanSession: true,
  keepAlive: 30,
  ...extra,
});

beforeAll(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1' });
  wsl = await startWsListener(broker, { port: 0 });
  tcp = await connect(`mqtt://127.0.0.1:${broker.address.port}`, { reconnect: false });
});
afterEach(() => {
  for (const c of raws.splice(0)) c.ws.terminate();
});
afterAll(async () => {
  await tcp?.end({ force: true });
  await wsl?.close();
  await broker?.close();
});

describe('broker-mini over WebSocket', () => {
  it('[MQTT-6.0.0-2] accepts a CONNECT sent one byte per frame, and several packets in one frame', async () => {
    const c = await raw();
    const connect = encode(CONNECT('bytewise'));
    for (const byte of connect) c.ws.send(Uint8Array.of(byte));
    expect(await c.next()).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    // SUBSCRIBE and a PUBLISH to the same topic, in one frame: the broker answers both.
    c.ws.send(
      Buffer.concat([
        encode({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'frames/#', qos: 1 }] }),
        encode({ cmd: 'publish', topic: 'frames/a', payload: Buffer.from('both'), qos: 1, packetId: 2, retain: false, dup: false }),
      ]),
    );
    const got = [await c.next(), await c.next(), await c.next()];
    expect(got).toContainEqual({ cmd: 'suback', packetId: 1, returnCodes: [1] });
    expect(got).toContainEqual({ cmd: 'puback', packetId: 2 });
    expect(got.find((p) => p.cmd === 'publish')).toMatchObject({ topic: 'frames/a', qos: 1 });
  });

  it('[MQTT-6.0.0-1] closes a client that sends a text frame; its will is published and other clients carry on', async () => {
    const wills: string[] = [];
    tcp.on('message', (topic, payload) => topic.startsWith('wills/') && wills.push(`${topic} ${Buffer.from(payload).toString()}`));
    await tcp.subscribe('wills/#', { qos: 1 });

    const bad = await raw();
    bad.send(CONNECT('texter', { will: { topic: 'wills/texter', payload: Buffer.from('gone'), qos: 1, retain: false } }));
    expect(await bad.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
    const good = await raw();
    good.send(CONNECT('bystander'));
    expect(await good.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });

    bad.ws.send('{"cmd":"publish"}'); // a text frame
    expect(await bad.closed).toBe(1003);
    // Closing the network connection without DISCONNECT publishes the will (spec 3.1.2.5).
    await until(() => wills.length === 1);
    expect(wills).toEqual(['wills/texter gone']);

    good.send({ cmd: 'pingreq' });
    expect(await good.next()).toEqual({ cmd: 'pingresp' });
  });

  it('closes a client that sends malformed bytes, and reports it, without touching others', async () => {
    const errors: Array<{ code: string; rule?: string | undefined }> = [];
    const onError = (_c: unknown, e: { code: string; rule?: string | undefined }) => errors.push({ code: e.code, rule: e.rule });
    broker.on('clientError', onError);
    try {
      const bad = await raw();
      bad.send(CONNECT('malformed'));
      await bad.next();
      const good = await raw();
      good.send(CONNECT('unaffected'));
      await good.next();
      // A PUBLISH with QoS 3 in its fixed header: malformed [MQTT-3.3.1-4].
      bad.ws.send(Uint8Array.of(0x36, 0x03, 0x00, 0x01, 0x61));
      await bad.closed;
      await until(() => errors.length === 1);
      expect(errors[0]!.code).toBe('INVALID_QOS');
      good.send({ cmd: 'pingreq' });
      expect(await good.next()).toEqual({ cmd: 'pingresp' });
    } finally {
      broker.off('clientError', onError);
    }
  });

  it('DISCONNECT ends the WebSocket normally and publishes no will', async () => {
    const c = await raw();
    c.send(CONNECT('polite', { will: { topic: 'wills/polite', payload: Buffer.from('x'), qos: 0, retain: false } }));
    await c.next();
    const published: string[] = [];
    const onPublish = (topic: string) => published.push(topic);
    broker.on('publish', onPublish);
    try {
      c.send({ cmd: 'disconnect' });
      expect(await c.closed).toBe(1000);
      await new Promise((r) => setTimeout(r, 50));
      expect(published).not.toContain('wills/polite');
    } finally {
      broker.off('publish', onPublish);
    }
  });
});
