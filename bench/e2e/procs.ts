/**
 * Child processes of the end-to-end benchmark: start them, talk to them, and make sure every one
 * of them is gone when the harness ends — normally, on an error, or on Ctrl-C.
 *
 * Every child is registered here. `stopAll()` ends them politely (SIGTERM, then SIGKILL after a
 * grace period); a last-resort `exit` hook SIGKILLs whatever is left. Node children also get an
 * IPC channel: when the harness dies, the channel closes and they exit on their own
 * (`serve` in `rpc.ts`). mosquitto gets a parent-death signal instead (see brokers.ts).
 */
import { fork, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Rpc } from './rpc.js';

/** The repository root (two folders up from this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const children = new Set<ChildProcess>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // The last resort: 'exit' handlers must be synchronous, and kill() is.
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${children.size} child process(es)\n`);
      void stopAll(500).finally(() => process.exit(130));
    });
  }
}

function track(child: ChildProcess): ChildProcess {
  installHooks();
  children.add(child);
  child.once('exit', () => children.delete(child));
  // A child that cannot start reports it on 'error'; the caller sees it as an exit.
  child.on('error', () => children.delete(child));
  return child;
}

/** A Node child with an RPC channel. */
export interface NodeChild {
  child: ChildProcess;
  rpc: Rpc;
  /** The last lines the child wrote to stderr (for error reports). */
  stderrTail: () => string;
}

let compiled: ((script: string) => string) | undefined;

/**
 * From now on `forkNode` starts the compiled form of each script (see build.ts) with plain node
 * instead of running the TypeScript through tsx.
 */
export function useCompiled(pathOf: (script: string) => string): void {
  compiled = pathOf;
}

let profileDir: string | undefined;
let profileLabel = 'run';

/**
 * Node children forked from now on with a profile name (brokers, clients) write a V8 CPU profile
 * when they exit normally: `<dir>/<label>-<name>-<time>.cpuprofile`. `undefined` turns it off.
 */
export function profileChildren(dir: string | undefined, label = profileLabel): void {
  profileDir = dir;
  profileLabel = label;
}

/**
 * V8 writes one profile per thread (tsx's loader runs in a second one) with default names holding
 * the thread id: give each child a folder of its own and keep the main thread's (id 0).
 */
function profileArgs(child: () => ChildProcess, name: string): string[] {
  if (!profileDir) return [];
  const dir = mkdtempSync(join(profileDir, '.tmp-'));
  const target = join(profileDir, `${profileLabel}-${name}-${Date.now()}.cpuprofile`);
  queueMicrotask(() =>
    child().once('exit', () => {
      const main = readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
      if (main) renameSync(join(dir, main), target);
      rmSync(dir, { recursive: true, force: true });
    }),
  );
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/**
 * Forks `script` (a .ts file relative to the repository root: its compiled bundle after
 * `useCompiled`, else through tsx's loader) with an IPC channel. `extraExecArgv` goes to node
 * (for example `--expose-gc`), `args` to the script. With `profileName`, the child is profiled
 * when `profileChildren` is on.
 */
export function forkNode(script: string, extraExecArgv: string[] = [], args: string[] = [], profileName?: string): NodeChild {
  let forked: ChildProcess | undefined = undefined; // set just below, once forked
  const profiling = profileName ? profileArgs(() => forked!, profileName) : [];
  const child = track(
    fork(compiled ? compiled(script) : resolve(REPO_ROOT, script), args, {
      cwd: REPO_ROOT,
      execArgv: [...(compiled ? [] : ['--import', 'tsx']), ...extraExecArgv, ...profiling],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '' },
    }),
  );
  forked = child;
  const tail = captureTail(child);
  return { child, rpc: new Rpc(child), stderrTail: tail };
}

/** Spawns a binary with the same bookkeeping (stdout ignored, stderr kept for error reports). */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): { child: ChildProcess; stderrTail: () => string } {
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts }));
  return { child, stderrTail: captureTail(child) };
}

function captureTail(child: ChildProcess): () => string {
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    tail = (tail + s).slice(-4000);
  });
  return () => tail;
}

/** Resolves once `child` has exited, or after `ms` (true when it exited). */
export function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const timer = setTimeout(() => res(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      res(true);
    });
  });
}

/** Waits for `child` to exit; SIGTERM first, SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Ends a forked worker cleanly: asks it to `close` (it ends its client and exits by itself, so a
 * CPU profile it writes at exit is complete), disconnects its IPC, waits up to 5 s for the exit,
 * and only then stops it.
 */
export async function closeWorker(worker: NodeChild): Promise<void> {
  await worker.rpc.call('close', null, 5000).catch(() => undefined);
  worker.child.disconnect?.();
  await waitExit(worker.child, 5000);
  await stopChild(worker.child, 1000);
}

/** Stops every child still running. */
export async function stopAll(graceMs = 2000): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, graceMs)));
}

/** How many children are still registered (should be 0 between runs). */
export function liveChildren(): number {
  return children.size;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}
