/**
 * A fast sink for the client benchmark: a TCP server, alone in its process, that accepts any
 * CONNECT and acknowledges every PUBLISH at once — and does nothing else (no routing, no
 * session, no checks). Whatever one read brings, the acknowledgements for all of it leave in
 * one write, so the client under test gets its PUBACKs in as few wake-ups as the kernel allows.
 * It measures the client, not a broker.
 *
 * Hand-framed: fixed header, remaining length (spec 2.2.3), and for a PUBLISH only the packet
 * identifier after the topic (spec 3.3.2). Answers: CONNECT → CONNACK 0, PUBLISH QoS 1 → PUBACK,
 * QoS 2 → PUBREC, PUBREL → PUBCOMP, PINGREQ → PINGRESP; DISCONNECT ends the connection.
 * Limits: no SUBSCRIBE, no validation; a packet split across reads is kept until it is whole.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { serve } from './rpc.js';

const CONNECT = 1;
const PUBLISH = 3;
const PUBREL = 6;
const PINGREQ = 12;
const DISCONNECT = 14;

let published = 0;

/** Serves one connection. */
function sink(socket: Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let rest: Buffer | undefined;
  socket.on('data', (chunk: Buffer) => {
    const bytes = rest ? Buffer.concat([rest, chunk]) : chunk;
    rest = undefined;
    // No answer is longer than its packet (a 4-byte ack for a PUBLISH of at least 7 bytes, a
    // PINGRESP for a PINGREQ), so the answers to this read fit in a buffer of its size.
    const out = Buffer.allocUnsafe(bytes.length);
    let o = 0;
    let off = 0;
    while (off + 2 <= bytes.length) {
      // Remaining length: up to 4 bytes, 7 bits each, low group first.
      let length = 0;
      let i = off + 1;
      let shift = 0;
      let done = false;
      while (i < bytes.length && shift <= 21) {
        const b = bytes.readUInt8(i++);
        length += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) {
          done = true;
          break;
        }
      }
      if (!done || i + length > bytes.length) break; // wait for the rest of this packet
      const first = bytes.readUInt8(off);
      switch (first >> 4) {
        case CONNECT:
          o = put(out, o, 0x20, 0);
          break;
        case PUBLISH: {
          const qos = (first >> 1) & 3;
          published++;
          if (qos > 0) {
            const id = i + 2 + bytes.readUInt16BE(i);
            o = put(out, o, qos === 1 ? 0x40 : 0x50, bytes.readUInt16BE(id));
          }
          break;
        }
        case PUBREL:
          o = put(out, o, 0x70, bytes.readUInt16BE(i));
          break;
        case PINGREQ:
          out[o++] = 0xd0;
          out[o++] = 0;
          break;
        case DISCONNECT:
          socket.end();
          return;
      }
      off = i + length;
    }
    if (off < bytes.length) rest = Buffer.from(bytes.subarray(off));
    if (o > 0) socket.write(out.subarray(0, o));
  });
}

/** Writes a 4-byte packet: `first`, remaining length 2, then `value` (a packet id or CONNACK's 0 0). */
function put(out: Buffer, o: number, first: number, value: number): number {
  out[o] = first;
  out[o + 1] = 2;
  out.writeUInt16BE(value, o + 2);
  return o + 4;
}

let server: Server | undefined;

serve({
  /** Starts listening on 127.0.0.1; returns the port. */
  async listen(): Promise<number> {
    const s = createServer(sink);
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return address.port;
  },
  /** PUBLISH packets seen so far. */
  published: () => published,
  async close(): Promise<null> {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    return null;
  },
});
