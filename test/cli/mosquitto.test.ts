/**
 * `mqtt311 pub` and `mqtt311 sub` against a real mosquitto: plain TCP, keep-alive, refusals (with
 * the same exit code as mosquitto_pub), and TLS with a throw-away CA made by openssl here —
 * --cafile, client certificates (--cert/--key with `require_certificate true`), and --insecure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  cleanupTempDirs,
  findBinary,
  freePort,
  makeTempDir,
  requirePeer,
  runProcess,
  startMosquitto,
  stopAllProcesses,
  waitForPort,
  type MosquittoHandle,
} from '../helpers/peers.js';
import { makeCertificates } from '../helpers/certs.js';
import { lines, messageLines, runCli, startSubscriber } from './helpers.js';

const HOST = '127.0.0.1';
const hasPeers = requirePeer('mosquitto') && requirePeer('mosquitto_pub') && requirePeer('mosquitto_sub') && requirePeer('openssl', 'apt-get install -y openssl');

afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});

describe.skipIf(!hasPeers)('mqtt311 pub/sub against mosquitto', () => {
  let mosq: MosquittoHandle;
  let port: string;
  beforeAll(async () => {
    mosq = await startMosquitto();
    port = String(mosq.port);
  });
  afterAll(async () => {
    await mosq?.stop();
  });

  it('sub prints what mosquitto_pub sends; pub sends what mosquitto_sub prints', async () => {
    const sub = await startSubscriber(['-h', HOST, '-p', port, '-t', 'interop/#', '-v', '-q', '2', '-C', '1']);
    const sent = await runProcess(findBinary('mosquitto_pub')!, ['-h', HOST, '-p', port, '-t', 'interop/in', '-m', 'from mosquitto_pub', '-q', '2']);
    expect(sent.code).toBe(0);
    expect((await sub.exited).code).toBe(0);
    expect(messageLines(sub.stdout())).toEqual(['interop/in from mosquitto_pub']);

    const pub = await runCli(['pub', '-h', HOST, '-p', port, '-t', 'interop/out', '-m', 'from mqtt311', '-q', '1', '-r']);
    expect(pub.code).toBe(0);
    const got = await runProcess(findBinary('mosquitto_sub')!, ['-h', HOST, '-p', port, '-t', 'interop/out', '-v', '-C', '1', '-W', '10']);
    expect(got.code).toBe(0);
    expect(got.stdout).toBe('interop/out from mqtt311\n');
  });

  it('keeps the connection alive with PINGREQ every -k seconds', async () => {
    const sub = await startSubscriber(['-h', HOST, '-p', port, '-t', 'interop/idle', '-k', '1', '-i', 'keepalive-test']);
    await sub.waitForOutput(/Client keepalive-test sending PINGREQ\nClient keepalive-test received PINGRESP\n/, 10_000);
    await sub.stop('SIGINT');
    expect((await sub.exited).code).toBe(0);
  });

  it('exits 27 on -W like mosquitto_sub does', async () => {
    const ours = await runCli(['sub', '-h', HOST, '-p', port, '-t', 'interop/none', '-W', '1']);
    const theirs = await runProcess(findBinary('mosquitto_sub')!, ['-h', HOST, '-p', port, '-t', 'interop/none', '-W', '1']);
    expect(theirs.code).toBe(27);
    expect(ours.code).toBe(theirs.code);
  });
});

describe.skipIf(!hasPeers)('mqtt311 pub/sub against mosquitto refusing anonymous clients', () => {
  let mosq: MosquittoHandle;
  beforeAll(async () => {
    mosq = await startMosquitto(['allow_anonymous false']);
  });
  afterAll(async () => {
    await mosq?.stop();
  });

  it('exits with the CONNACK return code, as mosquitto_pub does', async () => {
    const port = String(mosq.port);
    const theirs = await runProcess(findBinary('mosquitto_pub')!, ['-h', HOST, '-p', port, '-t', 't', '-m', 'x']);
    const ours = await runCli(['pub', '-h', HOST, '-p', port, '-t', 't', '-m', 'x']);
    expect(theirs.code).toBe(5);
    expect(ours.code).toBe(5);
    expect(ours.stderr).toBe('Error: CONNACK 5: not authorized\n');
    const sub = await runCli(['sub', '-h', HOST, '-p', port, '-t', 't', '-u', 'nobody', '-P', 'x']);
    expect(sub.code).toBe(5);
  });
});

describe.skipIf(!hasPeers)('mqtt311 pub/sub over TLS to mosquitto', () => {
  let mosq: MosquittoHandle;
  let dir: string;
  /** Needs a client certificate. */
  let mutualPort: string;
  /** Server certificate only. */
  let tlsPort: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = makeTempDir('mqtt311-tls-');
    makeCertificates(dir);
    const second = await freePort();
    // The first listener (from startMosquitto) stays plain; two TLS listeners follow.
    const mutual = await freePort();
    mosq = await startMosquitto([
      `listener ${mutual} 127.0.0.1`,
      `cafile ${file('ca.crt')}`,
      `certfile ${file('server.crt')}`,
      `keyfile ${file('server.key')}`,
      'require_certificate true',
      `listener ${second} 127.0.0.1`,
      `cafile ${file('ca.crt')}`,
      `certfile ${file('server.crt')}`,
      `keyfile ${file('server.key')}`,
    ]);
    await waitForPort(mutual);
    await waitForPort(second);
    mutualPort = String(mutual);
    tlsPort = String(second);
  });
  afterAll(async () => {
    await mosq?.stop();
  });

  it('publishes and subscribes with --cafile, --cert and --key (client certificate required)', async () => {
    const tls = ['--cafile', file('ca.crt'), '--cert', file('client.crt'), '--key', file('client.key')];
    const pub = await runCli(['pub', '-h', HOST, '-p', mutualPort, ...tls, '-t', 'tls/x', '-m', 'secure', '-r', '-q', '1']);
    expect(pub.stderr).toBe('');
    expect(pub.code).toBe(0);
    const sub = await runCli(['sub', '-h', HOST, '-p', mutualPort, ...tls, '-t', 'tls/x', '-v', '-C', '1', '-W', '10']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toBe('tls/x secure\n');
  });

  it('fails in one line, exit 1, when the server wants a client certificate and none is given', async () => {
    const r = await runCli(['pub', '-h', HOST, '-p', mutualPort, '--cafile', file('ca.crt'), '-t', 'tls/x', '-m', 'x']);
    expect(r.code).toBe(1);
    // TLS 1.3 reports the missing certificate after the handshake: an alert, or a reset socket.
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^Error: (TLS with 127\.0\.0\.1:\d+ failed: .*client certificate|connection (reset|closed|lost))/)]);
  });

  it('refuses a server certificate from an unknown CA, and accepts it with --insecure', async () => {
    const url = `mqtts://${HOST}:${tlsPort}/tls/insecure`;
    const strict = await runCli(['pub', '-L', url, '-m', 'x']);
    expect(strict.code).toBe(1);
    expect(lines(strict.stderr)).toEqual([expect.stringMatching(/^Error: TLS with 127\.0\.0\.1:\d+ failed: .*\(\w+\); give the CA with --cafile \(or --insecure\)$/)]);
    const insecure = await runCli(['pub', '-L', url, '-m', 'x', '--insecure']);
    expect(insecure.stderr).toBe('');
    expect(insecure.code).toBe(0);
  });
});
