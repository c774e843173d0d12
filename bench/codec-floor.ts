/**
 * The paired measurement bench/codec.ts uses for an encode it compares with a floor (a bare
 * allocate-and-copy of the same bytes), where rounds of whole workloads are too noisy to read.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Pairs of small batches for an encode floor (see `floorPairs`), and the encodes in each batch. */
export const FLOOR_PAIRS = Number(process.env.FLOOR_PAIRS ?? 600);
export const FLOOR_BATCH = 16;

/** A full garbage collection, to run outside the timed windows (a no-op if V8 will not expose it). */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  return typeof gc === 'function' ? (gc as () => void) : () => undefined; // typeof checked
})();

/** CPU microseconds `run` takes. */
function cpuMicros(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const cpu = process.cpuUsage(start);
  return cpu.user + cpu.system;
}

/**
 * Ours ÷ the floor for an encode whose cost is mostly allocating, copying and collecting big
 * buffers (a 64 KiB PUBLISH). Rounds of 60 ms swing widely there: the memory bandwidth other
 * processes leave changes from one window to the next, and whichever window a collection of the
 * other's garbage lands in pays for it. So this alternates small batches (`FLOOR_BATCH` encodes,
 * about a millisecond), ours and the floor back to back with the order switching each pair, so
 * that both meet the same conditions; collects garbage every eight pairs, outside the timed
 * batches; and returns every pair's ratio of rates, sorted: read their median, and their spread.
 */
export function floorPairs(ours: () => void, floor: () => void): number[] {
  const ratios: number[] = [];
  for (let i = 0; i < FLOOR_PAIRS; i++) {
    if (i % 8 === 0) collectGarbage();
    // Rates are the inverse of times: ours ÷ floor = floor's time ÷ ours'.
    if (i % 2 === 0) {
      const t = cpuMicros(ours);
      ratios.push(cpuMicros(floor) / t);
    } else {
      const f = cpuMicros(floor);
      ratios.push(f / cpuMicros(ours));
    }
  }
  return ratios.filter((r) => Number.isFinite(r) && r > 0).sort((a, b) => a - b);
}
