/**
 * `mqtt311 broker -c mosquitto.conf` with real mosquitto clients: Debian's stock mosquitto.conf
 * (copied, its paths moved into a temp dir), three listeners from one config (TCP, TLS requiring
 * client certificates, WebSocket), and the $SYS tree read by mosquitto_sub.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { cleanupTempDirs, findBinary, freePort, makeTempDir, requirePeer, runProcess, spawnProcess, stopAllProcesses, type SpawnedProcess } from '../helpers/peers.js';
import { lines, spawnCli } from '../cli/helpers.js';
import { makeClientPki } from './pki.js';

const HOST = '127.0.0.1';
const DEBIAN_CONF = '/etc/mosquitto/mosquitto.conf';

afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});

const run = requirePeer('mosquitto') && requirePeer('mosquitto_pub') && requirePeer('mosquitto_sub') && requirePeer('stdbuf', 'apt-get install -y coreutils');

/** Starts `mqtt311 broker …args` and resolves once it printed `count` listening lines. */
async function startCliBroker(args: string[], count = 1): Promise<{ broker: SpawnedProcess; out: string }> {
  const broker = spawnCli(['broker', ...args]);
  const out = await broker.waitForOutput(new RegExp(`(listening on .*\\n[^]*){${count}}`), 20_000);
  return { broker, out };
}

const pub = (args: string[]) => runProcess(findBinary('mosquitto_pub')!, ['-h', HOST, ...args], { timeoutMs: 15_000 });
const sub = (args: string[]) => runProcess(findBinary('mosquitto_sub')!, ['-h', HOST, ...args], { timeoutMs: 20_000 });

/**
 * A mosquitto_sub that stays connected; resolves once its SUBACK arrived (`-d`). Its stdout is a
 * pipe, so stdbuf makes it line-buffered: the SUBACK line shows up when it happens.
 */
async function liveSubscriber(args: string[]): Promise<SpawnedProcess> {
  const p = spawnProcess(findBinary('stdbuf')!, ['-oL', findBinary('mosquitto_sub')!, '-h', HOST, '-d', ...args], { timeoutMs: 60_000 });
  await p.waitForOutput(/received SUBACK/, 15_000);
  return p;
}

