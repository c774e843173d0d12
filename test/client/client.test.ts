/**
 * The client shell (timers, transport, promises, events) against a scripted server.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encode, type PublishPacket, type SubscribePacket } from '../../src/codec/index.js';
import { createClient, type MqttClient } from '../../src/client/core/index.js';
import type { ClientOptions } from '../../src/client/core/options.js';
import { ConnackError } from '../../src/client/errors.js';
import { surfaceError } from '../../src/client/core/api.js';
import { connectScripted, scripted, type ScriptedConnection } from './scripted.js';

const clients: MqttClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  vi.unstubAllGlobals();
});

/** Connects a client to a fresh scripted server and accepts its CONNECT. */
async function setup(options: ClientOptions = {}, sessionPresent = false) {
  const connected = await connectScripted({ reconnect: { initialDelay: 20, jitter: 0 }, clientId: 'c', ...options }, sessionPresent);
  clients.push(connected.client);
  return connected;
}

const incoming = (qos: 0 | 1 | 2, packetId?: number, topic = 't'): PublishPacket => ({
  cmd: 'publish', topic, payload: new TextEncoder().encode('hi'), qos, retain: false, dup: false, ...(packetId ? { packetId } : {}),
});

const waitFor = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('connect', () => {
  it('[MQTT-3.1.0-1] sends CONNECT first and resolves at CONNACK 0 with sessionPresent', async () => {
    const { conn, client } = await setup({ cleanSession: false, keepAlive: 30, username: 'u', password: 'pw' }, true);
    expect(conn.received[0]).toMatchObject({ cmd: 'connect', clientId: 'c', cleanSession: false, keepAlive: 30, username: 'u' });
    expect(client.connected).toBe(true);
    expect(client.sessionPresent).toBe(true);
  });

  it('messages arriving in the same chunk as CONNACK reach listeners attached right after connect resolves', async () => {
    const server = scripted();
    const pending = createClient('mqtt://test', { transport: server.factory, cleanSession: false, clientId: 'resume' });
    const conn = await server.next();
    await conn.expect('connect');
    const bytes = [encode({ cmd: 'connack', sessionPresent: true, returnCode: 0 }), encode(incoming(1, 1, 'queued'))];
    conn.send(Uint8Array.from(bytes.flatMap((b) => [...b])));
    const client = await pending;
    clients.push(client);
    const got = new Promise<string>((resolve) => client.on('message', (topic) => resolve(topic)));
    expect(await got).toBe('queued');
    expect(await conn.expect('puback')).toEqual({ cmd: 'puback', packetId: 1 });
  });

  it('rejects with ConnackError naming the return code', async () => {
    const server = scripted();
    const pending = createClient('mqtt://test', { transport: server.factory });
    const conn = await server.next();
    await conn.accept(false, 5);
    const error = await pending.catch((e) => e);
    expect(error).toBeInstanceOf(ConnackError);
    expect(error).toMatchObject({ code: 'CONNACK_REFUSED', returnCode: 5, message: 'CONNACK 5: not authorized' });
    await waitFor(() => conn.closed);
  });

  it('rejects with CONNECT_TIMEOUT when no CONNACK comes', async () => {
    const server = scripted();
    const error = await createClient('mqtt://test', { transport: server.factory, connectTimeout: 150 }).catch((e) => e);
    expect(error).toMatchObject({ code: 'CONNECT_TIMEOUT' });
    expect(server.connections[0]!.closed).toBe(true);
  });

  it('rejects with CONNECT_FAILED when the transport cannot open', async () => {
    const server = scripted();
    server.refuse = true;
    const error = await createClient('mqtt://test', { transport: server.factory }).catch((e) => e);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', cause: { code: 'ECONNREFUSED' } });
  });

  it('rejects with ABORTED when the signal fires before CONNACK', async () => {
    const server = scripted();
    const ac = new AbortController();
    const pending = createClient('mqtt://test', { transport: server.factory, signal: ac.signal });
    const conn = await server.next();
    await conn.expect('connect');
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    await waitFor(() => conn.closed);
  });

  it('rejects with INVALID_OPTIONS for an unregistered protocol', async () => {
    await expect(createClient('gopher://x')).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });

  it('logs packets with the password redacted', async () => {
    const lines: string[] = [];
    const { client } = await setup({ username: 'user', password: 'hunter2', logger: (l) => lines.push(l) });
    await client.publish('t', 'payload');
    const text = lines.join('\n');
    expect(text).toMatch(/send CONNECT/);
    expect(text).toMatch(/recv CONNACK/);
    expect(text).toMatch(/send PUBLISH/);
    expect(text).not.toContain('hunter2');
  });
});

