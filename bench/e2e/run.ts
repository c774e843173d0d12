/**
 * End-to-end benchmark: broker-mini vs mosquitto vs aedes under the same load, and our client vs
 * MQTT.js. Entry point of `npm run bench:e2e` (`tsx bench/e2e/run.ts`).
 *
 *   tsx bench/e2e/run.ts                      # everything (the longest run)
 *   tsx bench/e2e/run.ts --quick              # a short smoke run
 *   tsx bench/e2e/run.ts --scenarios qos1,latency-qos1 --brokers mini,mosquitto --reps 5
 *
 * Prints a markdown report and writes it with every run's raw numbers to bench/results/e2e.json.
 * Each broker, each load generator and each client runs in its own process; all of them are
 * stopped at the end, on an error, and on Ctrl-C.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { BROKERS, TARGETS, unavailable, type BrokerName } from './brokers.js';
import { CLIENTS, clientUnavailable, runClient, type ClientResult } from './client-bench.js';
import type { ClientLib } from './client-worker.js';
import { runConnections, type ConnectionsResult } from './connections.js';
import { runLatency, runThroughput, type RunResult } from './measure.js';
import { liveChildren, profileChildren, REPO_ROOT, stopAll, useCompiled } from './procs.js';
import { builtPath, buildEntries } from './build.js';
import { renderMarkdown, targetChecks } from './render.js';
import { formatHotspots } from './profile.js';
import {
  fmtBytes,
  fmtCount,
  machineNote,
  ratios,
  summarizeClient,
  summarizeConnections,
  summarizeRuns,
  type BrokerSummary,
  type ClientSummary,
} from './report.js';
import { DEFAULT_SETTINGS, QUICK_SETTINGS, SCENARIOS, type Scenario, type Settings } from './scenarios.js';

/** The id of the durable row: not a harness scenario but bench/durable.ts, run as a child. */
const DURABLE = 'durable-qos1';

const HELP = `Usage: tsx bench/e2e/run.ts [options]

  --quick               short runs, one repetition (smoke test)
  --scenarios <ids>     comma-separated, from: ${SCENARIOS.map((s) => s.id).join(', ')},
                        ${DURABLE} (bench/durable.ts: QoS 1 with persistence on vs off vs
                        mosquitto persistence true; in the default set, last)
  --brokers <names>     comma-separated, from: ${TARGETS.join(', ')} (default: ${BROKERS.join(', ')};
                        node-floor is no broker: the least a Node server does per message)
  --clients <names>     comma-separated, from: ${CLIENTS.join(', ')}
  --reps <n>            repetitions per scenario and broker (default ${DEFAULT_SETTINGS.reps})
  --duration <ms>       measured window (default ${DEFAULT_SETTINGS.durationMs})
  --warmup <ms>         warm-up before the window (default ${DEFAULT_SETTINGS.warmupMs})
  --rate <n>            -mqttjs scenarios: publishes/s in all, at most ~1,000 per publisher
                        (default: as fast as MQTT.js goes)
  --syscalls            count each broker's system calls per delivery over the window with
                        strace (throughput scenarios); strace slows the broker, so that
                        run's CPU numbers are not comparable
  --connections <n>     idle connections in the connections scenario (default ${DEFAULT_SETTINGS.connections})
  --out <file>          JSON output (default bench/results/e2e.json)
  --update-docs         put the report between the results markers of docs/BENCHMARKS.md
  --render <file>       measure nothing: print the report of a saved run (its JSON) again
  --profile             write a CPU profile of every Node broker and client run to
                        bench/results/profiles/ and print each one's hotspots
  --help
`;

