/**
 * `bytes`, or a compact copy of them when they are a view into a larger buffer. Decoded payloads
 * are views into the chunk they arrived in; a message kept for later (queued, inflight, retained, a
 * will) is copied once so it does not pin the whole chunk in memory.
 */
export function compactBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
