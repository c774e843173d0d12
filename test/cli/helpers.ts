/**
 * Running the CLI as a user would: a child process `node --import tsx src/cli/main.ts …`, from
 * source so no stale build is ever tested. Every process is registered with the shared peers
 * helper, so `stopAllProcesses()` in `afterAll` kills whatever a failed test left running.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { startBroker, type Broker, type ClientInfo } from '../../src/broker-mini/index.js';
import type { PublishPacket } from '../../src/codec/index.js';
import { cleanupTempDirs, runProcess, spawnProcess, stopAllProcesses, type ProcessResult, type RunOptions, type SpawnedProcess } from '../helpers/peers.js';

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

/** What {@link runInProcess} returns. */
export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI's `main` in this process with in-memory streams. Only for commands that never
 * connect anywhere (usage errors, help, decode): it is the same code path minus process start-up,
 * which keeps the suite quick on a busy machine. Behaviour that depends on the process itself
 * (exit codes, signals, flushing) is covered by spawned runs.
 */
export async function runInProcess(args: string[], input = ''): Promise<InProcessResult> {
  const { main } = await import('../../src/cli/main.js');
  const stdin = new PassThrough();
  stdin.end(input);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(args, { stdin, stdout, stderr, interrupt: new AbortController().signal });
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout: out, stderr: err };
}

/** Two in-process brokers whose events the tests watch (see {@link startWatchedBrokers}). */
export interface WatchedBrokers {
  /** Anonymous clients welcome. */
  broker: Broker;
  port: string;
  /** Wants alice/secret; denies everything under secret/. */
  authBroker: Broker;
  authPort: string;
  /** Every accepted CONNECT, on either broker. */
  connects: ClientInfo[];
  /** The PUBLISH packets either broker accepted on `topic`. */
  published(topic: string): PublishPacket[];
  /** Resolves when `clientId`'s SUBSCRIBE on `b` has been answered: a publish after that reaches it. */
  subscribed(b: Broker, clientId: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts broker-mini twice on 127.0.0.1 (port 0), recording what the brokers see. */
export async function startWatchedBrokers(): Promise<WatchedBrokers> {
  const connects: ClientInfo[] = [];
  const publishes: Array<{ topic: string; packet: PublishPacket }> = [];
  const watch = (b: Broker) => {
    b.on('connect', (c) => connects.push(c));
    b.on('publish', (topic, packet) => publishes.push({ topic, packet }));
  };
  const broker = await startBroker({ port: 0, host: '127.0.0.1' });
  const authBroker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    allowAnonymous: false,
    users: { alice: 'secret' },
    acl: [
      { topic: '#', access: 'readwrite' },
      { topic: 'secret/#', access: 'deny' },
    ],
  });
  watch(broker);
  watch(authBroker);
  return {
    broker,
    port: String(broker.address.port),
    authBroker,
    authPort: String(authBroker.address.port),
    connects,
    published: (topic) => publishes.filter((p) => p.topic === topic).map((p) => p.packet),
    subscribed: (b, clientId) =>
      new Promise((resolve) => {
        const listener = (_subs: unknown, client: ClientInfo) => {
          if (client.clientId !== clientId) return;
          b.off('subscribe', listener);
          resolve();
        };
        b.on('subscribe', listener);
      }),
    async close() {
      await broker.close();
      await authBroker.close();
    },
  };
}

/**
 * A test file's {@link startWatchedBrokers}: started in `beforeAll` (the returned object is filled
 * in then); in `afterAll` every spawned process is stopped, the brokers closed and temp dirs removed.
 */
export function useWatchedBrokers(): WatchedBrokers {
  const w = {} as WatchedBrokers;
  beforeAll(async () => {
    Object.assign(w, await startWatchedBrokers());
  });
  afterAll(async () => {
    await stopAllProcesses();
    // Absent when beforeAll failed.
    if (w.close) await w.close();
    cleanupTempDirs();
  });
  return w;
}
