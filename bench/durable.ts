/**
 * What durability costs: QoS 1 throughput and latency through broker-mini in memory, broker-mini
 * with its SQLite store (fsync before every acknowledgement, and `autosave_interval 1`), and
 * mosquitto with `persistence true` — the same load, side by side, in alternating rounds.
 *
 * Load: one publisher and one subscriber, both raw TCP connections of this process with
 * CleanSession=0 (so the broker keeps their state), TCP_NODELAY, one packet per `write`. The
 * publisher keeps at most WINDOW QoS 1 PUBLISHes (64-byte payload, one topic) not yet both
 * acknowledged and delivered (so no broker's queue grows past the window), sending the next as
 * soon as one is; the subscriber answers each delivery with PUBACK. A run is COUNT
 * messages or RUN_MS, whichever comes first; latency is publish → delivery, from a timestamp in
 * the payload. Every broker is a child process (`mqtt311 broker -c conf`, `mosquitto -c conf`).
 *
 * mosquitto's `persistence true` writes a snapshot every `autosave_interval` (default 1800 s) and
 * at exit: it never fsyncs before an acknowledgement, so it is the cost of in-memory state plus
 * periodic saves, not of the same promise.
 *
 *   npm run bench:durable       # table on stdout, JSON in bench/results/durable.json
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Decoder, encode, type Packet } from '../src/codec/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const COUNT = Number(process.env.COUNT ?? 5_000);
const RUN_MS = Number(process.env.RUN_MS ?? 20_000);
const WINDOW = Number(process.env.WINDOW ?? 64);
const PAYLOAD_BYTES = 64;
const TOPIC = 'bench/durable';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Target {
  name: string;
  start(port: number, dir: string): ChildProcess;
}

const mini = (extra: string[]): Target['start'] => (port, dir) => {
  const conf = join(dir, 'broker.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...extra.map((l) => l.replace('{dir}', dir)), ''].join('\n'));
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'broker', '-c', conf], { stdio: 'ignore' });
};

const TARGETS: Target[] = [
  { name: 'broker-mini in memory', start: mini([]) },
  { name: 'broker-mini persistence (fsync every ack)', start: mini(['persistence true', 'persistence_location {dir}']) },
  { name: 'broker-mini persistence (autosave_interval 1)', start: mini(['persistence true', 'persistence_location {dir}', 'autosave_interval 1']) },
];
const mosquitto = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => spawnSync(p, ['-h']).error === undefined);
if (mosquitto) {
  TARGETS.push({
    name: 'mosquitto persistence true',
    start: (port, dir) => {
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(conf, ['user root', `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'set_tcp_nodelay true', 'persistence true', `persistence_location ${dir}/`, ''].join('\n'));
      return spawn(mosquitto, ['-c', conf], { stdio: 'ignore' });
    },
  });
} else console.error('note: mosquitto not found (apt-get install -y mosquitto): its row is skipped');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A raw MQTT connection: `send` writes one packet per write; `onPacket` gets every decoded one. */
async function open(port: number, clientId: string, onPacket: (p: Packet) => void, deadline: number): Promise<Socket> {
  for (;;) {
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = createConnection({ host: '127.0.0.1', port }, () => resolve(s)).once('error', reject);
      });
      socket.setNoDelay(true);
      const decoder = new Decoder();
      const connack = new Promise<void>((resolve) => {
        socket.on('data', (chunk: Buffer) => {
          for (const p of decoder.feed(chunk)) {
            if (p.cmd === 'connack') resolve();
            else onPacket(p);
          }
        });
      });
      socket.write(encode({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId, cleanSession: false, keepAlive: 60 }));
      await connack;
      return socket;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

interface Run {
  msgsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  delivered: number;
}