function pickList<T extends string>(value: string | undefined, all: readonly T[], what: string): T[] {
  if (!value) return [...all];
  const picked = value.split(',').map((v) => v.trim()).filter(Boolean);
  for (const p of picked) if (!all.includes(p as T)) throw new Error(`unknown ${what} '${p}' (known: ${all.join(', ')})`);
  return all.filter((a) => picked.includes(a));
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer, got '${value}'`);
  return n;
}

interface Plan {
  quick: boolean;
  /** A saved run's JSON to report again, instead of measuring. */
  render: string | undefined;
  settings: Settings;
  scenarios: Scenario[];
  brokers: BrokerName[];
  clients: ClientLib[];
  out: string;
  profileDir: string | undefined;
  updateDocs: boolean;
  /** Run the durable row (bench/durable.ts) after the scenarios. */
  durable: boolean;
}


function plan(argv: string[]): Plan | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      scenarios: { type: 'string' },
      brokers: { type: 'string' },
      clients: { type: 'string' },
      reps: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      rate: { type: 'string' },
      syscalls: { type: 'boolean' },
      out: { type: 'string' },
      profile: { type: 'boolean' },
      'update-docs': { type: 'boolean' },
      render: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return undefined;
  const base = values.quick ? QUICK_SETTINGS : DEFAULT_SETTINGS;
  const settings: Settings = {
    ...base,
    reps: positive(values.reps, 'reps') ?? base.reps,
    durationMs: positive(values.duration, 'duration') ?? base.durationMs,
    warmupMs: positive(values.warmup, 'warmup') ?? base.warmupMs,
    connections: positive(values.connections, 'connections') ?? base.connections,
    mqttjsRate: positive(values.rate, 'rate') ?? base.mqttjsRate,
    syscalls: values.syscalls === true,
  };
  const ids = pickList(values.scenarios, [...SCENARIOS.map((s) => s.id), DURABLE], 'scenario');
  return {
    quick: values.quick === true,
    render: values.render === undefined ? undefined : resolve(values.render),
    settings,
    scenarios: SCENARIOS.filter((s) => ids.includes(s.id)),
    brokers: values.brokers ? pickList(values.brokers, TARGETS, 'broker') : [...BROKERS],
    clients: pickList(values.clients, CLIENTS, 'client'),
    out: resolve(REPO_ROOT, values.out ?? 'bench/results/e2e.json'),
    profileDir: values.profile ? resolve(REPO_ROOT, 'bench/results/profiles') : undefined,
    updateDocs: values['update-docs'] === true,
    durable: ids.includes(DURABLE),
  };
}

/**
 * The durable row: bench/durable.ts in its own process (it starts its own brokers), with as many
 * rounds as the harness has repetitions (at least 2) and fewer messages under `--quick`.
 * Returns its markdown table, or why it could not run.
 */
function runDurable(settings: Settings, quick: boolean): string {
  const env = { ...process.env, ROUNDS: String(Math.max(2, settings.reps)), ...(quick ? { COUNT: '1000' } : {}) };
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/durable.ts')], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  if (r.status !== 0) return `durable row failed (exit ${r.status ?? r.signal ?? r.error?.message})\n`;
  return `### Durable QoS 1 (${DURABLE}, bench/durable.ts)\n\n${r.stdout}`;
}

function log(line: string): void {
  process.stderr.write(line + '\n');
}

function describe(r: RunResult): string {
  const rate = `${fmtCount(r.deliveriesPerSec)} deliveries/s (limit: ${r.cpu.limit})`;
  const cpu = `broker ${r.cpu.broker.toFixed(2)} / load ${r.cpu.load.toFixed(2)} / other ${r.cpu.other.toFixed(2)} cores`;
  const lat = r.latency ? `, p50 ${r.latency.delivery.p50} µs p99 ${r.latency.delivery.p99} µs` : '';
  const v = r.verify;
  return `${rate}, ${r.brokerCpuPerDeliveryUs.toFixed(2)} µs CPU/delivery, ${cpu}${lat}, lost ${v.lost} (gaps ${v.gaps}${v.brokerDropped !== undefined ? `, broker dropped ${v.brokerDropped}` : ''}) dup ${v.duplicates}` +
    (v.misrouted + v.unexpected + v.unacknowledged > 0 ? ` misrouted ${v.misrouted} unexpected ${v.unexpected} unacked ${v.unacknowledged}` : '') +
    (r.notices.length > 0 ? `\n      notices: ${r.notices.join(' | ')}` : '');
}

