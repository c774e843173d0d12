/**
 * `mqtt311 pub` and `mqtt311 sub` as child processes against broker-mini, started in this
 * process so the tests can watch what the broker sees (CONNECT fields, PUBLISH flags, payload
 * bytes) through its events.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, type Broker, type ClientInfo } from '../../src/broker-mini/index.js';
import type { PublishPacket } from '../../src/codec/index.js';
import { cleanupTempDirs, freePort, makeTempDir, stopAllProcesses } from '../helpers/peers.js';
import { lines, runCli, spawnCli } from './helpers.js';

const HOST = '127.0.0.1';

let broker: Broker;
let port: string;
/** A broker that wants alice/secret and denies subscriptions under secret/. */
let authBroker: Broker;
let authPort: string;
const connects: ClientInfo[] = [];
const publishes: Array<{ topic: string; packet: PublishPacket; clientId: string | undefined }> = [];

/** Resolves when `clientId`'s SUBSCRIBE has been answered: publishing after that reaches it. */
function subscribed(b: Broker, clientId: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (_subs: unknown, client: ClientInfo) => {
      if (client.clientId !== clientId) return;
      b.off('subscribe', listener);
      resolve();
    };
    b.on('subscribe', listener);
  });
}

/** The PUBLISH packets the broker accepted on `topic`. */
function published(topic: string): PublishPacket[] {
  return publishes.filter((p) => p.topic === topic).map((p) => p.packet);
}

beforeAll(async () => {
  broker = await startBroker({ port: 0, host: HOST });
  port = String(broker.address.port);
  broker.on('connect', (c) => connects.push(c));
  broker.on('publish', (topic, packet, client) => publishes.push({ topic, packet, clientId: client?.clientId }));
  authBroker = await startBroker({
    port: 0,
    host: HOST,
    allowAnonymous: false,
    users: { alice: 'secret' },
    acl: [
      { topic: '#', access: 'readwrite' },
      { topic: 'secret/#', access: 'deny' },
    ],
  });
  authPort = String(authBroker.address.port);
  authBroker.on('connect', (c) => connects.push(c));
  authBroker.on('publish', (topic, packet, client) => publishes.push({ topic, packet, clientId: client?.clientId }));
});

afterAll(async () => {
  await stopAllProcesses();
  await broker?.close();
  await authBroker?.close();
  cleanupTempDirs();
});

