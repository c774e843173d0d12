/**
 * The client over WebSocket in Node (`ws:`/`wss:` on the `ws` package): the chapter 6 rules
 * against a scripted server that shows every frame, then full round trips through broker-mini's
 * WebSocket listener, sharing sessions and retained messages with TCP clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/index.js';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { startWsListener, type WsListener } from '../../src/broker-mini/ws-listener.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import { registerWsTransport, createWsTransport } from '../../src/client/transport-ws.js';
import { cleanupTempDirs } from '../helpers/peers.js';
import { makeCertificate, startScriptedWsServer, until, type ScriptedWsServer } from './helpers.js';

registerWsTransport();

const clients: MqttClient[] = [];
const servers: ScriptedWsServer[] = [];

async function client(url: string, options: Parameters<typeof connect>[1] = {}): Promise<MqttClient> {
  const c = await connect(url, { reconnect: false, connectTimeout: 5000, ...options });
  clients.push(c);
  return c;
}

async function scripted(options: Parameters<typeof startScriptedWsServer>[0] = {}): Promise<ScriptedWsServer> {
  const s = await startScriptedWsServer(options);
  servers.push(s);
  return s;
}

/** The error a failed connect() rejected with. */
async function connectError(url: string, options: Parameters<typeof connect>[1] = {}): Promise<any> {
  try {
    const c = await connect(url, { reconnect: false, connectTimeout: 5000, ...options });
    clients.push(c);
  } catch (error) {
    return error;
  }
  throw new Error('connect() resolved');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end({ force: true }).catch(() => {})));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('chapter 6 rules, against a scripted server', () => {
  it('[MQTT-6.0.0-3] offers the "mqtt" subprotocol in the handshake', async () => {
    const server = await scripted();
    await client(server.url);
    const conn = await server.connection(0);
    expect(conn.offered?.split(',').map((s) => s.trim())).toContain('mqtt');
    expect(conn.ws.protocol).toBe('mqtt');
  });

  it('[MQTT-6.0.0-4] refuses a server that selects no subprotocol', async () => {
    const server = await scripted({ handleProtocols: () => false });
    const error = await connectError(server.url);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(error.cause).toMatchObject({ code: 'PROTOCOL_ERROR', rule: 'MQTT-6.0.0-4' });
  });

  it('[MQTT-6.0.0-4] refuses a server that selects a subprotocol other than "mqtt"', async () => {
    const server = await scripted({ handleProtocols: () => 'mqttv3.1' });
    const error = await connectError(server.url);
    expect(error.cause).toMatchObject({ code: 'PROTOCOL_ERROR', rule: 'MQTT-6.0.0-4' });
    // Nothing was sent over the refused connection: no CONNECT.
    const conn = server.connections[0];
    expect(conn?.packets ?? []).toHaveLength(0);
  });

  it('[MQTT-6.0.0-1] sends every packet in binary frames', async () => {
    const server = await scripted();
    const c = await client(server.url);
    const conn = await server.connection(0);
    const done = c.publish('t/1', 'x'.repeat(70_000), { qos: 0 });
    await done;
    void c.subscribe('a/b').catch(() => {});
    await conn.waitFor('subscribe');
    expect(conn.frames.length).toBeGreaterThanOrEqual(3);
    expect(conn.frames.every((f) => f.isBinary)).toBe(true);
    expect(conn.packets.map((p) => p.cmd)).toEqual(['connect', 'publish', 'subscribe']);
    const publish = conn.packets[1];
    expect(publish!.cmd === 'publish' && publish.payload.length).toBe(70_000);
  });

  it('[MQTT-6.0.0-1] closes the connection when the server sends a text frame', async () => {
    const server = await scripted();
    const c = await client(server.url);
    const conn = await server.connection(0);
    const closed = new Promise<Error | undefined>((resolve) => c.once('close', (error) => resolve(error)));
    conn.ws.send('{"not":"mqtt"}'); // a text frame
    expect(await closed).toMatchObject({ code: 'PROTOCOL_ERROR', rule: 'MQTT-6.0.0-1' });
    expect(await conn.closed).toBe(1003);
  });

  it('[MQTT-6.0.0-2] decodes packets split across frames and several packets in one frame', async () => {
    const server = await scripted({ autoConnack: false });
    const pending = connect(server.url, { reconnect: false, connectTimeout: 5000 });
    const conn = await server.connection(0);
    await conn.waitFor('connect');
    const connack = encode({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    conn.sendBinary(connack.subarray(0, 1)); // CONNACK's first byte alone
    conn.sendBinary(connack.subarray(1, 3));
    conn.sendBinary(connack.subarray(3));
    const c = await pending;
    clients.push(c);
    const messages: string[] = [];
    c.on('message', (topic, payload) => messages.push(`${topic}=${Buffer.from(payload).toString()}`));
    const subscribed = c.subscribe('s/#');
    const subscribe = await conn.waitFor('subscribe');
    // One frame: the SUBACK, a whole PUBLISH, and the first half of another PUBLISH ...
    const suback = encode({ cmd: 'suback', packetId: subscribe.packetId, returnCodes: [0] });
    const p1 = encode({ cmd: 'publish', topic: 's/1', payload: Buffer.from('one'), qos: 0, retain: false, dup: false });
    const p2 = encode({ cmd: 'publish', topic: 's/2', payload: Buffer.from('two'), qos: 0, retain: false, dup: false });
    conn.sendBinary(Buffer.concat([suback, p1, p2.subarray(0, 4)]));
    await subscribed;
    // ... and the rest in the next frame.
    conn.sendBinary(p2.subarray(4));
    await until(() => messages.length === 2);
    expect(messages).toEqual(['s/1=one', 's/2=two']);
  });
  it('passes handshake headers given to createWsTransport', async () => {
    const server = await scripted();
    const transport = createWsTransport({ headers: { 'x-token': 'abc' } });
    await client(server.url, { transport });
    const conn = await server.connection(0);
    expect(conn.headers['x-token']).toBe('abc');
  });
});

describe('through broker-mini over WebSocket', () => {
  let broker: Broker;
  let wsl: WsListener;
  let tcpUrl: string;

  beforeAll(async () => {
    broker = await startBroker({ port: 0, host: '127.0.0.1' });
    wsl = await startWsListener(broker, { port: 0, path: '/mqtt' });
    tcpUrl = `mqtt://127.0.0.1:${broker.address.port}`;
  });
  afterAll(async () => {
    await wsl?.close();
    await broker?.close();
  });

  it('publishes and receives at QoS 0, 1 and 2, with TCP clients on the same broker', async () => {
    const ws = await client(wsl.url);
    const tcp = await client(tcpUrl);
    const atTcp: string[] = [];
    const atWs: string[] = [];
    tcp.on('message', (t, p) => atTcp.push(`${t} ${Buffer.from(p).toString()}`));
    ws.on('message', (t, p) => atWs.push(`${t} ${Buffer.from(p).toString()}`));
    await tcp.subscribe('from-ws/#', { qos: 2 });
    await ws.subscribe('from-tcp/#', { qos: 2 });
    for (const qos of [0, 1, 2] as const) {
      await ws.publish(`from-ws/${qos}`, `w${qos}`, { qos });
      await tcp.publish(`from-tcp/${qos}`, `t${qos}`, { qos });
    }
    await until(() => atTcp.length === 3 && atWs.length === 3);
    expect(atTcp.sort()).toEqual(['from-ws/0 w0', 'from-ws/1 w1', 'from-ws/2 w2']);
    expect(atWs.sort()).toEqual(['from-tcp/0 t0', 'from-tcp/1 t1', 'from-tcp/2 t2']);
  });

  it('delivers payloads as Buffers, and a 1 MiB payload intact both ways', async () => {
    const a = await client(wsl.url);
    const b = await client(wsl.url);
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const got = new Promise<Uint8Array>((resolve) => b.on('message', (_t, p) => resolve(p)));
    await b.subscribe('big', { qos: 1 });
    await a.publish('big', payload, { qos: 1 });
    const received = await got;
    expect(Buffer.isBuffer(received)).toBe(true);
    expect(Buffer.compare(Buffer.from(received), payload)).toBe(0);
  });

  it('shares retained messages and persistent sessions with TCP', async () => {
    const tcp = await client(tcpUrl);
    await tcp.publish('ws-test/retained', 'kept', { qos: 1, retain: true });
    // A WebSocket subscriber gets the retained message published over TCP.
    const ws = await client(wsl.url);
    const retained = new Promise<string>((resolve) => ws.on('message', (t, p, packet) => packet.retain && resolve(`${t} ${Buffer.from(p).toString()}`)));
    await ws.subscribe('ws-test/retained');
    expect(await retained).toBe('ws-test/retained kept');
    await tcp.publish('ws-test/retained', '', { qos: 1, retain: true }); // clear it

    // A persistent session made over WebSocket is resumed over TCP, with what was queued for it.
    const first = await client(wsl.url, { clientId: 'ws-persistent', cleanSession: false });
    await first.subscribe('ws-test/queued', { qos: 1 });
    await first.end();
    await tcp.publish('ws-test/queued', 'while away', { qos: 1 });
    expect(broker.sessionInfo('ws-persistent')).toMatchObject({
      connected: false,
      persistent: true,
      subscriptions: [{ topicFilter: 'ws-test/queued', qos: 1 }],
      queued: 1,
    });
    const again = await client(tcpUrl, { clientId: 'ws-persistent', cleanSession: false });
    expect(again.sessionPresent).toBe(true);
    // The queued message is delivered on the new (TCP) connection.
    await until(() => broker.sessionInfo('ws-persistent')?.queued === 0 && broker.sessionInfo('ws-persistent')?.inflight === 0);
  });

  it('keeps a fast publisher bounded: 200 QoS 1 messages of 64 KiB all arrive in order', async () => {
    const pub = await client(wsl.url, { maxInflight: 20 });
    const sub = await client(wsl.url);
    const seen: number[] = [];
    sub.on('message', (_t, p) => seen.push(Buffer.from(p).readUInt32BE(0)));
    await sub.subscribe('flood', { qos: 1 });
    const body = Buffer.alloc(64 * 1024);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const p = Buffer.from(body);
        p.writeUInt32BE(i, 0);
        return pub.publish('flood', p, { qos: 1 });
      }),
    );
    await until(() => seen.length === 200, 20_000, '200 messages');
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('fails with CONNECT_FAILED when the path is refused (HTTP 400)', async () => {
    const error = await connectError(`ws://127.0.0.1:${wsl.address.port}/elsewhere`);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(error.cause).toMatchObject({ code: 'CONNECT_FAILED' });
  });

  it('fails with CONNECT_FAILED when nothing listens', async () => {
    const closed = await startWsListener(broker, { port: 0 });
    const url = closed.url;
    await closed.close();
    expect(await connectError(url)).toMatchObject({ code: 'CONNECT_FAILED' });
  });

  it('stops a connection attempt when its signal fires', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await connectError(wsl.url, { signal: controller.signal })).toMatchObject({ code: 'ABORTED' });
  });
});

describe('wss:// (TLS)', () => {
  let broker: Broker;
  let wss: WsListener;
  let cert: { key: Buffer; cert: Buffer };

  beforeAll(async () => {
    cert = makeCertificate();
    broker = await startBroker({ port: 0, host: '127.0.0.1' });
    wss = await startWsListener(broker, { port: 0, tls: cert });
  });
  afterAll(async () => {
    await wss?.close();
    await broker?.close();
    cleanupTempDirs();
  });

  it('connects with the CA given, and round-trips a message', async () => {
    expect(wss.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    const c = await client(wss.url, { ca: cert.cert });
    const got = new Promise<string>((resolve) => c.on('message', (_t, p) => resolve(Buffer.from(p).toString())));
    await c.subscribe('secure', { qos: 1 });
    await c.publish('secure', 'over tls', { qos: 1 });
    expect(await got).toBe('over tls');
  });

  it('refuses a certificate it cannot verify', async () => {
    const error = await connectError(wss.url);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(error.cause).toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });
});
