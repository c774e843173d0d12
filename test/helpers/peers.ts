/**
 * Finding and running the real MQTT peers that interop tests talk to: mosquitto,
 * mosquitto_pub / mosquitto_sub, and Paho Python (Debian's python3-paho-mqtt under /usr/bin/python3).
 *
 * Policy for a missing peer (see `requirePeer`):
 * - locally (no `CI` in the environment) the suite is skipped and a warning says what to install;
 * - in CI (`CI` set to anything but `''`/`'false'`/`'0'`) a missing peer throws, so the run FAILS.
 *
 * Every process started here is registered and killed by `stopAllProcesses()` (call it in
 * `afterAll`) and, as a last resort, when the test worker exits. Only 127.0.0.1 is ever used.
 *
 * ```ts
 * const run = requirePeer('mosquitto');
 * describe.skipIf(!run)('against mosquitto', () => {
 *   let mosq: MosquittoHandle;
 *   beforeAll(async () => { mosq = await startMosquitto(); });
 *   afterAll(async () => { await mosq?.stop(); await stopAllProcesses(); });
 * });
 * ```
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, accessSync, constants as fsConstants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { forgetTempDir, makeTempDir, runProcess, spawnProcess, type ProcessResult, type RunOptions, type SpawnedProcess } from './processes.js';

export {
  cleanupTempDirs,
  makeTempDir,
  runProcess,
  spawnProcess,
  stopAllProcesses,
  type ProcessResult,
  type RunOptions,
  type SpawnedProcess,
} from './processes.js';

/** The Python that Debian's python3-paho-mqtt is installed for (not whatever is first on PATH). */
export const PYTHON = '/usr/bin/python3';

/** Peers this helper knows how to find, with what to install when they are missing. */
export const PEERS = {
  mosquitto: { hint: 'apt-get install -y mosquitto' },
  mosquitto_pub: { hint: 'apt-get install -y mosquitto-clients' },
  mosquitto_sub: { hint: 'apt-get install -y mosquitto-clients' },
  paho: { hint: 'apt-get install -y python3 python3-paho-mqtt (run with /usr/bin/python3)' },
  python3: { hint: 'apt-get install -y python3' },
} as const;

/** A peer name known to `requirePeer`; any other string is looked up as a binary on PATH. */
export type PeerName = keyof typeof PEERS;

/** True when running under CI: a missing peer must fail the run there, not skip. */
export function isCI(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

const binaryCache = new Map<string, string | undefined>();

/** Absolute path of an executable found on PATH (or given as an absolute path), else `undefined`. */
export function findBinary(name: string): string | undefined {
  if (binaryCache.has(name)) return binaryCache.get(name);
  let found: string | undefined;
  const candidates = name.includes('/')
    ? [name]
    : // mosquitto lives in /usr/sbin, which is not always on a non-root PATH.
      [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'].map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      found = c;
      break;
    } catch {
      /* not here */
    }
  }
  binaryCache.set(name, found);
  return found;
}

/** Is the mosquitto broker installed? */
export function hasMosquitto(): boolean {
  return findBinary('mosquitto') !== undefined;
}

/** Are mosquitto_pub and mosquitto_sub installed? */
export function hasMosquittoClients(): boolean {
  return findBinary('mosquitto_pub') !== undefined && findBinary('mosquitto_sub') !== undefined;
}

let pahoCache: boolean | undefined;

/** Can /usr/bin/python3 import paho.mqtt.client? (checked once per worker) */
export function hasPahoPython(): boolean {
  if (pahoCache !== undefined) return pahoCache;
  if (!existsSync(PYTHON)) return (pahoCache = false);
  const r = spawnSync(PYTHON, ['-c', 'import paho.mqtt.client'], { timeout: 10_000, stdio: 'ignore' });
  return (pahoCache = r.status === 0);
}

function peerAvailable(name: string): boolean {
  switch (name) {
    case 'mosquitto':
      return hasMosquitto();
    case 'paho':
      return hasPahoPython();
    case 'python3':
      return existsSync(PYTHON);
    default:
      return findBinary(name) !== undefined;
  }
}

