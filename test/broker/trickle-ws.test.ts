/**
 * The memory budget over WebSocket, with real sockets: `ws` holds a frame until it is complete,
 * before the MQTT decoder sees any of it, so those bytes must count too. 40 raw WebSocket
 * connections (HTTP upgrade, then a CONNECT with keep-alive 0 in one binary frame) each send the
 * header of an 8 MiB binary frame and trickle its body. With a 4 MiB budget and a 3 s
 * partial-packet timeout, each is closed, the broker's count of bytes held never passes the
 * budget, and an MQTT.js pair over WebSocket keeps exchanging QoS 1 messages meanwhile.
 * Bounded: 40 connections, at most 1 MiB offered by each, at most 20 s.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/index.js';
import { startBroker, type Broker, type CloseReason } from '../../src/broker-mini/index.js';
import { expectClosedWithinBudget, trickleWhileExchanging } from './trickle-pump.js';

const MiB = 1024 * 1024;
const BUDGET = 4 * MiB;
const TRICKLERS = 40;
const FRAME = 8 * MiB;
const PIECE = 16 * 1024;
const OFFERED_PER_TRICKLER = 1 * MiB; // 40 MiB in all: ten times the budget
const DEADLINE_MS = 20_000;

let broker: Broker;
let wsPort: number;
const reasons = new Map<string, CloseReason>();

beforeAll(async () => {
  broker = await startBroker({ port: 0, ws: { port: 0 }, memoryBudget: BUDGET, partialPacketTimeout: 3_000, maxPacketSize: 16 * MiB });
  wsPort = broker.wsAddress!.port;
  broker.on('disconnect', (c, r) => reasons.set(c.clientId, r));
});
afterAll(async () => {
  await broker.close();
});

/** The header of a masked binary frame (RFC 6455 5.2) of `length` bytes; mask 0 leaves the payload as is. */
function frameHeader(length: number): Buffer {
  const mask = [0, 0, 0, 0];
  if (length < 126) return Buffer.from([0x82, 0x80 | length, ...mask]);
  const head = Buffer.alloc(10);
  head[0] = 0x82;
  head[1] = 0x80 | 127;
  head.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([head, Buffer.from(mask)]);
}

/** A WebSocket connection spoken by hand over a TCP socket. */
class RawWs {
  received = Buffer.alloc(0);
  closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => (this.isClosed = true));
  }

  /** Upgrades, then sends a CONNECT in one binary frame and waits for the CONNACK frame. */
  static async open(port: number, clientId: string): Promise<RawWs> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const c = new RawWs(socket);
    socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
    );
    const connectPacket = Buffer.from(encode({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId, cleanSession: true, keepAlive: 0 }));
    socket.write(Buffer.concat([frameHeader(connectPacket.length), connectPacket]));
    // 101 response, then the CONNACK in one unmasked binary frame: 82 04 20 02 00 00.
    await c.waitFor((b) => b.includes('HTTP/1.1 101') && b.includes(Buffer.from([0x82, 0x04, 0x20, 0x02, 0x00, 0x00])));
    return c;
  }

  waitFor(cond: (b: Buffer) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (cond(this.received)) done(resolve);
      };
      const fail = (): void => done(() => reject(new Error(`closed before expected bytes; got ${this.received.toString('latin1')}`)));
      const done = (f: () => void): void => {
        this.socket.off('data', check);
        this.socket.off('close', fail);
        f();
      };
      this.socket.on('data', check);
      this.socket.once('close', fail);
      check();
    });
  }
}

/** An MQTT.js publisher and subscriber over WebSocket: one QoS 1 message at a time. */
async function startWsPair(url: string): Promise<{ exchange(): Promise<void>; clients: MqttClient[]; readonly exchanged: number }> {
  const options = { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 as const };
  const sub = await mqtt.connectAsync(url, { ...options, clientId: 'ws-good-sub' });
  await sub.subscribeAsync('ws-good', { qos: 1 });
  const pub = await mqtt.connectAsync(url, { ...options, clientId: 'ws-good-pub' });
  let exchanged = 0;
  return {
    clients: [pub, sub],
    get exchanged() {
      return exchanged;
    },
    async exchange() {
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(exchanged);
      const delivered = new Promise<Buffer>((resolve) => sub.once('message', (_t, p) => resolve(p)));
      await pub.publishAsync('ws-good', payload, { qos: 1 });
      expect((await delivered).readUInt32BE(0)).toBe(exchanged);
      exchanged++;
    },
  };
}

describe('memory budget against WebSocket clients trickling a large frame', () => {
  it('closes 40 WebSocket connections trickling an 8 MiB frame within the budget; an MQTT.js pair over WebSocket keeps flowing', async () => {
    const good = await startWsPair(`ws://127.0.0.1:${wsPort}/`);
    const tricklers: RawWs[] = [];
    try {
      for (let i = 0; i < TRICKLERS; i++) tricklers.push(await RawWs.open(wsPort, `ws-trickler-${i}`));
      for (const c of tricklers) c.socket.write(frameHeader(FRAME));
      let heldPeak = 0;
      const offered = await trickleWhileExchanging(tricklers, {
        piece: PIECE,
        maxPerTrickler: OFFERED_PER_TRICKLER,
        deadlineMs: DEADLINE_MS,
        exchange: () => good.exchange(),
        sample: () => (heldPeak = Math.max(heldPeak, broker.memory.held)),
      });

      expectClosedWithinBudget(broker, tricklers, (i) => reasons.get(`ws-trickler-${i}`), BUDGET, heldPeak, offered);
      expect(good.clients.every((c) => c.connected)).toBe(true);
      expect(good.exchanged).toBeGreaterThan(0);
    } finally {
      for (const c of tricklers) c.socket.destroy();
      await Promise.all(good.clients.map((c) => c.endAsync()));
    }
  }, 30_000);
});
