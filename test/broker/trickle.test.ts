/**
 * The hostile case of the memory budget, over real sockets: 100 connections send a CONNECT with
 * keep-alive 0, then the fixed header of a 16 MiB PUBLISH, then trickle its body. Without a
 * broker-wide bound the broker would hold 100 × what each sends. With an 8 MiB budget and a 3 s
 * partial-packet timeout every trickler is closed, the broker's own count of bytes held never
 * passes the budget, its RSS grows by less than budget + slack, and a well-behaved pair of
 * clients keeps exchanging QoS 1 messages meanwhile. Bounded: 100 connections, at most 2 MiB
 * offered by each, at most 20 s. A second case sends 256 KiB bursts, faster than backpressure
 * can act, so the budget has to close the largest holders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker, type CloseReason } from '../../src/broker-mini/index.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';
import { startGoodPair } from './good-pair.js';
import { expectClosedWithinBudget, trickleWhileExchanging } from './trickle-pump.js';

const MiB = 1024 * 1024;
const BUDGET = 8 * MiB;
const TRICKLERS = 100;
const PIECE = 16 * 1024;
const OFFERED_PER_TRICKLER = 2 * MiB; // 200 MiB in all: far beyond the budget
/** RSS may grow by the budget plus this: sockets, Node's read buffers of paused sockets, the heap. */
const RSS_SLACK = 48 * MiB;
const DEADLINE_MS = 20_000;

let broker: Broker;
let port: number;
const reasons = new Map<string, CloseReason>();

beforeAll(async () => {
  broker = await startBroker({ port: 0, memoryBudget: BUDGET, partialPacketTimeout: 3_000, maxPacketSize: 16 * MiB + 64 });
  port = broker.address.port;
  broker.on('disconnect', (c, r) => reasons.set(c.clientId, r));
});
afterAll(async () => {
  await closeAllRawClients();
  await broker.close();
});

/** Fixed header and topic of a QoS 0 PUBLISH whose whole packet is 16 MiB. */
function bigPublishHead(): Uint8Array {
  const remaining = 16 * MiB - 5; // 1 type byte + 4 length bytes
  const length = [];
  for (let n = remaining; ; ) {
    const digit = n % 128;
    n = Math.floor(n / 128);
    length.push(n > 0 ? digit | 0x80 : digit);
    if (n === 0) break;
  }
  return Uint8Array.from([0x30, ...length, 0, 1, 0x74]); // topic "t"
}

describe('memory budget against trickling clients', () => {
  it('[MQTT-4.8.0-2] closes 100 connections trickling 16 MiB PUBLISHes (keep-alive 0) within the budget; a good pair keeps flowing', async () => {
    const good = await startGoodPair(broker, 'good');

    const tricklers = await Promise.all(
      Array.from({ length: TRICKLERS }, async (_, i) => {
        const c = await RawClient.connect(port);
        expect(await c.handshake({ clientId: `trickler-${i}`, keepAlive: 0 })).toMatchObject({ returnCode: 0 });
        c.sendBytes(bigPublishHead());
        return c;
      }),
    );
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let heldPeak = 0;
    // The good pair: QoS 1 PUBLISH, PUBACK, delivery, one after another while the tricklers run.
    const offered = await trickleWhileExchanging(tricklers, {
      piece: PIECE,
      maxPerTrickler: OFFERED_PER_TRICKLER,
      deadlineMs: DEADLINE_MS,
      exchange: () => good.exchange(),
      sample() {
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
        heldPeak = Math.max(heldPeak, broker.memory.held);
      },
    });

    expectClosedWithinBudget(broker, tricklers, (i) => reasons.get(`trickler-${i}`), BUDGET, heldPeak, offered);
    expect(good.pub.isClosed || good.sub.isClosed).toBe(false);
    expect(good.exchanged).toBeGreaterThan(0);
    // What the tricklers offered is far beyond the budget; what the process grew by is not.
    expect(rssPeak - rssBefore).toBeLessThan(BUDGET + RSS_SLACK);
  }, 30_000);

  it('[MQTT-4.8.0-2] closes the largest holders when bursts pass the budget before backpressure takes hold', async () => {
    // A small budget: once past 3/4 of it, 100 connections adding one read each (even 8 KiB
    // reads) go past it, however the kernel slices the bursts.
    const budget = 2 * MiB;
    const burst = await startBroker({ port: 0, memoryBudget: budget, partialPacketTimeout: 3_000, maxPacketSize: 16 * MiB + 64 });
    try {
      const body = new Uint8Array(256 * 1024).fill(0x62);
      const clients = await Promise.all(
        Array.from({ length: TRICKLERS }, async (_, i) => {
          const c = await RawClient.connect(burst.address.port);
          expect(await c.handshake({ clientId: `burst-${i}`, keepAlive: 0 })).toMatchObject({ returnCode: 0 });
          return c;
        }),
      );
      // 100 × 256 KiB at once: 25 MiB offered against 2 MiB.
      for (const c of clients) {
        c.sendBytes(bigPublishHead());
        c.sendBytes(body);
      }
      await Promise.all(clients.map((c) => c.closed));
      const stats = burst.memory;
      expect(stats.closedOverBudget).toBeGreaterThan(0);
      expect(stats.closedOverBudget + stats.closedPartialTimeout).toBe(TRICKLERS);
      expect(stats.peakHeld).toBeLessThanOrEqual(budget);
      expect(stats.partialBytes).toBe(0);
    } finally {
      await burst.close();
    }
  }, 30_000);
});
