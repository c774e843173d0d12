/**
 * Running the CLI as a user would: a child process `node --import tsx src/cli/main.ts …`, from
 * source so no stale build is ever tested. Every process is registered with the shared peers
 * helper, so `stopAllProcesses()` in `afterAll` kills whatever a failed test left running.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runProcess, spawnProcess, type ProcessResult, type RunOptions, type SpawnedProcess } from '../helpers/peers.js';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const ENTRY = join(ROOT, 'src', 'cli', 'main.ts');
const NODE_ARGS = ['--import', 'tsx', ENTRY];

function options(opts: RunOptions): RunOptions {
  // CI may be set for the test run; the CLI does not care, but keep the child's env minimal and stable.
  return { cwd: ROOT, ...opts, env: { ...process.env, NO_COLOR: '1', ...(opts.env ?? {}) } };
}

/** Runs `mqtt311 …args` to completion (SIGKILLed after `timeoutMs`, default 20 s). */
export function runCli(args: string[], opts: RunOptions = {}): Promise<ProcessResult> {
  return runProcess(process.execPath, [...NODE_ARGS, ...args], options({ timeoutMs: 20_000, ...opts }));
}

/** Starts `mqtt311 …args` and returns at once (stopped by the test or `stopAllProcesses`). */
export function spawnCli(args: string[], opts: RunOptions = {}): SpawnedProcess {
  return spawnProcess(process.execPath, [...NODE_ARGS, ...args], options({ timeoutMs: 60_000, ...opts }));
}

/** The non-empty lines of `text`. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** Resolves after `ms` (short waits only; prefer waiting for output). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts `mqtt311 sub …args` with `-d` and resolves once its SUBACK has arrived, so a publish
 * made afterwards is sure to be delivered. `-d` output then stays on stdout among the messages:
 * use {@link messageLines} to read only the messages.
 */
export async function startSubscriber(args: string[], opts: RunOptions = {}): Promise<SpawnedProcess> {
  const sub = spawnCli(['sub', '-d', ...args], opts);
  await sub.waitForOutput(/received SUBACK/, 15_000);
  return sub;
}

/** The lines of a `sub -d` output that are messages, not debug lines. */
export function messageLines(stdout: string): string[] {
  return lines(stdout).filter((l) => !/^Client \S+ (sending|received) /.test(l) && !/^Subscribed \(mid: /.test(l));
}
