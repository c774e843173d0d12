/**
 * SUBACK (spec 3.9): one return code per filter of the SUBSCRIBE it answers, in order.
 *
 * ```
 *   fixed header   1001 0000, Remaining Length
 *   variable hdr   packet identifier (2 bytes)
 *   payload        return codes, one byte each: 0x00, 0x01, 0x02 (granted QoS) or 0x80 (failure)
 * ```
 *
 * MQTT 3.1 (section 3.9) has no failure code: a SUBACK holds granted QoS levels only, so 0x80 is
 * refused on a 3.1 connection.
 */
import { MqttError } from './errors.js';
import { putU16, putU8, type BodyWriter } from './body-writer.js';
import { EMPTY_BYTES } from './bytes.js';
import { checkPacketId } from './fields.js';
import type { SubackPacket, SubackReturnCode } from './packets.js';
import type { FrameReader } from './reader.js';
import type { ProtocolVersion } from './version.js';

/** [MQTT-3.9.3-2] the only SUBACK return codes; MQTT 3.1 has no 0x80. */
function isSubackReturnCode(rc: unknown, version: ProtocolVersion): rc is SubackReturnCode {
  return rc === 0 || rc === 1 || rc === 2 || (rc === 0x80 && version === 4);
}

function allowed(version: ProtocolVersion): string {
  return version === 4 ? '0, 1, 2 or 0x80' : '0, 1 or 2 (MQTT 3.1)';
}

/** Checks `p` for a connection of `version` and writes its body. Nothing follows it. */
export function writeSuback(p: SubackPacket, w: BodyWriter, version: ProtocolVersion): Uint8Array {
  putU16(w, checkPacketId(p.packetId));
  const codes = p.returnCodes;
  // A SUBACK answers a SUBSCRIBE, which has at least one filter [MQTT-3.8.3-3], one code each.
  if (!Array.isArray(codes) || codes.length === 0) {
    throw new MqttError('EMPTY_SUBSCRIPTION_LIST', 'SUBACK without a return code');
  }
  for (let i = 0; i < codes.length; i++) {
    const rc = codes[i];
    if (!isSubackReturnCode(rc, version)) {
      throw new MqttError('INVALID_RETURN_CODE', `SUBACK return code ${String(rc)} is not ${allowed(version)}`, {
        rule: 'MQTT-3.9.3-2',
      });
    }
    putU8(w, rc);
  }
  return EMPTY_BYTES;
}

/** Decodes a SUBACK body of a `version` connection. */
export function decodeSuback(r: FrameReader, version: ProtocolVersion): SubackPacket {
  const packetId = r.packetId();
  if (r.remaining() === 0) r.fail('EMPTY_SUBSCRIPTION_LIST', 'SUBACK without a return code');
  const returnCodes: SubackReturnCode[] = [];
  while (r.remaining() > 0) {
    const rc = r.u8('SUBACK return code');
    if (!isSubackReturnCode(rc, version)) {
      r.fail('INVALID_RETURN_CODE', `SUBACK return code ${rc} is not ${allowed(version)}`, 'MQTT-3.9.3-2', r.pos - 1);
    }
    returnCodes.push(rc);
  }
  return { cmd: 'suback', packetId, returnCodes };
}
