/**
 * Client test fixtures around real peers: a throw-away CA and server certificate for TLS, a
 * mosquitto on a chosen port (to restart it on the same port), and small waiting helpers.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary, spawnProcess, waitForPort, type SpawnedProcess } from '../helpers/peers.js';

/** PEM files of a test CA and a server certificate for 127.0.0.1 / localhost signed by it. */
export interface TestPki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: string;
}

/** Makes a CA and a server certificate in `dir` with openssl (the recipe in PEERS.md). */
export function makePki(dir: string): TestPki {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 30_000 });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=mqtt311-test-ca');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf');
  const caFile = join(dir, 'ca.crt');
  return { dir, caFile, certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), ca: readFileSync(caFile, 'utf8') };
}

/**
 * Starts mosquitto on `port` with its config in `dir` (so a restart on the same port can reuse
 * the same persistence file). Resolves once the port accepts connections.
 */
export async function startMosquittoAt(port: number, dir: string, extra: string[] = []): Promise<SpawnedProcess> {
  const conf = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(conf, ['user root', `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'set_tcp_nodelay true', 'log_dest stderr', ...extra, ''].join('\n'));
  const proc = spawnProcess(findBinary('mosquitto')!, ['-c', conf], { timeoutMs: 5 * 60_000 });
  await Promise.race([
    waitForPort(port, 10_000),
    proc.exited.then(() => {
      throw new Error(`mosquitto exited: ${proc.stderr()}`);
    }),
  ]);
  return proc;
}

/** Waits until `cond()` holds, polling; throws `what` after `ms`. */
export async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