describe.skipIf(!run)('broker-mini with mosquitto.conf and mosquitto clients', () => {
  it("starts with Debian's stock mosquitto.conf unchanged but for its paths: pid file, file log, include_dir, persistence note", async () => {
    expect(existsSync(DEBIAN_CONF)).toBe(true);
    const dir = makeTempDir('mqtt311-debian-');
    mkdirSync(join(dir, 'conf.d'));
    // A file in include_dir, loaded as mosquitto loads them.
    writeFileSync(join(dir, 'conf.d', 'test.conf'), 'connection_messages true\n');
    const conf = readFileSync(DEBIAN_CONF, 'utf8')
      .replace('/run/mosquitto/mosquitto.pid', join(dir, 'mosquitto.pid'))
      .replace('/var/lib/mosquitto/', `${dir}/`)
      .replace('/var/log/mosquitto/mosquitto.log', join(dir, 'mosquitto.log'))
      .replace('/etc/mosquitto/conf.d', join(dir, 'conf.d'));
    const confPath = join(dir, 'mosquitto.conf');
    writeFileSync(confPath, conf);
    const port = String(await freePort());
    // No listener in the file: mosquitto 2.0's local-only default, here on a test port.
    const { broker, out } = await startCliBroker(['-c', confPath, '-p', port]);
    expect(lines(out)).toEqual([`mqtt311 broker listening on ${HOST}:${port}`]);
    // persistence true + persistence_location: a SQLite store in that folder, fsync before every ack.
    expect(broker.stderr()).toMatch(/note: persistence in .*mqtt311\.db: fsync before every acknowledgement/);
    expect(existsSync(join(dir, 'mqtt311.db'))).toBe(true);
    expect(readFileSync(join(dir, 'mosquitto.pid'), 'utf8')).toBe(`${broker.pid}\n`);

    const s = await liveSubscriber(['-p', port, '-t', 'debian/#', '-v', '-C', '1', '-i', 'debian-sub']);
    expect((await pub(['-p', port, '-t', 'debian/t', '-m', 'stock', '-q', '1'])).code).toBe(0);
    expect((await s.exited).code).toBe(0);
    expect(lines(s.stdout())).toContain('debian/t stock');
    // log_dest file: the connection lines went to the file, not to stderr.
    expect(readFileSync(join(dir, 'mosquitto.log'), 'utf8')).toMatch(/connected debian-sub/);

    broker.child.kill('SIGTERM');
    expect((await broker.exited).code).toBe(0);
    expect(existsSync(join(dir, 'mosquitto.pid'))).toBe(false);
  });

  it('serves three listeners from one config: TCP, TLS requiring client certificates, WebSocket', async () => {
    const dir = makeTempDir('mqtt311-three-');
    const pki = makeClientPki(dir);
    const [tcp, tls, ws] = [await freePort(), await freePort(), await freePort()];
    const confPath = join(dir, 'three.conf');
    writeFileSync(
      confPath,
      [
        'allow_anonymous true',
        `listener ${tcp} ${HOST}`,
        `listener ${tls} ${HOST}`,
        `cafile ${pki.caFile}`,
        `certfile ${pki.certFile}`,
        `keyfile ${pki.keyFile}`,
        'require_certificate true',
        'use_identity_as_username true',
        `listener ${ws} ${HOST}`,
        'protocol websockets',
        '',
      ].join('\n'),
    );
    const { broker, out } = await startCliBroker(['-c', confPath, '-v'], 3);
    expect(lines(out)).toEqual([
      `mqtt311 broker listening on ${HOST}:${tcp}`,
      `mqtt311 broker listening on mqtts://${HOST}:${tls}`,
      `mqtt311 broker listening on ws://${HOST}:${ws}/`,
    ]);
    const tlsArgs = ['-p', String(tls), '--cafile', pki.caFile, '--cert', pki.clientCertFile, '--key', pki.clientKeyFile];

    // The TLS subscriber gets what TCP and WebSocket clients publish.
    const s = await liveSubscriber([...tlsArgs, '-t', 'three/#', '-v', '-q', '1', '-C', '2', '-i', 'tls-sub']);
    expect((await pub(['-p', String(tcp), '-t', 'three/tcp', '-m', 'over tcp', '-q', '1'])).code).toBe(0);
    const client = await mqtt.connectAsync(`ws://${HOST}:${ws}`, { reconnectPeriod: 0, connectTimeout: 10_000 });
    await client.publishAsync('three/ws', 'over ws', { qos: 1 });
    await client.endAsync();
    expect((await s.exited).code).toBe(0);
    expect(lines(s.stdout()).filter((l) => l.startsWith('three/')).sort()).toEqual(['three/tcp over tcp', 'three/ws over ws']);

    // TLS publisher with its certificate works; without one the handshake is refused.
    expect((await pub([...tlsArgs, '-t', 'three/tls', '-m', 'x'])).code).toBe(0);
    const noCert = await pub(['-p', String(tls), '--cafile', pki.caFile, '-t', 'three/tls', '-m', 'x']);
    expect(noCert.code).not.toBe(0);
    // use_identity_as_username: the certificate's CN is the client's user name.
    await broker.waitForOutput(/connected tls-sub \(user device-1\) on mqtts:/, 10_000, 'stderr');
    broker.child.kill('SIGINT');
    expect((await broker.exited).code).toBe(0);
  });

  it('gains a TLS listener from flags (--tls-port --certfile --keyfile --cafile --require-certificate); says when a listener binds every interface', async () => {
    const dir = makeTempDir('mqtt311-flags-');
    const pki = makeClientPki(dir);
    const confPath = join(dir, 'any.conf');
    writeFileSync(confPath, 'listener 0\nallow_anonymous true\n');
    const flags = ['--tls-port', '0', '--certfile', pki.certFile, '--keyfile', pki.keyFile, '--cafile', pki.caFile, '--require-certificate'];
    const { broker, out } = await startCliBroker(['-c', confPath, ...flags], 2);
    const [plain, secure] = lines(out);
    expect(plain).toMatch(/^mqtt311 broker listening on \*:\d+ \(every interface\)$/);
    // The flag's listener takes the first listener's address: every interface too.
    const tlsPort = /^mqtt311 broker listening on mqtts:\/\/\*:(\d+) \(every interface\)$/.exec(secure!)![1]!;
    const s = await liveSubscriber(['-p', /:(\d+) /.exec(plain!)![1]!, '-t', 'flags/t', '-C', '1']);
    expect((await pub(['-p', tlsPort, '--cafile', pki.caFile, '--cert', pki.clientCertFile, '--key', pki.clientKeyFile, '-t', 'flags/t', '-m', 'tls'])).code).toBe(0);
    expect((await s.exited).code).toBe(0);
    expect(lines(s.stdout())).toContain('tls');
    broker.child.kill('SIGINT');
    expect((await broker.exited).code).toBe(0);
  });

  it('publishes $SYS/broker/... with mosquitto’s names and formats; mosquitto_sub reads values matching the traffic', async () => {
    const dir = makeTempDir('mqtt311-sys-');
    const port = await freePort();
    const confPath = join(dir, 'sys.conf');
    writeFileSync(confPath, [`listener ${port} ${HOST}`, 'allow_anonymous true', 'sys_interval 1', ''].join('\n'));
    const { broker } = await startCliBroker(['-c', confPath]);
    const p = String(port);
    const s = await liveSubscriber(['-p', p, '-t', 'work/#', '-q', '1']);
    for (let i = 0; i < 3; i++) expect((await pub(['-p', p, '-t', `work/${i}`, '-m', `m${i}`, '-q', '1'])).code).toBe(0);
    // Clients may not write $SYS: acknowledged, not retained.
    expect((await pub(['-p', p, '-t', '$SYS/broker/version', '-m', 'forged', '-r'])).code).toBe(0);

    // Wait for an update that has counted all four publishes (each read returns the retained value).
    const probe = await mqtt.connectAsync(`mqtt://${HOST}:${p}`, { reconnectPeriod: 0 });
    const counted = new Promise<string>((resolve) => probe.on('message', (_t, m) => m.toString() === '4' && resolve(m.toString())));
    await probe.subscribeAsync('$SYS/broker/publish/messages/received');
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('no update counting 4 within 15 s'), 15_000).unref());
    expect(await Promise.race([counted, timeout])).toBe('4');
    await probe.endAsync();

    // --retained-only: print the retained tree, stop at the first live update (sys_interval 1).
    const all = await sub(['-p', p, '-t', '$SYS/#', '-v', '-W', '12', '--retained-only']);
    // "topic payload" per line; one mosquitto topic name has a space in it.
    const values = new Map(lines(all.stdout).map((l) => /^(\$SYS\/broker\/(?:retained messages\/count|\S+)) (.*)$/.exec(l)!.slice(1, 3) as [string, string]));
    const sys = (t: string) => values.get(`$SYS/broker/${t}`);
    expect(sys('version')).toMatch(/^mqtt311 version \d+\.\d+\.\d+$/);
    expect(sys('uptime')).toMatch(/^\d+ seconds$/);
    expect(sys('publish/messages/received')).toBe('4');
    expect(['1', '2']).toContain(sys('subscriptions/count'));
    // The subscriber, and at most the probe above if it was still connected at that update.
    expect(['1', '2']).toContain(sys('clients/connected'));
    expect(Number(sys('clients/maximum'))).toBeGreaterThanOrEqual(2);
    expect(Number(sys('publish/messages/sent'))).toBeGreaterThanOrEqual(3);
    // 4 publishers × CONNECT, PUBLISH, DISCONNECT, and the subscriber's CONNECT, SUBSCRIBE, PUBACKs.
    expect(Number(sys('messages/received'))).toBeGreaterThanOrEqual(4 * 3 + 2 + 3);
    expect(Number(sys('bytes/received'))).toBeGreaterThan(0);
    expect(Number(sys('retained messages/count'))).toBeGreaterThanOrEqual(50);
    for (const t of ['clients/total', 'clients/connected', 'clients/disconnected', 'clients/active', 'clients/inactive', 'clients/expired', 'messages/sent', 'messages/stored',
      'publish/messages/dropped', 'publish/bytes/received', 'publish/bytes/sent', 'bytes/sent', 'store/messages/count', 'store/messages/bytes', 'heap/current', 'heap/maximum']) {
      expect(sys(t), t).toMatch(/^\d+$/);
    }
    for (const what of ['messages/received', 'messages/sent', 'publish/received', 'publish/sent', 'publish/dropped', 'bytes/received', 'bytes/sent', 'sockets', 'connections']) {
      for (const w of ['1min', '5min', '15min']) expect(sys(`load/${what}/${w}`), `load/${what}/${w}`).toMatch(/^\d+\.\d\d$/);
    }
    s.child.kill('SIGTERM');
    broker.child.kill('SIGINT');
    expect((await broker.exited).code).toBe(0);
  });
});
