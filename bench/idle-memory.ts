/**
 * Memory per idle connection at 10,000 and 50,000 connections: broker-mini, mosquitto, and the
 * floor — a bare Node `net` server holding the same sockets. Not a test; run it by hand:
 *
 *   npx tsx bench/idle-memory.ts                       # 10000,50000 × mini, mosquitto, node-net
 *   npx tsx bench/idle-memory.ts --counts 10000 --targets mini,node-net --reps 3 --loads burst,paced
 *
 * Each reading: start a fresh broker, full GC (Node brokers, `--expose-gc`), RSS once it has
 * stopped moving; open the connections (CONNECT with keep-alive 0) from load processes, 40 at a
 * time each — as a burst (each batch as soon as the last is up) or paced (`--pace` connections
 * per second in all, as a fleet arrives) — at most 20,000 per process, each process from its own
 * loopback source address (127.0.0.2, .3, …) so the ephemeral ports of one address do not run
 * out; wait 1 s, full GC (and for the Node servers until V8 has shrunk its young generation), RSS
 * again once it has stopped moving (see `quietRss` in e2e/connections.ts).
 * Bytes per connection = RSS growth ÷ connections. For the Node servers the table splits it
 * into live JS objects, the heap's unused reserve, glibc's malloc arenas (main, and per-thread:
 * see e2e/malloc-split.ts) and the rest (V8 pages beyond heapTotal, code, stacks).
 * bench/idle-breakdown.ts names the objects. Every connection goes to 127.0.0.1.
 * Repetitions are interleaved (every server once, then again); the summary gives the median
 * and the range of each.
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
import { mallocSplit, type MallocSplit } from './e2e/malloc-split.js';
import { DEFAULT_SETTINGS, type ConnectionsScenario } from './e2e/scenarios.js';

type Target = 'mini' | 'mosquitto' | 'aedes' | 'node-net';
const TARGETS: readonly Target[] = ['mini', 'mosquitto', 'aedes', 'node-net'];
type Load = 'burst' | 'paced';
const LOADS: readonly Load[] = ['burst', 'paced'];
/** Connections one load process holds at most. */
const PER_PROCESS = 20_000;

const { values } = parseArgs({
  options: {
    counts: { type: 'string', default: '10000,50000' },
    targets: { type: 'string', default: 'mini,mosquitto,node-net' },
    reps: { type: 'string', default: '1' },
    loads: { type: 'string', default: 'burst' },
    // Connections per second of the paced load, all load processes together.
    pace: { type: 'string', default: '1000' },
  },
});
const counts = values.counts.split(',').map(Number);
const targets = values.targets.split(',') as Target[];
const loads = values.loads.split(',') as Load[];
const reps = Number(values.reps);
const pace = Number(values.pace);
for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target '${t}' (known: ${TARGETS.join(', ')})`);
for (const l of loads) if (!LOADS.includes(l)) throw new Error(`unknown load '${l}' (known: ${LOADS.join(', ')})`);
if (counts.some((n) => !Number.isInteger(n) || n <= 0 || n > 100_000)) throw new Error('--counts: integers in 1..100000');
if (!Number.isInteger(reps) || reps <= 0 || reps > 10) throw new Error('--reps: an integer in 1..10');
if (!Number.isInteger(pace) || pace < 10 || pace > 100_000) throw new Error('--pace: connections per second, an integer in 10..100000');

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

/** One reading: the connections' cost, and where the server's memory sat before and after. */
interface Reading {
  load: Load;
  result: ConnectionsResult;
  malloc?: { before: MallocSplit; after: MallocSplit };
}

/**
 * A Node server's growth per connection, in parts that add up to its RSS growth: live JS
 * objects (heapUsed), the heap's unused reserve (heapTotal − heapUsed), glibc's main arena (the
 * native side of each socket: libuv's handle, Node's TCPWrap), glibc's per-thread arenas (what V8's
 * and libuv's worker threads malloc'ed and did not give back) and the rest (V8 pages not counted
 * in heapTotal, code).
 */
function split(r: Reading): string {
  const { heapAfter: a, heapBefore: b, connected } = r.result;
  if (!a || !b || connected === 0) return '– | – | – | – | –';
  const per = (x: number): string => fmtKiB(x / connected);
  const used = a.heapUsed - b.heapUsed;
  const reserve = a.heapTotal - a.heapUsed - (b.heapTotal - b.heapUsed);
  const m = r.malloc;
  const main = m ? m.after.mainArena - m.before.mainArena : NaN;
  const threads = m ? m.after.threadArenas - m.before.threadArenas : NaN;
  // The rest of the RSS growth (read from /proc like every server's), so the parts add up.
  const rest = r.result.rssAfterBytes - r.result.rssBeforeBytes - used - reserve - (m ? main + threads : 0);
  return `${per(used)} | ${per(reserve)} | ${m ? per(main) : '–'} | ${m ? per(threads) : '–'} | ${per(rest)}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

