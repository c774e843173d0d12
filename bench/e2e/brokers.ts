/**
 * The brokers under test, each in its own process, behind one interface:
 * - `mini`: our broker-mini, in a Node child (`broker-server.ts mini`);
 * - `mosquitto`: Debian's binary with a temporary config;
 * - `aedes`: aedes 1.x in a Node child (`broker-server.ts aedes`);
 * - `node-floor`: no broker but the least a Node server does to forward these scenarios' messages
 *   (node-floor.ts), what Node.js itself costs per delivery. Only when asked for (`--brokers`).
 *
 * CPU: Node children report their own `process.cpuUsage()`; mosquitto's is read from
 * /proc/<pid>/stat (utime + stime). Memory for all three comes from /proc/<pid>/status
 * (VmRSS now, VmHWM peak), so the numbers are comparable.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { NodeHeapReading } from './broker-server.js';
import { forkNode, REPO_ROOT, sleep, spawnTracked, stopChild, waitExit } from './procs.js';

/** Which broker. */
export type BrokerName = 'mini' | 'mosquitto' | 'aedes' | 'node-floor';
/** The brokers a run compares by default, in the order runs interleave them. */
export const BROKERS: readonly BrokerName[] = ['mini', 'mosquitto', 'aedes'];
/** Every target `--brokers` may name: the brokers, then the Node floor. */
export const TARGETS: readonly BrokerName[] = [...BROKERS, 'node-floor'];

/** Per-client queue limit given to every broker, so none drops messages on a small default. */
export const MAX_QUEUED = 1_000_000;

/** A running broker. */
export interface BrokerHandle {
  name: BrokerName | 'node-net';
  port: number;
  pid: number;
  /** CPU time (user + system) the broker process has used so far, µs. */
  cpuMicros(): Promise<number>;
  /** Resident memory now and at its peak, bytes. */
  memory(): { rss: number; peakRss: number };
  /** Node brokers: their heap's own account of the memory (undefined for mosquitto). */
  heap?(): Promise<NodeHeapReading>;
  /** Node brokers: writes a heap snapshot to `path`. */
  snapshot?(path: string): Promise<void>;
  /** A full GC for Node brokers (no-op for mosquitto), before a memory reading. */
  gc(): Promise<void>;
  /** Messages the broker says it dropped for these clients (null: it does not say). */
  dropped(clientIds: string[]): Promise<number | null>;
  /** Is the process still running? */
  alive(): boolean;
  stderrTail(): string;
  stop(): Promise<void>;
}

const MOSQUITTO_CANDIDATES = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto'];

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

function mosquittoPath(): string | undefined {
  return MOSQUITTO_CANDIDATES.find((p) => existsSync(p));
}

/** Why `name` cannot run on this machine, or `undefined` when it can. */
export function unavailable(name: BrokerName): string | undefined {
  switch (name) {
    case 'mosquitto':
      return mosquittoPath() ? undefined : 'mosquitto is not installed (apt-get install -y mosquitto)';
    case 'mini':
      return existsSync(join(REPO_ROOT, 'src/broker-mini/index.ts')) ? undefined : 'src/broker-mini/index.ts does not exist yet';
    case 'aedes':
      return existsSync(join(REPO_ROOT, 'node_modules/aedes/package.json')) ? undefined : 'aedes is not installed (npm install)';
    case 'node-floor':
      return undefined;
  }
}

