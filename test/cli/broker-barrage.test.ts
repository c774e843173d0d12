/**
 * `mqtt311 broker` as its own process under a barrage of hostile and extreme clients. The process
 * must never die or print an uncaught exception, and a well-behaved pair of clients must keep
 * exchanging every message while it happens. (Running the broker in a child process is the point:
 * an uncaught exception there ends the process instead of failing a test worker.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '../../src/codec/index.js';
import type { PublishPacket } from '../../src/codec/index.js';
import { cleanupTempDirs, makeTempDir, stopAllProcesses } from '../helpers/peers.js';
import { RawClient, closeAllRawClients, connectPacket } from '../helpers/raw-client.js';
import { spawnCli } from './helpers.js';

const LISTENING = /mqtt311 broker listening on 127\.0\.0\.1:(\d+)\n/;

afterAll(async () => {
  await closeAllRawClients();
  await stopAllProcesses();
  cleanupTempDirs();
});

const qos1 = (topic: string, packetId: number, retain = false): PublishPacket => ({
  cmd: 'publish',
  topic,
  payload: new Uint8Array([packetId & 0xff]),
  qos: 1,
  retain,
  dup: false,
  packetId,
});

describe('mqtt311 broker under attack', () => {
  it('[MQTT-4.8.0-1] survives garbage, truncation, deep topics, retained floods, takeover storms and stray acks; a good pair keeps flowing', async () => {
    const dir = makeTempDir();
    const conf = join(dir, 'barrage.conf');
    writeFileSync(conf, ['max_inflight 10', 'max_queued_messages 20', 'connect_timeout 1', 'max_packet_size 1048576', ''].join('\n'));
    const broker = spawnCli(['broker', '-p', '0', '-c', conf], { timeoutMs: 90_000 });
    const port = Number(LISTENING.exec(await broker.waitForOutput(LISTENING, 20_000))![1]);
    const connected = async (clientId: string, fields: Parameters<RawClient['handshake']>[0] = {}) => {
      const c = await RawClient.connect(port);
      expect(await c.handshake({ clientId, ...fields })).toMatchObject({ returnCode: 0 });
      return c;
    };

    const good = await connected('good-sub');
    good.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'good/#', qos: 1 }] });
    await good.expect('suback');
    const sender = await connected('good-pub');
    let exchanged = 0;
    const exchange = async () => {
      const id = (exchanged % 65_535) + 1;
      sender.send(qos1('good/x', id));
      await sender.expect('puback', 10_000);
      const p = await good.expect('publish', 10_000);
      expect(p.payload[0]).toBe(id & 0xff);
      good.send({ cmd: 'puback', packetId: p.packetId! });
      exchanged++;
    };

    // Malformed bytes and truncated packets, each followed by a close.
    for (const bytes of [[0x00, 1, 2], [0xf0, 0], [0x30, 0xff, 0xff, 0xff, 0x7f], [0x30, 0xff, 0xff, 0xff, 0xff, 1], [0x10, 0x10, 0, 4, 0x4d]]) {
      const c = await RawClient.connect(port);
      c.sendBytes(bytes);
      c.socket.end();
    }
    const cut = await RawClient.connect(port);
    cut.sendBytes(encode(connectPacket({ clientId: 'cut' })).subarray(0, 9));
    cut.destroy();
    const idle = await Promise.all(Array.from({ length: 50 }, () => RawClient.connect(port))); // never send CONNECT
    await exchange();

    // Deep topics: a 16,384-level filter and a publication and a will that match it.
    const deep = Array(16_384).fill('d').join('/');
    const deepSub = await connected('deep-sub');
    deepSub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: Array(16_384).fill('+').join('/'), qos: 1 }] });
    await deepSub.expect('suback');
    const deepPub = await connected('deep-pub', { will: { topic: deep, payload: new Uint8Array([1]), qos: 1, retain: false } });
    deepPub.send(qos1(deep, 1));
    expect(await deepPub.expect('puback')).toEqual({ cmd: 'puback', packetId: 1 });
    deepPub.destroy();
    await exchange();

    // More retained messages than a subscriber's window and queue, then a wildcard subscriber.
    const retainer = await connected('retainer');
    for (let i = 1; i <= 100; i++) retainer.send(qos1(`kept/${i}`, i, true));
    for (let i = 1; i <= 100; i++) await retainer.expect('puback');
    const late = await connected('late');
    late.send({ cmd: 'subscribe', packetId: 3, subscriptions: [{ topicFilter: 'kept/#', qos: 1 }] });
    expect(await late.expect('suback')).toEqual({ cmd: 'suback', packetId: 3, returnCodes: [1] });
    await exchange();

    // A takeover storm on one ClientId, stray acks, a QoS 2 resend storm, bytes after DISCONNECT.
    for (let i = 0; i < 30; i++) await connected('storm', { will: { topic: 'storm/will', payload: new Uint8Array([i]), qos: 1, retain: true } });
    const stray = await connected('stray');
    for (let id = 1; id <= 200; id++) {
      stray.send({ cmd: 'puback', packetId: id });
      stray.send({ cmd: 'pubrec', packetId: id });
      stray.send({ cmd: 'pubcomp', packetId: id });
      stray.send({ cmd: 'pubrel', packetId: id });
    }
    for (let i = 0; i < 500; i++) stray.send({ cmd: 'publish', topic: 'good/dup', payload: new Uint8Array([i & 0xff]), qos: 2, retain: false, dup: i > 0, packetId: 9 });
    // Unknown ids, as mosquitto 2.0.11: PUBACK and PUBCOMP ignored, PUBREC answered with PUBREL.
    for (let i = 0; i < 200; i++) {
      await stray.expect('pubrel');
      await stray.expect('pubcomp');
    }
    for (let i = 0; i < 500; i++) await stray.expect('pubrec');
    const dup = await good.expect('publish'); // [MQTT-4.3.3-2] delivered once, however often resent
    good.send({ cmd: 'puback', packetId: dup.packetId! });
    const quitter = await connected('quitter');
    const after = encode({ cmd: 'publish', topic: 'good/after', payload: new Uint8Array(1), qos: 0, retain: false, dup: false });
    quitter.sendBytes([...encode({ cmd: 'disconnect' }), ...after, 0xff, 0xff]); // [MQTT-3.14.4-2] nothing after DISCONNECT counts
    expect(await quitter.closesWithin(3_000)).toBe(true);

    for (let i = 0; i < 50; i++) await exchange();
    for (const c of idle) expect(await c.closesWithin(5_000)).toBe(true); // connect_timeout 1 s
    expect(good.isClosed || sender.isClosed || late.isClosed || deepSub.isClosed).toBe(false);
    expect(await good.nothingWithin(200)).toBe(true); // nothing from the barrage leaked to good/#
    expect(broker.child.exitCode).toBeNull();
    expect(broker.stderr()).toBe('');
    await closeAllRawClients();
    await broker.stop('SIGINT');
    expect(broker.child.exitCode).toBe(0);
  }, 90_000);
});
