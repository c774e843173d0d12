/**
 * Listeners as mosquitto has them, in process: several per broker sharing sessions, every
 * interface without an address, mount points, per-listener max_connections and max_qos,
 * per_listener_settings, and TLS with certificate identities (MQTT.js as the TLS client).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import mqtt from 'mqtt';
import { startBroker, type Broker, type ListenerOptions } from '../../src/broker-mini/index.js';
import { closeAllRawClients, RawClient } from '../helpers/raw-client.js';
import { cleanupTempDirs, makeTempDir } from '../helpers/peers.js';
import { text } from './harness.js';
import { makeClientPki } from './pki.js';
import { subscribedEvent } from './wait.js';

const HOST = '127.0.0.1';
let broker: Broker | undefined;

afterEach(async () => {
  await closeAllRawClients();
  await broker?.close();
  broker = undefined;
});
afterAll(() => cleanupTempDirs());

async function start(listeners: ListenerOptions[], more: Parameters<typeof startBroker>[0] = {}): Promise<Broker> {
  broker = await startBroker({ ...more, listeners });
  return broker;
}

const portOf = (b: Broker, i: number) => b.listeners[i]!.address.port;

/** Whether ::1 can be bound here (a container may have IPv6 switched off). */
const HAS_IPV6_LOOPBACK = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});
if (!HAS_IPV6_LOOPBACK) console.warn('listeners.test.ts: ::1 is not available on this machine, skipping the IPv6 socket_domain tests');