/** `mosquitto -h`'s first line, e.g. "mosquitto version 2.0.11". */
export function mosquittoVersion(): string {
  const bin = mosquittoPath();
  if (!bin) return 'not installed';
  try {
    execFileSync(bin, ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // `mosquitto -h` exits with status 3 after printing its usage.
    const out = String((e as { stdout?: string }).stdout ?? '');
    const m = /mosquitto version (\S+)/.exec(out);
    if (m?.[1] !== undefined) return m[1];
  }
  return 'unknown';
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time of any process from /proc/<pid>/stat, µs (clock-tick resolution). */
export function procCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3, "state".
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // fields 14 utime, 15 stime
  return (ticks * 1e6) / CLK_TCK;
}

/** VmRSS and VmHWM of a process, bytes. */
export function procMemory(pid: number): { rss: number; peakRss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
}

/**
 * Starts `name` on a free port of 127.0.0.1 and waits until it accepts connections. `node-net` is
 * no broker: a bare Node `net` server that answers CONNECT with a fixed CONNACK — the floor under
 * any Node broker's memory per connection.
 */
export async function startBroker(name: BrokerName | 'node-net'): Promise<BrokerHandle> {
  return name === 'mosquitto' ? startMosquitto() : startNodeBroker(name);
}

async function startNodeBroker(name: 'mini' | 'aedes' | 'node-net' | 'node-floor'): Promise<BrokerHandle> {
  const opts = JSON.stringify({ maxQueuedMessages: MAX_QUEUED });
  const { child, rpc, stderrTail } = forkNode('bench/e2e/broker-server.ts', ['--expose-gc'], [name, opts], name);
  try {
    const { port, pid } = await rpc.call<{ port: number; pid: number }>('info', null, 30_000);
    return {
      name,
      port,
      pid,
      cpuMicros: () => rpc.call<number>('cpu'),
      memory: () => procMemory(pid),
      heap: () => rpc.call<NodeHeapReading>('memory'),
      snapshot: async (path) => {
        await rpc.call('snapshot', path, 120_000);
      },
      gc: async () => {
        await rpc.call('gc');
      },
      dropped: (ids) => rpc.call<number | null>('dropped', ids),
      alive: () => child.exitCode === null && child.signalCode === null,
      stderrTail,
      async stop() {
        // A clean exit of its own, so a CPU profile (`--profile`) gets written.
        const asked = await rpc.call('stop', null, 5000).then(() => true, () => false);
        if (asked) await waitExit(child, 10_000);
        await stopChild(child);
      },
    };
  } catch (e) {
    await stopChild(child);
    throw new Error(`${name} did not start: ${(e as Error).message}\n${stderrTail()}`);
  }
}

/** A port that was free a moment ago (mosquitto cannot listen on port 0 and report it). */
async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => res(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

async function startMosquitto(): Promise<BrokerHandle> {
  const bin = mosquittoPath();
  if (!bin) throw new Error(unavailable('mosquitto'));
  const dir = mkdtempSync(join(tmpdir(), 'mqtt311-bench-mosq-'));
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(conf, mosquittoConf(port));
      // setpriv (util-linux) execs mosquitto with a parent-death signal, so even a harness killed
      // with SIGKILL takes its broker along; Node children see their IPC channel close instead.
      const { child, stderrTail } = SETPRIV
        ? spawnTracked(SETPRIV, ['--pdeathsig', 'KILL', '--', bin, '-c', conf])
        : spawnTracked(bin, ['-c', conf]);
      const deadline = Date.now() + 10_000;
      let up = false;
      while (!up && Date.now() < deadline && child.exitCode === null) {
        up = await canConnect(port);
        if (!up) await sleep(25);
      }
      if (!up) {
        await stopChild(child, 500);
        if (attempt < 3) continue; // the port was taken in between: try another
        throw new Error(`mosquitto did not start: ${stderrTail()}`);
      }
      const pid = child.pid!;
      return {
        name: 'mosquitto',
        port,
        pid,
        cpuMicros: () => Promise.resolve(procCpuMicros(pid)),
        memory: () => procMemory(pid),
        gc: () => Promise.resolve(undefined),
        dropped: () => Promise.resolve(null),
        alive: () => child.exitCode === null && child.signalCode === null,
        stderrTail,
        async stop() {
          await stopChild(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The mosquitto config: loopback only, anonymous, TCP_NODELAY like the other brokers, no
 * persistence, no connection limit, and a per-client queue as large as the others get
 * (mosquitto drops even QoS 0 messages once a client's queue holds `max_queued_messages`).
 * `user root` keeps it from switching to the `mosquitto` user when started as root.
 *
 * `max_inflight_messages 100` (broker-mini's default window; mosquitto's is 20): mosquitto 2.0.11
 * applies the limit to *incoming* QoS 2 messages as well and silently drops what a 3.1.1 client
 * sends beyond it — a 3.1.1 client cannot know the limit (there is no Receive Maximum before
 * MQTT 5), so the QoS 2 scenario's 64 in flight lost about a third of its messages at 20.
 */
function mosquittoConf(port: number): string {
  return [
    'user root',
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'set_tcp_nodelay true',
    'persistence false',
    'max_connections -1',
    `max_queued_messages ${MAX_QUEUED}`,
    'max_inflight_messages 100',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    '',
  ].join('\n');
}
