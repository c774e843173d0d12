/**
 * Bridges between broker-minis (no external peer): both ways on `#` without amplification, the
 * try_private fallback and echo guard, a single topic remapped, the bound on messages queued
 * for an absent remote, and the core's rule that a bridge client never gets its own messages.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { Decoder, encode, type Packet } from '../../src/codec/index.js';
import { EchoGuard, ECHO_WINDOW_MS } from '../../src/broker-mini/bridge-echo.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import { Broker, startBroker } from '../../src/broker-mini/index.js';
import type { Bridge } from '../../src/broker-mini/bridge.js';
import type { BridgeOptions } from '../../src/broker-mini/bridge-config.js';
import { freePort } from '../helpers/peers.js';
import { bytes, Harness, text } from './harness.js';
import { waitForEvent } from './wait.js';

const HOST = '127.0.0.1';
const opened: Array<Broker | MqttClient> = [];

afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await ('bridges' in x ? x.close() : x.end({ force: true }));
});

/** Resolves when `bridge` is connected (and, the first time, subscribed). */
function bridgeUp(bridge: Bridge): Promise<void> {
  return bridge.connected ? Promise.resolve() : new Promise((resolve) => bridge.once('connect', () => resolve()));
}

async function broker(options: Parameters<typeof startBroker>[0] = {}): Promise<Broker> {
  const b = await startBroker({ port: 0, ...options });
  opened.push(b);
  return b;
}

/** A client of `b` that records "topic payload" of what it receives on `filter`. */
async function recorder(b: Broker, filter = '#'): Promise<{ client: MqttClient; got: string[]; until: (line: string) => Promise<void> }> {
  const client = await connect({ host: HOST, port: b.address.port, reconnect: false });
  opened.push(client);
  const got: string[] = [];
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  client.on('message', (topic, payload) => {
    const line = `${topic} ${text(payload)}`;
    got.push(line);
    for (const w of waiters.filter((x) => x.line === line)) w.resolve();
  });
  await client.subscribe(filter, { qos: 2 });
  const until = (line: string) => (got.includes(line) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ line, resolve })));
  return { client, got, until };
}

function bridgeTo(remote: Broker, extra: Partial<BridgeOptions> = {}): BridgeOptions {
  return { name: 'up', addresses: [`${HOST}:${remote.address.port}`], remoteClientId: 'edge-bridge', restartTimeout: 1, topics: [{ pattern: '#', direction: 'both', qos: 2 }], ...extra };
}

describe('two broker-minis bridged both ways on #', () => {
  it.each([0, 1, 2] as const)('[MQTT-7.0.0-1] QoS %i: one message in, one message out per side, nothing echoed back', async (qos) => {
    const cloud = await broker();
    const edge = await broker({ bridges: [bridgeTo(cloud)] });
    const bridge = edge.bridges[0];
    await bridgeUp(bridge!);
    const atEdge = await recorder(edge);
    const atCloud = await recorder(cloud);
    await atEdge.client.publish('from/edge', 'e', { qos });
    await atCloud.client.publish('from/cloud', 'c', { qos });
    // Markers published after the messages: once both sides have both, any echo would have come first.
    await atEdge.client.publish('marker/edge', 'm', { qos: 2 });
    await atCloud.client.publish('marker/cloud', 'm', { qos: 2 });
    for (const r of [atEdge, atCloud]) await Promise.all(['marker/edge m', 'marker/cloud m'].map((l) => r.until(l)));
    const expected = ['from/cloud c', 'from/edge e', 'marker/cloud m', 'marker/edge m'];
    expect([...atEdge.got].sort()).toEqual(expected);
    expect([...atCloud.got].sort()).toEqual(expected);
    // broker-mini accepts protocol level 0x84 (try_private): the cloud never sends the bridge its
    // own messages back, so the bridge's own echo guard stays off and has nothing to drop.
    expect(bridge!.echoGuard).toBe(false);
    expect(bridge!.stats.echoes).toBe(0);
    expect(bridge!.stats).toMatchObject({ received: 2, dropped: 0 });
  });
});

describe('topic remapping', () => {
  it('maps one local topic to one remote topic with an empty pattern and both prefixes', async () => {
    const cloud = await broker();
    const edge = await broker({ bridges: [bridgeTo(cloud, { topics: [{ pattern: '', direction: 'both', qos: 1, localPrefix: 'lab/temp', remotePrefix: 'site/7/temp' }] })] });
    await bridgeUp(edge.bridges[0]!);
    const atEdge = await recorder(edge);
    const atCloud = await recorder(cloud);
    await atEdge.client.publish('lab/temp', '21', { qos: 1 });
    await atCloud.until('site/7/temp 21');
    await atCloud.client.publish('site/7/temp', '22', { qos: 1 });
    await atEdge.until('lab/temp 22');
    // Other topics stay on their side.
    await atEdge.client.publish('lab/other', 'x', { qos: 1 });
    await atEdge.client.publish('lab/temp', 'last', { qos: 1 });
    await atCloud.until('site/7/temp last');
    expect(atCloud.got.filter((l) => !l.startsWith('site/7/temp 22'))).toEqual(['site/7/temp 21', 'site/7/temp last']);
  });
});

