/**
 * CONNACK (spec 3.2): the server's answer to CONNECT.
 *
 * ```
 *   fixed header   0010 0000, Remaining Length 2
 *   byte 1         0000 000S   bits 7-1 reserved (0), bit 0 Session Present
 *   byte 2         return code 0-5 (spec table 3.1)
 * ```
 *
 * MQTT 3.1 (section 3.2) has no Session Present flag: byte 1 is "reserved, not used". So for a
 * 3.1 connection the encoder refuses `sessionPresent: true` and the decoder ignores byte 1.
 */
import { putU8, type BodyWriter } from './body-writer.js';
import { EMPTY_BYTES } from './bytes.js';
import { MqttError } from './errors.js';
import type { ConnackPacket, ConnackReturnCode } from './packets.js';
import type { FrameReader } from './reader.js';
import type { ProtocolVersion } from './version.js';

/** The highest return code table 3.1 defines; 6-255 are reserved. */
const MAX_RETURN_CODE = 5;

/** Checks `p` for a connection of `version` and writes its two bytes. Nothing follows them. */
export function writeConnack(p: ConnackPacket, w: BodyWriter, version: ProtocolVersion): Uint8Array {
  const rc = p.returnCode;
  if (typeof rc !== 'number' || !Number.isInteger(rc) || rc < 0 || rc > MAX_RETURN_CODE) {
    throw new MqttError('INVALID_RETURN_CODE', `CONNACK return code must be 0-5, got ${String(rc)}`);
  }
  // [MQTT-3.2.2-4] a refusal never claims a session.
  if (p.sessionPresent && rc !== 0) {
    throw new MqttError('INVALID_RETURN_CODE', 'a CONNACK with a non-zero return code has Session Present 0', {
      rule: 'MQTT-3.2.2-4',
    });
  }
  if (p.sessionPresent && version === 3) {
    throw new MqttError('INVALID_PACKET', 'an MQTT 3.1 CONNACK has no Session Present flag');
  }
  putU8(w, p.sessionPresent ? 1 : 0);
  putU8(w, rc);
  return EMPTY_BYTES;
}

/** Decodes a CONNACK body (its length, 2, was checked while framing) of a `version` connection. */
export function decodeConnack(r: FrameReader, version: ProtocolVersion): ConnackPacket {
  const byte1 = r.u8('CONNACK flags');
  // MQTT 3.1: byte 1 is not used, whatever it holds.
  const ackFlags = version === 3 ? 0 : byte1;
  // Spec 3.2.2.1: bits 7-1 of the acknowledge flags are reserved and must be 0.
  if ((ackFlags & 0xfe) !== 0) {
    r.fail('INVALID_RETURN_CODE', `CONNACK reserved flag bits set: ${ackFlags}`, undefined, r.pos - 1);
  }
  const returnCode = r.u8('CONNACK return code');
  if (returnCode > MAX_RETURN_CODE) {
    r.fail('INVALID_RETURN_CODE', `CONNACK return code ${returnCode} is reserved`, undefined, r.pos - 1);
  }
  const sessionPresent = ackFlags === 1;
  if (sessionPresent && returnCode !== 0) {
    r.fail('INVALID_RETURN_CODE', 'Session Present set on a refusal', 'MQTT-3.2.2-4', r.pos - 2);
  }
  return { cmd: 'connack', sessionPresent, returnCode: returnCode as ConnackReturnCode }; // 0..MAX_RETURN_CODE, checked above
}