describe('mqtt311 pub', () => {
  it('publishes -m to -t on -h:-p with -q, and prints nothing', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/m', '-m', 'hello', '-q', '1', '-V', 'mqttv311']);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    await vi.waitFor(() => expect(published('pub/m')).toHaveLength(1));
    expect(published('pub/m')[0]).toMatchObject({ qos: 1, retain: false });
    expect(Buffer.from(published('pub/m')[0].payload).toString()).toBe('hello');
  });

  it('sets the retain flag with -r, QoS 2 with -q 2, the client id with -i and keep alive with -k', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/r', '-m', 'kept', '-r', '-q', '2', '-i', 'pub-r-id', '-k', '17']);
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(published('pub/r')).toHaveLength(1));
    expect(published('pub/r')[0]).toMatchObject({ qos: 2, retain: true });
    expect(connects.find((c) => c.clientId === 'pub-r-id')).toMatchObject({ keepAlive: 17, cleanSession: true });
  });

  it('sends a file byte for byte with -f', async () => {
    const file = join(makeTempDir('mqtt311-cli-'), 'payload.bin');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    writeFileSync(file, bytes);
    const r = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/f', '-f', file]);
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(published('pub/f')).toHaveLength(1));
    expect(Buffer.from(published('pub/f')[0].payload)).toEqual(bytes);
  });

  it('sends all of stdin as one message with -s', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/s', '-s'], { input: 'line one\nline two\n' });
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(published('pub/s')).toHaveLength(1));
    expect(Buffer.from(published('pub/s')[0].payload).toString()).toBe('line one\nline two\n');
  });

  it('sends one message per line of stdin with -l, an empty line as an empty message', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/l', '-l', '-q', '1'], { input: 'first\r\nsecond\n\nlast' });
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(published('pub/l')).toHaveLength(4));
    expect(published('pub/l').map((p) => Buffer.from(p.payload).toString())).toEqual(['first', 'second', '', 'last']);
  });

  it('publishes the lines read so far and exits 0 when interrupted during -l', async () => {
    const pub = spawnCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/l-int', '-l']);
    pub.child.stdin?.write('before ctrl-c\n');
    await vi.waitFor(() => expect(published('pub/l-int')).toHaveLength(1), { timeout: 15_000 });
    pub.child.kill('SIGINT');
    expect((await pub.exited).code).toBe(0);
    expect(Buffer.from(published('pub/l-int')[0].payload).toString()).toBe('before ctrl-c');
  });

  it('refuses a -f file larger than one PUBLISH can carry, without reading it', async () => {
    const file = join(makeTempDir('mqtt311-cli-'), 'huge.bin');
    // A sparse file: its size is 300 MB, its disk use nothing.
    writeFileSync(file, '');
    truncateSync(file, 300 * 1024 * 1024);
    const r = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/huge', '-f', file]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^Error: cannot use -f file .*huge\.bin: 314572800 bytes is more than 268435450$/)]);
  });

  it('sends an empty message with -n (with -r: clears the retained message)', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/n', '-n', '-r']);
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(published('pub/n')).toHaveLength(1));
    expect(published('pub/n')[0]).toMatchObject({ retain: true });
    expect(published('pub/n')[0].payload.length).toBe(0);
  });

  it('prints every packet with -d, as mosquitto_pub does', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/d', '-m', 'hello', '-q', '1', '-i', 'pub-d', '-d']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      'Client pub-d sending CONNECT',
      'Client pub-d received CONNACK (0)',
      "Client pub-d sending PUBLISH (d0, q1, r0, m1, 'pub/d', ... (5 bytes))",
      'Client pub-d received PUBACK (Mid: 1)',
      'Client pub-d sending DISCONNECT',
    ]);
  });

  it('logs in with -u and -P, and takes user, password, host, port and topic from -L', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', authPort, '-u', 'alice', '-P', 'secret', '-t', 'pub/auth', '-m', 'x', '-i', 'pub-auth']);
    expect(r.code).toBe(0);
    expect(connects.find((c) => c.clientId === 'pub-auth')).toMatchObject({ username: 'alice' });
    const url = await runCli(['pub', '-L', `mqtt://alice:secret@${HOST}:${authPort}/pub/url/topic`, '-m', 'y', '-i', 'pub-url']);
    expect(url.code).toBe(0);
    await vi.waitFor(() => expect(published('pub/url/topic')).toHaveLength(1));
    expect(connects.find((c) => c.clientId === 'pub-url')).toMatchObject({ username: 'alice' });
  });

  it('exits with the CONNACK return code when refused: 5 not authorized, 4 bad user name or password', async () => {
    const anonymous = await runCli(['pub', '-h', HOST, '-p', authPort, '-t', 't', '-m', 'x']);
    expect(anonymous.code).toBe(5);
    expect(anonymous.stderr).toBe('Error: CONNACK 5: not authorized\n');
    const wrong = await runCli(['pub', '-h', HOST, '-p', authPort, '-u', 'alice', '-P', 'wrong', '-t', 't', '-m', 'x']);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toBe('Error: CONNACK 4: bad user name or password\n');
  });

  it('exits 1 with one clear line when nothing listens on the port', async () => {
    const closed = await freePort();
    const r = await runCli(['pub', '-h', HOST, '-p', String(closed), '-t', 't', '-m', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: connection refused: ${HOST}:${closed} (is a broker running?)\n`);
  });

  it('[MQTT-4.7.1-1] refuses a wildcard in the topic name before connecting', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'pub/+', '-m', 'x']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^Error: invalid topic name for -t "pub\/\+": INVALID_TOPIC \[MQTT-4\.7\.1-1\]/)]);
  });

  it('refuses usage mistakes with exit 1 and one line, never a stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-x'], /^Error: no such option -x \(see mqtt311 pub --help\)$/],
      [['-m', 'x'], /^Error: no topic: /],
      [['-t', 't'], /^Error: no message: /],
      [['-t', 't', '-m', 'x', '-n'], /^Error: only one message source at a time, got -m and -n/],
      [['-t', 't', '-m', 'x', '-q', '3'], /^Error: -q must be from 0 to 2/],
      [['-t', 't', '-m', 'x', '-V', 'mqttv5'], /^Error: only MQTT 3\.1\.1 is supported/],
      [['-t', 't', '-f', '/nonexistent/file'], /^Error: cannot read -f file \/nonexistent\/file: no such file$/],
    ];
    for (const [argv, expected] of cases) {
      const r = await runCli(['pub', '-h', HOST, '-p', port, ...argv]);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(lines(r.stderr), argv.join(' ')).toEqual([expect.stringMatching(expected)]);
    }
  });
});

describe('mqtt311 sub', () => {
  it('prints "topic payload" with -v for each of several -t filters, and exits after -C messages', async () => {
    const ready = subscribed(broker, 'sub-v');
    const sub = spawnCli(['sub', '-h', HOST, '-p', port, '-t', 'sub/a/#', '-t', 'sub/b', '-v', '-C', '2', '-i', 'sub-v']);
    await ready;
    await runCli(['pub', '-h', HOST, '-p', port, '-t', 'sub/a/1', '-m', 'one', '-q', '1']);
    await runCli(['pub', '-h', HOST, '-p', port, '-t', 'sub/b', '-m', 'two words']);
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('sub/a/1 one\nsub/b two words\n');
    expect(sub.stderr()).toBe('');
  });

  it('prints the payload alone without -v; an empty payload prints nothing', async () => {
    const ready = subscribed(broker, 'sub-plain');
    const sub = spawnCli(['sub', '-h', HOST, '-p', port, '-t', 'sub/plain', '-C', '2', '-i', 'sub-plain']);
    await ready;
    await runCli(['pub', '-h', HOST, '-p', port, '-t', 'sub/plain', '-n']);
    await runCli(['pub', '-h', HOST, '-p', port, '-t', 'sub/plain', '-m', 'just this']);
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('just this\n');
  });

  it('exits 27 when -W seconds pass first, like mosquitto_sub', async () => {
    const r = await runCli(['sub', '-h', HOST, '-p', port, '-t', 'sub/quiet', '-W', '1', '-C', '1']);
    expect(r.code).toBe(27);
    expect(r.stderr).toBe('Error: timed out after 1 s with 0 of 1 messages (-W 1)\n');
  });

  it('prints packets with -d: CONNECT, SUBSCRIBE per filter, SUBACK, each PUBLISH, DISCONNECT', async () => {
    const ready = subscribed(broker, 'sub-d');
    const sub = spawnCli(['sub', '-h', HOST, '-p', port, '-t', 'sub/d', '-q', '1', '-C', '1', '-d', '-i', 'sub-d']);
    await ready;
    await runCli(['pub', '-h', HOST, '-p', port, '-t', 'sub/d', '-m', 'hey', '-q', '1']);
    expect((await sub.exited).code).toBe(0);
    const out = lines(sub.stdout());
    expect(out.slice(0, 4)).toEqual([
      'Client sub-d sending CONNECT',
      'Client sub-d received CONNACK (0)',
      'Client sub-d sending SUBSCRIBE (Mid: 1, Topic: sub/d, QoS: 1)',
      'Client sub-d received SUBACK (Mid: 1, granted: 1)',
    ]);
    expect(out).toContain('hey');
    expect(out).toContainEqual(expect.stringMatching(/^Client sub-d received PUBLISH \(d0, q1, r0, m\d+, 'sub\/d', \.\.\. \(3 bytes\)\)$/));
    expect(out).toContainEqual(expect.stringMatching(/^Client sub-d sending PUBACK \(Mid: \d+\)$/));
    expect(out[out.length - 1]).toBe('Client sub-d sending DISCONNECT');
  });

  it('[MQTT-3.1.2-4] with -c keeps the session: QoS 1 messages sent while away arrive on return', async () => {
    const first = subscribed(broker, 'sub-c');
    const sub = spawnCli(['sub', '-h', HOST, '-p', port, '-t', 'sub/c', '-q', '1', '-c', '-i', 'sub-c']);
    await first;
    await sub.stop('SIGINT');
    expect((await sub.exited).code).toBe(0);
    expect(connects.find((c) => c.clientId === 'sub-c')).toMatchObject({ cleanSession: false });
    await runCli(['pub', '-h', HOST, '-p', port, '-t', 'sub/c', '-m', 'while away', '-q', '1']);
    const again = await runCli(['sub', '-h', HOST, '-p', port, '-t', 'sub/c', '-q', '1', '-c', '-i', 'sub-c', '-C', '1', '-W', '10']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('while away\n');
  });

  it('takes host, port and a wildcard filter from -L', async () => {
    const ready = subscribed(broker, 'sub-url');
    const sub = spawnCli(['sub', '-L', `mqtt://${HOST}:${port}/sub/url/+/#`, '-v', '-C', '1', '-i', 'sub-url']);
    await ready;
    await runCli(['pub', '-h', HOST, '-p', port, '-t', 'sub/url/x/y', '-m', 'via url']);
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('sub/url/x/y via url\n');
  });

  it('[MQTT-3.1.2-17] sends a will set by --will-topic/--will-payload/--will-qos/--will-retain when it vanishes', async () => {
    const ready = subscribed(broker, 'sub-will');
    const sub = spawnCli(['sub', '-h', HOST, '-p', port, '-t', 'sub/will/x', '-i', 'sub-will', '--will-topic', 'sub/will', '--will-payload', 'gone', '--will-qos', '1', '--will-retain']);
    await ready;
    // SIGKILL: no DISCONNECT is sent, so the server must publish the will.
    await sub.stop('SIGKILL');
    // The will was retained: a later subscriber still gets it, at QoS 1.
    const later = await runCli(['sub', '-h', HOST, '-p', port, '-t', 'sub/will', '-q', '1', '-v', '-d', '-C', '1', '-W', '10', '-i', 'sub-will-reader']);
    expect(later.code).toBe(0);
    expect(lines(later.stdout)).toContain('sub/will gone');
    expect(later.stdout).toMatch(/received PUBLISH \(d0, q1, r1, m\d+, 'sub\/will', \.\.\. \(4 bytes\)\)/);
  });

  it('logs in with -u/-P and exits 1 when every subscription is refused (SUBACK 0x80)', async () => {
    const r = await runCli(['sub', '-h', HOST, '-p', authPort, '-u', 'alice', '-P', 'secret', '-t', 'secret/x', '-W', '10']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      'Warning: subscription to "secret/x" refused by the server (SUBACK 0x80)',
      'Error: every subscription was refused by the server (SUBACK 0x80)',
    ]);
  });

  it('exits with the CONNACK return code when refused', async () => {
    const r = await runCli(['sub', '-h', HOST, '-p', authPort, '-t', 'x']);
    expect(r.code).toBe(5);
    expect(r.stderr).toBe('Error: CONNACK 5: not authorized\n');
  });

  it('stops cleanly with exit 0 on SIGINT and SIGTERM', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const ready = subscribed(broker, `sub-${signal}`);
      const sub = spawnCli(['sub', '-h', HOST, '-p', port, '-t', 'sub/sig', '-i', `sub-${signal}`]);
      await ready;
      sub.child.kill(signal);
      expect((await sub.exited).code, signal).toBe(0);
      expect(sub.stderr()).toBe('');
    }
  });

  it('exits 1 with "connection lost" when the broker goes away', async () => {
    const shortLived = await startBroker({ port: 0, host: HOST });
    const shortPort = shortLived.address.port;
    try {
      const ready = subscribed(shortLived, 'sub-lost');
      const sub = spawnCli(['sub', '-h', HOST, '-p', String(shortPort), '-t', 'x', '-i', 'sub-lost']);
      await ready;
      await shortLived.close();
      expect((await sub.exited).code).toBe(1);
      expect(sub.stderr()).toBe(`Error: connection lost: ${HOST}:${shortPort}\n`);
    } finally {
      await shortLived.close();
    }
  });

  it('[MQTT-4.7.1-2] refuses a misplaced # in a filter before connecting', async () => {
    const r = await runCli(['sub', '-h', HOST, '-p', port, '-t', 'a/#/b']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^Error: invalid topic filter for -t "a\/#\/b": INVALID_TOPIC_FILTER \[MQTT-4\.7\.1-2\]/)]);
  });

  it('refuses usage mistakes with exit 1 and one line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /^Error: no topic filter: /],
      [['-t', 'x', '-C', '0'], /^Error: -C must be from 1 to/],
      [['-t', 'x', '-W', 'soon'], /^Error: -W must be a whole number/],
      [['-t', 'x', '-c'], /^Error: -c \(persistent session\) needs a client id \(-i\)/],
      [['-t', 'x', 'extra'], /^Error: unexpected argument "extra"/],
    ];
    for (const [argv, expected] of cases) {
      const r = await runCli(['sub', '-h', HOST, '-p', port, ...argv]);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(lines(r.stderr), argv.join(' ')).toEqual([expect.stringMatching(expected)]);
    }
  });
});

describe('help and commands', () => {
  it('prints help for mqtt311, pub, sub and broker with exit 0', async () => {
    for (const [argv, first] of [
      [['--help'], 'mqtt311: '],
      [['pub', '--help'], 'mqtt311 pub: '],
      [['sub', '--help'], 'mqtt311 sub: '],
      [['broker', '--help'], 'mqtt311 broker: '],
    ] as const) {
      const r = await runCli([...argv]);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stdout.startsWith(first), argv.join(' ')).toBe(true);
    }
  });

  it('names an unknown command in one line with exit 1', async () => {
    const r = await runCli(['publish']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: no such command "publish" (see mqtt311 --help)\n');
  });
});
