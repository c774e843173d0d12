/**
 * The broker-wide memory budget (budget.ts) as a state machine, with fake connections: when it
 * pauses, whom it closes, the partial-packet timeout, and the queued bytes it counts.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBudget, type BudgetAccount, type BudgetCloseReason } from '../../src/broker-mini/budget.js';
import { parseConfig, startBroker } from '../../src/broker-mini/index.js';
import { Decoder, encode } from '../../src/codec/index.js';

interface Fake extends BudgetAccount {
  name: string;
  closedFor: BudgetCloseReason | undefined;
}

function fake(budget: MemoryBudget, name: string): Fake {
  const a: Fake = {
    name,
    held: 0,
    since: 0,
    paused: false,
    closedFor: undefined,
    setPaused: () => {},
    close(reason) {
      a.closedFor = reason;
      budget.release(a);
    },
  };
  budget.open(a);
  return a;
}

describe('MemoryBudget', () => {
  it('[MQTT-4.8.0-2] stops reading a growing connection above 3/4 of the budget, and reads it again below', () => {
    const budget = new MemoryBudget(1000, 10_000);
    const a = fake(budget, 'a');
    const b = fake(budget, 'b');
    budget.settle(a, 700, false, 0);
    expect(a.paused).toBe(false);
    budget.settle(b, 100, false, 0); // 800 > 750
    expect(b.paused).toBe(true);
    expect(a.paused).toBe(false);
    budget.settle(a, 0, true, 1); // a's packet completed: 100 held
    budget.tick(2, 0);
    expect(b.paused).toBe(false);
    expect(budget.stats).toMatchObject({ held: 100, partialBytes: 100, paused: 0, peakHeld: 800 });
  });

  it('[MQTT-4.8.0-2] over the budget closes the largest holders first, never holding more than the budget', () => {
    const budget = new MemoryBudget(1000, 10_000);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => fake(budget, n));
    budget.settle(a!, 600, false, 0);
    budget.settle(b!, 300, false, 0);
    budget.settle(c!, 200, false, 0); // 1100: a goes
    expect([a!.closedFor, b!.closedFor, c!.closedFor]).toEqual(['memory-budget', undefined, undefined]);
    expect(budget.stats).toMatchObject({ held: 500, peakHeld: 900, closedOverBudget: 1 });
  });

  it('[MQTT-4.8.0-2] counts queued bytes: they leave less room for incomplete packets', () => {
    const budget = new MemoryBudget(1000, 10_000);
    const a = fake(budget, 'a');
    budget.tick(0, 900);
    budget.settle(a, 200, false, 1);
    expect(a.closedFor).toBe('memory-budget');
    expect(budget.stats).toMatchObject({ held: 900, queuedBytes: 900, partialBytes: 0 });
  });

  it('[MQTT-4.8.0-2] closes a connection whose packet is not complete within the timeout of its first byte', () => {
    const budget = new MemoryBudget(1_000_000, 1000);
    const slow = fake(budget, 'slow');
    const busy = fake(budget, 'busy');
    budget.settle(slow, 10, false, 0);
    budget.settle(slow, 20, false, 900); // more bytes of the same packet: the clock does not restart
    budget.settle(busy, 10, false, 0);
    budget.settle(busy, 5, true, 900); // a packet completed; the 5 bytes held belong to a new one
    budget.tick(1000, 0);
    expect(slow.closedFor).toBe('packet-timeout');
    expect(busy.closedFor).toBeUndefined();
    budget.tick(1900, 0);
    expect(busy.closedFor).toBe('packet-timeout');
    expect(budget.stats).toMatchObject({ held: 0, closedPartialTimeout: 2 });
  });

  it('a released connection no longer counts, and releasing twice is harmless', () => {
    const budget = new MemoryBudget(1000, 1000);
    const a = fake(budget, 'a');
    budget.settle(a, 400, false, 0);
    budget.release(a);
    budget.release(a);
    budget.settle(a, 400, false, 0); // late bytes of a closed connection are ignored
    expect(budget.held).toBe(0);
  });

  it("what it is fed: Decoder.heldBytes counts queued bytes, then a frame's whole reserved buffer, then nothing", () => {
    const whole = encode({ cmd: 'publish', topic: 't', payload: new Uint8Array(1000), qos: 0, retain: false, dup: false });
    const d = new Decoder();
    d.push(whole.subarray(0, 2)); // the fixed header only: nothing reserved yet
    expect(d.next()).toBeUndefined();
    expect(d.heldBytes).toBe(2);
    d.push(whole.subarray(2, 10)); // a small frame gets its whole buffer at once
    expect(d.next()).toBeUndefined();
    expect(d.heldBytes).toBe(whole.length);
    d.push(whole.subarray(10));
    expect(d.next()).toMatchObject({ cmd: 'publish', topic: 't' });
    expect(d.heldBytes).toBe(0);
  });

  it('is configured by memory_budget (bytes) and partial_packet_timeout (seconds), and defaults to 256 MiB and 60 s', async () => {
    expect(parseConfig('memory_budget 8388608\npartial_packet_timeout 5\n')).toMatchObject({ memoryBudget: 8_388_608, partialPacketTimeout: 5000 });
    const broker = await startBroker({ port: 0 });
    try {
      expect(broker.memory).toMatchObject({ limit: 256 * 1024 * 1024, held: 0 });
      expect(broker.options.partialPacketTimeout).toBe(60_000);
    } finally {
      await broker.close();
    }
  });
});
