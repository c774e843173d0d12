/**
 * The packets with no variable header and no payload (spec 3.12, 3.13, 3.14): PINGREQ, PINGRESP
 * and DISCONNECT. Their fixed header is the whole packet: type, flags 0000, Remaining Length 0.
 */
import type { DisconnectPacket, PingreqPacket, PingrespPacket } from './packets.js';

/** A packet that is only a fixed header. */
export type EmptyPacket = PingreqPacket | PingrespPacket | DisconnectPacket;

/** Decodes an empty packet (its length, 0, was checked while framing). A fresh object each time. */
export function decodeEmpty<C extends EmptyPacket['cmd']>(cmd: C): EmptyPacket & { cmd: C } {
  return { cmd } as EmptyPacket & { cmd: C }; // the object has exactly the fields of an empty packet with this cmd
}
