/**
 * MQTT.js 5 (npm `mqtt`, MQTT 3.1.1 mode) against the broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { waitForEvent } from './wait.js';

let broker: Broker;
let url: string;
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0 });
  url = `mqtt://127.0.0.1:${broker.address.port}`;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

async function connect(options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ...options });
  clients.push(c);
  return c;
}

function collect(c: MqttClient, n: number): Promise<Array<{ topic: string; payload: string; qos: number; retain: boolean }>> {
  const got: Array<{ topic: string; payload: string; qos: number; retain: boolean }> = [];
  return new Promise((resolve) => {
    c.on('message', (topic, payload, packet) => {
      got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
      if (got.length === n) resolve(got);
    });
  });
}

describe('MQTT.js against the broker', () => {
  it('[MQTT-7.0.0-2] round-trips QoS 0, 1 and 2, and a client receives its own messages', async () => {
    const c = await connect({ clientId: 'js-self' });
    expect(await c.subscribeAsync('js/self/#', { qos: 2 })).toEqual([{ topic: 'js/self/#', qos: 2 }]);
    const got = collect(c, 3);
    await c.publishAsync('js/self/0', 'zero', { qos: 0 });
    await c.publishAsync('js/self/1', 'one', { qos: 1 });
    await c.publishAsync('js/self/2', 'two', { qos: 2 });
    expect(await got).toEqual([
      { topic: 'js/self/0', payload: 'zero', qos: 0, retain: false },
      { topic: 'js/self/1', payload: 'one', qos: 1, retain: false },
      { topic: 'js/self/2', payload: 'two', qos: 2, retain: false },
    ]);
  });

  it('[MQTT-4.6.0-6] delivers 500 concurrent QoS 1 publications in order', async () => {
    const sub = await connect({ clientId: 'js-order-sub' });
    await sub.subscribeAsync('js/order', { qos: 1 });
    const got = collect(sub, 500);
    const pub = await connect({ clientId: 'js-order-pub' });
    await Promise.all(Array.from({ length: 500 }, (_, i) => pub.publishAsync('js/order', String(i), { qos: 1 })));
    expect((await got).map((m) => Number(m.payload))).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('[MQTT-3.2.2-2] [MQTT-3.1.2-5] resumes a clean: false session with what was queued meanwhile', async () => {
    const first = await connect({ clientId: 'js-persist', clean: false });
    await first.subscribeAsync('js/persist', { qos: 1 });
    await first.endAsync();
    broker.publish('js/persist', 'queued-1', { qos: 1 });
    broker.publish('js/persist', 'queued-2', { qos: 1 });
    const second = mqtt.connect(url, { clientId: 'js-persist', clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(second);
    const got = collect(second, 2);
    const [connack] = await new Promise<[mqtt.IConnackPacket]>((resolve) => second.once('connect', (p) => resolve([p])));
    expect(connack.sessionPresent).toBe(true);
    expect((await got).map((m) => m.payload)).toEqual(['queued-1', 'queued-2']);
  });

  it('[MQTT-3.1.2-8] publishes the will when the MQTT.js socket dies', async () => {
    const watcher = await connect({ clientId: 'js-will-watch' });
    await watcher.subscribeAsync('js/will', { qos: 1 });
    const got = collect(watcher, 1);
    const doomed = await connect({ clientId: 'js-doomed', will: { topic: 'js/will', payload: Buffer.from('bye'), qos: 1, retain: false } });
    const gone = waitForEvent(broker, 'disconnect', (c) => c.clientId === 'js-doomed');
    doomed.stream.destroy();
    expect((await gone)[1]).toBe('connection-lost');
    expect(await got).toEqual([{ topic: 'js/will', payload: 'bye', qos: 1, retain: false }]);
  });

  it('[MQTT-3.3.1-9] [MQTT-3.3.1-8] flags retained messages only when sent because of a new subscription', async () => {
    const pub = await connect({ clientId: 'js-ret-pub' });
    await pub.publishAsync('js/ret', 'stored', { qos: 1, retain: true });
    const sub = await connect({ clientId: 'js-ret-sub' });
    const got = collect(sub, 2);
    await sub.subscribeAsync('js/ret', { qos: 1 });
    await pub.publishAsync('js/ret', 'live', { qos: 1, retain: true });
    expect(await got).toEqual([
      { topic: 'js/ret', payload: 'stored', qos: 1, retain: true },
      { topic: 'js/ret', payload: 'live', qos: 1, retain: false },
    ]);
  });
});