/**
 * Decides whether a suite needing `name` runs. Returns `true` when the peer is available.
 * When it is missing: in CI it throws (the test file fails); otherwise it warns with
 * `installHint` (or the known hint for `name`) and returns `false` — use with `describe.skipIf(!…)`.
 */
export function requirePeer(name: PeerName | (string & {}), installHint?: string): boolean {
  if (peerAvailable(name)) return true;
  const hint = installHint ?? (PEERS as Record<string, { hint: string }>)[name]?.hint ?? `install ${name}`;
  const msg = `peer "${name}" not found: ${hint}`;
  if (isCI()) throw new Error(`${msg} (CI is set, so a missing peer is a failure)`);
  console.warn(`skipping interop tests: ${msg}`);
  return false;
}

/** A free TCP port on 127.0.0.1 (asks the OS for port 0, then releases it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:`port` accepts a TCP connection; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not accept connections within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// mosquitto

/** A running mosquitto started by `startMosquitto`. */
export interface MosquittoHandle {
  /** The TCP port of its listener on 127.0.0.1. */
  port: number;
  /** Its temporary directory (holds `mosquitto.conf`; put password/ACL files here). */
  dir: string;
  process: SpawnedProcess;
  /** mosquitto's log output (stderr) so far. */
  log(): string;
  /** Stops mosquitto (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a private mosquitto on a free port of 127.0.0.1 and waits until it accepts connections.
 * `extraConf` lines are appended to the config (after the listener line, so listener options such
 * as `cafile` apply to it); the string `{dir}` in them is replaced by the temp directory.
 * `user root` keeps mosquitto from dropping privileges so it can read files in the temp dir.
 */
export async function startMosquitto(extraConf: string | string[] = []): Promise<MosquittoHandle> {
  const bin = findBinary('mosquitto');
  if (!bin) throw new Error(`mosquitto not found: ${PEERS.mosquitto.hint}`);
  const extra = (Array.isArray(extraConf) ? extraConf : [extraConf]).filter((l) => l.trim() !== '');
  let lastError: unknown;
  // A freed port can be taken by someone else before mosquitto binds it: retry a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = makeTempDir('mqtt311-mosq-');
    const conf = [
      'user root',
      'persistence false',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'log_dest stderr',
      ...extra.map((l) => l.replaceAll('{dir}', dir)),
      '',
    ].join('\n');
    const confPath = join(dir, 'mosquitto.conf');
    writeFileSync(confPath, conf);
    const proc = spawnProcess(bin, ['-c', confPath], { timeoutMs: 10 * 60_000 });
    try {
      await Promise.race([
        waitForPort(port, 10_000),
        proc.exited.then(() => {
          throw new Error(`mosquitto exited: ${proc.stderr()}`);
        }),
      ]);
    } catch (e) {
      lastError = e;
      await proc.stop('SIGKILL');
      forgetTempDir(dir);
      continue;
    }
    return {
      port,
      dir,
      process: proc,
      log: () => proc.stderr(),
      async stop() {
        await proc.stop('SIGTERM', 2_000);
        forgetTempDir(dir);
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

// ---------------------------------------------------------------------------------------------
// Paho Python

/**
 * Starts a Python script (as a temp file) under /usr/bin/python3 with Debian's paho-mqtt.
 * The script gets `args` in `sys.argv[1:]`. Registered for cleanup like `spawnProcess`.
 * Scripts should `print(..., flush=True)` so `waitForOutput` sees lines as they happen.
 */
export function spawnPython(script: string, args: string[] = [], options: RunOptions = {}): SpawnedProcess {
  const dir = makeTempDir('mqtt311-py-');
  const file = join(dir, 'script.py');
  writeFileSync(file, script);
  return spawnProcess(PYTHON, ['-u', file, ...args], options);
}

/** Runs a Python script to completion (see `spawnPython`), with a hard timeout (default 15 s). */
export async function runPython(script: string, args: string[] = [], options: RunOptions = {}): Promise<ProcessResult> {
  const dir = makeTempDir('mqtt311-py-');
  const file = join(dir, 'script.py');
  writeFileSync(file, script);
  return runProcess(PYTHON, ['-u', file, ...args], options);
}
