/**
 * Where the encoder writes a packet's body: one pass over the packet, each field checked as it
 * is written, in field order.
 *
 * The size of a packet is not known until its strings have been read (a character takes 1-4
 * bytes in UTF-8), and its fixed header, which comes first, holds that size. So the body is
 * written first, into a slab that is reused, `HEADER_ROOM` bytes after the slab's free space
 * starts; then, its length known, the fixed header is written just before it. A small packet
 * (under `MAX_CARVED` bytes, the common case) is then handed out as a view of exactly its bytes in
 * the slab, and the slab's free space starts after it: nothing is copied, and the slab works as
 * Node's own Buffer pool does (which `Buffer.allocUnsafe` carves small buffers out of the same
 * way). A bigger packet is copied into an array of its own. Bytes that follow the body and are
 * never copied through the slab (a PUBLISH payload, up to 256 MiB) are appended at the end.
 *
 * ```
 *   slab   [ handed out … | room for the fixed header | body … | free ]
 *                         ^ used                      ^ start  ^ pos
 * ```
 * @internal
 */
import { allocBytes, EMPTY_BYTES, writeBytes } from './bytes.js';
import { packetSize, writeFixedHeader } from './header.js';

/** The longest fixed header: the type byte and four Remaining Length bytes (spec 2.2.3). */
const HEADER_ROOM = 5;
/** Packets of fewer bytes than this are carved out of the slab; bigger ones get an array of their own. */
const MAX_CARVED = 4096;
const SLAB_SIZE = 8192;
/** A body up to this long is copied with a loop; a longer one with `TypedArray#set`. */
const LOOP_COPY_MAX = 64;

export class BodyWriter {
  /** The bytes being written: the slab, or a body too big for one in an array of its own. */
  buf: Uint8Array = EMPTY_BYTES;
  /** Where the body starts in `buf`. */
  start = 0;
  /** Where the next byte goes. */
  pos = 0;
  private slab: Uint8Array = EMPTY_BYTES;
  /** The slab's bytes handed out so far. */
  private used = 0;

  /** Starts a new body, discarding what an unfinished one (an encode that threw) wrote. */
  begin(): void {
    this.buf = this.slab;
    this.start = this.pos = this.used + HEADER_ROOM;
  }

  /** Makes room for `n` more bytes at `pos`. */
  room(n: number): void {
    if (this.pos + n > this.buf.length) this.move(n);
  }

  /** Moves the body to a fresh slab, or a bigger array of its own, with room for `n` more bytes. */
  private move(n: number): void {
    const body = this.pos - this.start;
    const need = HEADER_ROOM + body + n;
    let next: Uint8Array;
    if (need <= SLAB_SIZE) {
      // The rest of the old slab is left to the packets carved from it.
      next = this.slab = allocBytes(SLAB_SIZE);
      this.used = 0;
    } else {
      // Doubling keeps a body of many fields (a long SUBSCRIBE) from being moved once per field.
      next = allocBytes(Math.max(need, 2 * this.buf.length));
    }
    copyBody(next, HEADER_ROOM, this.buf, this.start, body);
    this.buf = next;
    this.start = HEADER_ROOM;
    this.pos = HEADER_ROOM + body;
  }

  /**
   * The whole packet as one array of exactly its size: the fixed header (`firstByte`, then
   * `remaining`, the Remaining Length), the body, then `tail`. `remaining` may count bytes that
   * are not in it (`encodeParts` hands the payload over apart).
   */
  bytes(firstByte: number, remaining: number, tail: Uint8Array): Uint8Array {
    const headerLength = packetSize(remaining) - remaining;
    const end = this.pos + tail.length;
    if (this.buf === this.slab && headerLength + end - this.start < MAX_CARVED && end <= this.buf.length) {
      const at = this.start - headerLength;
      writeFixedHeader(this.buf, at, firstByte, remaining);
      writeBytes(this.buf, this.pos, tail);
      // Carved: the next packet starts after this one, at a multiple of 8 as in Node's pool.
      this.used = (end + 7) & ~7;
      return this.buf.subarray(at, end);
    }
    const out = allocBytes(headerLength + end - this.start);
    this.copyInto(out, 0, firstByte, remaining, tail);
    return out;
  }

  /** Writes the packet (as for `bytes`) into `target` at `offset`, which has room; returns its size. */
  copyInto(target: Uint8Array, offset: number, firstByte: number, remaining: number, tail: Uint8Array): number {
    const at = writeFixedHeader(target, offset, firstByte, remaining);
    const body = this.pos - this.start;
    copyBody(target, at, this.buf, this.start, body);
    writeBytes(target, at + body, tail);
    return at + body + tail.length - offset;
  }
}

/** Copies `src[from, from + count)` into `dst` at `at`: a loop for a short body, `set` for a long one. */
function copyBody(dst: Uint8Array, at: number, src: Uint8Array, from: number, count: number): void {
  if (count <= LOOP_COPY_MAX) for (let i = 0; i < count; i++) dst[at + i] = src[from + i]!; // from + count <= src.length
  else dst.set(src.subarray(from, from + count), at);
}

/** Writes one byte. */
export function putU8(w: BodyWriter, n: number): void {
  w.room(1);
  w.buf[w.pos++] = n;
}

/** Writes a 16-bit big-endian integer. */
export function putU16(w: BodyWriter, n: number): void {
  w.room(2);
  const buf = w.buf;
  const pos = w.pos;
  buf[pos] = n >>> 8;
  buf[pos + 1] = n & 0xff;
  w.pos = pos + 2;
}

/** Writes a binary field (spec 1.5.2 style: a 2-byte length, then the bytes), already checked. */
export function putBinary(w: BodyWriter, bytes: Uint8Array): void {
  const len = bytes.length;
  w.room(2 + len);
  const buf = w.buf;
  const pos = w.pos;
  buf[pos] = len >>> 8;
  buf[pos + 1] = len & 0xff;
  writeBytes(buf, pos + 2, bytes);
  w.pos = pos + 2 + len;
}