/** One run against a fresh broker: COUNT QoS 1 messages (or RUN_MS), window WINDOW. */
async function run(target: Target): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt311-bench-durable-'));
  const port = await freePort();
  const broker = target.start(port, dir);
  const sockets: Socket[] = [];
  try {
    const ready = Date.now() + 20_000;
    const latencies: number[] = [];
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const sub = await open(port, 'bench-durable-sub', (p) => {
      if (p.cmd === 'suback') return subscribed();
      if (p.cmd !== 'publish' || p.packetId === undefined) return;
      const view = new DataView(p.payload.buffer, p.payload.byteOffset, p.payload.byteLength);
      latencies.push(performance.now() - view.getFloat64(0));
      sub.write(encode({ cmd: 'puback', packetId: p.packetId }));
      if (latencies.length >= COUNT) finish();
      else publishOne();
    }, ready);
    sockets.push(sub);
    // A connection the broker closes ends the run; the row then says how many arrived.
    let closed = false;
    sub.once('close', () => {
      closed = true;
      finish();
    });
    let subscribed!: () => void;
    const suback = new Promise<void>((r) => (subscribed = r));
    sub.write(encode({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: TOPIC, qos: 1 }] }));
    await suback;

    let sent = 0;
    let acked = 0;
    // At most WINDOW messages published and not yet both acknowledged and delivered.
    const publishOne = () => {
      if (sent >= COUNT || sent - Math.min(acked, latencies.length) >= WINDOW) return;
      const payload = new Uint8Array(PAYLOAD_BYTES);
      new DataView(payload.buffer).setFloat64(0, performance.now());
      pub.write(encode({ cmd: 'publish', topic: TOPIC, payload, qos: 1, retain: false, dup: false, packetId: (sent++ % 65_535) + 1 }));
    };
    const pub = await open(port, 'bench-durable-pub', (p) => {
      if (p.cmd !== 'puback') return;
      acked++;
      publishOne();
    }, ready);
    sockets.push(pub);
    pub.once('close', () => {
      closed = true;
      finish();
    });
    const started = performance.now();
    for (let i = 0; i < WINDOW; i++) publishOne();
    const timer = setTimeout(finish, RUN_MS);
    await done;
    clearTimeout(timer);
    const seconds = (performance.now() - started) / 1000;
    const sorted = latencies.sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
    if (closed && latencies.length < COUNT) throw new Error(`${target.name}: the broker closed a connection after ${latencies.length} of ${COUNT} deliveries`);
    return { msgsPerSec: latencies.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99), delivered: latencies.length };
  } finally {
    for (const s of sockets) s.destroy();
    broker.kill('SIGKILL');
    await new Promise((r) => (broker.exitCode !== null || broker.signalCode !== null ? r(undefined) : broker.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fmt = (x: number, d = 0) => x.toFixed(d);

const results = new Map<string, Run[]>(TARGETS.map((t) => [t.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order so a slow patch of the machine does not always hit the same target.
  const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse();
  for (const t of order) {
    const r = await run(t);
    results.get(t.name)!.push(r);
    console.error(`round ${round + 1}/${ROUNDS} ${t.name}: ${fmt(r.msgsPerSec)} msgs/s, p99 ${fmt(r.p99Ms, 1)} ms (${r.delivered} delivered)`);
  }
}

const base = median(results.get(TARGETS[0]!.name)!.map((r) => r.msgsPerSec));
const lines = [
  `QoS 1, 1 publisher → 1 subscriber (CleanSession=0), window ${WINDOW}, ${PAYLOAD_BYTES}-byte payload, one packet per write, ${COUNT} messages a run, ${ROUNDS} rounds (median, [min–max])`,
  '',
  '| broker | msgs/s | vs in memory | p50 ms | p99 ms |',
  '|---|---|---|---|---|',
];
for (const [name, runs] of results) {
  const rate = runs.map((r) => r.msgsPerSec);
  const p99 = runs.map((r) => r.p99Ms);
  const range = (xs: number[], d: number) => `[${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}]`;
  lines.push(`| ${name} | ${fmt(median(rate))} ${range(rate, 0)} | ${fmt((100 * median(rate)) / base)} % | ${fmt(median(runs.map((r) => r.p50Ms)), 1)} | ${fmt(median(p99), 1)} ${range(p99, 1)} |`);
}
console.log(lines.join('\n'));
const out = join(ROOT, 'bench/results/durable.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, count: COUNT, window: WINDOW, payloadBytes: PAYLOAD_BYTES, results: Object.fromEntries(results) }, null, 2) + '\n');
