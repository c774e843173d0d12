/**
 * Two builds of this codec side by side in one process, to catch a regression: the workloads of
 * bench/codec.ts, run on codec A and codec B in alternating rounds (A, B, then B, A, …), reporting
 * the median of the per-round ratios B ÷ A (packets per second of CPU time). Above 1 means B is
 * faster.
 *
 *   git archive <commit> src/codec | tar -x -C /tmp/codec-old      # a codec from history
 *   echo '{"type":"module"}' > /tmp/codec-old/package.json          # so tsx loads it as ESM
 *   npx tsx bench/codec-compare.ts /tmp/codec-old/src/codec src/codec
 *   ROUNDS=15 ONLY=decode npx tsx bench/codec-compare.ts A B        # rows whose name has "decode"
 *   ONLY=PUBACK,CONNECT npx tsx bench/codec-compare.ts A B          # either word
 *
 * Each codec runs in a worker thread of its own, and only one runs at a time. Loaded side by side
 * in one thread, two codecs share V8's feedback for the benchmark loop and compete for its
 * inlining, and whichever was loaded second ran up to 25 % slower, even against a copy of itself;
 * a worker each gives each its own JIT state. Each root is a codec directory whose index.ts
 * exports `Decoder` and `encode`. Every loop is bounded by an iteration count and a time budget.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Packet } from '../src/codec/index.js';
import { chunked, connect, mixedStream, publish, repeat, subscribe } from './codec-packets.js';

interface Codec {
  Decoder: new () => { push(chunk: Uint8Array): void; next(): unknown };
  encode(p: Packet): Uint8Array;
}

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const ROUND_MS = Number(process.env.ROUND_MS ?? 60);
const MAX_BATCHES = 10_000;

const WORKLOADS: Array<{ name: string; packets: Packet[]; chunkSize?: number | 'one' }> = [
  { name: 'encode PUBACK', packets: [{ cmd: 'puback', packetId: 42 }] },
  { name: 'encode PUBLISH q0 16 B', packets: [publish(16, 0)] },
  { name: 'encode PUBLISH q1 1 KiB', packets: [publish(1024, 1)] },
  { name: 'encode PUBLISH q0 64 KiB', packets: [publish(65_536, 0)] },
  { name: 'encode CONNECT will+user+pass', packets: [connect] },
  { name: 'encode SUBSCRIBE 5 filters', packets: [subscribe] },
  { name: 'decode 10k PUBLISH 16 B, one chunk', packets: repeat(publish(16, 0), 10_000), chunkSize: 'one' },
  { name: 'decode 10k PUBLISH 16 B, 1460 B chunks', packets: repeat(publish(16, 0), 10_000), chunkSize: 1460 },
  { name: 'decode 10k PUBLISH 1 KiB, one chunk', packets: repeat(publish(1024, 1), 10_000), chunkSize: 'one' },
  { name: 'decode 10k PUBLISH 1 KiB, 1460 B chunks', packets: repeat(publish(1024, 1), 10_000), chunkSize: 1460 },
  { name: 'decode 200 PUBLISH 64 KiB, 1460 B chunks', packets: repeat(publish(65_536, 0), 200), chunkSize: 1460 },
  { name: 'decode 10k mixed (all 14 types), one chunk', packets: mixedStream, chunkSize: 'one' },
  { name: 'decode 10k mixed (all 14 types), 1460 B chunks', packets: mixedStream, chunkSize: 1460 },
];

/** The worker: loads its codec, then measures one workload for ROUND_MS whenever asked. */
async function serve(root: string): Promise<void> {
  const codec = (await import(pathToFileURL(resolve(root, 'index.ts')).href)) as Codec;
  let sink = 0;
  const batches = WORKLOADS.map(({ packets, chunkSize }): (() => number) => {
    if (chunkSize === undefined) {
      const [packet] = packets;
      if (packet === undefined) throw new Error('an encode workload needs a packet');
      return () => {
        for (let i = 0; i < 1000; i++) sink += codec.encode(packet).length;
        return 1000;
      };
    }
    const stream = Buffer.concat(packets.map((p) => codec.encode(p)));
    const chunks = chunkSize === 'one' ? [stream] : chunked(stream, chunkSize);
    return () => {
      const decoder = new codec.Decoder();
      let n = 0;
      for (const chunk of chunks) {
        decoder.push(chunk);
        while (decoder.next() !== undefined) n++;
      }
      if (n !== packets.length) throw new Error(`decoded ${n} of ${packets.length}`);
      return n;
    };
  });
  parentPort?.on('message', (index: number) => {
    const batch = batches[index];
    if (batch === undefined) throw new Error(`no workload ${index}`);
    let packets = 0;
    let count = 0;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    do {
      packets += batch();
      count++;
    } while (performance.now() - start < ROUND_MS && count < MAX_BATCHES);
    // Rates are per second of CPU time, not of wall time: on a shared machine a round can be
    // descheduled for longer than it runs, and the ratio of two such rounds says nothing.
    const cpu = process.cpuUsage(cpuStart);
    const seconds = (cpu.user + cpu.system) / 1e6;
    parentPort?.postMessage({ rate: packets / seconds, sink: sink & 1 });
  });
  parentPort?.postMessage('ready');
}

