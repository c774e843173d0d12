/**
 * The Node floor: NOT a broker. A bare `net` server that speaks just enough MQTT 3.1.1 for the
 * benchmark's throughput scenarios, so the report can show what Node.js itself costs per delivery
 * — the part no broker written for Node can shed.
 *
 * What it does, and nothing more:
 * - CONNECT → CONNACK "accepted"; SUBSCRIBE → SUBACK granting what was asked; PINGREQ → PINGRESP;
 *   UNSUBSCRIBE → UNSUBACK; DISCONNECT → end.
 * - PUBLISH → the same bytes to every subscriber of exactly that topic name (no wildcards). A QoS 0
 *   message goes out as a view of the chunk it arrived in (no copy, no decoding beyond the topic);
 *   a QoS 1/2 message is copied once per subscriber with the subscriber's packet id written in.
 * - The acknowledgements a sender needs: PUBACK for QoS 1, PUBREC then PUBCOMP for QoS 2, PUBREL
 *   for a subscriber's PUBREC. Acknowledgements it receives are ignored.
 *
 * What it leaves out: sessions, queues, inflight windows and retries, retained messages, wills,
 * authentication, keep-alive enforcement, any check of the input, QoS downgrade (every subscriber
 * must have asked for the publisher's QoS, as in the scenarios), and backpressure. It reads with
 * the ordinary 'data' events of `net.Socket` and writes each packet with one `socket.write` as it
 * is produced: the least a Node server does per message.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** A subscriber: its socket, and the next packet id for messages sent to it at QoS 1/2. */
interface Sub {
  socket: Socket;
  nextId: number;
}

/** Per connection: bytes of an incomplete packet, and the topics it subscribed to. */
interface FloorState {
  held: Buffer | undefined;
  sub: Sub;
}

const STATE = Symbol('node-floor.state');
type FloorSocket = Socket & { [STATE]: FloorState };

const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const PINGRESP = Buffer.from([0xd0, 0x00]);

/** Subscribers by exact topic name. */
const subscribers = new Map<string, Sub[]>();

/** A 4-byte packet-id-only acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK). */
function ack(first: number, packetId: number): Buffer {
  return Buffer.from([first, 0x02, packetId >> 8, packetId & 0xff]);
}

/** One whole packet: `buf[start]` is its first byte, its body is `buf[body..end)`. */
function handle(socket: FloorSocket, buf: Buffer, start: number, body: number, end: number): void {
  const first = buf[start] ?? 0;
  switch (first >> 4) {
    case 1: // CONNECT
      socket.write(CONNACK);
      return;
    case 3: {
      // PUBLISH: topic length, topic, [packet id], payload
      const qos = (first >> 1) & 3;
      const topicLength = buf.readUInt16BE(body);
      const topic = buf.toString('latin1', body + 2, body + 2 + topicLength);
      const idAt = body + 2 + topicLength;
      const subs = subscribers.get(topic);
      if (subs !== undefined) {
        for (const s of subs) {
          if (qos === 0) {
            s.socket.write(buf.subarray(start, end));
            continue;
          }
          const out = Buffer.allocUnsafe(end - start);
          buf.copy(out, 0, start, end);
          out.writeUInt16BE(s.nextId, idAt - start);
          s.nextId = s.nextId === 0xffff ? 1 : s.nextId + 1;
          s.socket.write(out);
        }
      }
      if (qos > 0) socket.write(ack(qos === 1 ? 0x40 : 0x50, buf.readUInt16BE(idAt)));
      return;
    }
    case 5: // PUBREC from a subscriber → PUBREL
      socket.write(ack(0x62, buf.readUInt16BE(body)));
      return;
    case 6: // PUBREL from a publisher → PUBCOMP
      socket.write(ack(0x70, buf.readUInt16BE(body)));
      return;
    case 8: {
      // SUBSCRIBE: packet id, then (topic filter, requested QoS) pairs
      const granted: number[] = [];
      for (let at = body + 2; at < end; ) {
        const n = buf.readUInt16BE(at);
        const filter = buf.toString('latin1', at + 2, at + 2 + n);
        const requested = buf[at + 2 + n] ?? 0;
        at += 3 + n;
        const list = subscribers.get(filter) ?? [];
        list.push(socket[STATE].sub);
        subscribers.set(filter, list);
        granted.push(requested);
      }
      const pid = buf.readUInt16BE(body);
      socket.write(Buffer.from([0x90, 2 + granted.length, pid >> 8, pid & 0xff, ...granted]));
      return;
    }
    case 10: // UNSUBSCRIBE: acknowledged, never needed by the scenarios
      socket.write(ack(0xb0, buf.readUInt16BE(body)));
      return;
    case 12: // PINGREQ
      socket.write(PINGRESP);
      return;
    case 14: // DISCONNECT
      socket.end();
      return;
    default: // PUBACK, PUBCOMP from subscribers: nothing to do
  }
}

function onData(this: FloorSocket, chunk: Buffer): void {
  const state = this[STATE];
  const buf = state.held === undefined ? chunk : Buffer.concat([state.held, chunk]);
  let at = 0;
  for (;;) {
    // Fixed header: one byte, then the remaining length in 1–4 bytes of 7 bits each.
    let length = 0;
    let shift = 0;
    let i = at + 1;
    let complete = false;
    while (i < buf.length) {
      const b = buf[i++] ?? 0;
      length |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) {
        complete = true;
        break;
      }
    }
    if (!complete || i + length > buf.length) break;
    handle(this, buf, at, i, i + length);
    at = i + length;
  }
  state.held = at === buf.length ? undefined : buf.subarray(at);
}

function onClose(this: FloorSocket): void {
  const mine = this[STATE].sub;
  for (const [topic, list] of subscribers) {
    const left = list.filter((s) => s !== mine);
    if (left.length === 0) subscribers.delete(topic);
    else subscribers.set(topic, left);
  }
}

function ignoreError(): void {}

/** Listens on a free port of 127.0.0.1; resolves with the port. */
export async function listenOnFreePort(server: Server): Promise<number> {
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** Starts the floor on a free port of 127.0.0.1. */
export async function startNodeFloor(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer({ noDelay: true }, (plain) => {
    const socket = plain as FloorSocket;
    socket[STATE] = { held: undefined, sub: { socket, nextId: 1 } };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', ignoreError);
  });
  return { port: await listenOnFreePort(server), close: () => new Promise<void>((res) => server.close(() => res())) };
}
