/**
 * Shared setup of the storage tests: whether better-sqlite3 is installed (in CI it must be), and
 * running a TypeScript fixture as a child process that can be SIGKILLed.
 */
import { fileURLToPath } from 'node:url';
import { isCI, spawnProcess, type SpawnedProcess } from '../helpers/peers.js';

/** True when better-sqlite3 loads. Missing: CI fails, a local run skips with the package to install. */
export async function requireSqlite(): Promise<boolean> {
  try {
    const specifier: string = 'better-sqlite3';
    const { default: Database } = (await import(specifier)) as { default: new (file: string) => { close(): void } };
    new Database(':memory:').close(); // loads the native binding, which the import alone does not
    return true;
  } catch (error) {
    const msg = `better-sqlite3 is not installed (npm install better-sqlite3@12): ${(error as Error).message.split('\n')[0]}`;
    if (isCI()) throw new Error(`${msg} (CI is set, so this is a failure)`);
    console.warn(`skipping durable storage tests: ${msg}`);
    return false;
  }
}

/** Starts `test/storage/fixtures/<name>.ts` under tsx with `args`; killed after `timeoutMs` at the latest. */
export function spawnFixture(name: string, args: string[], timeoutMs = 30_000): SpawnedProcess {
  const script = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));
  return spawnProcess(process.execPath, ['--import', 'tsx', script, ...args], { timeoutMs });
}

/** The numbers printed as `<word> <n>` lines by a fixture. */
export function numbersAfter(word: string, text: string): number[] {
  return [...text.matchAll(new RegExp(`^${word} (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
}

/** Resolves once `process` has printed `count` lines `<word> <n>`; rejects when it exits first or after `timeoutMs`. */
export function waitForCount(process: SpawnedProcess, word: string, count: number, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stdout = process.child.stdout!;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      stdout.off('data', check);
      if (error) reject(error);
      else resolve();
    };
    const reached = () => numbersAfter(word, process.stdout()).length >= count;
    const check = () => reached() && finish();
    const timer = setTimeout(() => finish(new Error(`no ${count} '${word}' lines within ${timeoutMs} ms; stderr: ${process.stderr()}`)), timeoutMs);
    stdout.on('data', check);
    void process.exited.then(() => finish(reached() ? undefined : new Error(`exited before ${count} '${word}' lines; stderr: ${process.stderr()}`)));
    check();
  });
}