const DOCS = join(REPO_ROOT, 'docs', 'BENCHMARKS.md');
const START = '<!-- e2e-results:start -->';
const END = '<!-- e2e-results:end -->';

/** Replaces what lies between the results markers of docs/BENCHMARKS.md with `markdown`. */
function updateDocs(markdown: string, skipped: string[]): string {
  if (!existsSync(DOCS)) return `${DOCS} does not exist: nothing updated`;
  const doc = readFileSync(DOCS, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) return `${DOCS} has no ${START} … ${END} markers: nothing updated`;
  const note = skipped.length > 0 ? `\nSkipped: ${skipped.join('; ')}\n` : '';
  writeFileSync(DOCS, `${doc.slice(0, a + START.length)}\n\n${markdown}${note}\n${doc.slice(b)}`);
  return `updated ${DOCS}`;
}

/** `--render`: the report of a saved run, with the current report layout and targets. */
function renderSaved(file: string, update: boolean): void {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as {
    started: string;
    machine: ReturnType<typeof machineNote>;
    settings: Settings;
    skipped: string[];
    ratios: ReturnType<typeof ratios>;
    brokers: BrokerSummary[];
    clients: ClientSummary[];
  };
  const targets = targetChecks(saved.brokers, saved.ratios, saved.clients);
  const markdown = renderMarkdown(saved.machine, saved.settings, saved.brokers, saved.ratios, saved.clients, targets, saved.started.slice(0, 10));
  process.stdout.write(markdown);
  if (update) log(updateDocs(markdown, saved.skipped));
}