describe('listeners', () => {
  it('runs several listeners on one broker, sharing subscriptions; one without an address binds every interface', async () => {
    const b = await start([{ port: 0, host: HOST }, { port: 0 }]);
    expect(b.listeners.map((l) => [l.scheme, l.everyInterface])).toEqual([
      ['mqtt', false],
      ['mqtt', true],
    ]);
    expect(['::', '0.0.0.0']).toContain(b.listeners[1]!.address.host);
    expect(b.address).toEqual(b.listeners[0]!.address);
    const s = await RawClient.connect(portOf(b, 0));
    await s.handshake({ clientId: 's' });
    s.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'x/#', qos: 0 }] });
    await s.expect('suback');
    const p = await RawClient.connect(portOf(b, 1));
    await p.handshake({ clientId: 'p' });
    p.send({ cmd: 'publish', topic: 'x/1', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false });
    const got = await s.expect('publish');
    expect([got.topic, text(got.payload)]).toEqual(['x/1', 'hi']);
  });

  it('socket_domain ipv4 binds 0.0.0.0', async () => {
    const b = await start([{ port: 0, socketDomain: 'ipv4' }]);
    expect(b.listeners[0]!.address.host).toBe('0.0.0.0');
    const c = await RawClient.connect(portOf(b, 0));
    expect((await c.handshake({ clientId: 'v4' })).returnCode).toBe(0);
  });

  it('socket_domain resolves a listener\'s host name in its family: localhost is 127.0.0.1 for ipv4', async () => {
    const b = await start([{ port: 0, host: 'localhost', socketDomain: 'ipv4' }]);
    expect(b.listeners[0]!.address.host).toBe('127.0.0.1');
  });

  describe.skipIf(!HAS_IPV6_LOOPBACK)('over IPv6 (skipped: this machine has no ::1)', () => {
    it('socket_domain ipv6 binds :: for IPv6 only: ::1 connects, 127.0.0.1 is refused', async () => {
      const b = await start([{ port: 0, socketDomain: 'ipv6' }]);
      expect(b.listeners[0]!.address.host).toBe('::');
      const c = await RawClient.connect(portOf(b, 0), { host: '::1' });
      expect((await c.handshake({ clientId: 'v6' })).returnCode).toBe(0);
      await expect(RawClient.connect(portOf(b, 0), { host: HOST })).rejects.toThrow(/ECONNREFUSED/);
    });

    it('socket_domain ipv4 is IPv4 only: ::1 is refused', async () => {
      const b = await start([{ port: 0, socketDomain: 'ipv4' }]);
      await expect(RawClient.connect(portOf(b, 0), { host: '::1' })).rejects.toThrow(/ECONNREFUSED/);
    });
  });

  it('mount_point: a client lives under the prefix, and sees topics without it', async () => {
    const b = await start([{ port: 0, host: HOST }, { port: 0, host: HOST, mountPoint: 'tenant/a/' }]);
    const outside = await RawClient.connect(portOf(b, 0));
    await outside.handshake({ clientId: 'outside' });
    outside.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'tenant/#', qos: 0 }] });
    await outside.expect('suback');
    const inside = await RawClient.connect(portOf(b, 1));
    await inside.handshake({ clientId: 'inside' });
    inside.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'in/#', qos: 0 }] });
    await inside.expect('suback');

    inside.send({ cmd: 'publish', topic: 'status', payload: Buffer.from('up'), qos: 0, retain: false, dup: false });
    expect((await outside.expect('publish')).topic).toBe('tenant/a/status');
    outside.send({ cmd: 'publish', topic: 'tenant/a/in/cmd', payload: Buffer.from('go'), qos: 0, retain: false, dup: false });
    expect((await inside.expect('publish')).topic).toBe('in/cmd');
    // Its subscription is stored under the prefix.
    expect(b.sessionInfo('inside')?.subscriptions).toEqual([{ topicFilter: 'tenant/a/in/#', qos: 0 }]);
  });

  it('max_connections per listener: the next connection on that listener is closed, others are not', async () => {
    const b = await start([{ port: 0, host: HOST, maxConnections: 1 }, { port: 0, host: HOST }]);
    const first = await RawClient.connect(portOf(b, 0));
    expect((await first.handshake({ clientId: 'one' })).returnCode).toBe(0);
    const second = await RawClient.connect(portOf(b, 0));
    expect(await second.closesWithin(5_000)).toBe(true);
    const other = await RawClient.connect(portOf(b, 1));
    expect((await other.handshake({ clientId: 'two' })).returnCode).toBe(0);
  });

  it('max_connections per listener: a closed connection frees its place, once', async () => {
    const b = await start([{ port: 0, host: HOST, maxConnections: 1 }]);
    const open = (): number | undefined => b.listeners[0]?.connectionCount;
    const first = await RawClient.connect(portOf(b, 0));
    expect((await first.handshake({ clientId: 'one' })).returnCode).toBe(0);
    expect(open()).toBe(1);
    first.destroy();
    await expect.poll(open, { timeout: 5_000, interval: 10 }).toBe(0);
    const next = await RawClient.connect(portOf(b, 0));
    expect((await next.handshake({ clientId: 'again' })).returnCode).toBe(0);
    expect(open()).toBe(1);
  });

  it('max_qos: SUBSCRIBE is granted at most that QoS; a PUBLISH above it disconnects (mosquitto 2.0)', async () => {
    const b = await start([{ port: 0, host: HOST, maxQos: 1 }]);
    const c = await RawClient.connect(portOf(b, 0));
    await c.handshake({ clientId: 'q' });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 2 }] });
    expect((await c.expect('suback')).returnCodes).toEqual([1]);
    c.send({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 2, packetId: 5, retain: false, dup: false });
    expect(await c.closesWithin()).toBe(true);
  });

  it('per_listener_settings: each listener has its own users and anonymous policy', async () => {
    const b = await start([
      { port: 0, host: HOST, auth: { allowAnonymous: true } },
      { port: 0, host: HOST, auth: { allowAnonymous: false, users: { alice: 'pw' }, acl: [{ user: 'alice', topic: 'alice/#', access: 'readwrite' }] } },
    ]);
    const anon0 = await RawClient.connect(portOf(b, 0));
    expect((await anon0.handshake({ clientId: 'a0' })).returnCode).toBe(0);
    const anon1 = await RawClient.connect(portOf(b, 1));
    expect((await anon1.handshake({ clientId: 'a1' })).returnCode).toBe(5);
    const alice = await RawClient.connect(portOf(b, 1));
    expect((await alice.handshake({ clientId: 'al', username: 'alice', password: Buffer.from('pw') })).returnCode).toBe(0);
    // Listener 1's ACL applies to alice; listener 0 has none, so a0 may subscribe anywhere.
    alice.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'alice/x', qos: 0 }, { topicFilter: 'bob/x', qos: 0 }] });
    expect((await alice.expect('suback')).returnCodes).toEqual([0, 0x80]);
    anon0.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'bob/x', qos: 0 }] });
    expect((await anon0.expect('suback')).returnCodes).toEqual([0]);
  });

  it('use_username_as_clientid: the user name is the ClientId; without one, CONNACK 5', async () => {
    const b = await start([{ port: 0, host: HOST, useUsernameAsClientId: true }]);
    const named = await RawClient.connect(portOf(b, 0));
    expect((await named.handshake({ clientId: 'ignored', username: 'dev7' })).returnCode).toBe(0);
    expect(b.sessionInfo('dev7')?.connected).toBe(true);
    const anonymous = await RawClient.connect(portOf(b, 0));
    expect((await anonymous.handshake({ clientId: 'x' })).returnCode).toBe(5);
  });

  describe('TLS', () => {
    const pki = makeClientPki(makeTempDir('mqtt311-tls-'));
    const tls = { cert: pki.serverCert, key: pki.serverKey, ca: [pki.ca], requireCertificate: true };

    it('require_certificate + use_identity_as_username: the certificate CN is the user name, no password needed', async () => {
      const b = await start([{ port: 0, host: HOST, tls, useIdentityAsUsername: true }], { allowAnonymous: false, users: { other: 'pw' } });
      expect(b.listeners[0]!.scheme).toBe('mqtts');
      const connected = new Promise<string | undefined>((resolve) => b.once('connect', (c) => resolve(c.username)));
      const client = await mqtt.connectAsync(`mqtts://${HOST}:${portOf(b, 0)}`, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, reconnectPeriod: 0, connectTimeout: 10_000 });
      expect(await connected).toBe('device-1');
      await client.endAsync();
      // Without a client certificate the handshake fails.
      await expect(mqtt.connectAsync(`mqtts://${HOST}:${portOf(b, 0)}`, { ca: pki.ca, reconnectPeriod: 0, connectTimeout: 5_000 })).rejects.toThrow();
    });

    it('a peer that never finishes the TLS handshake is dropped after connectTimeout', async () => {
      const b = await start([{ port: 0, host: HOST, tls }], { connectTimeout: 300 });
      const silent = await RawClient.connect(portOf(b, 0));
      expect(await silent.closesWithin(5_000)).toBe(true);
    });

    it('use_subject_as_username: the whole subject is the user name; WSS serves TLS WebSocket', async () => {
      const b = await start([
        { port: 0, host: HOST, tls, useSubjectAsUsername: true },
        { port: 0, host: HOST, protocol: 'websockets', tls: { cert: pki.serverCert, key: pki.serverKey } },
      ]);
      expect(b.listeners.map((l) => l.scheme)).toEqual(['mqtts', 'wss']);
      const connected = new Promise<string | undefined>((resolve) => b.once('connect', (c) => resolve(c.username)));
      const client = await mqtt.connectAsync(`mqtts://${HOST}:${portOf(b, 0)}`, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, reconnectPeriod: 0 });
      expect(await connected).toBe('CN=device-1,O=mqtt311 tests');
      await client.subscribeAsync('wss/t', { qos: 1 });
      const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
      const ws = await mqtt.connectAsync(`wss://${HOST}:${portOf(b, 1)}`, { ca: pki.ca, reconnectPeriod: 0 });
      await ws.publishAsync('wss/t', 'secure ws', { qos: 1 });
      expect(await got).toBe('secure ws');
      await ws.endAsync();
      await client.endAsync();
    });
  });
});

describe('listeners wait for subscriptions', () => {
  it('a subscription made on a WebSocket listener is served to a TCP publisher', async () => {
    const b = await start([{ port: 0, host: HOST }, { port: 0, host: HOST, protocol: 'websockets', path: '/mqtt' }]);
    expect(b.listeners[1]!.url).toBe(`ws://${HOST}:${portOf(b, 1)}/mqtt`);
    const ws = await mqtt.connectAsync(`ws://${HOST}:${portOf(b, 1)}/mqtt`, { reconnectPeriod: 0, clientId: 'wsc' });
    const subscribed = subscribedEvent(b, 'wsc');
    void ws.subscribeAsync('t');
    await subscribed;
    const got = new Promise<string>((resolve) => ws.once('message', (_t, p) => resolve(p.toString())));
    const p = await RawClient.connect(portOf(b, 0));
    await p.handshake({ clientId: 'p' });
    p.send({ cmd: 'publish', topic: 't', payload: Buffer.from('from tcp'), qos: 0, retain: false, dup: false });
    expect(await got).toBe('from tcp');
    await ws.endAsync();
  });
});