describe('retained messages', () => {
  it('sends the local retained messages of out topics when it connects, keeping RETAIN', async () => {
    const cloud = await broker();
    const arrived = waitForEvent(cloud, 'publish', (topic) => topic === 'site/cfg/a');
    const edge = new Broker({ port: 0, bridges: [bridgeTo(cloud, { topics: [{ pattern: 'cfg/#', qos: 1, localPrefix: '', remotePrefix: 'site/' }] })] });
    opened.push(edge);
    edge.publish('cfg/a', 'v1', { qos: 1, retain: true });
    edge.publish('other/b', 'not bridged', { qos: 1, retain: true });
    await edge.listen();
    const [, packet] = await arrived;
    expect(packet).toMatchObject({ qos: 1, retain: true });
    expect(text(cloud.retained.get('site/cfg/a')!.payload)).toBe('v1');
    expect([...cloud.retained.values()].map((m) => m.topic)).toEqual(['$SYS/broker/connection/edge-bridge/state', 'site/cfg/a']);
  });
});

describe('messages for an absent remote', () => {
  it('keeps QoS 1/2 within maxQueuedMessages and maxQueuedBytes, drops the overflow and QoS 0, and delivers the rest in order', async () => {
    const port = await freePort();
    let open = false;
    const edge = await broker({ maxQueuedMessages: 5, maxQueuedBytes: 1000, bridges: [{ name: 'up', addresses: [`${HOST}:${port}`], remoteClientId: 'edge-bridge', restartTimeout: 1, topics: [{ pattern: 'q/#', qos: 2 }] }] });
    const bridge = edge.bridges[0];
    const pub = await connect({ host: HOST, port: edge.address.port });
    opened.push(pub);
    const big = 'x'.repeat(400);
    for (const n of [1, 2, 3]) await pub.publish('q/big', `${n}${big}`, { qos: 1 });
    for (const n of [4, 5, 6, 7]) await pub.publish('q/small', String(n), { qos: 2 });
    const routed = waitForEvent(edge, 'publish', (topic) => topic === 'q/zero');
    await pub.publish('q/zero', 'qos0', { qos: 0 });
    await routed;
    // 1 and 2 fill 800 of 1000 bytes, 3 does not fit; 4-6 fit the count of 5, 7 does not; QoS 0 is not queued.
    expect(bridge!.stats.dropped).toBe(3);
    // The cloud turns the bridge away (CONNACK 5) until its subscriber is in: no race with the retries.
    const cloud = await broker({ port, authenticate: (c) => c.clientId !== 'edge-bridge' || open });
    const atCloud = await recorder(cloud);
    open = true;
    await bridgeUp(bridge!);
    await atCloud.until('q/small 6');
    expect(atCloud.got.map((l) => l.slice(0, 9))).toEqual([`q/big 1${big.slice(0, 2)}`, `q/big 2${big.slice(0, 2)}`, 'q/small 4', 'q/small 5', 'q/small 6']);
    expect(bridge!.stats.dropped).toBe(3);
  });
});

describe('several addresses', () => {
  it('tries the next address when one cannot be reached', async () => {
    const cloud = await broker();
    const dead = await freePort();
    const edge = await broker({ bridges: [bridgeTo(cloud, { addresses: [`${HOST}:${dead}`, `${HOST}:${cloud.address.port}`] })] });
    const bridge = edge.bridges[0];
    const failed = new Promise<void>((resolve) => bridge!.once('offline', () => resolve()));
    await failed;
    await bridgeUp(bridge!);
    const atCloud = await recorder(cloud);
    const atEdge = await recorder(edge);
    await atEdge.client.publish('via/second', 'ok', { qos: 1 });
    await atCloud.until('via/second ok');
  });
});