async function main(): Promise<void> {
  const p = plan(process.argv.slice(2));
  if (!p) {
    process.stdout.write(HELP);
    return;
  }
  if (p.render) return renderSaved(p.render, p.updateDocs);
  const { settings } = p;
  await buildEntries();
  useCompiled(builtPath);
  const machine = machineNote();
  const profilesBefore = new Set(p.profileDir && existsSync(p.profileDir) ? readdirSync(p.profileDir) : []);
  if (p.profileDir) {
    mkdirSync(p.profileDir, { recursive: true });
    profileChildren(p.profileDir);
  }
  const started = new Date().toISOString();
  log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, mosquitto ${machine.mosquitto}, aedes ${machine.aedes}, MQTT.js ${machine.mqttjs}`);
  const skipped: string[] = [];
  const brokers = p.brokers.filter((b) => {
    const why = unavailable(b);
    if (why) skipped.push(`${b}: ${why}`);
    return !why;
  });
  const clients = p.clients.filter((c) => {
    const why = clientUnavailable(c);
    if (why) skipped.push(`${c}: ${why}`);
    return !why;
  });
  const mosquittoMissing = unavailable('mosquitto');
  for (const s of skipped) log(`skipped ${s}`);

  const brokerRuns: (RunResult | ConnectionsResult)[] = [];
  const clientRuns: ClientResult[] = [];
  const brokerSummaries: BrokerSummary[] = [];
  const clientSummaries: ClientSummary[] = [];
  const t0 = Date.now();

  for (const s of p.scenarios) {
    if (s.kind === 'client') {
      if (mosquittoMissing) {
        skipped.push(`${s.id}: ${mosquittoMissing}`);
        continue;
      }
      const byClient = new Map<ClientLib, { runs: ClientResult[]; errors: string[] }>(clients.map((c) => [c, { runs: [], errors: [] }]));
      for (let rep = 1; rep <= settings.reps; rep++) {
        for (const c of clients) {
          const slot = byClient.get(c)!;
          if (p.profileDir) profileChildren(p.profileDir, `${s.id}-rep${rep}`);
          try {
            const r = await runClient(s, c, rep, settings);
            slot.runs.push(r);
            clientRuns.push(r);
            log(`${s.id} rep ${rep}/${settings.reps} ${c}: ${fmtCount(r.msgsPerSec)} msg/s, ${r.cpuPerMsgUs.toFixed(2)} µs CPU/msg, lost ${r.lost} dup ${r.duplicates}`);
          } catch (e) {
            slot.errors.push(String((e as Error).message));
            log(`${s.id} rep ${rep} ${c}: FAILED ${(e as Error).message}`);
          }
        }
      }
      for (const [c, { runs, errors }] of byClient) if (runs.length + errors.length > 0) clientSummaries.push(summarizeClient(s.id, c, runs, errors));
      continue;
    }
    const byBroker = new Map<BrokerName, { runs: (RunResult | ConnectionsResult)[]; errors: string[] }>(brokers.map((b) => [b, { runs: [], errors: [] }]));
    // Interleaved: A B C, A B C, … so a noisy moment hits every broker alike.
    for (let rep = 1; rep <= settings.reps; rep++) {
      for (const b of brokers) {
        const slot = byBroker.get(b)!;
        const head = `${s.id} rep ${rep}/${settings.reps} ${b}`;
        if (p.profileDir) profileChildren(p.profileDir, `${s.id}-rep${rep}`);
        try {
          if (s.kind === 'connections') {
            const r = await runConnections(s, b, rep, settings);
            slot.runs.push(r);
            log(`${head}: ${r.connected}/${r.requested} connected, ${fmtBytes(r.bytesPerConnection)}/conn, ${fmtCount(r.connectsPerSec)} conn/s, dropped ${r.dropped}`);
          } else {
            const r = s.kind === 'latency' ? await runLatency(s, b, rep, settings) : await runThroughput(s, b, rep, settings);
            slot.runs.push(r);
            log(`${head}: ${describe(r)}`);
          }
        } catch (e) {
          slot.errors.push(String((e as Error).message).slice(0, 2000));
          log(`${head}: FAILED ${(e as Error).message}`);
        }
        brokerRuns.push(...slot.runs.slice(-1));
        if (liveChildren() > 0) await stopAll(1000); // nothing may survive into the next run
      }
    }
    for (const [b, { runs, errors }] of byBroker) {
      if (runs.length + errors.length === 0) continue;
      brokerSummaries.push(
        s.kind === 'connections'
          ? summarizeConnections(s.id, b, runs as ConnectionsResult[], errors)
          : summarizeRuns(s.id, b, runs as RunResult[], errors),
      );
    }
  }

  const rs = ratios(brokerSummaries);
  const targets = targetChecks(brokerSummaries, rs, clientSummaries);
  let markdown = renderMarkdown(machine, settings, brokerSummaries, rs, clientSummaries, targets, started.slice(0, 10));
  if (p.durable) {
    log(`${DURABLE}: bench/durable.ts`);
    markdown += '\n' + runDurable(settings, p.quick);
  }
  process.stdout.write('\n' + markdown);
  if (skipped.length > 0) process.stdout.write(`\nSkipped: ${skipped.join('; ')}\n`);
  const json = {
    started,
    elapsedSeconds: Math.round((Date.now() - t0) / 1000),
    machine,
    settings,
    skipped,
    ratios: rs,
    targets,
    brokers: brokerSummaries,
    clients: clientSummaries,
    runs: { brokers: brokerRuns, clients: clientRuns },
    markdown,
  };
  if (p.profileDir) {
    const fresh = readdirSync(p.profileDir).filter((f) => f.endsWith('.cpuprofile') && !profilesBefore.has(f));
    for (const f of fresh.sort()) process.stdout.write('\n' + formatHotspots(join(p.profileDir, f), 15) + '\n');
  }
  mkdirSync(dirname(p.out), { recursive: true });
  writeFileSync(p.out, JSON.stringify(json, null, 2) + '\n');
  if (p.updateDocs) log(updateDocs(markdown, skipped));
  log(`\nwrote ${p.out} (${json.elapsedSeconds} s)`);
}

main()
  .catch((e) => {
    log(`bench failed: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  })
  .finally(() => stopAll(1000));
