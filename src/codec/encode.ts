/**
 * Encoding: compute the size (checking every field on the way), allocate once, write at an offset.
 * Anything that cannot be encoded throws an `MqttError`; no truncated or corrupt bytes come out.
 *
 * There is one path, for every packet: each packet module measures (and checks) its fields, then
 * writes them. What makes it fast lives below the packet modules: strings are measured and
 * copied by loops made for ASCII (utf8.ts), and a PUBLISH topic the client has used before is
 * not checked again (the memo of topic-cache.ts).
 */
import { allocBytes } from './bytes.js';
import { MqttError } from './errors.js';
import { MAX_REMAINING_LENGTH, packetSize, writeFixedHeader } from './header.js';
import type { Packet, PublishPacket } from './packets.js';
import { packetTypeOf, PUBLISH } from './packet-types.js';
import { writePublishHead } from './publish.js';
import { checkProtocolVersion, type ProtocolVersion } from './version.js';

/** Options of the encoders. */
export interface EncodeOptions {
  /**
   * The protocol version of the connection the packet is for: 4 (MQTT 3.1.1, the default) or 3
   * (MQTT 3.1), where a CONNACK has no Session Present flag and a SUBACK no 0x80. A CONNECT
   * names its own version (`protocolName`, `protocolLevel`).
   */
  protocolVersion?: ProtocolVersion;
}

function versionOf(options: EncodeOptions | undefined): ProtocolVersion {
  return options === undefined || options.protocolVersion === undefined ? 4 : checkProtocolVersion(options.protocolVersion);
}

/** Checks `p` and returns its Remaining Length. */
function remainingLength(p: Packet, version: ProtocolVersion): number {
  const length = packetTypeOf(p).length(p, version);
  if (length > MAX_REMAINING_LENGTH) {
    throw new MqttError('PACKET_TOO_LONG', `Remaining Length ${length} exceeds ${MAX_REMAINING_LENGTH} (spec 2.2.3)`);
  }
  return length;
}

/** Writes the whole packet at `pos`, given its checked Remaining Length; returns the bytes written. */
function writePacket(p: Packet, remaining: number, buf: Uint8Array, pos: number): number {
  const t = packetTypeOf(p);
  const end = t.write(p, buf, writeFixedHeader(buf, pos, t.firstByte(p), remaining));
  const size = packetSize(remaining);
  if (end - pos !== size) {
    // Cannot happen for a packet that is not mutated while being encoded; never hand out such bytes.
    throw new MqttError('INVALID_PACKET', `wrote ${end - pos} bytes, expected ${size}`);
  }
  return size;
}

/**
 * Encodes one packet into a new byte array (a `Buffer` in Node) of exactly its size.
 * @throws MqttError for anything that cannot be encoded, e.g. `INVALID_PACKET_ID` for a packet
 * identifier outside 1-65535, `INVALID_TOPIC` for a PUBLISH topic with a wildcard.
 */
export function encode(packet: Packet, options?: EncodeOptions): Uint8Array {
  const remaining = remainingLength(packet, versionOf(options));
  const buf = allocBytes(packetSize(remaining));
  writePacket(packet, remaining, buf, 0);
  return buf;
}

/** The number of bytes `encode(packet)` produces, without encoding. Throws as `encode` does. */
export function encodedLength(packet: Packet, options?: EncodeOptions): number {
  const remaining = remainingLength(packet, versionOf(options));
  return packetSize(remaining);
}

/**
 * Encodes `packet` into `target` at `offset`; returns the number of bytes written. Throws
 * `BUFFER_TOO_SMALL` when the packet does not fit, and as `encode` does; it throws before writing
 * a byte, so `target` is left as it was.
 */
export function encodeInto(packet: Packet, target: Uint8Array, offset: number, options?: EncodeOptions): number {
  if (!(target instanceof Uint8Array)) throw new MqttError('INVALID_ARGUMENT', 'encodeInto expects a Uint8Array target');
  const remaining = remainingLength(packet, versionOf(options));
  const size = packetSize(remaining);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > target.length) {
    throw new MqttError('BUFFER_TOO_SMALL', `${size} bytes do not fit at offset ${offset} of ${target.length}`);
  }
  return writePacket(packet, remaining, target, offset);
}

/**
 * Encodes `packet` as a list of byte arrays to write in order. For a PUBLISH it is
 * `[fixed header + topic + packet identifier, payload]`, where the payload is the packet's own
 * array, not a copy (so large payloads are never copied; do not change it until written). For any
 * other packet it is `[encode(packet)]`.
 */
export function encodeParts(packet: Packet, options?: EncodeOptions): Uint8Array[] {
  if (packet === null || typeof packet !== 'object' || packet.cmd !== 'publish') return [encode(packet, options)];
  const remaining = remainingLength(packet, 4); // a PUBLISH is the same in both versions
  const p: PublishPacket = packet;
  const headSize = packetSize(remaining) - p.payload.length;
  const head = allocBytes(headSize);
  const end = writePublishHead(p, head, writeFixedHeader(head, 0, PUBLISH.firstByte(p), remaining));
  if (end !== headSize) throw new MqttError('INVALID_PACKET', `wrote ${end} header bytes, expected ${headSize}`);
  return [head, p.payload];
}
