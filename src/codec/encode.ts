/**
 * Encoding: one pass over the packet. Its packet module writes the body into a reusable area,
 * checking each field as it is written (body-writer.ts); then the fixed header, which holds the
 * body's length, goes just before it. Anything that cannot be encoded throws an `MqttError`;
 * no truncated or corrupt bytes come out.
 *
 * There is one path, for every packet type and every entry point: `encode` copies header and
 * body out into an array of exactly the packet's size, `encodeInto` into the caller's array once
 * it knows they fit, `encodedLength` only counts them, `encodeParts` hands out header and body
 * apart from a PUBLISH payload. A payload is never copied through the area; a PUBLISH topic the
 * client has used before is copied without a check (the memo of topic-cache.ts).
 */
import { BodyWriter } from './body-writer.js';
import { EMPTY_BYTES } from './bytes.js';
import { MqttError } from './errors.js';
import { MAX_REMAINING_LENGTH, packetSize } from './remaining-length.js';
import type { Packet } from './packets.js';
import { packetTypeOf } from './packet-types.js';
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

/**
 * The writer no encode is using. An encode takes it and gives it back when done; one that finds
 * it taken gets a new one, and one that throws does not give it back (the next encode makes a new
 * one). It can be found taken only if encode is re-entered while a body is being written, which
 * happens only if reading a packet's field runs code (a getter, a Proxy) that encodes: then the
 * inner encode writes into an area of its own, never over the outer's unfinished body.
 */
let idle: BodyWriter | undefined;

function takeWriter(): BodyWriter {
  const w = idle ?? new BodyWriter();
  idle = undefined;
  w.begin();
  return w;
}

/** The Remaining Length of the body `w` holds followed by `tail`; throws if it has no encoding. */
function remainingLength(w: BodyWriter, tail: Uint8Array): number {
  const remaining = w.pos - w.start + tail.length;
  if (remaining > MAX_REMAINING_LENGTH) {
    throw new MqttError('PACKET_TOO_LONG', `Remaining Length ${remaining} exceeds ${MAX_REMAINING_LENGTH} (spec 2.2.3)`);
  }
  return remaining;
}

/**
 * Encodes one packet into a new byte array (a `Buffer` in Node) of exactly its size.
 * @throws MqttError for anything that cannot be encoded, e.g. `INVALID_PACKET_ID` for a packet
 * identifier outside 1-65535, `INVALID_TOPIC` for a PUBLISH topic with a wildcard.
 */
export function encode(packet: Packet, options?: EncodeOptions): Uint8Array {
  const version = versionOf(options);
  const t = packetTypeOf(packet);
  const w = takeWriter();
  const tail = t.write(packet, w, version);
  const bytes = w.bytes(t.firstByte(packet), remainingLength(w, tail), tail);
  idle = w;
  return bytes;
}

/** The number of bytes `encode(packet)` produces. Throws as `encode` does. */
export function encodedLength(packet: Packet, options?: EncodeOptions): number {
  const version = versionOf(options);
  const t = packetTypeOf(packet);
  const w = takeWriter();
  const size = packetSize(remainingLength(w, t.write(packet, w, version)));
  idle = w;
  return size;
}

/**
 * Encodes `packet` into `target` at `offset`; returns the number of bytes written. Throws
 * `BUFFER_TOO_SMALL` when the packet does not fit, and as `encode` does; it throws before writing
 * a byte, so `target` is left as it was.
 */
export function encodeInto(packet: Packet, target: Uint8Array, offset: number, options?: EncodeOptions): number {
  if (!(target instanceof Uint8Array)) throw new MqttError('INVALID_ARGUMENT', 'encodeInto expects a Uint8Array target');
  const version = versionOf(options);
  const t = packetTypeOf(packet);
  const w = takeWriter();
  const tail = t.write(packet, w, version);
  const remaining = remainingLength(w, tail);
  const size = packetSize(remaining);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > target.length) {
    throw new MqttError('BUFFER_TOO_SMALL', `${size} bytes do not fit at offset ${offset} of ${target.length}`);
  }
  w.copyInto(target, offset, t.firstByte(packet), remaining, tail);
  idle = w;
  return size;
}

/**
 * Encodes `packet` as a list of byte arrays to write in order. For a PUBLISH with a payload it is
 * `[fixed header + topic + packet identifier, payload]`, where the payload is the packet's own
 * array, not a copy (so large payloads are never copied; do not change it until written). For any
 * other packet it is `[encode(packet)]`.
 */
export function encodeParts(packet: Packet, options?: EncodeOptions): Uint8Array[] {
  const version = versionOf(options);
  const t = packetTypeOf(packet);
  const w = takeWriter();
  const tail = t.write(packet, w, version);
  const remaining = remainingLength(w, tail);
  const firstByte = t.firstByte(packet);
  const parts = tail.length === 0 ? [w.bytes(firstByte, remaining, tail)] : [w.bytes(firstByte, remaining, EMPTY_BYTES), tail];
  idle = w;
  return parts;
}
