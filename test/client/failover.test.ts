/**
 * `servers` failover against real brokers (broker-mini on free loopback ports), and the refusal
 * of option keys the client does not know.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import { resolveOptions } from '../../src/client/core/index.js';
import { freePort } from '../helpers/peers.js';

const clients: MqttClient[] = [];
const brokers: Broker[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function broker(port = 0): Promise<Broker> {
  const b = await startBroker({ port, host: '127.0.0.1' });
  brokers.push(b);
  return b;
}

function once<T>(client: MqttClient, event: 'server' | 'connect'): Promise<T> {
  return new Promise((resolve) => client.once(event, ((arg: T) => resolve(arg)) as never));
}

describe('servers failover', () => {
  it('tries the servers in order: a refused first server passes to the second, and the first takes over again when it is back', async () => {
    const firstPort = await freePort(); // nothing listens here yet: connection refused
    const second = await broker();
    const client = await connect({
      servers: [{ host: '127.0.0.1', port: firstPort }, `mqtt://127.0.0.1:${second.address.port}`],
      reconnect: { initialDelay: 20, maxDelay: 100, jitter: 0 },
    });
    clients.push(client);
    expect(client.server).toMatchObject({ host: '127.0.0.1', port: second.address.port });
    await client.subscribe('fo/#', { qos: 1 });

    // The first server comes back, the second goes away: the next round starts at the first.
    const first = await broker(firstPort);
    const switched = once<{ port: number }>(client, 'server');
    await second.close();
    brokers.splice(brokers.indexOf(second), 1);
    expect((await switched).port).toBe(firstPort);
    expect(client.server.port).toBe(firstPort);

    // [MQTT-3.1.2-6] a new session on the new server: the client subscribed again by itself.
    const got = new Promise<string>((resolve) => client.once('message', (topic) => resolve(topic)));
    const publisher = await connect(`mqtt://127.0.0.1:${first.address.port}`);
    clients.push(publisher);
    await waitUntil(async () => {
      await publisher.publish('fo/x', 'hi', { qos: 1 });
      return Promise.race([got.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))]);
    });
    expect(await got).toBe('fo/x');
  });

  it('passes over a server that accepts TCP and closes before CONNACK', async () => {
    const closer = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
    try {
      const good = await broker();
      const client = await connect({ servers: [{ host: '127.0.0.1', port: (closer.address() as AddressInfo).port }, { host: '127.0.0.1', port: good.address.port }], reconnect: false });
      clients.push(client);
      expect(client.server.port).toBe(good.address.port);
    } finally {
      closer.close();
    }
  });

  it('rejects the first connect with the last failure when every server refused', async () => {
    const [a, b] = [await freePort(), await freePort()];
    await expect(connect({ servers: [{ host: '127.0.0.1', port: a }, { host: '127.0.0.1', port: b }], reconnect: false })).rejects.toMatchObject({
      code: 'CONNECT_FAILED',
      message: expect.stringContaining(String(b)),
    });
  });

  it('takes one reconnect backoff per full round of servers: s1, s2, delay, s1, s2, delay …', async () => {
    const first = await broker();
    const [p1, p2] = [first.address.port, await freePort()];
    // One timeline: each connection attempt (from the client's logger), and each backoff delay
    // taken (the 'reconnect' event fires when a delay has run out; its number is the backoff's count).
    const timeline: string[] = [];
    const client = await connect({
      servers: [{ host: '127.0.0.1', port: p1 }, { host: '127.0.0.1', port: p2 }],
      reconnect: { initialDelay: 5, factor: 2, jitter: 0, maxAttempts: 3 },
      logger: (line) => {
        const port = /connecting to mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(line)?.[1];
        if (port !== undefined) timeline.push(port === String(p1) ? 's1' : port === String(p2) ? 's2' : port);
      },
    });
    clients.push(client);
    client.on('offline', () => timeline.push('offline'));
    client.on('reconnect', (attempt) => timeline.push(`delay ${attempt}`));
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    // Both servers now unreachable: the client retries round after round until maxAttempts rounds failed.
    await first.close();
    brokers.splice(brokers.indexOf(first), 1);
    await ended;
    expect(timeline).toEqual(['s1', 'offline', 'delay 1', 's1', 's2', 'delay 2', 's1', 's2', 'delay 3', 's1', 's2']);
  });

  it('settles every entry: URLs, objects taking the client protocol, and refuses an entry without a host', () => {
    const resolved = resolveOptions({ protocol: 'mqtts', servers: [{ host: 'a' }, { host: 'b', port: 1 }, 'mqtt://c:2'] });
    expect(resolved.servers.map((s) => s.url.href)).toEqual(['mqtts://a:8883', 'mqtts://b:1', 'mqtt://c:2']);
    expect(resolved.host).toBe('a');
    expect(() => resolveOptions({ servers: [{ port: 1 } as never] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => resolveOptions({ servers: [] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => resolveOptions({ servers: [{ host: 'a', hostname: 'b' } as never] })).toThrow(/servers\[0\]\.hostname/);
  });
});

async function waitUntil(attempt: () => Promise<boolean>, tries = 50): Promise<void> {
  for (let i = 0; i < tries; i++) if (await attempt()) return;
  throw new Error('condition not met');
}

describe('no silent options', () => {
  it('refuses an unknown key with INVALID_OPTIONS naming it', () => {
    expect(() => resolveOptions({ colour: 'blue' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: 'unknown option colour' }));
    expect(() => resolveOptions('mqtt://h', { qos: 1 } as never)).toThrow(/unknown option qos/);
  });

  it.each([
    ['keepalive', 'did you mean keepAlive?'],
    ['clean', 'did you mean cleanSession?'],
    ['reconnectPeriod', 'use reconnect: { initialDelay }'],
    ['cleansession', 'did you mean cleanSession?'],
  ])('names ours for the MQTT.js option %s', (key, hint) => {
    expect(() => resolveOptions({ [key]: 1 } as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(`${key} — ${hint}`) }));
  });

  it('accepts protocolVersion 3 or 4 and refuses 5 as MQTT 5', () => {
    expect(resolveOptions({ protocolVersion: 3 }).protocolVersion).toBe(3);
    expect(resolveOptions({}).protocolVersion).toBe(4);
    expect(() => resolveOptions({ protocolVersion: 5 } as never)).toThrow(/MQTT 5 is not supported/);
  });

  it('refuses MQTT.js servers: [...] rather than connecting to localhost with defaults', async () => {
    await expect(connect({ servers: [{ hostname: '127.0.0.1', port: 1 }] } as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});
