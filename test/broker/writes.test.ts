/**
 * How the connection module writes: everything a client is sent during one event-loop turn
 * leaves in one write, large payloads are handed to the stream without being copied, and no more
 * than a few KiB wait for the end of the turn. Observed on an in-memory Duplex, whose every
 * `write` call the test records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duplex } from 'node:stream';
import { Decoder, encode } from '../../src/codec/index.js';
import type { Packet } from '../../src/codec/index.js';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { connectPacket } from '../helpers/raw-client.js';
import { subscribedEvent, waitForEvent } from './wait.js';

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ port: 0 });
});
afterAll(() => broker.close());

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A client on an in-memory stream, recording each chunk the broker writes. */
class MemoryClient {
  readonly writes: Buffer[] = [];
  /** Make the stream's write throw, as a broken transport might. */
  failWrites = false;
  readonly #toBroker: Duplex;

  constructor() {
    this.#toBroker = new Duplex({
      read() {},
      write: (chunk: Buffer, _enc, cb) => {
        if (this.failWrites) throw new Error('transport failed');
        this.writes.push(chunk);
        cb();
      },
    });
    broker.handleConnection(this.#toBroker);
  }

  send(packet: Packet): void {
    this.#toBroker.push(encode(packet));
  }

  /** Every packet written to this client so far. */
  packets(): Packet[] {
    const d = new Decoder();
    return this.writes.flatMap((w) => d.feed(w));
  }

  close(): void {
    this.#toBroker.destroy();
  }

  static async subscribed(clientId: string, topicFilter: string): Promise<MemoryClient> {
    const c = new MemoryClient();
    const ready = subscribedEvent(broker, clientId);
    c.send(connectPacket({ clientId }));
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos: 0 }] });
    await ready;
    await turn();
    expect(c.packets().map((p) => p.cmd)).toEqual(['connack', 'suback']);
    c.writes.length = 0;
    return c;
  }
}

describe('writes to a client', () => {
  it('[MQTT-4.6.0-6] sends what one event-loop turn produced in one write, in order', async () => {
    const a = await MemoryClient.subscribed('turn-a', 'w/#');
    const b = await MemoryClient.subscribed('turn-b', 'w/#');
    for (let i = 0; i < 50; i++) broker.publish(`w/${i % 3}`, `m${i}`);
    expect(a.writes).toHaveLength(0); // nothing yet: the turn is not over
    await turn();
    for (const c of [a, b]) {
      expect(c.writes).toHaveLength(1);
      expect(c.packets().map((p) => (p.cmd === 'publish' ? new TextDecoder().decode(p.payload) : p.cmd))).toEqual(
        Array.from({ length: 50 }, (_, i) => `m${i}`),
      );
    }
    a.close();
    b.close();
  });

  it('writes at once, before the turn ends, once 16 KiB have gathered', async () => {
    const c = await MemoryClient.subscribed('early', 'e');
    for (let i = 0; i < 20; i++) broker.publish('e', new Uint8Array(1024));
    expect(c.writes.length).toBeGreaterThanOrEqual(1);
    expect(c.writes.reduce((n, w) => n + w.length, 0)).toBeGreaterThanOrEqual(16 * 1024);
    await turn();
    expect(c.packets()).toHaveLength(20);
    c.close();
  });

  it('a write that fails at the end of the turn closes that client only (server-error); the others get their messages', async () => {
    const ok = await MemoryClient.subscribed('fine', 'f');
    const bad = await MemoryClient.subscribed('broken', 'f');
    bad.failWrites = true;
    const ended = waitForEvent(broker, 'disconnect', (c) => c.clientId === 'broken');
    broker.publish('f', 'x');
    await turn();
    expect((await ended)[1]).toBe('server-error');
    expect(ok.packets()).toMatchObject([{ cmd: 'publish', topic: 'f' }]);
    ok.close();
  });

  it('hands a large payload to the stream as it is, without copying it', async () => {
    const c = await MemoryClient.subscribed('large', 'l');
    const payload = new Uint8Array(200 * 1024).fill(9);
    broker.publish('l', payload);
    await turn();
    expect(c.writes.some((w) => w.buffer === payload.buffer && w.byteOffset === payload.byteOffset && w.length === payload.length)).toBe(true);
    const [p] = c.packets();
    expect(p).toMatchObject({ cmd: 'publish', topic: 'l', qos: 0 });
    c.close();
  });
});
