/**
 * Where the encoder writes a packet's body: one pass over the packet, each field checked as it
 * is written, in field order.
 *
 * The size of a packet is not known until its strings have been read (a character takes 1-4
 * bytes in UTF-8), and its fixed header, which comes first, holds that size. So the body is
 * written first, into a scratch area that every encode reuses, `HEADER_ROOM` bytes in; then, its
 * length known, the fixed header is written just before it, and header and body are copied out
 * at once into an array of exactly the packet's size (or the caller's array, for `encodeInto`).
 * Copying a body of a few dozen bytes costs less than reading its strings a second time would.
 * Bytes that follow the body and are never copied through the scratch area (a PUBLISH payload,
 * up to 256 MiB) are copied straight from the packet to the end.
 *
 * ```
 *   scratch  [ room for the fixed header | body … | free ]
 *            0                           ^ start  ^ pos
 * ```
 *
 * (Handing out the body where it was written, as a view into a shared slab, would save the copy,
 * but in Node a `Buffer` view over a given region costs more to make than a `Buffer.allocUnsafe`
 * of the same size plus the copy of a small packet: measured, acknowledgements were 1.3x slower.)
 * @internal
 */
import { allocBytes, writeBytes } from './bytes.js';
import { packetSize, writeFixedHeader } from './remaining-length.js';

/** The longest fixed header: the type byte and four Remaining Length bytes (spec 2.2.3). */
const HEADER_ROOM = 5;
/** The scratch area's size; one grown past it for a big body is dropped after that encode. */
const SCRATCH_SIZE = 4096;
/** Header and body up to this long are copied with a loop; longer ones with `TypedArray#set`. */
const LOOP_COPY_MAX = 8;
/** The longest copy that uses a view kept for its size (see `views`). */
const MAX_VIEW = 256;

export class BodyWriter {
  /** The scratch area (a plain `Uint8Array`, whose views are cheaper to make than a `Buffer`'s). */
  buf: Uint8Array = new Uint8Array(SCRATCH_SIZE);
  /** Where the body starts in `buf`. */
  readonly start = HEADER_ROOM;
  /** Where the next byte goes. */
  pos = HEADER_ROOM;

  /** The scratch area `buf` is again at each `begin`, after a big body outgrew it. */
  private readonly scratch = this.buf;
  /**
   * Views of the scratch area, by where they start (`HEADER_ROOM` minus the header's length) and
   * their length: the copy out of a packet of a size seen before needs no new view.
   */
  private readonly views: Array<Array<Uint8Array | undefined>> = [[], [], [], []];

  /** Starts a new body, discarding what an unfinished one (an encode that threw) wrote. */
  begin(): void {
    this.buf = this.scratch;
    this.pos = HEADER_ROOM;
  }

  /** The view of `scratch[from, from + count)`, made the first time it is asked for. */
  private view(from: number, count: number): Uint8Array {
    const byStart = this.views[from] ?? [];
    return (byStart[count] ??= this.scratch.subarray(from, from + count));
  }

  /** Makes room for `n` more bytes at `pos`. */
  room(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  /** Moves the body to a bigger area, with room for `n` more bytes. */
  private grow(n: number): void {
    // Doubling keeps a body of many fields (a long SUBSCRIBE) from being moved once per field.
    // The body keeps its offsets, so positions taken while writing it stay valid.
    const next = new Uint8Array(Math.max(this.pos + n, 2 * this.buf.length));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /**
   * The whole packet in a new array of exactly its size: the fixed header (`firstByte`, then
   * `remaining`, the Remaining Length), the body, then `tail`. `remaining` may count bytes that
   * are not in it (`encodeParts` hands the payload over apart).
   */
  bytes(firstByte: number, remaining: number, tail: Uint8Array): Uint8Array {
    const headerLength = packetSize(remaining) - remaining;
    const out = allocBytes(headerLength + this.pos - HEADER_ROOM + tail.length);
    this.copyInto(out, 0, firstByte, remaining, tail);
    return out;
  }

  /** Writes the packet (as for `bytes`) into `target` at `offset`, which has room; returns its size. */
  copyInto(target: Uint8Array, offset: number, firstByte: number, remaining: number, tail: Uint8Array): number {
    const buf = this.buf;
    const end = this.pos;
    const from = HEADER_ROOM - (packetSize(remaining) - remaining);
    writeFixedHeader(buf, from, firstByte, remaining);
    const count = end - from;
    if (count <= LOOP_COPY_MAX) for (let i = 0; i < count; i++) target[offset + i] = buf[from + i]!; // from + count = end <= buf.length
    else target.set(buf === this.scratch && count <= MAX_VIEW ? this.view(from, count) : buf.subarray(from, end), offset);
    writeBytes(target, offset + count, tail);
    return count + tail.length;
  }
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
