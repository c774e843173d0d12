/**
 * Client QoS 1 CPU per message against a fast sink (`fast-sink.ts`), beside the raw-socket
 * floor (`raw-floor.ts`) and MQTT.js, in one run:
 *
 *   npx tsx bench/e2e/client-sink-bench.ts [--reps 2] [--count 100000] [--max-ms 5000] [--profile dir]
 *
 * Load shape: one connection to the sink on 127.0.0.1, 64-byte payloads, QoS 1; the application
 * issues publishes in chunks of 1000 and awaits each chunk (`Promise.all`). Our client runs at
 * its default `maxInflight` (20), at `'auto'` and at 1000; the raw floor at 20 and 1000; MQTT.js has no
 * window (the whole chunk goes out at once). Each client is a fresh process; the configurations
 * interleave within each repetition. Reported: the median over repetitions of messages/s and
 * client-process CPU µs per message (user + system), and that CPU ÷ the raw floor's at the same
 * window (at 1000 for `'auto'`, which grows to it, and for MQTT.js). `--profile dir` writes a CPU profile of each of our client's runs.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, stop } from 'esbuild';
import { BUILD_DIR, buildEntries, builtPath } from './build.js';
import { closeWorker, forkNode, profileChildren, REPO_ROOT, stopAll, useCompiled, type NodeChild } from './procs.js';
import type { ClientInit, ClientLib, ClientRunResult } from './client-worker.js';

interface Config {
  lib: ClientLib;
  /** `maxInflight` / the raw window; undefined: the client's default. */
  window: number | 'auto' | undefined;
}

const CONFIGS: readonly Config[] = [
  { lib: 'raw', window: 20 },
  { lib: 'mqtt311', window: undefined },
  { lib: 'mqtt311', window: 'auto' },
  { lib: 'mqttjs', window: undefined },
  { lib: 'raw', window: 1000 },
  { lib: 'mqtt311', window: 1000 },
];
const CHUNK = 1000;
const PAYLOAD = 64;

interface Row extends Config {
  msgsPerSec: number[];
  cpuPerMsgUs: number[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

async function runOne(port: number, config: Config, count: number, maxMs: number, rep: number): Promise<ClientRunResult> {
  let client: NodeChild | undefined;
  try {
    client = forkNode('bench/e2e/client-worker.ts', [], [], `${config.lib}-w${config.window ?? 'default'}-r${rep}`);
    const init: ClientInit = { lib: config.lib, port, topic: 'bench/sink', qos: 1, payloadSize: PAYLOAD, noDelay: true, maxInflight: config.window };
    await client.rpc.call('init', init);
    await client.rpc.call<ClientRunResult>('run', { count: Math.ceil(count / 10), chunk: CHUNK, maxMs: maxMs / 4 }, maxMs + 30_000);
    return await client.rpc.call<ClientRunResult>('run', { count, chunk: CHUNK, maxMs }, maxMs + 30_000);
  } finally {
    if (client) await closeWorker(client);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { reps: { type: 'string' }, count: { type: 'string' }, 'max-ms': { type: 'string' }, profile: { type: 'string' } },
  });
  const reps = Number(values.reps ?? 2);
  const count = Number(values.count ?? 100_000);
  const maxMs = Number(values['max-ms'] ?? 5000);
  if (values.profile) {
    const dir = resolve(values.profile);
    mkdirSync(dir, { recursive: true });
    profileChildren(dir, 'sink');
  }
  // Every child runs compiled JavaScript with plain node, as the published package would (a
  // TypeScript loader in the client's process costs it several times its own CPU per message).
  await buildEntries();
  await build({ entryPoints: [join(REPO_ROOT, 'bench/e2e/fast-sink.ts')], outdir: BUILD_DIR, outExtension: { '.js': '.mjs' }, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  await stop();
  useCompiled(builtPath);
  const sink = forkNode('bench/e2e/fast-sink.ts');
  const port = await sink.rpc.call<number>('listen');
  const rows: Row[] = CONFIGS.map((c) => ({ ...c, msgsPerSec: [], cpuPerMsgUs: [] }));
  for (let rep = 0; rep < reps; rep++) {
    for (const row of rows) {
      // Only our client is profiled: the others are the yardsticks.
      if (values.profile) profileChildren(row.lib === 'mqtt311' ? resolve(values.profile) : undefined, 'sink');
      const r = await runOne(port, row, count, maxMs, rep);
      row.msgsPerSec.push((r.sent * 1000) / r.elapsedMs);
      row.cpuPerMsgUs.push(r.cpuMicros / r.sent);
      process.stderr.write(`rep ${rep + 1}: ${row.lib} window ${row.window ?? 'default'}: ${r.sent} msgs, ${(r.cpuMicros / r.sent).toFixed(2)} µs/msg\n`);
    }
  }
  await sink.rpc.call('close').catch(() => undefined);
  await stopAll(1000);
  const floor = (window: Config['window']) => rows.find((r) => r.lib === 'raw' && r.window === (typeof window === 'number' ? window : window === 'auto' ? 1000 : 20));
  console.log(`QoS 1 to a fast sink, ${PAYLOAD}-byte payloads, chunks of ${CHUNK} awaited together; ${count} messages per run, median of ${reps}\n`);
  console.log('| client | in-flight window | messages/s | client CPU µs/message | ÷ raw floor (window 20 for 20, else 1000) | CPU µs/message per rep |');
  console.log('| --- | --- | ---: | ---: | ---: | --- |');
  for (const row of rows) {
    const window = row.lib === 'mqttjs' ? 'none (whole chunk)' : row.window === undefined ? '20 (default)' : String(row.window);
    const cpu = median(row.cpuPerMsgUs);
    const base = row.lib === 'mqttjs' ? floor(1000) : floor(row.window);
    const ratio = base && row.lib !== 'raw' ? (cpu / median(base.cpuPerMsgUs)).toFixed(2) : '—';
    const k = (median(row.msgsPerSec) / 1000).toFixed(1);
    console.log(`| ${row.lib} | ${window} | ${k}k | ${cpu.toFixed(2)} | ${ratio} | ${row.cpuPerMsgUs.map((x) => x.toFixed(2)).join(', ')} |`);
  }
  console.log(`\n${JSON.stringify({ reps, count, chunk: CHUNK, payload: PAYLOAD, rows })}`);
}

main().catch(async (error: unknown) => {
  console.error(error);
  await stopAll(500);
  process.exit(1);
});
