/**
 * The one place the codec touches Node's `Buffer`, and only for speed.
 *
 * The codec runs in any JS runtime on plain `Uint8Array`s. When `Buffer` exists (Node), the
 * buffers the codec allocates are `Buffer`s, so that decoded payloads copied out of several
 * chunks still have `toString()` and friends for Node users, and small allocations come from
 * Node's pool.
 */

interface BufferConstructorLike {
  allocUnsafe(size: number): Uint8Array;
  prototype: Uint8Array;
}

const NodeBuffer: BufferConstructorLike | undefined = (
  globalThis as { Buffer?: BufferConstructorLike } // probes for an optional global
).Buffer;

/**
 * Allocates `size` bytes: a `Buffer` in Node (uninitialised, since every caller writes every
 * byte), a zeroed `Uint8Array` elsewhere.
 */
export const allocBytes: (size: number) => Uint8Array =
  NodeBuffer === undefined ? (size) => new Uint8Array(size) : (size) => NodeBuffer.allocUnsafe(size);

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;

/**
 * Node's native Latin-1 decoder (`Buffer.prototype.latin1Slice`), if present and if it also
 * works on a plain `Uint8Array` (checked once, here), so no per-call type test is needed.
 */
const latin1Slice: Latin1Slice | undefined = (() => {
  const fn = (NodeBuffer?.prototype as { latin1Slice?: Latin1Slice } | undefined)?.latin1Slice; // probes for Node's internal latin1Slice; undefined elsewhere
  if (typeof fn !== 'function') return undefined;
  try {
    return fn.call(Uint8Array.of(0x4d, 0x51, 0x54, 0x54), 1, 3) === 'QT' ? fn : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Decodes `buf[start, end)`, known to hold only bytes 0x01-0x7f, with Node's native Latin-1
 * decoder (identical to ASCII for these bytes, and several times faster than building the string
 * in JS); `undefined` outside Node.
 */
export function nativeAscii(buf: Uint8Array, start: number, end: number): string | undefined {
  return latin1Slice === undefined ? undefined : latin1Slice.call(buf, start, end);
}

/**
 * The class of the views `viewBytes` makes in Node: a `Uint8Array` subclass whose prototype chain
 * runs through `Buffer.prototype`, so that its instances are `Buffer`s to every test and method
 * (`instanceof Buffer`, `Buffer.isBuffer`, `toString`, `equals`, `constructor === Buffer`, and
 * `subarray` giving Node's own Buffers). `buf.subarray` makes the same view but first looks up
 * the species constructor, which for a 16-byte PUBLISH took about as long as the rest of
 * decoding it; this costs less than half as much.
 *
 * The class is anonymous on purpose: tools that keep names (tsx, esbuild's `keepNames`) redefine
 * a named class's `name`, and a class constructor with a redefined `name` sends V8's typed array
 * construction down a path over ten times slower.
 */
const BufferView: (new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Uint8Array) | undefined =
  NodeBuffer === undefined
    ? undefined
    : (() => {
        const [View] = [class extends Uint8Array {}];
        Object.setPrototypeOf(View.prototype, NodeBuffer.prototype);
        // Without an own `constructor`, Buffer.prototype's (Buffer) is the one `subarray` and
        // `slice` build with, and the one equality checks compare.
        Reflect.deleteProperty(View.prototype, 'constructor');
        return View;
      })();

/**
 * A view of `buf[start, end)`, no copy, of the same kind as `buf`: a `Buffer` (see `BufferView`)
 * when `buf` is one, else a plain `Uint8Array`. Decoded payloads, passwords and will messages
 * are such views into their frame.
 */
export function viewBytes(buf: Uint8Array, start: number, end: number): Uint8Array {
  return BufferView !== undefined && buf instanceof (NodeBuffer as unknown as typeof Uint8Array) // a constructor when BufferView exists
    ? new BufferView(buf.buffer, buf.byteOffset + start, end - start)
    : buf.subarray(start, end);
}

/** An empty byte array, shared: nothing ever writes into it. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Copies all of `src` into `dst` at `at`. */
export function writeBytes(dst: Uint8Array, at: number, src: Uint8Array): void {
  const n = src.length;
  // A loop beats TypedArray#set's fixed call cost only for a few bytes: measured on Node 20, the
  // loop wins up to about 8 bytes, and from 16 bytes on set is faster.
  if (n <= 8) for (let i = 0; i < n; i++) dst[at + i] = src[i]!; // i < n = src.length
  else dst.set(src, at);
}

/**
 * Copies `src[from, from + count)` into `dst` at `at`. A whole source array is copied as it is;
 * a part goes through a plain `Uint8Array` view, which is cheaper to make than a `Buffer` one.
 */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, from: number, count: number): void {
  if (from === 0 && count === src.length) dst.set(src, at);
  else dst.set(new Uint8Array(src.buffer, src.byteOffset + from, count), at);
}

/** Copies of at most this many bytes share a slab. */
const SLAB_MAX_COPY = 4 * 1024;
const SLAB_SIZE = 32 * 1024;

/**
 * Room for small copies (packets that arrived split across chunks), carved one after another out
 * of a shared slab, so that a stream of small split packets costs one allocation per slab rather
 * than one per packet. This is the idea of Node's own Buffer pool, with a bigger slab. Carved
 * regions are never reused, so views into them stay valid; a slab is freed when no view into it
 * remains.
 */
export class CopyArea {
  /** The bytes holding the last region handed out. */
  buf: Uint8Array = EMPTY_BYTES;
  private used = 0;

  /** Reserves `size` bytes in `buf` and returns their offset. */
  reserve(size: number): number {
    if (size > SLAB_MAX_COPY) {
      this.buf = allocBytes(size);
      return 0;
    }
    if (this.used + size > this.slab.length) {
      this.slab = allocBytes(SLAB_SIZE);
      this.used = 0;
    }
    this.buf = this.slab;
    const at = this.used;
    this.used = at + size;
    return at;
  }

  private slab: Uint8Array = EMPTY_BYTES;
}
