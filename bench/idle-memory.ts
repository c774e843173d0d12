/**
 * Memory per idle connection at 10,000 and 50,000 connections: broker-mini, mosquitto, and the
 * floor — a bare Node `net` server holding the same sockets. Not a test; run it by hand:
 *
 *   npx tsx bench/idle-memory.ts                       # 10000,50000 × mini, mosquitto, node-net
 *   npx tsx bench/idle-memory.ts --counts 10000 --targets mini,node-net --reps 3
 *
 * Each reading: start a fresh broker, full GC (Node brokers, `--expose-gc`), RSS; open the
 * connections (CONNECT with keep-alive 0) from load processes, 40 at a time each, at most 20,000
 * per process, each process from its own loopback source address (127.0.0.2, .3, …) so the
 * ephemeral ports of one address do not run out; wait 1 s, full GC, RSS again.
 * Bytes per connection = RSS growth ÷ connections. For the Node servers the table splits it
 * into live JS objects, the heap's unused reserve and memory outside the V8 heap (`heapSplit`);
 * bench/idle-breakdown.ts names the objects. Every connection goes to 127.0.0.1.
 *
 * 50,000 connections need 50,000 descriptors in the broker process: when the open-files limit is
 * lower the script re-runs itself under `prlimit --nofile`; where that is not allowed, it measures
 * as many connections as the limit leaves room for and says so.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { unavailable } from './e2e/brokers.js';
import { buildEntries, builtPath } from './e2e/build.js';
import { openFilesLimit, runConnections, type ConnectionsResult } from './e2e/connections.js';
import { stopAll, useCompiled } from './e2e/procs.js';
import { DEFAULT_SETTINGS, type ConnectionsScenario } from './e2e/scenarios.js';

type Target = 'mini' | 'mosquitto' | 'aedes' | 'node-net';
const TARGETS: readonly Target[] = ['mini', 'mosquitto', 'aedes', 'node-net'];
/** Connections one load process holds at most. */
const PER_PROCESS = 20_000;

const { values } = parseArgs({
  options: {
    counts: { type: 'string', default: '10000,50000' },
    targets: { type: 'string', default: 'mini,mosquitto,node-net' },
    reps: { type: 'string', default: '1' },
  },
});
const counts = values.counts.split(',').map(Number);
const targets = values.targets.split(',') as Target[];
const reps = Number(values.reps);
for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target '${t}' (known: ${TARGETS.join(', ')})`);
if (counts.some((n) => !Number.isInteger(n) || n <= 0 || n > 100_000)) throw new Error('--counts: integers in 1..100000');
if (!Number.isInteger(reps) || reps <= 0 || reps > 10) throw new Error('--reps: an integer in 1..10');

// Each process has its own open-files limit: the broker needs one descriptor per connection, a
// load process one per connection it holds (at most PER_PROCESS).
const needed = Math.max(...counts) + 1000;
if (openFilesLimit() < needed && !process.env.MQTT311_IDLE_RELAUNCHED) {
  process.stderr.write(`open-files limit ${openFilesLimit()} < ${needed}: re-running under prlimit --nofile=${needed}\n`);
  const r = spawnSync('prlimit', [`--nofile=${needed}:${needed}`, '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, MQTT311_IDLE_RELAUNCHED: '1' },
  });
  // Without the right to raise it (no CAP_SYS_RESOURCE in a container), go on below the limit:
  // connectionBudget() caps the count and the table says so.
  if (r.status === 0) process.exit(0);
  process.stderr.write(`could not raise the open-files limit: counts above ${openFilesLimit() - 200} are capped\n`);
}

const fmtKiB = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KiB`;

/**
 * A Node server's growth per connection, in three parts that add up to its RSS growth: live JS
 * objects (heapUsed), the heap's unused reserve (heapTotal − heapUsed: mostly new space, which
 * grows while connections are accepted and a full GC does not shrink), and what is outside the
 * V8 heap (the rest: libuv and Node's native socket state, malloc's arenas and overhead).
 */
function heapSplit(r: ConnectionsResult): string {
  const a = r.heapAfter;
  const b = r.heapBefore;
  if (!a || !b || r.connected === 0) return '– | – | –';
  const per = (x: number): string => fmtKiB(x / r.connected);
  const used = a.heapUsed - b.heapUsed;
  const reserve = a.heapTotal - a.heapUsed - (b.heapTotal - b.heapUsed);
  // The rest of the RSS growth (read from /proc like every server's), so the three add up.
  const outside = r.rssAfterBytes - r.rssBeforeBytes - used - reserve;
  return `${per(used)} | ${per(reserve)} | ${per(outside)}`;
}

async function main(): Promise<void> {
  await buildEntries();
  useCompiled(builtPath);
  const rows: ConnectionsResult[] = [];
  for (const count of counts) {
    const s: ConnectionsScenario = {
      kind: 'connections',
      id: `idle-${count}`,
      title: `${count} idle connections`,
      processes: Math.ceil(count / PER_PROCESS),
      batch: 40,
    };
    for (let rep = 1; rep <= reps; rep++) {
      for (const t of targets) {
        const why = t === 'node-net' ? undefined : unavailable(t);
        if (why) {
          process.stderr.write(`skipped ${t}: ${why}\n`);
          continue;
        }
        const r = await runConnections(s, t, rep, { ...DEFAULT_SETTINGS, connections: count });
        rows.push(r);
        process.stderr.write(
          `${t} ${count}: ${r.connected} connected (${r.failed} failed, ${r.dropped} dropped), RSS ${fmtKiB(r.rssBeforeBytes)} → ${fmtKiB(r.rssAfterBytes)}, ${fmtKiB(r.bytesPerConnection)}/conn${r.notes.length ? ` (${r.notes.join('; ')})` : ''}\n`,
        );
      }
    }
  }
  const floorOf = (r: ConnectionsResult): ConnectionsResult | undefined =>
    rows.find((f) => f.broker === 'node-net' && f.rep === r.rep && f.requested === r.requested);
  const lines = [
    '| connections | server | connected | RSS before → after | per connection | × node-net | JS objects | heap reserve | outside the heap |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const rss = `${(r.rssBeforeBytes / 2 ** 20).toFixed(1)} → ${(r.rssAfterBytes / 2 ** 20).toFixed(1)} MiB`;
    const floor = floorOf(r);
    const ratio = floor ? `${(r.bytesPerConnection / floor.bytesPerConnection).toFixed(2)}×` : '–';
    const capped = r.notes.some((n) => n.includes('open-files')) ? ' (capped)' : '';
    lines.push(`| ${r.requested}${capped} | ${r.broker} | ${r.connected} | ${rss} | ${fmtKiB(r.bytesPerConnection)} | ${ratio} | ${heapSplit(r)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main()
  .catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
