/**
 * The mosquitto.conf settings the broker core honours, through its options: client ids,
 * keep-alive bound, message size limit, retain availability, $SYS write protection, QoS
 * upgrade, session expiry, retained-source checks, inflight bytes, and the traffic counters
 * behind $SYS (`broker.stats`, `broker.sysSnapshot()`, the retained $SYS tree).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type Broker, type BrokerOptions } from '../../src/broker-mini/index.js';
import type { Packet, PublishPacket } from '../../src/codec/index.js';
import { closeAllRawClients, RawClient } from '../helpers/raw-client.js';
import { text } from './harness.js';
import { waitForEvent } from './wait.js';

let broker: Broker | undefined;
afterEach(async () => {
  await closeAllRawClients();
  await broker?.close();
  broker = undefined;
});

async function start(options: BrokerOptions): Promise<Broker> {
  broker = await startBroker({ port: 0, host: '127.0.0.1', ...options });
  return broker;
}

async function client(b: Broker, fields: Parameters<RawClient['handshake']>[0] = {}): Promise<RawClient> {
  const c = await RawClient.connect(b.address.port);
  const ack = await c.handshake(fields);
  expect(ack.returnCode).toBe(0);
  return c;
}

async function subscriber(b: Broker, clientId: string, topicFilter: string, qos: 0 | 1 | 2 = 0): Promise<RawClient> {
  const c = await client(b, { clientId });
  c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos }] });
  await c.expect('suback');
  return c;
}

const publish = (topic: string, payload: string, qos: 0 | 1 | 2 = 0, retain = false, packetId?: number): Packet =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false, ...(packetId === undefined ? {} : { packetId }) }) as PublishPacket;

async function connack(b: Broker, fields: Parameters<RawClient['handshake']>[0]): Promise<number> {
  const c = await RawClient.connect(b.address.port);
  return (await c.handshake(fields)).returnCode;
}

describe('client ids and keep-alive', () => {
  it('[MQTT-3.1.3-7] allow_zero_length_clientid false: an empty ClientId gets CONNACK 2', async () => {
    const b = await start({ allowZeroLengthClientId: false });
    expect(await connack(b, { clientId: '' })).toBe(2);
    expect(await connack(b, { clientId: 'named' })).toBe(0);
  });

  it('[MQTT-3.1.3-6] auto_id_prefix: generated ClientIds start with it', async () => {
    const b = await start({ autoIdPrefix: 'auto-' });
    const connected = waitForEvent(b, 'connect');
    expect(await connack(b, { clientId: '' })).toBe(0);
    expect((await connected)[0].clientId).toMatch(/^auto-/);
  });

  it('clientid_prefixes: other ClientIds get CONNACK 5', async () => {
    const b = await start({ clientIdPrefixes: ['secure-'] });
    expect(await connack(b, { clientId: 'secure-1' })).toBe(0);
    expect(await connack(b, { clientId: 'mqtt' })).toBe(5);
  });

  it('max_keepalive: a keep-alive above it, or 0, gets CONNACK 2 as mosquitto 2.0 answers MQTT 3.1.1 clients', async () => {
    const b = await start({ maxKeepalive: 60 });
    expect(await connack(b, { clientId: 'k1', keepAlive: 60 })).toBe(0);
    expect(await connack(b, { clientId: 'k2', keepAlive: 61 })).toBe(2);
    expect(await connack(b, { clientId: 'k3', keepAlive: 0 })).toBe(2);
  });
});

describe('logging', () => {
  it('connection_messages false: no connect and disconnect lines, other lines stay', async () => {
    const log: string[] = [];
    const b = await start({ connectionMessages: false, logger: (l) => log.push(l), allowAnonymous: false, users: { u: 'p' } });
    const gone = waitForEvent(b, 'disconnect');
    await (await client(b, { clientId: 'quiet', username: 'u', password: Buffer.from('p') })).close();
    await gone;
    expect(await connack(b, { clientId: 'anon' })).toBe(5);
    expect(log.some((l) => /^(dis)?connected /.test(l))).toBe(false);
    expect(log.some((l) => /refused anon/.test(l))).toBe(true);
  });
});

describe('publishing limits', () => {
  it('[MQTT-3.3.5-2] message_size_limit: a bigger payload is acknowledged but goes nowhere', async () => {
    const b = await start({ messageSizeLimit: 4 });
    const s = await subscriber(b, 's', 'm/#');
    const p = await client(b, { clientId: 'p' });
    p.send(publish('m/big', 'too long', 1, true, 1));
    expect((await p.expect('puback')).packetId).toBe(1);
    p.send(publish('m/ok', 'ok', 0));
    expect((await s.expect('publish')).topic).toBe('m/ok');
    expect(b.retained.get('m/big')).toBeUndefined();
  });

  it('retain_available false: a PUBLISH with RETAIN=1 disconnects', async () => {
    const b = await start({ retainAvailable: false });
    const errored = waitForEvent(b, 'clientError');
    const p = await client(b, { clientId: 'r' });
    p.send(publish('t', 'x', 0, true));
    expect(await p.closesWithin()).toBe(true);
    expect((await errored)[1]).toMatchObject({ code: 'RETAIN_NOT_AVAILABLE' });
  });

  it('[MQTT-4.7.2-1] $SYS topics belong to the broker: a client PUBLISH there is acknowledged, not routed or retained', async () => {
    const b = await start({});
    const s = await subscriber(b, 's', '$SYS/#');
    const p = await client(b, { clientId: 'p' });
    p.send(publish('$SYS/broker/version', 'forged', 1, true, 3));
    expect((await p.expect('puback')).packetId).toBe(3);
    expect(b.retained.get('$SYS/broker/version')).toBeUndefined();
    b.publish('$SYS/broker/own', 'real');
    expect(text((await s.expect('publish')).payload)).toBe('real');
  });

  it('upgrade_outgoing_qos: delivered at the subscription’s QoS (not [MQTT-3.8.4-6]’s minimum)', async () => {
    const b = await start({ upgradeOutgoingQos: true });
    const s = await subscriber(b, 's', 'u', 1);
    const p = await client(b, { clientId: 'p' });
    p.send(publish('u', 'x', 0));
    expect((await s.expect('publish')).qos).toBe(1);
  });

  it('max_inflight_bytes: one message in flight when the next would pass the bound, the next after the PUBACK', async () => {
    const b = await start({ maxInflightBytes: 12 });
    const s = await subscriber(b, 's', 'f', 1);
    const p = await client(b, { clientId: 'p' });
    for (let i = 0; i < 3; i++) p.send(publish('f', `payload${i}`, 1, false, i + 1)); // 9 + 1 bytes each
    const first = await s.expect('publish');
    expect(text(first.payload)).toBe('payload0');
    expect(await s.nothingWithin(200)).toBe(true);
    s.send({ cmd: 'puback', packetId: first.packetId! });
    expect(text((await s.expect('publish')).payload)).toBe('payload1');
  });
});

describe('sessions and retained messages', () => {
  it('persistent_client_expiration: an offline persistent session older than it is discarded and counted', async () => {
    const b = await start({ persistentClientExpiration: 3600 });
    const c = await client(b, { clientId: 'durable', cleanSession: false });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'd', qos: 1 }] });
    await c.expect('suback');
    const gone = waitForEvent(b, 'disconnect');
    await c.close();
    await gone;
    b.tick(Date.now() + 1_000);
    expect(b.sessionInfo('durable')).toBeDefined();
    b.tick(Date.now() + 3_601_000);
    expect(b.sessionInfo('durable')).toBeUndefined();
    expect(b.stats.sessionsExpired).toBe(1);
  });

  it('check_retain_source: a retained message is not sent once its publisher may no longer publish there', async () => {
    const acls = (open: boolean) => [
      { port: 0, host: '127.0.0.1', auth: { allowAnonymous: true, acl: [{ topic: 'r/#', access: 'readwrite' as const }] } },
      { port: 0, host: '127.0.0.1', auth: { allowAnonymous: true, acl: [{ topic: 'r/#', access: open ? ('readwrite' as const) : ('read' as const) }] } },
    ];
    for (const check of [true, false]) {
      const b = await start({ listeners: acls(false), checkRetainSource: check });
      const [a, other] = b.listeners.map((l) => l.address.port);
      const w1 = await RawClient.connect(a!);
      await w1.handshake({ clientId: 'w' });
      w1.send(publish('r/1', 'kept', 1, true, 1));
      await w1.expect('puback');
      await w1.close();
      // The publisher comes back through the listener whose ACL lets it only read r/#.
      const w2 = await RawClient.connect(other!);
      await w2.handshake({ clientId: 'w' });
      const s = await RawClient.connect(a!);
      await s.handshake({ clientId: 's' });
      s.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r/#', qos: 0 }] });
      await s.expect('suback');
      if (check) expect(await s.nothingWithin(200)).toBe(true);
      else expect(text((await s.expect('publish')).payload)).toBe('kept');
      await closeAllRawClients();
      await b.close();
      broker = undefined;
    }
  });
});

describe('$SYS and broker.stats', () => {
  it('counts packets, publishes and bytes both ways; sysSnapshot reports clients and subscriptions', async () => {
    const b = await start({});
    const s = await subscriber(b, 's', 'c/#', 1);
    const p = await client(b, { clientId: 'p' });
    p.send(publish('c/1', 'abc', 1, false, 1));
    await p.expect('puback');
    const got = await s.expect('publish');
    s.send({ cmd: 'puback', packetId: got.packetId! });
    // s: CONNECT, SUBSCRIBE; p: CONNECT, PUBLISH (PUBACK from s may still be in flight).
    expect(b.stats.publishReceived).toBe(1);
    expect(b.stats.publishBytesReceived).toBe(3);
    expect(b.stats.publishSent).toBe(1);
    expect(b.stats.packetsReceived).toBeGreaterThanOrEqual(4);
    // CONNACK ×2, SUBACK, PUBACK, PUBLISH.
    expect(b.stats.packetsSent).toBe(5);
    expect(b.stats.bytesReceived).toBeGreaterThan(0);
    const snap = b.sysSnapshot();
    expect(snap).toMatchObject({ clientsConnected: 2, clientsTotal: 2, clientsMaximum: 2, subscriptions: 1, publishReceived: 1 });
  });

  it('publishes the retained $SYS/broker/ tree with mosquitto’s topic names every sys_interval', async () => {
    const b = await start({ sysInterval: 1 });
    const c = await client(b, { clientId: 'watcher' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '$SYS/#', qos: 0 }] });
    await c.expect('suback');
    const seen = new Map<string, string>();
    while (!seen.has('$SYS/broker/load/connections/15min')) {
      const m = await c.expect('publish');
      expect(m.retain).toBe(true); // [MQTT-3.3.1-8] retained messages sent on SUBSCRIBE
      seen.set(m.topic, text(m.payload));
    }
    expect(seen.get('$SYS/broker/version')).toMatch(/^mqtt311 version /);
    expect(seen.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/);
    expect(seen.size).toBe(53);
    // The next update arrives live (RETAIN=0 [MQTT-3.3.1-9]) and counts the watcher.
    let live: PublishPacket;
    do live = await c.expect('publish', 3_000);
    while (live.topic !== '$SYS/broker/clients/connected');
    expect([live.retain, text(live.payload)]).toEqual([false, '1']);
  });
});
