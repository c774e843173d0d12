/**
 * What a broker asks of the kernel per delivery.
 *
 * - Every run: the main thread's voluntary context switches (from /proc), each a sleep of the
 *   event loop and a wake-up after it. At a low rate that is about once per packet, and in a VM
 *   every wake-up is expensive.
 * - `--syscalls`: over the measured window `strace -c -f` counts the system calls of every thread
 *   of the broker process. strace stops the broker at every call, so such a run measures counts,
 *   not time: its CPU per delivery is inflated, and so are its sleeps (each stop is one).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTracked, waitExit } from './procs.js';

/** System calls of one window, per delivery. */
export interface SyscallCounts {
  /** All system calls ÷ deliveries. */
  total: number;
  /** Each system call's count ÷ deliveries, most frequent first. */
  calls: Record<string, number>;
  /** Of the calls, the ones that returned an error (EAGAIN and the like) ÷ deliveries. */
  errors: number;
}

/** A running count, stopped at the end of the window with the window's deliveries. */
export interface SyscallTrace {
  stop(deliveries: number): Promise<SyscallCounts | undefined>;
}

/** The voluntary context switches of `pid`'s main thread so far: its event loop's sleeps. */
export function mainThreadSleeps(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
}

/**
 * Parses `strace -c`'s summary: a header, a rule, one row per call
 * (`% time  seconds  usecs/call  calls  [errors]  name`), a rule and the total.
 */
export function parseStraceSummary(text: string): { calls: Map<string, number>; errors: number } {
  const calls = new Map<string, number>();
  let errors = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^\d/.test(f[0] ?? '')) continue; // the header, rules, blank lines
    const name = f[f.length - 1] ?? '';
    if (name === 'total') continue;
    calls.set(name, Number(f[3]));
    if (f.length === 6) errors += Number(f[4]);
  }
  return { calls, errors };
}

/** Starts counting the system calls of `pid` (needs strace); `stop` gives undefined if strace failed. */
export function traceSyscalls(pid: number): SyscallTrace {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt311-strace-'));
  const out = join(dir, 'summary.txt');
  const { child, stderrTail } = spawnTracked('strace', ['-c', '-f', '-o', out, '-p', String(pid)]);
  return {
    async stop(deliveries) {
      child.kill('SIGINT'); // strace detaches and writes its summary
      const exited = await waitExit(child, 5000);
      try {
        if (!exited || deliveries <= 0) throw new Error(`strace: ${stderrTail() || 'no summary'}`);
        const { calls, errors } = parseStraceSummary(readFileSync(out, 'utf8'));
        const per: Record<string, number> = {};
        let total = 0;
        for (const [name, n] of [...calls].sort((a, b) => b[1] - a[1])) {
          per[name] = n / deliveries;
          total += n;
        }
        return { total: total / deliveries, calls: per, errors: errors / deliveries };
      } catch {
        return undefined;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