describe('publish, subscribe, unsubscribe', () => {
  it('[MQTT-3.3.2-2] [MQTT-4.7.1-1] rejects a wildcard topic with the codec error before sending', async () => {
    const { conn, client } = await setup();
    await expect(client.publish('a/+', 'x')).rejects.toMatchObject({ name: 'MqttError', code: 'INVALID_TOPIC', rule: 'MQTT-4.7.1-1' });
    await expect(client.publish('a', 'x', { qos: 3 as 0 })).rejects.toMatchObject({ code: 'INVALID_QOS', rule: 'MQTT-3.3.1-4' });
    await expect(client.subscribe('a/#/b')).rejects.toMatchObject({ code: 'INVALID_TOPIC_FILTER' });
    await expect(client.subscribe([])).rejects.toMatchObject({ code: 'EMPTY_SUBSCRIPTION_LIST', rule: 'MQTT-3.8.3-3' });
    await expect(client.unsubscribe([])).rejects.toMatchObject({ code: 'EMPTY_SUBSCRIPTION_LIST', rule: 'MQTT-3.10.3-2' });
    expect(conn.received.map((p) => p.cmd)).toEqual(['connect']);
  });

  it('resolves QoS 1 at PUBACK and QoS 2 at PUBCOMP', async () => {
    const { conn, client } = await setup();
    let done1 = false;
    const p1 = client.publish('t', 'a', { qos: 1 }).then(() => (done1 = true));
    const pub1 = (await conn.expect('publish')) as PublishPacket;
    await new Promise((r) => setTimeout(r, 20));
    expect(done1).toBe(false);
    conn.send({ cmd: 'puback', packetId: pub1.packetId! });
    await p1;
    let done2 = false;
    const p2 = client.publish('t', 'b', { qos: 2 }).then(() => (done2 = true));
    const pub2 = (await conn.expect('publish')) as PublishPacket;
    conn.send({ cmd: 'pubrec', packetId: pub2.packetId! });
    expect(await conn.expect('pubrel')).toEqual({ cmd: 'pubrel', packetId: pub2.packetId });
    expect(done2).toBe(false);
    conn.send({ cmd: 'pubcomp', packetId: pub2.packetId! });
    await p2;
  });

  it('reports each SUBACK result, with refusals as refused: true', async () => {
    const { conn, client } = await setup();
    const pending = client.subscribe({ a: 1, b: 2 });
    const sub = (await conn.expect('subscribe')) as SubscribePacket;
    expect(sub.subscriptions).toEqual([{ topicFilter: 'a', qos: 1 }, { topicFilter: 'b', qos: 2 }]);
    conn.send({ cmd: 'suback', packetId: sub.packetId, returnCodes: [1, 0x80] });
    expect(await pending).toEqual([
      { topicFilter: 'a', refused: false, qos: 1, returnCode: 1 },
      { topicFilter: 'b', refused: true, qos: undefined, returnCode: 0x80 },
    ]);
    const unsub = client.unsubscribe('a');
    const u = await conn.expect('unsubscribe');
    conn.send({ cmd: 'unsuback', packetId: (u as { packetId: number }).packetId });
    await unsub;
  });

  it('an AbortSignal withdraws a publish that has not been sent yet', async () => {
    const { conn, client } = await setup({ maxInflight: 1 });
    void client.publish('t', 'first', { qos: 1 });
    const ac = new AbortController();
    const second = client.publish('t', 'second', { qos: 1, signal: ac.signal });
    ac.abort();
    await expect(second).rejects.toMatchObject({ code: 'ABORTED' });
    const first = (await conn.expect('publish')) as PublishPacket;
    conn.send({ cmd: 'puback', packetId: first.packetId! });
    await new Promise((r) => setTimeout(r, 50));
    expect(conn.received.filter((p) => p.cmd === 'publish')).toHaveLength(1);
    await expect(client.publish('t', 'x', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('resolves QoS 0 only once a backed-up transport drains', async () => {
    const { conn, client } = await setup();
    conn.writeResult = false;
    let done = false;
    const p = client.publish('t', 'x').then(() => (done = true));
    await conn.expect('publish');
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    conn.drain();
    await p;
  });
});

describe('incoming messages', () => {
  it('delivers to the message event, matching handlers and messages() streams', async () => {
    const { conn, client } = await setup();
    const events: string[] = [];
    client.on('message', (topic, payload) => events.push(`event ${topic} ${new TextDecoder().decode(payload)}`));
    client.handle('a/+', (m) => void events.push(`handler ${m.topic} ${m.text}`));
    client.handle('other', () => void events.push('wrong'));
    const stream = client.messages('a/#');
    conn.send(incoming(1, 1, 'a/b'));
    const first = await stream.next();
    expect(first.value?.topic).toBe('a/b');
    expect(events).toEqual(['event a/b hi', 'handler a/b hi']);
    await client.end();
    expect((await stream.next()).done).toBe(true);
  });

  it('[MQTT-4.5.0-2] a throwing handler surfaces as an error event, and the message is still acknowledged', async () => {
    const { conn, client } = await setup();
    const boom = new Error('handler bug');
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    client.handle('t', () => {
      throw boom;
    });
    client.on('message', () => {
      throw boom;
    });
    client.handle('t', async () => Promise.reject(boom));
    conn.send(incoming(1, 5));
    expect(await conn.expect('puback')).toEqual({ cmd: 'puback', packetId: 5 });
    conn.send(incoming(2, 6));
    expect(await conn.expect('pubrec')).toEqual({ cmd: 'pubrec', packetId: 6 });
    await waitFor(() => errors.length === 6);
    expect(errors.every((e) => (e as { code: string; cause: unknown }).code === 'HANDLER_ERROR' && (e as { cause: unknown }).cause === boom)).toBe(true);
  });

  it('with no error listener, a handler error is rethrown as an uncaught exception, never swallowed', () => {
    const tasks: Array<() => void> = [];
    vi.stubGlobal('queueMicrotask', (fn: () => void) => tasks.push(fn));
    const fakeEmitter = { listenerCount: () => 0, emit: () => true } as never;
    const error = new Error('unheard');
    surfaceError(fakeEmitter, error);
    expect(tasks).toHaveLength(1);
    expect(() => tasks[0]!()).toThrow(error);
  });

  it('[MQTT-4.3.3-2] a QoS 2 message resent by the server reaches the application once', async () => {
    const { conn, client } = await setup();
    const got: string[] = [];
    client.on('message', (t) => got.push(t));
    conn.send(incoming(2, 9));
    conn.send({ ...incoming(2, 9), dup: true });
    await conn.expect('pubrec');
    await conn.expect('pubrec');
    conn.send({ cmd: 'pubrel', packetId: 9 });
    await conn.expect('pubcomp');
    expect(got).toEqual(['t']);
  });
});

describe('keep alive and reconnect', () => {
  it('[MQTT-3.1.2-23] sends PINGREQ when idle; no PINGRESP → reconnect', async () => {
    const { server, conn, client } = await setup({ keepAlive: 1, pingTimeout: 300 });
    const seen: string[] = [];
    client.on('offline', () => seen.push('offline'));
    client.on('reconnect', () => seen.push('reconnect'));
    client.on('close', (e) => seen.push(`close ${(e as { code?: string })?.code}`));
    await conn.expect('pingreq', 3000);
    const second = await server.next(3000);
    expect(conn.closed).toBe(true);
    await second.accept();
    await waitFor(() => client.connected);
    expect(seen).toEqual(['close PING_TIMEOUT', 'offline', 'reconnect']);
  });

  it('a malformed packet from the server closes the connection with the codec error [MQTT-4.8.0-1]', async () => {
    const { server, conn, client } = await setup();
    const closes: unknown[] = [];
    client.on('close', (e) => closes.push(e));
    conn.send(new Uint8Array([0x00, 0x00])); // packet type 0 is reserved
    const second = await server.next();
    expect(closes[0]).toMatchObject({ name: 'MqttError', code: 'INVALID_PACKET_TYPE' });
    await second.accept();
    await waitFor(() => client.connected);
  });

  it('[MQTT-4.4.0-1] resends unacked packets with original ids after reconnecting; DUP 1 when the session resumed', async () => {
    const { server, conn, client } = await setup({ cleanSession: false });
    const done: string[] = [];
    const p1 = client.publish('t', '1', { qos: 1 }).then(() => done.push('1'));
    const p2 = client.publish('t', '2', { qos: 2 }).then(() => done.push('2'));
    const a = (await conn.expect('publish')) as PublishPacket;
    const b = (await conn.expect('publish')) as PublishPacket;
    conn.send({ cmd: 'pubrec', packetId: b.packetId! });
    await conn.expect('pubrel');
    conn.close();
    const second = await server.next();
    await second.accept(true);
    expect(await second.next()).toMatchObject({ cmd: 'publish', packetId: a.packetId, dup: true });
    expect(await second.next()).toEqual({ cmd: 'pubrel', packetId: b.packetId });
    second.send({ cmd: 'puback', packetId: a.packetId! });
    second.send({ cmd: 'pubcomp', packetId: b.packetId! });
    await Promise.all([p1, p2]);
    expect(done).toEqual(['1', '2']);
  });

  it('queues work while offline and refuses it with QUEUE_FULL past maxQueued', async () => {
    const { server, conn, client } = await setup({ maxQueued: 2, reconnect: { initialDelay: 300, jitter: 0 } });
    conn.close();
    await waitFor(() => !client.connected);
    const queued = [client.publish('t', 'a', { qos: 1 }), client.publish('t', 'b')];
    await expect(client.publish('t', 'c')).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    const second = await server.next();
    await second.accept();
    const p = (await second.expect('publish')) as PublishPacket;
    second.send({ cmd: 'puback', packetId: p.packetId! });
    await Promise.all(queued);
  });

  it('with reconnect off, a lost connection fails pending work with CONNECTION_LOST and ends the client', async () => {
    const { conn, client } = await setup({ reconnect: false });
    const ended = new Promise<void>((r) => client.on('end', r));
    const pending = client.publish('t', 'x', { qos: 1 });
    await conn.expect('publish');
    conn.close();
    await expect(pending).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
    await ended;
    await expect(client.publish('t', 'y')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('stops reconnecting after a CONNACK refusal other than 3 and reports it', async () => {
    const { server, conn, client } = await setup();
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    conn.close();
    const second = await server.next();
    await second.accept(false, 4);
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'CONNACK_REFUSED', returnCode: 4 });
    await new Promise((r) => setTimeout(r, 100));
    expect(server.connections).toHaveLength(2);
  });
});

describe('ending', () => {
  it('[MQTT-3.14.4-1] [MQTT-3.14.4-2] end() waits for in-flight work, sends DISCONNECT last, then closes', async () => {
    const { conn, client } = await setup();
    const pub = client.publish('t', 'x', { qos: 1 });
    const p = (await conn.expect('publish')) as PublishPacket;
    const ending = client.end();
    await new Promise((r) => setTimeout(r, 30));
    expect(conn.received.map((x) => x.cmd)).toEqual(['connect', 'publish']);
    conn.send({ cmd: 'puback', packetId: p.packetId! });
    await pub;
    await ending;
    expect(conn.received.map((x) => x.cmd)).toEqual(['connect', 'publish', 'disconnect']);
    expect(conn.closed).toBe(true);
  });

  it('end() lets incoming QoS 2 flows open at the time finish, but not ones the server starts later', async () => {
    const { conn, client } = await setup();
    conn.send(incoming(2, 7));
    await conn.expect('pubrec');
    const ending = client.end();
    conn.send(incoming(2, 8));
    await conn.expect('pubrec');
    await new Promise((r) => setTimeout(r, 30));
    expect(conn.received.map((x) => x.cmd)).not.toContain('disconnect');
    conn.send({ cmd: 'pubrel', packetId: 7 });
    await ending;
    expect(conn.received.slice(-2)).toEqual([{ cmd: 'pubcomp', packetId: 7 }, { cmd: 'disconnect' }]);
  });

  it('end({ force: true }) fails pending work with CLIENT_CLOSED at once', async () => {
    const { conn, client } = await setup();
    const pub = client.publish('t', 'x', { qos: 1 }).catch((e) => e);
    await conn.expect('publish');
    await client.end({ force: true });
    expect(await pub).toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(conn.received.at(-1)).toEqual({ cmd: 'disconnect' });
  });

  it('end() gives up waiting after its timeout', async () => {
    const { client } = await setup();
    const pub = client.publish('t', 'x', { qos: 1 }).catch((e) => e);
    await client.end({ timeout: 100 });
    expect(await pub).toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('destroy() drops the connection without DISCONNECT', async () => {
    const { conn, client } = await setup();
    client.destroy();
    await waitFor(() => conn.closed);
    expect(conn.received.map((x) => x.cmd)).toEqual(['connect']);
  });
});
