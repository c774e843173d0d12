/**
 * The fixed header (spec 2.2): byte 1 holds the packet type (bits 7-4) and flags (bits 3-0),
 * then the Remaining Length, a variable-length integer of 1 to 4 bytes.
 *
 * ```
 *   bit    7   6   5   4   3   2   1   0
 *   byte 1 [ packet type  ] [   flags   ]
 *   byte 2…  Remaining Length (7 bits a byte, least significant first, bit 7 = more follows)
 * ```
 *
 * Framing happens here, apart from decoding: once the type, flags and length are known, the
 * decoder can refuse a packet before a single byte of its body is buffered. What each type
 * allows comes from the packet-type table (packet-types.ts).
 */
import { MqttError } from './errors.js';
import { PACKET_TYPES, type FixedHeader } from './packet-types.js';
import type { ProtocolVersion } from './version.js';

/** The largest Remaining Length 4 bytes can carry: 0xFF 0xFF 0xFF 0x7F (spec 2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** The largest whole packet: 1 type byte, 4 length bytes, then the maximum Remaining Length. */
export const MAX_PACKET_SIZE = MAX_REMAINING_LENGTH + 5;

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

/**
 * Parses a fixed header from `buf[start, end)` into `out`. Returns `false` when more bytes are
 * needed. Checks everything the header alone can tell, as early as the bytes allow: the type and
 * flags from the first byte, then the length against the type and against `maxPacketSize`.
 * `streamOffset` is the stream position of `buf[start]`, for error offsets.
 */
export function parseFixedHeader(
  buf: Uint8Array,
  start: number,
  end: number,
  streamOffset: number,
  maxPacketSize: number,
  out: FixedHeader,
  version: ProtocolVersion = 4,
): boolean {
  if (start >= end) return false;
  const first = buf[start]!; // start < end <= buf.length
  const type = first >>> 4;
  const flags = first & 0x0f;
  const packetType = PACKET_TYPES[type];
  if (packetType === undefined) {
    // Types 0 and 15 are reserved (spec 2.2.1, table 2.1).
    throw new MqttError('INVALID_PACKET_TYPE', `packet type ${type} is reserved`, { offset: streamOffset });
  }
  if (flags !== packetType.flags) packetType.checkFlags(flags, streamOffset, version);

  let remaining = 0;
  let multiplier = 1;
  let pos = start + 1;
  for (;;) {
    if (pos >= end) return false;
    const byte = buf[pos++]!; // pos < end checked above
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    if (pos - start > 4) {
      // Four length bytes at most (spec 2.2.3): a continuation bit on the fourth is malformed.
      throw new MqttError('MALFORMED_REMAINING_LENGTH', 'Remaining Length continues past its fourth byte', {
        offset: streamOffset + 4,
      });
    }
    multiplier *= 128;
  }
  // A non-minimal form such as 0x80 0x00 decodes to its value by spec 2.2.3's algorithm; we accept it.
  const headerLength = pos - start;
  const fixedLength = packetType.fixedLength;
  if (fixedLength !== undefined && remaining !== fixedLength) {
    throw new MqttError(
      'INVALID_LENGTH',
      `${packetType.cmd.toUpperCase()} must have Remaining Length ${fixedLength}, got ${remaining}`,
      { offset: streamOffset + 1 },
    );
  }
  if (headerLength + remaining > maxPacketSize) {
    throw new MqttError('PACKET_TOO_LARGE', `packet of ${headerLength + remaining} bytes exceeds the limit of ${maxPacketSize}`, {
      offset: streamOffset + 1,
    });
  }
  out.type = type;
  out.flags = flags;
  out.remainingLength = remaining;
  out.headerLength = headerLength;
  return true;
}