describe('stopping', () => {
  it('closes a broker whose bridge is still trying to reach its remote', async () => {
    const port = await freePort();
    const edge = await startBroker({ port: 0, bridges: [{ name: 'up', addresses: [`${HOST}:${port}`], restartTimeout: 60, topics: [{ pattern: '#' }] }] });
    await new Promise<void>((resolve) => edge.bridges[0]!.once('offline', () => resolve()));
    // The next attempt is a minute away: close() must not wait for it.
    await edge.close();
    expect(edge.bridges[0]!.connected).toBe(false);
  });

  it('refuses bridge options it cannot honour before anything starts', async () => {
    await expect(startBroker({ port: 0, bridges: [{ name: 'up', addresses: [], topics: [{ pattern: '#' }] }] })).rejects.toThrow(RangeError);
    await expect(startBroker({ port: 0, bridges: [{ name: 'up', addresses: ['h'], remoteClientId: '', topics: [{ pattern: '#' }] }] })).rejects.toThrow(/remote_clientid/);
  });
});

describe('a client connected as a bridge (protocol level | 0x80)', () => {
  it('[MQTT-7.0.0-1] never gets its own messages back, while other clients do', () => {
    const h = new Harness();
    const bridge = h.open();
    // Straight to the handle: the codec decodes protocol level 4 only.
    bridge.handle.receive({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 0x84, clientId: 'peer', cleanSession: true, keepAlive: 0 }, h.clock.now());
    bridge.take();
    bridge.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }] });
    bridge.take();
    const other = h.subscriber('other', '#');
    bridge.send({ cmd: 'publish', topic: 't', payload: bytes('mine'), qos: 0, retain: false, dup: false });
    expect(bridge.take()).toEqual([]);
    expect(other.takeOne('publish').topic).toBe('t');
    other.send({ cmd: 'publish', topic: 't', payload: bytes('theirs'), qos: 0, retain: false, dup: false });
    expect(text(bridge.takeOne('publish').payload)).toBe('theirs');
  });
});

describe('on the wire, against a scripted remote', () => {
  /** A remote that refuses protocol level 0x84 (CONNACK 1), then accepts and acknowledges; `send` writes to the bridge. */
  async function scriptedRemote(): Promise<{ server: Server; port: number; levels: number[]; send: (packets: Packet[]) => void }> {
    const levels: number[] = [];
    let last: Socket | undefined;
    const server = createServer((socket) => {
      last = socket;
      const decoder = new Decoder();
      let first = true;
      socket.on('data', (chunk: Buffer) => {
        if (first) {
          first = false;
          // 0x10, a one-byte remaining length, "\0\4MQTT", then the protocol level.
          levels.push(chunk[8]!);
          if ((chunk[8]! & 0x80) !== 0) return void socket.end(Buffer.from([0x20, 2, 0, 1]));
        }
        for (const p of decoder.feed(chunk)) {
          if (p.cmd === 'connect') socket.write(encode({ cmd: 'connack', sessionPresent: false, returnCode: 0 }));
          if (p.cmd === 'subscribe') {
            socket.write(encode({ cmd: 'suback', packetId: p.packetId, returnCodes: p.subscriptions.map((x) => x.qos) }));
          }
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const send = (packets: Packet[]) => packets.forEach((p) => last?.write(encode(p)));
    return { server, port: (server.address() as { port: number }).port, levels, send };
  }

  it('[MQTT-7.0.0-1] tries protocol level 0x84 first, then 4 after CONNACK 1; takes only what it subscribed to', async () => {
    const publish = (topic: string): Packet => ({ cmd: 'publish', topic, payload: new TextEncoder().encode(topic), qos: 0, retain: false, dup: false });
    const remote = await scriptedRemote();
    try {
      const edge = await broker({ bridges: [{ name: 'up', addresses: [`${HOST}:${remote.port}`], notifications: false, topics: [{ pattern: 'in/#', direction: 'in', localPrefix: 'lab/', remotePrefix: 'site/' }] }] });
      const bridge = edge.bridges[0];
      const atEdge = await recorder(edge);
      await bridgeUp(bridge!);
      remote.send([publish('not/asked'), publish('site/in/ok')]);
      await atEdge.until('lab/in/ok site/in/ok');
      expect(remote.levels).toEqual([0x84, 4]);
      expect(atEdge.got).toEqual(['lab/in/ok site/in/ok']);
      expect(bridge!.stats).toMatchObject({ received: 1, unexpected: 1 });
    } finally {
      remote.server.close();
    }
  });
});

describe('the echo guard', () => {
  it('drops one incoming copy per message sent, and forgets after its window', () => {
    const guard = new EchoGuard();
    const p = bytes('21.5');
    guard.sent('t', p, 0);
    guard.sent('t', p, 10);
    expect(guard.take('t', p, 20)).toBe(true);
    expect(guard.take('t', p, 20)).toBe(true);
    expect(guard.take('t', p, 20)).toBe(false);
    expect(guard.take('t', bytes('other'), 20)).toBe(false);
    guard.sent('u', p, 100);
    expect(guard.take('u', p, 100 + ECHO_WINDOW_MS + 1)).toBe(false);
  });
});
