/**
 * `mqtt311 check` against real brokers: broker-mini must pass every row it marks testable;
 * mosquitto and aedes must fail exactly the rules we know them to break, each with evidence. The
 * run must clean up after itself and must not hang on a broker that stops answering.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { startBroker } from '../../src/broker-mini/index.js';
import { runCheck } from '../../src/cli/check.js';
import { runChecks, type CheckTraces } from '../../src/lab/check/suite.js';
import type { CheckResult } from '../../src/lab/check/types.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';
import { cleanupTempDirs, requirePeer, stopAllProcesses } from '../helpers/peers.js';
import { startScriptedServer } from './helpers.js';
import { startCheckTarget } from './targets.js';

afterAll(async () => {
  await closeAllRawClients();
  await stopAllProcesses();
  cleanupTempDirs();
});

const failed = (results: CheckResult[]) => results.filter((r) => r.status === 'FAIL').map((r) => r.rule);

/** Runs the CLI in this process; resolves with its exit code and output. */
async function checkCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [out, err] = [new PassThrough(), new PassThrough()];
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await runCheck(args, { stdin: new PassThrough(), stdout: out, stderr: err, interrupt: new AbortController().signal });
  return { code, stdout, stderr };
}

describe('mqtt311 check against broker-mini', () => {
  it('passes every testable rule, exits 0, says up front what it publishes, and leaves nothing behind', { timeout: 180_000 }, async () => {
    const broker = await startBroker({ port: 0 });
    try {
      const port = broker.address.port;
      const { code, stdout, stderr } = await checkCli([`127.0.0.1:${port}`, '--json']);
      const report = JSON.parse(stdout) as { fail: number; pass: number; results: CheckResult[] };
      expect(failed(report.results)).toEqual([]);
      expect(code).toBe(0);
      expect(report.pass).toBeGreaterThan(60);
      expect(stderr).toMatch(/^mqtt311 check publishes under mqtt311-check\/#/);
      // Every row is a broker-side (or server-enforced) rule, each once.
      expect(new Set(report.results.map((r) => r.rule)).size).toBe(report.results.length);
      // Clean-up: no retained message is left under mqtt311-check/#, no session is kept.
      const client = await RawClient.connect(port);
      await client.handshake({ clientId: 'after-check' });
      client.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'mqtt311-check/#', qos: 0 }] });
      expect((await client.next()).cmd).toBe('suback');
      expect(await client.nothingWithin(300)).toBe(true);
      await client.close();
    } finally {
      await broker.close();
    }
  });

  it('removes the persistent sessions it created', { timeout: 60_000 }, async () => {
    const broker = await startBroker({ port: 0 });
    try {
      const traces: CheckTraces = { retained: [], sessions: [] };
      const results = await runChecks({ target: { host: '127.0.0.1', port: broker.address.port } }, undefined, (r) => ['MQTT-3.1.2-5', 'MQTT-3.2.2-2', 'MQTT-4.4.0-1'].includes(r), traces);
      expect(results.map((r) => r.status)).toEqual(['PASS', 'PASS', 'PASS']);
      expect(traces.sessions.length).toBeGreaterThanOrEqual(3);
      for (const id of traces.sessions) expect(broker.sessionInfo(id)).toBeUndefined();
    } finally {
      await broker.close();
    }
  });
});

