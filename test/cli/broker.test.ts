/**
 * `mqtt311 broker` as a child process, used by the real mosquitto_pub / mosquitto_sub (and
 * MQTT.js over WebSocket): the listening line, -p, -b, -c config, -v logging, clean stops on
 * SIGINT/SIGTERM, and one-line errors for a bad config or a busy port.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import {
  cleanupTempDirs,
  findBinary,
  freePort,
  makeTempDir,
  requirePeer,
  runProcess,
  stopAllProcesses,
  type SpawnedProcess,
} from '../helpers/peers.js';
import { lines, runCli, spawnCli } from './helpers.js';

const HOST = '127.0.0.1';
const LISTENING = /mqtt311 broker listening on 127\.0\.0\.1:(\d+)\n/;

afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});

/** Starts `mqtt311 broker …args` and resolves with it and the port it printed. */
async function startCliBroker(args: string[]): Promise<{ broker: SpawnedProcess; port: string }> {
  const broker = spawnCli(['broker', ...args]);
  const out = await broker.waitForOutput(LISTENING, 20_000);
  return { broker, port: LISTENING.exec(out)![1] };
}

const hasClients = requirePeer('mosquitto_pub') && requirePeer('mosquitto_sub');

describe.skipIf(!hasClients)('mqtt311 broker with mosquitto_pub and mosquitto_sub', () => {
  const pub = (args: string[]) => runProcess(findBinary('mosquitto_pub')!, ['-h', HOST, ...args], { timeoutMs: 15_000 });

  it('prints where it listens (-p 0 picks a free port), routes messages, and stops with exit 0 on SIGINT', async () => {
    const { broker, port } = await startCliBroker(['-p', '0']);
    // Retained, so the subscriber gets them whenever its SUBSCRIBE lands (its stdout is buffered).
    expect((await pub(['-p', port, '-t', 'cli/a', '-m', 'one', '-q', '1', '-r'])).code).toBe(0);
    expect((await pub(['-p', port, '-t', 'cli/b', '-m', 'two', '-q', '2', '-r'])).code).toBe(0);
    const sub = await runProcess(findBinary('mosquitto_sub')!, ['-h', HOST, '-p', port, '-t', 'cli/#', '-v', '-C', '2', '-q', '1', '-W', '10']);
    expect(sub.code).toBe(0);
    expect(lines(sub.stdout).sort()).toEqual(['cli/a one', 'cli/b two']);
    broker.child.kill('SIGINT');
    expect((await broker.exited).code).toBe(0);
    expect(lines(broker.stdout())).toEqual([`mqtt311 broker listening on ${HOST}:${port}`]);
    expect(broker.stderr()).toBe('');
  });

  it('reads -c config (users, allow_anonymous false); -p and -b override it; SIGTERM stops it', async () => {
    const dir = makeTempDir('mqtt311-cli-');
    const config = join(dir, 'broker.conf');
    writeFileSync(config, ['# test config', 'listener 1 0.0.0.0', 'allow_anonymous false', 'user alice secret', ''].join('\n'));
    const port = String(await freePort());
    const { broker, port: printed } = await startCliBroker(['-c', config, '-p', port, '-b', HOST]);
    expect(printed).toBe(port);
    const anonymous = await pub(['-p', port, '-t', 't', '-m', 'x']);
    expect(anonymous.code).toBe(5); // CONNACK 5, not authorized
    const alice = await pub(['-p', port, '-t', 't', '-m', 'x', '-u', 'alice', '-P', 'secret']);
    expect(alice.code).toBe(0);
    broker.child.kill('SIGTERM');
    expect((await broker.exited).code).toBe(0);
  });

  it('logs connections and every packet with -v, passwords redacted', async () => {
    const { broker, port } = await startCliBroker(['-p', '0', '-v']);
    expect((await pub(['-p', port, '-t', 'logged/topic', '-m', 'x', '-q', '1', '-i', 'logger-test', '-u', 'bob', '-P', 'hunter2'])).code).toBe(0);
    await broker.waitForOutput(/DISCONNECT/, 10_000, 'stderr');
    await broker.stop('SIGINT');
    const log = broker.stderr();
    expect(log).toMatch(/CONNECT clientId="logger-test".*password=<redacted>/);
    expect(log).toMatch(/PUBLISH q1 id=1 "logged\/topic" \(1 B\)/);
    expect(log).toMatch(/PUBACK id=1/);
    expect(log).not.toContain('hunter2');
  });
});

describe('mqtt311 broker', () => {
  it('serves MQTT over WebSocket with --ws-port, for MQTT.js', async () => {
    const { broker } = await startCliBroker(['-p', '0', '--ws-port', '0']);
    const out = await broker.waitForOutput(/listening on (ws:\/\/\S+)\n/, 10_000);
    const url = /listening on (ws:\/\/\S+)\n/.exec(out)![1];
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000 });
    try {
      await client.subscribeAsync('ws/t', { qos: 1 });
      const got = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));
      await client.publishAsync('ws/t', 'over ws', { qos: 1 });
      expect(await got).toBe('over ws');
    } finally {
      await client.endAsync();
      await broker.stop('SIGINT');
    }
    expect((await broker.exited).code).toBe(0);
  });

  it('reports a bad config file as one line naming the file and line, exit 1', async () => {
    const dir = makeTempDir('mqtt311-cli-');
    const config = join(dir, 'bad.conf');
    writeFileSync(config, 'port 1883\nmax_flux 7\n');
    const r = await runCli(['broker', '-c', config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: config ${config}:2: unknown directive "max_flux"\n`);
    const missing = await runCli(['broker', '-c', join(dir, 'none.conf')]);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toEqual([expect.stringMatching(/^Error: config .*none\.conf:0: cannot read: /)]);
  });

  it('reports a port already in use as one line, exit 1', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, HOST, resolve));
    const busy = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['broker', '-p', String(busy), '-b', HOST]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`Error: cannot listen on ${HOST}:${busy}: address already in use\n`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('refuses unknown options and bad ports with exit 1', async () => {
    const unknown = await runCli(['broker', '--daemon']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('Error: no such option --daemon (see mqtt311 broker --help)\n');
    const port = await runCli(['broker', '-p', '70000']);
    expect(port.code).toBe(1);
    expect(port.stderr).toMatch(/^Error: -p must be from 0 to 65535, got 70000/);
  });
});