async function main(): Promise<void> {
  await buildEntries();
  useCompiled(builtPath);
  const readings: Reading[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const count of counts) {
      for (const load of loads) {
        const s: ConnectionsScenario = {
          kind: 'connections',
          id: `idle-${count}`,
          title: `${count} idle connections`,
          processes: Math.ceil(count / PER_PROCESS),
          batch: 40,
          pace: load === 'paced' ? pace / Math.ceil(count / PER_PROCESS) : undefined,
        };
        for (const t of targets) {
          const why = t === 'node-net' ? undefined : unavailable(t);
          if (why) {
            process.stderr.write(`skipped ${t}: ${why}\n`);
            continue;
          }
          const maps: Partial<Record<'before' | 'after', MallocSplit>> = {};
          const r = await runConnections(s, t, rep, { ...DEFAULT_SETTINGS, connections: count }, (broker, phase) => {
            const m = mallocSplit(broker.pid);
            if (m) maps[phase] = m;
            return Promise.resolve();
          });
          const reading: Reading = { load, result: r, ...(maps.before && maps.after ? { malloc: { before: maps.before, after: maps.after } } : {}) };
          readings.push(reading);
          process.stderr.write(
            `${t} ${count} ${load}: ${r.connected} connected (${r.failed} failed, ${r.dropped} dropped), RSS ${fmtKiB(r.rssBeforeBytes)} → ${fmtKiB(r.rssAfterBytes)}, ${fmtKiB(r.bytesPerConnection)}/conn${r.notes.length ? ` (${r.notes.join('; ')})` : ''}\n`,
          );
        }
      }
    }
  }
  const lines = [
    '| connections | load | server | rep | RSS before → after | per connection | JS objects | heap reserve | glibc main arena | glibc thread arenas | rest |',
    '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const x of readings) {
    const r = x.result;
    const rss = `${(r.rssBeforeBytes / 2 ** 20).toFixed(1)} → ${(r.rssAfterBytes / 2 ** 20).toFixed(1)} MiB`;
    const capped = r.notes.some((n) => n.includes('open-files')) ? ' (capped)' : '';
    lines.push(`| ${r.requested}${capped} | ${x.load} | ${r.broker} | ${r.rep} | ${rss} | ${fmtKiB(r.bytesPerConnection)} | ${split(x)} |`);
  }
  // The summary: each server's median over the repetitions, its range, and the median against the floor's.
  lines.push('', '| connections | load | server | readings | median per connection | min – max | median − node-net | JS objects (median) |', '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |');
  const group = (count: number, load: Load, t: Target): Reading[] => readings.filter((x) => x.result.requested === count && x.load === load && x.result.broker === t);
  for (const count of new Set(readings.map((x) => x.result.requested))) {
    for (const load of loads) {
      const floor = group(count, load, 'node-net').map((x) => x.result.bytesPerConnection);
      for (const t of targets) {
        const xs = group(count, load, t);
        if (xs.length === 0) continue;
        const per = xs.map((x) => x.result.bytesPerConnection);
        const objects = xs.flatMap((x) => (x.result.heapAfter && x.result.heapBefore ? [(x.result.heapAfter.heapUsed - x.result.heapBefore.heapUsed) / x.result.connected] : []));
        const above = floor.length > 0 ? fmtKiB(median(per) - median(floor)) : '–';
        lines.push(
          `| ${count} | ${load} | ${t} | ${xs.length} | ${fmtKiB(median(per))} | ${fmtKiB(Math.min(...per))} – ${fmtKiB(Math.max(...per))} | ${t === 'node-net' ? '–' : above} | ${objects.length > 0 ? fmtKiB(median(objects)) : '–'} |`,
        );
      }
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main()
  .catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