describe('mqtt311 check options', () => {
  it('connects with -u/-P, runs only the rules of --only, and prints one text row each', { timeout: 30_000 }, async () => {
    const broker = await startBroker({ port: 0, allowAnonymous: false, users: { alice: 'secret' } });
    try {
      const where = `127.0.0.1:${broker.address.port}`;
      const ok = await checkCli([where, '-u', 'alice', '-P', 'secret', '--only', 'MQTT-3.1.4-4', '--only', '3.12.4-1']);
      expect(ok.stdout.trim().split('\n')).toEqual([
        'PASS         [MQTT-3.1.4-4] A valid CONNECT is accepted with CONNACK return code 0.',
        '             seen: CONNACK 0',
        'PASS         [MQTT-3.12.4-1] The server answers each PINGREQ with a PINGRESP.',
        '             seen: two PINGREQ, two PINGRESP',
        '2 PASS, 0 FAIL, 0 NOT TESTABLE',
      ]);
      expect(ok.code).toBe(0);
      const refused = await checkCli([where, '--only', 'MQTT-3.1.4-4', '--markdown']);
      expect(refused.stdout).toContain('| [MQTT-3.1.4-4] | A valid CONNECT is accepted with CONNACK return code 0. | **FAIL** | CONNECT refused with return code 5 |');
      expect(refused.code).toBe(1);
    } finally {
      await broker.close();
    }
  });
});

describe.skipIf(!requirePeer('mosquitto'))('mqtt311 check against mosquitto 2.0.11', () => {
  it('[MQTT-3.3.5-1] [MQTT-2.2.2-2] [MQTT-3.1.2-24] reports exactly the known differences, with evidence, and exits 1', { timeout: 180_000 }, async () => {
    const target = await startCheckTarget('mosquitto');
    try {
      const { code, stdout } = await checkCli([`127.0.0.1:${target.port}`, '--json']);
      const report = JSON.parse(stdout) as { results: CheckResult[] };
      expect(failed(report.results)).toEqual(['MQTT-2.2.2-2', 'MQTT-3.1.2-24', 'MQTT-3.3.5-1']);
      // mosquitto 2.0 looks at keep-alive only every few seconds: some silent clients stay too long.
      expect(report.results.find((r) => r.rule === 'MQTT-3.1.2-24')?.detail).toMatch(/closed after [3-9]\d{3} ms/);
      const overlap = report.results.find((r) => r.rule === 'MQTT-3.3.5-1');
      expect(overlap?.detail).toMatch(/\+ q2 and overlap\d\/x q1 \(SUBACK \[2, 1\]\): a QoS 2 publication on overlap\d\/x arrived as q1 = 32 /);
      expect(report.results.find((r) => r.rule === 'MQTT-2.2.2-2')?.detail).toMatch(/PUBACK with flags 0001: expected the connection to close, got: still open/);
      expect(code).toBe(1);
    } finally {
      await target.stop();
    }
  });
});

describe('mqtt311 check against aedes', () => {
  it('reports the rules aedes breaks', { timeout: 180_000 }, async () => {
    const target = await startCheckTarget('aedes');
    try {
      const results = await runChecks({ target: { host: '127.0.0.1', port: target.port } });
      expect(failed(results)).toEqual(AEDES_FAILS);
    } finally {
      await target.stop();
    }
  });
});

/** What aedes (the devDependency's version) does differently; see docs/CHECK-aedes.md. */
const AEDES_FAILS = [
  'MQTT-1.5.3-1', 'MQTT-1.5.3-2', 'MQTT-3.1.2-2', 'MQTT-3.1.3-8', 'MQTT-3.1.3-9', 'MQTT-3.3.1-1', 'MQTT-3.3.1-3', 'MQTT-3.3.5-1', 'MQTT-3.10.3-2',
];

describe('mqtt311 check on a broker that stops answering', () => {
  it('gives FAIL verdicts within its timeouts instead of hanging', { timeout: 30_000 }, async () => {
    const server = await startScriptedServer();
    try {
      const start = Date.now();
      const results = await runChecks({ target: { host: '127.0.0.1', port: server.port }, timeoutMs: 300 }, undefined, (r) => ['MQTT-3.1.4-4', 'MQTT-3.12.4-1', 'MQTT-3.3.5-1'].includes(r));
      expect(results.map((r) => r.status)).toEqual(['FAIL', 'FAIL', 'FAIL']);
      expect(results[0]!.detail).toMatch(/expected CONNACK, got: nothing arrived/);
      expect(Date.now() - start).toBeLessThan(20_000);
    } finally {
      await server.close();
    }
  });
});
