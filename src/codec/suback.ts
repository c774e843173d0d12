/**
 * SUBACK (spec 3.9): one return code per filter of the SUBSCRIBE it answers, in order.
 *
 * ```
 *   fixed header   1001 0000, Remaining Length
 *   variable hdr   packet identifier (2 bytes)
 *   payload        return codes, one byte each: 0x00, 0x01, 0x02 (granted QoS) or 0x80 (failure)
 * ```
 */
import { MqttError } from './errors.js';
import { checkPacketId, writeU16 } from './fields.js';
import type { SubackPacket, SubackReturnCode } from './packets.js';
import type { FrameReader } from './reader.js';

/** [MQTT-3.9.3-2] the only SUBACK return codes. */
function isSubackReturnCode(rc: unknown): rc is SubackReturnCode {
  return rc === 0 || rc === 1 || rc === 2 || rc === 0x80;
}

/** Checks `p` and returns its Remaining Length. */
export function subackLength(p: SubackPacket): number {
  checkPacketId(p.packetId);
  const codes = p.returnCodes;
  // A SUBACK answers a SUBSCRIBE, which has at least one filter [MQTT-3.8.3-3], one code each.
  if (!Array.isArray(codes) || codes.length === 0) {
    throw new MqttError('EMPTY_SUBSCRIPTION_LIST', 'SUBACK without a return code');
  }
  for (let i = 0; i < codes.length; i++) {
    const rc = codes[i];
    if (!isSubackReturnCode(rc)) {
      throw new MqttError('INVALID_RETURN_CODE', `SUBACK return code ${String(rc)} is not 0, 1, 2 or 0x80`, {
        rule: 'MQTT-3.9.3-2',
      });
    }
  }
  return 2 + codes.length;
}

/** Writes the packet identifier and return codes; returns the position after them. */
export function writeSuback(p: SubackPacket, buf: Uint8Array, pos: number): number {
  pos = writeU16(buf, pos, p.packetId);
  const codes = p.returnCodes;
  for (let i = 0; i < codes.length; i++) buf[pos++] = codes[i];
  return pos;
}

/** Decodes a SUBACK body. */
export function decodeSuback(r: FrameReader): SubackPacket {
  const packetId = r.packetId();
  if (r.remaining() === 0) r.fail('EMPTY_SUBSCRIPTION_LIST', 'SUBACK without a return code');
  const returnCodes: SubackReturnCode[] = [];
  while (r.remaining() > 0) {
    const rc = r.u8('SUBACK return code');
    if (!isSubackReturnCode(rc)) {
      r.fail('INVALID_RETURN_CODE', `SUBACK return code ${rc} is not 0, 1, 2 or 0x80`, 'MQTT-3.9.3-2', r.pos - 1);
    }
    returnCodes.push(rc);
  }
  return { cmd: 'suback', packetId, returnCodes };
}
