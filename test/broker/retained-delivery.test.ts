/**
 * Retained messages sent on SUBSCRIBE (retained-delivery.ts), without sockets: the work a
 * SUBSCRIBE asks for is (filters) × (retained messages), so it runs in slices that leave room for
 * other clients, and stops at the first message the subscriber cannot take.
 */
import { describe, expect, it } from 'vitest';
import { RETAINED_SLICE } from '../../src/broker-mini/core/retained-delivery.js';
import type { Packet, PublishPacket } from '../../src/codec/index.js';
import { bytes, Harness } from './harness.js';

const publishes = (packets: Packet[]): PublishPacket[] => packets.filter((p): p is PublishPacket => p.cmd === 'publish');
const macrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function retain(h: Harness, count: number, qos: 0 | 1 = 0): void {
  for (let i = 0; i < count; i++) h.core.publish(`kept/${i}`, bytes(`v${i}`), { qos, retain: true });
}

describe('retained messages on SUBSCRIBE', () => {
  it('[MQTT-3.3.1-6] [MQTT-3.8.4-4] sends them for every filter of a large SUBSCRIBE in slices, serving other clients in between', async () => {
    const h = new Harness();
    const retained = 300;
    retain(h, retained);
    const greedy = h.connect({ clientId: 'greedy' });
    const other = h.connect({ clientId: 'other' });
    // ten repetitions of '#': each is a subscription of its own, and each re-sends the retained messages [MQTT-3.8.4-3]
    const repeats = 10;
    greedy.send({ cmd: 'subscribe', packetId: 1, subscriptions: Array.from({ length: repeats }, () => ({ topicFilter: '#', qos: 0 as const })) });
    const first = greedy.take();
    expect(first[0]).toEqual({ cmd: 'suback', packetId: 1, returnCodes: Array(repeats).fill(0) });
    // only one slice ran before control returned; the client's further input waits meanwhile
    expect(publishes(first).length).toBeLessThanOrEqual(RETAINED_SLICE);
    expect(publishes(first).length).toBeLessThan(retained * repeats);
    expect(greedy.link.paused).toBe(true);
    other.send({ cmd: 'pingreq' });
    expect(other.take()).toEqual([{ cmd: 'pingresp' }]);
    greedy.send({ cmd: 'pingreq' }); // arrives while the retained delivery is still running: answered after it
    expect(greedy.take().some((p) => p.cmd === 'pingresp')).toBe(false);

    const rest: Packet[] = [];
    for (let i = 0; i < 100 && !rest.some((p) => p.cmd === 'pingresp'); i++) {
      await macrotask();
      rest.push(...greedy.take());
    }
    const all = [...publishes(first), ...publishes(rest)];
    expect(all).toHaveLength(retained * repeats);
    // [MQTT-3.3.1-8] every one with RETAIN=1, in store order for each filter
    expect(all.every((p) => p.retain)).toBe(true);
    expect(all.slice(0, retained).map((p) => p.topic)).toEqual(Array.from({ length: retained }, (_, i) => `kept/${i}`));
    expect(rest.at(-1)).toEqual({ cmd: 'pingresp' }); // the input that waited is handled last
    expect(greedy.link.paused).toBe(false);
  });

  it('[MQTT-3.8.4-1] stops at the first message that does not fit the queue, however many filters ask for more', () => {
    const h = new Harness({ maxInflight: 5, maxQueuedMessages: 5 });
    retain(h, 50, 1);
    const c = h.connect({ clientId: 'full' });
    c.send({ cmd: 'subscribe', packetId: 2, subscriptions: Array.from({ length: 1000 }, () => ({ topicFilter: 'kept/+', qos: 1 as const })) });
    const out = c.take();
    expect(out[0]).toMatchObject({ cmd: 'suback', packetId: 2 });
    expect(publishes(out)).toHaveLength(5); // the inflight window; 5 more wait in the queue
    expect(h.core.sessions.get('full')).toMatchObject({ dropped: 1 });
    expect(c.link.paused).toBe(false); // done at once: no slices left to run
    expect(c.isClosed).toBe(false);
  });
});
