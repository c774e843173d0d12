/**
 * The encoder's side of the fixed header (spec 2.2): the Remaining Length's limit, the size of a
 * packet with a given Remaining Length (spec table 2.4), and writing the header. Reading one, and
 * framing, is header.ts's.
 *
 * ```
 *   byte 1   type << 4 | flags
 *   byte 2…  Remaining Length, 7 bits a byte, least significant first, bit 7 = more follows
 * ```
 */

/** The largest Remaining Length 4 bytes can carry: 0xFF 0xFF 0xFF 0x7F (spec 2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455;

/**
 * Size of a whole packet whose Remaining Length is `n`: the type/flags byte, the Remaining Length
 * field (1-4 bytes, spec table 2.4), then the `n` bytes it counts.
 */
export function packetSize(n: number): number {
  return 1 + (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4) + n;
}

/** Writes the fixed header (type/flags byte, then Remaining Length); returns the position after it. */
export function writeFixedHeader(buf: Uint8Array, pos: number, firstByte: number, remaining: number): number {
  buf[pos++] = firstByte;
  if (remaining < 0x80) {
    buf[pos] = remaining; // the common case: one length byte
    return pos + 1;
  }
  // Spec 2.2.3's algorithm: 7 bits at a time, least significant first, bit 7 = "more follows".
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    buf[pos++] = byte;
  } while (remaining > 0);
  return pos;
}
