/**
 * The bytes of one direction not yet returned as packets, kept as the chunks they came in, so a
 * packet is copied at most once however many chunks it spans.
 */

/** A byte queue of chunks: `take(n)` returns a view when the bytes sit in one chunk, else one copy. */
export class ChunkQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  length = 0;

  /** Appends a chunk (kept, not copied). */
  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Removes and returns the first `n` bytes (`n` at most `length`). */
  take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= n) {
      const view = first.subarray(this.head, this.head + n);
      this.advance(n);
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!; // filled < n <= length: a chunk is queued
      const part = chunk.subarray(this.head, this.head + Math.min(n - filled, chunk.length - this.head));
      out.set(part, filled);
      filled += part.length;
      this.advance(part.length);
    }
    return out;
  }

  private advance(n: number): void {
    this.length -= n;
    this.head += n;
    if (this.head === this.chunks[0]?.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}
