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
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, accessSync, constants as fsConstants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

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
// Processes

/** The outcome of `runProcess`. */
export interface ProcessResult {
  /** Exit code, or `null` when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the process was killed because it outlived `timeoutMs`. */
  timedOut: boolean;
}

/** Options for `runProcess` and `spawnProcess`. */
export interface RunOptions {
  /** Hard limit; the process gets SIGKILL when it is reached (default 15 s). */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A process started by `spawnProcess`, registered for cleanup. */
export interface SpawnedProcess {
  child: ChildProcess;
  readonly pid: number | undefined;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with stdout once it matches `pattern`; rejects on exit or after `timeoutMs`. */
  waitForOutput(pattern: RegExp | string, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<string>;
  /**
   * Sends `signal` (default SIGTERM) to the process and everything it started, waits for exit,
   * SIGKILLs after `graceMs` (default 2 s).
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Set<SpawnedProcess>();

/**
 * Signals the child's whole process group (children are started as group leaders), so a shell
 * or script that started processes of its own takes them down with it.
 */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

process.once('exit', () => {
  // Last resort: never leave a peer running after the worker dies.
  for (const p of live) killGroup(p.child, 'SIGKILL');
});

/**
 * Starts `cmd args` and registers it for cleanup (`stopAllProcesses`). The child is SIGKILLed
 * when `timeoutMs` (default 60 s) passes, so a hung peer can never hang the test run.
 */
export function spawnProcess(cmd: string, args: string[], options: RunOptions = {}): SpawnedProcess {
  // detached: the child leads its own process group, so stop() can signal everything it started.
  const spawnOpts: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, detached: true };
  if (options.cwd) spawnOpts.cwd = options.cwd;
  const child = spawn(cmd, args, spawnOpts);
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of watchers) w();
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    for (const w of watchers) w();
  });
  child.stdin?.on('error', () => {
    /* the child may exit before reading its stdin */
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      err += String(e);
      hasExited = true;
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => {
      hasExited = true;
      resolve({ code, signal });
    });
  });
  const hardLimit = setTimeout(() => killGroup(child, 'SIGKILL'), options.timeoutMs ?? 60_000);
  hardLimit.unref();
  const handle: SpawnedProcess = {
    child,
    get pid() {
      return child.pid;
    },
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput(pattern, timeoutMs = 10_000, stream = 'stdout') {
      const text = () => (stream === 'stdout' ? out : err);
      const matches = () => (typeof pattern === 'string' ? text().includes(pattern) : pattern.test(text()));
      return new Promise<string>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const done = (e?: Error) => {
          watchers.delete(check);
          clearTimeout(timer);
          if (e) reject(e);
          else resolve(text());
        };
        const check = () => {
          if (matches()) done();
        };
        if (matches()) return resolve(text());
        watchers.add(check);
        timer = setTimeout(() => done(new Error(`timed out waiting for ${String(pattern)}; ${stream}: ${text()}`)), timeoutMs);
        void exited.then(() => {
          if (watchers.has(check)) {
            if (matches()) done();
            else done(new Error(`${cmd} exited before printing ${String(pattern)}; stdout: ${out} stderr: ${err}`));
          }
        });
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 2_000) {
      if (!hasExited) {
        killGroup(child, signal);
        const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      clearTimeout(hardLimit);
      live.delete(handle);
    },
  };
  live.add(handle);
  void exited.then(() => {
    clearTimeout(hardLimit);
    live.delete(handle);
  });
  return handle;
}

/**
 * Runs `cmd args` to completion and collects its output. It is SIGKILLed after `timeoutMs`
 * (default 15 s); the result then has `timedOut: true`.
 */
export async function runProcess(cmd: string, args: string[], options: RunOptions = {}): Promise<ProcessResult> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  let timedOut = false;
  const p = spawnProcess(cmd, args, { ...options, timeoutMs: timeoutMs + 60_000 });
  const t = setTimeout(() => {
    timedOut = true;
    killGroup(p.child, 'SIGKILL');
  }, timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(t);
  return { code, signal, stdout: p.stdout(), stderr: p.stderr(), timedOut };
}

/** Stops every process started by this helper that is still running. Call it in `afterAll`. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop('SIGKILL')));
}

// ---------------------------------------------------------------------------------------------
// Temporary directories

const tempDirs = new Set<string>();

/** A fresh temporary directory, removed by `cleanupTempDirs()` or when the worker exits. */
export function makeTempDir(prefix = 'mqtt311-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes every directory made by `makeTempDir`. */
export function cleanupTempDirs(): void {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

process.once('exit', cleanupTempDirs);

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
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
      continue;
    }
    return {
      port,
      dir,
      process: proc,
      log: () => proc.stderr(),
      async stop() {
        await proc.stop('SIGTERM', 2_000);
        rmSync(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
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
