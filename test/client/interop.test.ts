/**
 * Interop with independent implementations, through real brokers: mosquitto_pub/mosquitto_sub,
 * Paho Python and MQTT.js on the other side of mosquitto, and aedes as a second broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { connect, type MqttClient } from '../../src/client/index.js';
import {
  cleanupTempDirs,
  findBinary,
  requirePeer,
  runProcess,
  spawnProcess,
  spawnPython,
  startMosquitto,
  stopAllProcesses,
  type MosquittoHandle,
} from '../helpers/peers.js';
import { until } from './fixtures.js';

const hasMosquitto = requirePeer('mosquitto');
const hasClients = hasMosquitto && requirePeer('mosquitto_sub') && requirePeer('stdbuf', 'apt-get install -y coreutils');
const hasPaho = hasMosquitto && requirePeer('paho');

describe.skipIf(!hasMosquitto)('interop through mosquitto', () => {
  let mosq: MosquittoHandle;
  let url: string;
  const clients: MqttClient[] = [];
  const ours = async () => {
    const c = await connect(url, { reconnect: false });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    mosq = await startMosquitto();
    url = `mqtt://127.0.0.1:${mosq.port}`;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end({ force: true })));
    await mosq?.stop();
    await stopAllProcesses();
    cleanupTempDirs();
  });

  it.skipIf(!hasClients)('[MQTT-7.0.0-2] mosquitto_sub receives what we publish at every QoS', async () => {
    // stdbuf: mosquitto_sub's stdout is block-buffered into a pipe; line buffering shows SUBACK at once.
    const sub = spawnProcess(findBinary('stdbuf')!, ['-oL', findBinary('mosquitto_sub')!, '-h', '127.0.0.1', '-p', String(mosq.port), '-t', 'ms/#', '-q', '2', '-v', '-C', '3', '-d'], { timeoutMs: 20_000 });
    await sub.waitForOutput('SUBACK');
    const c = await ours();
    for (const qos of [0, 1, 2] as const) await c.publish(`ms/${qos}`, `hello ${qos}`, { qos });
    await sub.exited;
    const lines = sub.stdout().split('\n').filter((l) => l.startsWith('ms/'));
    expect(lines).toEqual(['ms/0 hello 0', 'ms/1 hello 1', 'ms/2 hello 2']);
  });

  it.skipIf(!hasClients)('we receive what mosquitto_pub publishes, retained included', async () => {
    const pub = (args: string[]) => runProcess(findBinary('mosquitto_pub')!, ['-h', '127.0.0.1', '-p', String(mosq.port), ...args]);
    expect((await pub(['-t', 'mp/r', '-m', 'kept', '-q', '1', '-r'])).code).toBe(0);
    const c = await ours();
    const got: string[] = [];
    c.on('message', (t, p, packet) => got.push(`${t} ${p.toString()} q${packet.qos}${packet.retain ? ' r' : ''}`));
    await c.subscribe('mp/#', { qos: 2 });
    expect((await pub(['-t', 'mp/x', '-m', 'live', '-q', '2'])).code).toBe(0);
    await until(() => got.length === 2, 5000, 'two messages');
    expect(got).toEqual(['mp/r kept q1 r', 'mp/x live q2']);
    await pub(['-t', 'mp/r', '-n', '-r']);
  });

  it.skipIf(!hasPaho)('[MQTT-7.0.0-2] Paho Python receives what we publish, and we receive what it publishes', async () => {
    const script = `
import sys, paho.mqtt.client as mqtt
port = int(sys.argv[1])
def on_connect(c, u, f, rc): c.subscribe("paho/in", 2)
def on_subscribe(c, u, mid, granted): print("ready", flush=True)
def on_message(c, u, m):
    print("got %s %s q%d" % (m.topic, m.payload.decode(), m.qos), flush=True)
    info = c.publish("paho/out", "reply to " + m.payload.decode(), qos=2)
c = mqtt.Client(client_id="paho-peer", clean_session=True)
c.on_connect = on_connect; c.on_subscribe = on_subscribe; c.on_message = on_message
c.connect("127.0.0.1", port, 30)
c.loop_forever()
`;
    const paho = spawnPython(script, [String(mosq.port)], { timeoutMs: 30_000 });
    await paho.waitForOutput('ready');
    const c = await ours();
    const replies: string[] = [];
    c.handle('paho/out', (m) => void replies.push(`${m.text} q${m.qos}`));
    await c.subscribe('paho/out', { qos: 2 });
    await c.publish('paho/in', 'ping', { qos: 2 });
    await paho.waitForOutput('got paho/in ping q2');
    await until(() => replies.length === 1, 5000, 'the reply');
    expect(replies).toEqual(['reply to ping q2']);
    await paho.stop();
  });

  it('[MQTT-7.0.0-2] MQTT.js and we exchange messages at QoS 1 and 2', async () => {
    const js = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      const fromUs: string[] = [];
      js.on('message', (topic, payload, packet) => fromUs.push(`${topic} ${payload.toString()} q${packet.qos}`));
      await js.subscribeAsync('js/in', { qos: 2 });
      const c = await ours();
      const fromJs: string[] = [];
      c.on('message', (t, p, packet) => fromJs.push(`${t} ${p.toString()} q${packet.qos}`));
      await c.subscribe('js/out', { qos: 2 });
      await c.publish('js/in', 'a', { qos: 1 });
      await c.publish('js/in', 'b', { qos: 2 });
      await js.publishAsync('js/out', 'c', { qos: 2 });
      await until(() => fromUs.length === 2 && fromJs.length === 1, 5000, 'messages both ways');
      expect(fromUs).toEqual(['js/in a q1', 'js/in b q2']);
      expect(fromJs).toEqual(['js/out c q2']);
    } finally {
      await js.endAsync();
    }
  });
});

describe('our client against aedes (a second broker)', () => {
  let aedes: { handle: (socket: unknown) => void; close(cb?: () => void): void };
  let server: Server;
  let url: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const { Aedes } = await import('aedes');
    aedes = (await Aedes.createBroker()) as unknown as typeof aedes;
    server = createServer((socket) => aedes.handle(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end({ force: true })));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('[MQTT-7.0.0-2] round-trips QoS 0, 1 and 2, and delivers retained messages and wills', async () => {
    const a = await connect(url, { reconnect: false, will: { topic: 'ae/will', payload: 'bye', qos: 1 } });
    const b = await connect(url, { reconnect: false });
    clients.push(a, b);
    await a.publish('ae/r', 'kept', { qos: 1, retain: true });
    const got: string[] = [];
    b.on('message', (t, p, packet) => got.push(`${t} ${p.toString()} q${packet.qos}${packet.retain ? ' r' : ''}`));
    await b.subscribe('ae/#', { qos: 2 });
    for (const qos of [0, 1, 2] as const) await a.publish(`ae/${qos}`, `m${qos}`, { qos });
    a.destroy();
    await until(() => got.length === 5, 5000, 'five messages');
    expect(got).toEqual(['ae/r kept q1 r', 'ae/0 m0 q0', 'ae/1 m1 q1', 'ae/2 m2 q2', 'ae/will bye q1']);
  });
});
