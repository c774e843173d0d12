/**
 * The benchmark's Node floor (bench/e2e/node-floor.ts) is no broker, but the rows it produces are
 * only worth reading if it forwards what the scenarios send: every message, once, at its QoS.
 * And the `--syscalls` parser must read strace's summary as strace prints it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startNodeFloor } from '../../bench/e2e/node-floor.js';
import { parseStraceSummary } from '../../bench/e2e/syscalls.js';
import { connect, type MqttClient } from '../../src/client/index.js';

let floor: { port: number; close(): Promise<void> } | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.end();
  await floor?.close();
  floor = undefined;
});

async function open(port: number): Promise<MqttClient> {
  const c = await connect(`mqtt://127.0.0.1:${port}`, { reconnect: false });
  clients.push(c);
  return c;
}

describe('node floor', () => {
  for (const qos of [0, 1, 2] as const) {
    it(`forwards QoS ${qos} messages to every subscriber of the topic, each once and in order`, async () => {
      floor = await startNodeFloor();
      const subs = [await open(floor.port), await open(floor.port)];
      const other = await open(floor.port);
      const got = subs.map(() => [] as string[]);
      let stray = 0;
      subs.forEach((s, i) => s.on('message', (_t, payload) => got[i]!.push(new TextDecoder().decode(payload))));
      other.on('message', () => stray++);
      for (const s of subs) await s.subscribe('floor/t', { qos });
      await other.subscribe('floor/other', { qos });
      const pub = await open(floor.port);
      // Twenty in flight at once: each copy to a subscriber carries a packet id of its own.
      await Promise.all(Array.from({ length: 20 }, (_, i) => pub.publish('floor/t', `m${i}`, { qos })));
      const want = Array.from({ length: 20 }, (_, i) => `m${i}`);
      await expect.poll(() => got.map((g) => g.length)).toEqual([20, 20]);
      expect(got).toEqual([want, want]);
      expect(stray).toBe(0);
    });
  }
});

describe('strace summary', () => {
  it('reads every call with its count and sums the errors column', () => {
    const text = [
      '% time     seconds  usecs/call     calls    errors syscall',
      '------ ----------- ----------- --------- --------- ----------------',
      ' 32.81    0.171067           7     23916     11958 epoll_ctl',
      ' 29.56    0.154130           8     17937           read',
      '------ ----------- ----------- --------- --------- ----------------',
      '100.00    0.521448           8     41853     11958 total',
      '',
    ].join('\n');
    const { calls, errors } = parseStraceSummary(text);
    expect([...calls]).toEqual([
      ['epoll_ctl', 23916],
      ['read', 17937],
    ]);
    expect(errors).toBe(11958);
  });
});
