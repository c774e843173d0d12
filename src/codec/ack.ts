/**
 * The packets whose only content is a packet identifier (spec 3.4, 3.5, 3.6, 3.7, 3.11):
 * PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK.
 *
 * ```
 *   fixed header   type, flags (0000; PUBREL 0010), Remaining Length 2
 *   variable hdr   packet identifier (2 bytes)
 * ```
 */
import { putU16, type BodyWriter } from './body-writer.js';
import { EMPTY_BYTES } from './bytes.js';
import { checkPacketId } from './fields.js';
import type { AckPacket } from './packets.js';
import type { FrameReader } from './reader.js';

/** Checks `p` and writes its body, the packet identifier (2 bytes). Nothing follows it. */
export function writeAck(p: AckPacket, w: BodyWriter): Uint8Array {
  // [MQTT-2.3.1-6] an acknowledgement echoes the non-zero identifier of the packet it answers.
  putU16(w, checkPacketId(p.packetId));
  return EMPTY_BYTES;
}

/** Decodes the body of an acknowledgement of type `cmd` (its length, 2, was checked while framing). */
export function decodeAck<C extends AckPacket['cmd']>(r: FrameReader, cmd: C): AckPacket & { cmd: C } {
  return { cmd, packetId: r.packetId() } as AckPacket & { cmd: C }; // the object has exactly the fields of an ack with this cmd
}
