/**
 * Idle connections: open many MQTT sessions and just hold them, so the harness can read the
 * broker's memory per connection. CONNECT carries keepAlive 0: the keep-alive mechanism is off
 * (spec 3.1.2.10), so the broker must not drop a silent client — [MQTT-3.1.2-24] only applies to
 * a non-zero keep-alive — and none of these connections ever has to send a PINGREQ.
 *
 * They are opened `batch` at a time and closed with a TCP reset, which leaves no TIME_WAIT
 * behind on this side — tens of thousands of closed connections in a few minutes would
 * otherwise tie up the ephemeral port range.
 */
import { performance } from 'node:perf_hooks';
import { Conn } from './conn.js';

/** What one idle-connection worker runs. */
export interface IdleTask {
  role: 'idle';
  port: number;
  count: number;
  /** Connections opened at once. */
  batch: number;
  /** Makes client ids unique across workers. */
  idBase: number;
  /** Connections per second at most (batches spaced out); undefined: each batch as soon as the last one is up. */
  pace?: number | undefined;
  /** Source address (127.0.0.x) of this worker's connections; default: the kernel's choice. */
  localAddress?: string | undefined;
}

/** The outcome of opening the connections. */
export interface IdleOpened {
  connected: number;
  failed: number;
  firstError?: string;
  elapsedMs: number;
}

/** Holds the open connections. */
export class IdlePool {
  readonly conns: Conn[] = [];
  dropped = 0;

  /** Opens `task.count` connections, `task.batch` at a time. */
  async open(task: IdleTask, clientPrefix: string): Promise<IdleOpened> {
    const t0 = performance.now();
    let failed = 0;
    let firstError: string | undefined;
    for (let i = 0; i < task.count; i += task.batch) {
      // Paced: batch k starts no earlier than k × batch / pace seconds after the first.
      const due = task.pace === undefined ? 0 : t0 + (i * 1000) / task.pace - performance.now();
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
      const n = Math.min(task.batch, task.count - i);
      const results = await Promise.allSettled(
        Array.from({ length: n }, (_, j) => Conn.open(task.port, `${clientPrefix}-idle-${task.idBase + i + j}`, 0, 20_000, task.localAddress)),
      );
      for (const r of results) {
        if (r.status === 'fulfilled') {
          r.value.onFailure(() => this.dropped++);
          this.conns.push(r.value);
        } else {
          failed++;
          firstError ??= String(r.reason instanceof Error ? r.reason.message : r.reason);
        }
      }
    }
    return { connected: this.conns.length, failed, elapsedMs: performance.now() - t0, ...(firstError ? { firstError } : {}) };
  }

  /** Connections the broker closed while they should have stayed idle. */
  get stillOpen(): number {
    return this.conns.length - this.dropped;
  }

  /** Resets every connection. */
  closeAll(): void {
    for (const c of this.conns) c.reset();
    this.conns.length = 0;
  }
}