/** A worker running the codec at `root`, and a function that measures one workload on it. */
async function start(root: string): Promise<{ measure: (index: number) => Promise<number>; worker: Worker }> {
  // The worker loads this file as TypeScript through tsx's API (a worker does not inherit the
  // loader the main thread was started with).
  const boot = `import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(import.meta.url)}, ${JSON.stringify(import.meta.url)}))`;
  const worker = new Worker(boot, { eval: true, workerData: root });
  // One request at a time: `pending` is the answer awaited, if any.
  let pending: { done: (rate: number) => void; fail: (err: unknown) => void } | undefined;
  let ready: () => void = () => undefined;
  const started = new Promise<void>((resolveReady, fail) => {
    ready = resolveReady;
    worker.on('error', (err) => (pending === undefined ? fail(err) : pending.fail(err)));
  });
  worker.on('message', (m: 'ready' | { rate: number }) => {
    if (m === 'ready') return ready();
    const p = pending;
    pending = undefined;
    p?.done(m.rate);
  });
  await started;
  const measure = (index: number) =>
    new Promise<number>((done, fail) => {
      pending = { done, fail };
      worker.postMessage(index);
    });
  return { measure, worker };
}

async function main(rootA: string, rootB: string): Promise<void> {
  const a = await start(rootA);
  const b = await start(rootB);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
  const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`);
  console.log(`B ÷ A, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, packets per CPU second, medians; A = ${rootA}, B = ${rootB}`);
  const only = process.env.ONLY;
  for (const [index, { name }] of WORKLOADS.entries()) {
    if (only && !only.split(',').some((o) => name.includes(o))) continue;
    await a.measure(index); // warm up both
    await b.measure(index);
    const ratios: number[] = [];
    const ratesA: number[] = [];
    const ratesB: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let ra: number;
      let rb: number;
      if (i % 2 === 0) {
        ra = await a.measure(index);
        rb = await b.measure(index);
      } else {
        rb = await b.measure(index);
        ra = await a.measure(index);
      }
      ratesA.push(ra);
      ratesB.push(rb);
      ratios.push(rb / ra);
    }
    const spread = `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`;
    console.log(
      `${name.padEnd(48)} ${median(ratios).toFixed(3)}  (rounds ${spread})  A ${fmt(median(ratesA))}/s  B ${fmt(median(ratesB))}/s`,
    );
  }
  await a.worker.terminate();
  await b.worker.terminate();
}

if (isMainThread) {
  const [rootA, rootB] = process.argv.slice(2);
  if (rootA === undefined || rootB === undefined) {
    console.error('usage: tsx bench/codec-compare.ts <codec root A> <codec root B>');
    process.exit(2);
  }
  await main(rootA, rootB);
} else {
  await serve(workerData as string);
}
