/**
 * MQTT over WebSocket with independent implementations:
 * - our client against aedes (a second broker) behind a `ws` server;
 * - MQTT.js and Paho Python (websockets transport) against broker-mini's WebSocket listener,
 *   with our TCP client on the other side.
 * Debian's mosquitto is built without WebSocket support, so it is not used here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { startWsListener, type WsListener } from '../../src/broker-mini/ws-listener.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import { registerWsTransport } from '../../src/client/transport-ws.js';
import { requirePeer, spawnPython, stopAllProcesses, cleanupTempDirs } from '../helpers/peers.js';
import { until } from './helpers.js';

registerWsTransport();

const text = (p: Uint8Array) => Buffer.from(p).toString();

describe('our WebSocket client against aedes', () => {
  let aedes: { handle: (stream: unknown) => void; close(cb?: () => void): void };
  let http: Server;
  let wss: WebSocketServer;
  let url: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const { Aedes } = await import('aedes');
    aedes = (await Aedes.createBroker()) as unknown as typeof aedes;
    http = createServer();
    wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws)));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end({ force: true }).catch(() => {})));
    for (const ws of wss?.clients ?? []) ws.terminate();
    wss?.close();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (aedes ? aedes.close(() => resolve()) : resolve()));
  });

  it('[MQTT-6.0.0-3] connects (offering "mqtt"), subscribes and round-trips QoS 0, 1 and 2', async () => {
    const a = await connect(url, { reconnect: false });
    const b = await connect(url, { reconnect: false });
    clients.push(a, b);
    const got: string[] = [];
    b.on('message', (topic, payload, packet) => got.push(`${topic} q${packet.qos} ${text(payload)}`));
    const granted = await b.subscribe('aedes/#', { qos: 2 });
    expect(granted).toEqual([{ topicFilter: 'aedes/#', refused: false, qos: 2, returnCode: 2 }]);
    for (const qos of [0, 1, 2] as const) await a.publish(`aedes/${qos}`, `hello ${qos}`, { qos });
    await until(() => got.length === 3);
    expect(got.sort()).toEqual(['aedes/0 q0 hello 0', 'aedes/1 q1 hello 1', 'aedes/2 q2 hello 2']);
  });

  it('[MQTT-6.0.0-2] receives a retained 256 KiB payload and many small messages intact', async () => {
    const a = await connect(url, { reconnect: false });
    clients.push(a);
    const big = Buffer.alloc(256 * 1024, 0x5a);
    await a.publish('aedes/big', big, { qos: 1, retain: true });
    const b = await connect(url, { reconnect: false });
    clients.push(b);
    const sizes: number[] = [];
    b.on('message', (_t, p) => sizes.push(p.length));
    await b.subscribe(['aedes/big', 'aedes/small'], { qos: 1 });
    await until(() => sizes.length === 1);
    for (let i = 0; i < 100; i++) await a.publish('aedes/small', `m${i}`, { qos: 1 });
    await until(() => sizes.length === 101);
    expect(sizes[0]).toBe(big.length);
    await a.publish('aedes/big', '', { qos: 1, retain: true });
  });
});

describe('other clients against broker-mini over WebSocket', () => {
  let broker: Broker;
  let wsl: WsListener;
  let tcp: MqttClient;

  beforeAll(async () => {
    broker = await startBroker({ port: 0, host: '127.0.0.1' });
    wsl = await startWsListener(broker, { port: 0, path: '/mqtt' });
    tcp = await connect(`mqtt://127.0.0.1:${broker.address.port}`, { reconnect: false });
  });
  afterAll(async () => {
    await tcp?.end({ force: true });
    await stopAllProcesses();
    cleanupTempDirs();
    await wsl?.close();
    await broker?.close();
  });

  it('[MQTT-6.0.0-4] MQTT.js over ws:// connects (subprotocol "mqtt") and exchanges messages with a TCP client', async () => {
    const js = await mqtt.connectAsync(wsl.url, { reconnectPeriod: 0, connectTimeout: 5000 });
    try {
      const atJs: string[] = [];
      js.on('message', (topic, payload) => atJs.push(`${topic} ${payload.toString()}`));
      const atTcp: string[] = [];
      tcp.on('message', (topic, payload) => atTcp.push(`${topic} ${text(payload)}`));
      await js.subscribeAsync('mqttjs/in', { qos: 1 });
      await tcp.subscribe('mqttjs/out', { qos: 1 });
      await tcp.publish('mqttjs/in', 'to mqtt.js', { qos: 1 });
      await js.publishAsync('mqttjs/out', 'from mqtt.js', { qos: 2 });
      await until(() => atJs.length === 1 && atTcp.length === 1);
      expect(atJs).toEqual(['mqttjs/in to mqtt.js']);
      expect(atTcp).toEqual(['mqttjs/out from mqtt.js']);
    } finally {
      await js.endAsync(true);
    }
  });

  const paho = requirePeer('paho');
  it.skipIf(!paho)('[MQTT-6.0.0-3] Paho Python (transport="websockets", path /mqtt) exchanges messages with a TCP client', async () => {
    const script = `
import sys, paho.mqtt.client as mqtt
port = int(sys.argv[1])
c = mqtt.Client(client_id="paho-ws", clean_session=True, transport="websockets")
c.ws_set_options(path="/mqtt")
def on_connect(client, userdata, flags, rc):
    print("connected", rc, flush=True)
    client.subscribe("paho/in", qos=1)
def on_subscribe(client, userdata, mid, granted):
    print("subscribed", granted[0], flush=True)
def on_message(client, userdata, msg):
    print("got", msg.topic, msg.payload.decode(), flush=True)
    # on_message runs on the network thread: publish and let on_publish see the PUBACK.
    client.publish("paho/out", "from paho", qos=1)
def on_publish(client, userdata, mid):
    print("published", flush=True)
    client.disconnect()
c.on_publish = on_publish
c.on_connect = on_connect
c.on_subscribe = on_subscribe
c.on_message = on_message
c.connect("127.0.0.1", port, 30)
c.loop_forever()
print("done", flush=True)
`;
    const atTcp: string[] = [];
    tcp.on('message', (topic, payload) => atTcp.push(`${topic} ${text(payload)}`));
    await tcp.subscribe('paho/out', { qos: 1 });
    const py = spawnPython(script, [String(wsl.address.port)], { timeoutMs: 30_000 });
    await py.waitForOutput('subscribed', 15_000);
    await tcp.publish('paho/in', 'to paho', { qos: 1 });
    const out = await py.waitForOutput('done', 15_000);
    expect(out).toContain('connected 0');
    expect(out).toContain('got paho/in to paho');
    await until(() => atTcp.length === 1);
    expect(atTcp).toEqual(['paho/out from paho']);
    expect((await py.exited).code).toBe(0);
  });
});
