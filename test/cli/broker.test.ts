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
  startMosquitto,
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
  return { broker, port: LISTENING.exec(out)![1]! };
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
    const client = await mqtt.connectAsync(url!, { reconnectPeriod: 0, connectTimeout: 10_000 });
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

/** Connects as "subby", subscribes to a/# at QoS 1, unsubscribes, and disconnects. */
async function subscribeAndLeave(port: number): Promise<void> {
  const client = await mqtt.connectAsync(`mqtt://${HOST}:${port}`, { clientId: 'subby', reconnectPeriod: 0, connectTimeout: 10_000 });
  await client.subscribeAsync('a/#', { qos: 1 });
  await client.unsubscribeAsync('a/#');
  await client.endAsync();
}

const typeLines = (types: string) => ['log_dest stderr', 'log_timestamp false', ...types.split(' ').map((t) => `log_type ${t}`)];

describe('mqtt311 broker log_type, beside mosquitto', () => {
  /** The CLI broker's log for `subscribeAndLeave` under these log types, once `until` is logged. */
  async function ourLog(types: string, until: RegExp): Promise<string[]> {
    const config = join(makeTempDir('mqtt311-cli-'), 'log.conf');
    writeFileSync(config, [...typeLines(types), ''].join('\n'));
    const { broker, port } = await startCliBroker(['-c', config, '-p', '0']);
    await subscribeAndLeave(Number(port));
    await broker.waitForOutput(until, 10_000, 'stderr');
    broker.child.kill('SIGINT');
    expect((await broker.exited).code).toBe(0);
    return lines(broker.stderr());
  }

  /** mosquitto's log for the same, once `until` is logged. */
  async function mosquittoLog(types: string, until: RegExp): Promise<string[]> {
    const mosq = await startMosquitto(typeLines(types));
    try {
      await subscribeAndLeave(mosq.port);
      await mosq.process.waitForOutput(until, 10_000, 'stderr');
      // Its warning about running as root (startMosquitto's `user root`) is printed whatever log_type says.
      return lines(mosq.log()).filter((l) => !l.includes('should not be run as root'));
    } finally {
      await mosq.stop();
    }
  }

  it('log_type subscribe prints "CLIENTID QOS FILTER" and no connection, unsubscribe or stop line', async () => {
    // The stop closes every connection and logs "stopping": notice lines, so none of them shows.
    expect(await ourLog('subscribe', /subby 1 a\/#/)).toEqual(['subby 1 a/#']);
  });

  it('log_type notice prints connections and disconnections and no subscribe line', async () => {
    const log = await ourLog('notice', /disconnected subby/);
    expect(log).toContainEqual(expect.stringMatching(/^connected subby/));
    expect(log).toContainEqual(expect.stringMatching(/^disconnected subby/));
    expect(log.filter((l) => l.includes('a/#'))).toEqual([]);
  });

  it('log_type subscribe and unsubscribe add up: one line each', async () => {
    expect(await ourLog('subscribe unsubscribe', /subby a\/#/)).toEqual(['subby 1 a/#', 'subby a/#']);
  });

  describe.skipIf(!requirePeer('mosquitto'))('mosquitto 2.0.11 prints the same for the same config', () => {
    it('log_type subscribe and unsubscribe: the same two lines', async () => {
      expect(await mosquittoLog('subscribe unsubscribe', /subby a\/#/)).toEqual(['subby 1 a/#', 'subby a/#']);
    });

    it('log_type notice: connections and disconnections, no subscribe line', async () => {
      const log = await mosquittoLog('notice', /Client subby disconnected/);
      expect(log).toContainEqual(expect.stringMatching(/^New client connected from .* as subby /));
      expect(log.filter((l) => l.includes('a/#'))).toEqual([]);
    });
  });
});
