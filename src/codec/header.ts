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
 * decoder can refuse a packet before a single byte of its body is buffered.
 */
import { MqttError } from './errors.js';
import type { PacketCmd } from './packets.js';
import type { ProtocolVersion } from './version.js';

/** CONNECT's packet type; its flags are checked by `decodeConnect` (see `PacketShape.flags`). */
const CONNECT_TYPE = 1;

/** The largest Remaining Length 4 bytes can carry: 0xFF 0xFF 0xFF 0x7F (spec 2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** The largest whole packet: 1 type byte, 4 length bytes, then the maximum Remaining Length. */
export const MAX_PACKET_SIZE = MAX_REMAINING_LENGTH + 5;

/** What spec table 2.2 requires of one packet type's fixed header. */
export interface PacketShape {
  readonly cmd: PacketCmd;
  /**
   * Required flag bits 3-0, or -1 for PUBLISH, whose flags carry DUP, QoS and RETAIN. CONNECT's
   * are checked by its decoder, once the protocol name says which version's rules apply.
   */
  readonly flags: number;
  /** The rule cited when the flags differ from `flags`. */
  readonly flagsRule: string;
  /** The only Remaining Length the type allows, or -1 when it varies. */
  readonly fixedLength: number;
}

// [MQTT-2.2.2-2] is the general "invalid flags: close" rule; a few types restate it under their own id.
const shape = (cmd: PacketCmd, flags: number, fixedLength: number, flagsRule = 'MQTT-2.2.2-2'): PacketShape => ({
  cmd,
  flags,
  flagsRule,
  fixedLength,
});

/**
 * Spec table 2.2 (flag bits) with the Remaining Length each type allows, indexed by packet type.
 * Types 0 and 15 are reserved (spec 2.2.1, table 2.1).
 */
export const PACKET_SHAPES: ReadonlyArray<PacketShape | undefined> = [
  undefined,
  shape('connect', 0, -1),
  shape('connack', 0, 2), // session-present byte + return code (spec 3.2)
  shape('publish', -1, -1),
  shape('puback', 0, 2), // packet identifier only (spec 3.4)
  shape('pubrec', 0, 2),
  shape('pubrel', 0b0010, 2, 'MQTT-3.6.1-1'),
  shape('pubcomp', 0, 2),
  shape('subscribe', 0b0010, -1, 'MQTT-3.8.1-1'),
  shape('suback', 0, -1),
  shape('unsubscribe', 0b0010, -1, 'MQTT-3.10.1-1'),
  shape('unsuback', 0, 2),
  shape('pingreq', 0, 0), // no variable header, no payload (spec 3.12)
  shape('pingresp', 0, 0),
  shape('disconnect', 0, 0, 'MQTT-3.14.1-1'),
  undefined,
];

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

/** A parsed fixed header; the decoder reuses one instance per stream. */
export class FixedHeader {
  /** Packet type, 1-14. */
  type = 0;
  /** Flag bits 3-0 of byte 1. */
  flags = 0;
  /** Bytes after the fixed header. */
  remainingLength = 0;
  /** Bytes of the fixed header itself, 2-5. */
  headerLength = 0;
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
  const first = buf[start];
  const type = first >>> 4;
  const flags = first & 0x0f;
  const shape = PACKET_SHAPES[type];
  if (shape === undefined) {
    throw new MqttError('INVALID_PACKET_TYPE', `packet type ${type} is reserved`, { offset: streamOffset });
  }
  if (shape.flags === -1) checkPublishFlags(flags, streamOffset);
  else if (flags !== shape.flags && type !== CONNECT_TYPE && !(version === 3 && flagsFit31(shape.flags, flags))) {
    // [MQTT-2.2.2-1] reserved flag bits must hold the table's values; [MQTT-2.2.2-2] else close.
    throw new MqttError('INVALID_HEADER_FLAGS', `${shape.cmd.toUpperCase()} flags must be ${shape.flags}, got ${flags}`, {
      rule: shape.flagsRule,
      offset: streamOffset,
    });
  }

  let remaining = 0;
  let multiplier = 1;
  let pos = start + 1;
  for (;;) {
    if (pos >= end) return false;
    const byte = buf[pos++];
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
  if (shape.fixedLength !== -1 && remaining !== shape.fixedLength) {
    throw new MqttError(
      'INVALID_LENGTH',
      `${shape.cmd.toUpperCase()} must have Remaining Length ${shape.fixedLength}, got ${remaining}`,
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

/**
 * MQTT 3.1 (section 2.1) used the fixed-header flags of every packet as DUP, QoS and RETAIN:
 * PUBREL, SUBSCRIBE and UNSUBSCRIBE are sent at QoS 1 and may carry DUP when resent; in the other
 * packets the flags are "not used". 3.1.1 made them fixed values [MQTT-2.2.2-1]. So for 3.1 only
 * the QoS bits of the three QoS 1 packets are checked.
 */
function flagsFit31(required: number, flags: number): boolean {
  return required === 0 || (flags & 0b0110) === required;
}

/**
 * PUBLISH flags:
 * ```
 *   bit 3 DUP | bits 2-1 QoS | bit 0 RETAIN
 * ```
 */
function checkPublishFlags(flags: number, offset: number): void {
  const qos = (flags >>> 1) & 3;
  // [MQTT-3.3.1-4] both QoS bits set (QoS 3) is malformed.
  if (qos === 3) throw new MqttError('INVALID_QOS', 'PUBLISH with QoS 3', { rule: 'MQTT-3.3.1-4', offset });
  // [MQTT-3.3.1-2] a QoS 0 message is never a redelivery, so DUP must be 0.
  if (qos === 0 && (flags & 0x08) !== 0) {
    throw new MqttError('INVALID_DUP', 'PUBLISH with QoS 0 has DUP set', { rule: 'MQTT-3.3.1-2', offset });
  }
}
