/**
 * `mqtt311 pub` as a child process against broker-mini, started in this process so the tests
 * can see what the broker received (CONNECT fields, PUBLISH flags, payload bytes) through its
 * events. Usage errors that never connect run in process (see `runInProcess`).
 */
import { describe, expect, it, vi } from 'vitest';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { freePort, makeTempDir, runProcess } from '../helpers/peers.js';
import { lines, ROOT, runCli, runInProcess, spawnCli, useWatchedBrokers } from './helpers.js';

const HOST = '127.0.0.1';
const w = useWatchedBrokers();

describe('mqtt311 pub', () => {
  it('publishes -m to -t on -h:-p with -q, and prints nothing', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/m', '-m', 'hello', '-q', '1', '-V', 'mqttv311']);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    await vi.waitFor(() => expect(w.published('pub/m')).toHaveLength(1));
    expect(w.published('pub/m')[0]).toMatchObject({ qos: 1, retain: false });
    expect(Buffer.from(w.published('pub/m')[0]!.payload).toString()).toBe('hello');
  });

  it('sets the retain flag with -r, QoS 2 with -q 2, the client id with -i and keep alive with -k', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/r', '-m', 'kept', '-r', '-q', '2', '-i', 'pub-r-id', '-k', '17']);
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(w.published('pub/r')).toHaveLength(1));
    expect(w.published('pub/r')[0]).toMatchObject({ qos: 2, retain: true });
    expect(w.connects.find((c) => c.clientId === 'pub-r-id')).toMatchObject({ keepAlive: 17, cleanSession: true });
  });

  it('sends a file byte for byte with -f', async () => {
    const file = join(makeTempDir('mqtt311-cli-'), 'payload.bin');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    writeFileSync(file, bytes);
    const r = await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/f', '-f', file]);
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(w.published('pub/f')).toHaveLength(1));
    expect(Buffer.from(w.published('pub/f')[0]!.payload)).toEqual(bytes);
  });

  it('sends all of stdin as one message with -s', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/s', '-s'], { input: 'line one\nline two\n' });
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(w.published('pub/s')).toHaveLength(1));
    expect(Buffer.from(w.published('pub/s')[0]!.payload).toString()).toBe('line one\nline two\n');
  });

  it('sends one message per line of stdin with -l, an empty line as an empty message', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/l', '-l', '-q', '1'], { input: 'first\r\nsecond\n\nlast' });
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(w.published('pub/l')).toHaveLength(4));
    expect(w.published('pub/l').map((p) => Buffer.from(p.payload).toString())).toEqual(['first', 'second', '', 'last']);
  });

  it('publishes the lines read so far and exits 0 when interrupted during -l', async () => {
    const pub = spawnCli(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/l-int', '-l']);
    pub.child.stdin?.write('before ctrl-c\n');
    await vi.waitFor(() => expect(w.published('pub/l-int')).toHaveLength(1), { timeout: 15_000 });
    pub.child.kill('SIGINT');
    expect((await pub.exited).code).toBe(0);
    expect(Buffer.from(w.published('pub/l-int')[0]!.payload).toString()).toBe('before ctrl-c');
  });

  it('refuses a -f file larger than one PUBLISH can carry, without reading it', async () => {
    const file = join(makeTempDir('mqtt311-cli-'), 'huge.bin');
    // A sparse file: its size is 300 MB, its disk use nothing.
    writeFileSync(file, '');
    truncateSync(file, 300 * 1024 * 1024);
    const r = await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/huge', '-f', file]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^Error: cannot use -f file .*huge\.bin: 314572800 bytes is more than 268435450$/)]);
  });

  it('sends an empty message with -n (with -r: clears the retained message)', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/n', '-n', '-r']);
    expect(r.code).toBe(0);
    await vi.waitFor(() => expect(w.published('pub/n')).toHaveLength(1));
    expect(w.published('pub/n')[0]).toMatchObject({ retain: true });
    expect(w.published('pub/n')[0]!.payload.length).toBe(0);
  });

  it('prints every packet with -d, as mosquitto_pub does', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/d', '-m', 'hello', '-q', '1', '-i', 'pub-d', '-d']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      'Client pub-d sending CONNECT',
      'Client pub-d received CONNACK (0)',
      "Client pub-d sending PUBLISH (d0, q1, r0, m1, 'pub/d', ... (5 bytes))",
      'Client pub-d received PUBACK (Mid: 1, RC:0)',
      'Client pub-d sending DISCONNECT',
    ]);
  });

  it('[MQTT-4.4.0-1] with -l survives a broker restart and loses no line at QoS 1', async () => {
    let broker = await startBroker({ port: 0, host: HOST });
    const port = broker.address.port;
    const got = new Set<string>();
    const watch = (b: Broker) => b.on('publish', (topic, packet) => topic === 'pub/lines' && got.add(Buffer.from(packet.payload).toString()));
    watch(broker);
    const waitFor = (n: number) => vi.waitFor(() => expect(got.size).toBe(n), { timeout: 20_000, interval: 20 });
    try {
      const pub = spawnCli(['pub', '-h', HOST, '-p', String(port), '-t', 'pub/lines', '-l', '-q', '1', '-i', 'pub-lines']);
      const send = (from: number, to: number) => pub.child.stdin!.write(Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join(''));
      send(1, 50);
      await waitFor(50);
      await broker.close();
      send(51, 100); // written while no broker listens: held until the client is back
      broker = await startBroker({ port, host: HOST });
      watch(broker);
      await waitFor(100);
      pub.child.stdin!.end();
      expect((await pub.exited).code).toBe(0);
      expect([...got].sort()).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).sort());
    } finally {
      await broker.close();
    }
  });

  it('[MQTT-1.5.3-1] sends -m bytes exactly as typed, and refuses a -t that is not UTF-8', async () => {
    // Node cannot spawn with bytes that are not UTF-8; bash's printf can.
    const entry = [process.execPath, '--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
    const run = (script: string) => runProcess('bash', ['-c', script, 'bash', ...entry, HOST, w.port], { cwd: ROOT, timeoutMs: 20_000 });
    const sent = await run(`"$1" "$2" "$3" "$4" pub -h "$5" -p "$6" -t pub/raw -m "$(printf 'a\\377\\300b')" -q 1`);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    await vi.waitFor(() => expect(w.published('pub/raw')).toHaveLength(1));
    expect(Buffer.from(w.published('pub/raw')[0]!.payload)).toEqual(Buffer.from([0x61, 0xff, 0xc0, 0x62]));
    const refused = await run(`"$1" "$2" "$3" "$4" pub -h "$5" -p "$6" -t "$(printf 'pub/\\377')" -m x`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('Error: -t is not valid UTF-8 text (see mqtt311 pub --help)\n');
  });

  it('logs in with -u and -P, and takes user, password, host, port and topic from -L', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', w.authPort, '-u', 'alice', '-P', 'secret', '-t', 'pub/auth', '-m', 'x', '-i', 'pub-auth']);
    expect(r.code).toBe(0);
    expect(w.connects.find((c) => c.clientId === 'pub-auth')).toMatchObject({ username: 'alice' });
    const url = await runCli(['pub', '-L', `mqtt://alice:secret@${HOST}:${w.authPort}/pub/url/topic`, '-m', 'y', '-i', 'pub-url']);
    expect(url.code).toBe(0);
    await vi.waitFor(() => expect(w.published('pub/url/topic')).toHaveLength(1));
    expect(w.connects.find((c) => c.clientId === 'pub-url')).toMatchObject({ username: 'alice' });
  });

  it('exits with the CONNACK return code when refused: 5 not authorized, 4 bad user name or password', async () => {
    const anonymous = await runCli(['pub', '-h', HOST, '-p', w.authPort, '-t', 't', '-m', 'x']);
    expect(anonymous.code).toBe(5);
    expect(anonymous.stderr).toBe('Error: CONNACK 5: not authorized\n');
    const wrong = await runCli(['pub', '-h', HOST, '-p', w.authPort, '-u', 'alice', '-P', 'wrong', '-t', 't', '-m', 'x']);
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
    const r = await runInProcess(['pub', '-h', HOST, '-p', w.port, '-t', 'pub/+', '-m', 'x']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^Error: invalid topic name for -t "pub\/\+": INVALID_TOPIC \[MQTT-4\.7\.1-1\]/)]);
  });

  it('refuses an unknown option with exit 1 and one line, never a stack trace', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 't', '-m', 'x', '-z']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: no such option -z (see mqtt311 pub --help)\n');
  });

  it('refuses usage mistakes with exit 1 and one line (in process)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-m', 'x'], /^Error: no topic: /],
      [['-t', 't'], /^Error: no message: /],
      [['-t', 't', '-m', 'x', '-n'], /^Error: only one message source at a time, got -m and -n/],
      [['-t', 't', '-m', 'x', '-q', '3'], /^Error: -q must be from 0 to 2/],
      [['-t', 't', '-m', 'x', '-V', 'mqttv5'], /^Error: -V mqttv5: MQTT 5 is not supported/],
      [['-t', 't', '-m', 'x', 'extra'], /^Error: unexpected argument "extra"/],
      [['-t', 't', '-f', '/nonexistent/file'], /^Error: cannot read -f file \/nonexistent\/file: no such file$/],
    ];
    for (const [argv, expected] of cases) {
      const r = await runInProcess(['pub', '-h', HOST, '-p', w.port, ...argv]);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(lines(r.stderr), argv.join(' ')).toEqual([expect.stringMatching(expected)]);
    }
  });
});

describe('help and commands', () => {
  it('prints help for mqtt311 with exit 0 from a real process', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('mqtt311: ')).toBe(true);
  });

  it('prints help for pub, sub and broker with exit 0 (in process)', async () => {
    for (const [argv, first] of [
      [['pub', '--help'], 'mqtt311 pub: '],
      [['sub', '--help'], 'mqtt311 sub: '],
      [['broker', '--help'], 'mqtt311 broker: '],
    ] as const) {
      const r = await runInProcess([...argv]);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stdout.startsWith(first), argv.join(' ')).toBe(true);
    }
  });

  it('names an unknown command in one line with exit 1', async () => {
    const r = await runInProcess(['publish']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: no such command "publish" (see mqtt311 --help)\n');
  });
});
