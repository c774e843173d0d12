/**
 * The packets whose only content is a packet identifier (spec 3.4, 3.5, 3.6, 3.7, 3.11):
 * PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK.
 *
 * ```
 *   fixed header   type, flags (0000; PUBREL 0010), Remaining Length 2
 *   variable hdr   packet identifier (2 bytes)
 * ```
 */
import { checkPacketId, writeU16 } from './fields.js';
import type { AckPacket } from './packets.js';
import type { FrameReader } from './reader.js';

/** Checks `p` and returns its Remaining Length, always 2. */
export function ackLength(p: AckPacket): number {
  // [MQTT-2.3.1-6] an acknowledgement echoes the non-zero identifier of the packet it answers.
  checkPacketId(p.packetId);
  return 2;
}

/** Writes the packet identifier; returns the position after it. */
export function writeAck(p: AckPacket, buf: Uint8Array, pos: number): number {
  return writeU16(buf, pos, p.packetId);
}

/** Decodes the body of an acknowledgement of type `cmd` (its length, 2, was checked while framing). */
export function decodeAck<C extends AckPacket['cmd']>(r: FrameReader, cmd: C): AckPacket & { cmd: C } {
  return { cmd, packetId: r.packetId() } as AckPacket & { cmd: C }; // the object has exactly the fields of an ack with this cmd
}
