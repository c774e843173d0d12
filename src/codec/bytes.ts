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
}

const NodeBuffer: BufferConstructorLike | undefined = (
  globalThis as { Buffer?: BufferConstructorLike }
).Buffer;

/**
 * Allocates `size` bytes: a `Buffer` in Node (uninitialised, since every caller writes every
 * byte), a zeroed `Uint8Array` elsewhere.
 */
export const allocBytes: (size: number) => Uint8Array =
  NodeBuffer === undefined ? (size) => new Uint8Array(size) : (size) => NodeBuffer.allocUnsafe(size);

/** An empty byte array, shared: nothing ever writes into it. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
