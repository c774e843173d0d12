/**
 * The load loop of the trickle tests: every 20 ms each open trickler is offered one more piece
 * (unless its socket still holds the last one, or it has offered its share), while a good client
 * exchanges messages one after another, until every trickler is closed or the deadline passes.
 */
import type { Socket } from 'node:net';
import { expect } from 'vitest';
import type { Broker, CloseReason } from '../../src/broker-mini/index.js';

/** A connection sending an incomplete packet or frame. */
export interface Trickler {
  readonly isClosed: boolean;
  readonly socket: Socket;
}

/** Options of {@link trickleWhileExchanging}. */
export interface TrickleOptions {
  /** Bytes written each round. */
  piece: number;
  /** Most bytes any one trickler offers. */
  maxPerTrickler: number;
  /** Stop after this long even if tricklers remain. */
  deadlineMs: number;
  /** One exchange of the good client (awaited in a loop). */
  exchange(): Promise<void>;
  /** Called every round, e.g. to sample memory. */
  sample(): void;
}

/** Runs the loop (see the module comment); returns what each trickler offered. */
export async function trickleWhileExchanging(tricklers: readonly Trickler[], o: TrickleOptions): Promise<number[]> {
  const piece = new Uint8Array(o.piece).fill(0x61);
  const offered = new Array<number>(tricklers.length).fill(0);
  const started = Date.now();
  const pump = setInterval(() => {
    o.sample();
    tricklers.forEach((c, i) => {
      if (c.isClosed || offered[i]! >= o.maxPerTrickler || c.socket.writableLength > 0) return;
      c.socket.write(piece);
      offered[i]! += o.piece;
    });
  }, 20);
  try {
    while (tricklers.some((c) => !c.isClosed) && Date.now() - started < o.deadlineMs) await o.exchange();
  } finally {
    clearInterval(pump);
  }
  return offered;
}

/**
 * What every trickle test asserts afterwards: each trickler closed by the budget (its close
 * reason, from `reasonOf(i)`), the broker's count of bytes held never above `budget` (its own
 * peak and `heldPeak` sampled by the test), nothing left held, and far more than the budget offered.
 */
export function expectClosedWithinBudget(
  broker: Broker,
  tricklers: readonly Trickler[],
  reasonOf: (i: number) => CloseReason | undefined,
  budget: number,
  heldPeak: number,
  offered: readonly number[],
): void {
  expect(tricklers.every((c) => c.isClosed)).toBe(true);
  for (let i = 0; i < tricklers.length; i++) expect(['memory-budget', 'packet-timeout']).toContain(reasonOf(i));
  const stats = broker.memory;
  expect(stats.peakHeld).toBeLessThanOrEqual(budget);
  expect(heldPeak).toBeLessThanOrEqual(budget);
  expect(stats.closedOverBudget + stats.closedPartialTimeout).toBe(tricklers.length);
  expect(stats.partialBytes).toBe(0);
  expect(offered.reduce((a, b) => a + b, 0)).toBeGreaterThan(budget * 2);
}
