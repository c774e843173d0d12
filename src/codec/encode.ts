/**
 * Encoding: compute the size (checking every field on the way), allocate once, write at an offset.
 * Anything that cannot be encoded throws an `MqttError`; no truncated or corrupt bytes come out.
 */
import { ackLength, writeAck } from './ack.js';
import { allocBytes } from './bytes.js';
import { connackLength, writeConnack } from './connack.js';
import { connectLength, writeConnect } from './connect.js';
import { emptyLength } from './empty.js';
import { MqttError } from './errors.js';
import { MAX_REMAINING_LENGTH, varintSize, writeFixedHeader } from './header.js';
import type { Packet, PublishPacket } from './packets.js';
import { publishFlags, publishLength, writePublish, writePublishHead } from './publish.js';
import { subackLength, writeSuback } from './suback.js';
import { subscribeLength, writeSubscribe } from './subscribe.js';
import { unsubscribeLength, writeUnsubscribe } from './unsubscribe.js';

/** Checks `p` and returns its Remaining Length. */
function remainingLength(p: Packet): number {
  if (p === null || typeof p !== 'object') throw new MqttError('INVALID_PACKET', 'a packet must be an object');
  let length: number;
  switch (p.cmd) {
    case 'connect':
      length = connectLength(p);
      break;
    case 'connack':
      length = connackLength(p);
      break;
    case 'publish':
      length = publishLength(p);
      break;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'unsuback':
      length = ackLength(p);
      break;
    case 'subscribe':
      length = subscribeLength(p);
      break;
    case 'suback':
      length = subackLength(p);
      break;
    case 'unsubscribe':
      length = unsubscribeLength(p);
      break;
    case 'pingreq':
    case 'pingresp':
    case 'disconnect':
      length = emptyLength(p);
      break;
    default:
      return unknownPacket(p);
  }
  if (length > MAX_REMAINING_LENGTH) throw tooLong(length);
  return length;
}

function tooLong(length: number): MqttError {
  return new MqttError('PACKET_TOO_LONG', `Remaining Length ${length} exceeds ${MAX_REMAINING_LENGTH} (spec 2.2.3)`);
}

/**
 * Writes the fixed header and body of `p`, whose Remaining Length is `remaining`; returns the
 * position after it. Byte 1 of each fixed header is the type in bits 7-4 and the flags of spec
 * table 2.2 in bits 3-0 (0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE; PUBLISH has its own).
 */
function writeFrame(p: Packet, remaining: number, buf: Uint8Array, pos: number): number {
  switch (p.cmd) {
    case 'connect':
      return writeConnect(p, buf, writeFixedHeader(buf, pos, 0x10, remaining));
    case 'connack':
      return writeConnack(p, buf, writeFixedHeader(buf, pos, 0x20, remaining));
    case 'publish':
      return writePublish(p, buf, writeFixedHeader(buf, pos, 0x30 | publishFlags(p), remaining));
    case 'puback':
      return writeAck(p, buf, writeFixedHeader(buf, pos, 0x40, remaining));
    case 'pubrec':
      return writeAck(p, buf, writeFixedHeader(buf, pos, 0x50, remaining));
    case 'pubrel':
      return writeAck(p, buf, writeFixedHeader(buf, pos, 0x62, remaining));
    case 'pubcomp':
      return writeAck(p, buf, writeFixedHeader(buf, pos, 0x70, remaining));
    case 'subscribe':
      return writeSubscribe(p, buf, writeFixedHeader(buf, pos, 0x82, remaining));
    case 'suback':
      return writeSuback(p, buf, writeFixedHeader(buf, pos, 0x90, remaining));
    case 'unsubscribe':
      return writeUnsubscribe(p, buf, writeFixedHeader(buf, pos, 0xa2, remaining));
    case 'unsuback':
      return writeAck(p, buf, writeFixedHeader(buf, pos, 0xb0, remaining));
    case 'pingreq':
      return writeFixedHeader(buf, pos, 0xc0, remaining);
    case 'pingresp':
      return writeFixedHeader(buf, pos, 0xd0, remaining);
    case 'disconnect':
      return writeFixedHeader(buf, pos, 0xe0, remaining);
    default:
      return unknownPacket(p);
  }
}

function unknownPacket(p: never): never {
  throw new MqttError('INVALID_PACKET', `unknown packet cmd ${JSON.stringify((p as { cmd?: unknown }).cmd)}`);
}

/** Writes the whole packet at `pos`, given its checked Remaining Length; returns the bytes written. */
function writePacket(p: Packet, remaining: number, buf: Uint8Array, pos: number): number {
  const end =
    p.cmd === 'publish'
      ? writePublish(p, buf, writeFixedHeader(buf, pos, 0x30 | publishFlags(p), remaining))
      : writeFrame(p, remaining, buf, pos);
  const size = 1 + varintSize(remaining) + remaining;
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
export function encode(packet: Packet): Uint8Array {
  if (packet !== null && typeof packet === 'object' && packet.cmd === 'publish') {
    // The most frequent packet by far, straight through without the general dispatch.
    const remaining = publishLength(packet);
    if (remaining > MAX_REMAINING_LENGTH) throw tooLong(remaining);
    const buf = allocBytes(1 + varintSize(remaining) + remaining);
    writePacket(packet, remaining, buf, 0);
    return buf;
  }
  const remaining = remainingLength(packet);
  const buf = allocBytes(1 + varintSize(remaining) + remaining);
  writePacket(packet, remaining, buf, 0);
  return buf;
}

/** The number of bytes `encode(packet)` produces, without encoding. Throws as `encode` does. */
export function encodedLength(packet: Packet): number {
  const remaining = remainingLength(packet);
  return 1 + varintSize(remaining) + remaining;
}

/**
 * Encodes `packet` into `target` at `offset`; returns the number of bytes written. Throws
 * `BUFFER_TOO_SMALL` (writing nothing) when the packet does not fit, and as `encode` does.
 */
export function encodeInto(packet: Packet, target: Uint8Array, offset: number): number {
  const remaining = remainingLength(packet);
  const size = 1 + varintSize(remaining) + remaining;
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
export function encodeParts(packet: Packet): Uint8Array[] {
  if (packet === null || typeof packet !== 'object' || packet.cmd !== 'publish') return [encode(packet)];
  const remaining = remainingLength(packet);
  const p: PublishPacket = packet;
  const headSize = 1 + varintSize(remaining) + remaining - p.payload.length;
  const head = allocBytes(headSize);
  const end = writePublishHead(p, head, writeFixedHeader(head, 0, 0x30 | publishFlags(p), remaining));
  if (end !== headSize) throw new MqttError('INVALID_PACKET', `wrote ${end} header bytes, expected ${headSize}`);
  return [head, p.payload];
}
