/**
 * Child processes and temporary directories for tests, with cleanup that cannot be forgotten:
 * every process is registered and killed (with everything it started) by `stopAllProcesses()`
 * or when the test worker exits; every temp dir is removed by `cleanupTempDirs()` or at exit.
 * Re-exported by `peers.ts`.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** Removes one directory made by `makeTempDir` now. */
export function forgetTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Removes every directory made by `makeTempDir`. */
export function cleanupTempDirs(): void {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

process.once('exit', cleanupTempDirs);
