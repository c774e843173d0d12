/**
 * CONNECT (spec 3.1): the first packet a client sends.
 *
 * ```
 *   fixed header   0001 0000, Remaining Length
 *   variable hdr   protocol name "MQTT" (UTF-8 string), protocol level (4), connect flags, keep alive (2 bytes)
 *   payload        client id, [will topic, will message], [user name], [password]   (this order [MQTT-3.1.3-1])
 *
 *   connect flags  bit 7 user name | 6 password | 5 will retain | 4-3 will QoS | 2 will | 1 clean session | 0 reserved
 * ```
 *
 * MQTT 3.1 has the same layout with protocol name "MQIsdp" and level 3 (see version.ts). Where
 * 3.1 differs, its own text applies to a 3.1 CONNECT: the client identifier is required and 1-23
 * characters (counted here in bytes) or the server answers CONNACK 2; the fixed-header flags,
 * connect flag bit 0 and the will QoS/retain bits of a CONNECT without a will are "not used"
 * rather than required to be 0 (3.1.1 tightened them: [MQTT-2.2.2-1], [MQTT-3.1.2-3],
 * [MQTT-3.1.2-13], [MQTT-3.1.2-15]). mosquitto's `handle_connect.c` makes the same distinctions.
 *
 * The encoder writes `protocolName` and `protocolLevel` as given, so a test can send a server a
 * CONNECT it must refuse; the decoder accepts only "MQTT" level 4 and "MQIsdp" level 3, either
 * with bit 7 of the level set (a bridge, see version.ts).
 */
import { putBinary, putU16, putU8, type BodyWriter } from './body-writer.js';
import { EMPTY_BYTES } from './bytes.js';
import { MqttError } from './errors.js';
import { checkBytes, checkInteger, checkQos } from './fields.js';
import type { ConnectPacket, QoS } from './packets.js';
import type { FrameReader } from './reader.js';
import { putTopicName } from './topic.js';
import { putString } from './utf8.js';
import { BRIDGE_LEVEL_BIT, MQTT31_MAX_CLIENT_ID_BYTES, protocolVersionOf, versionOfName } from './version.js';

const USERNAME = 0x80;
const PASSWORD = 0x40;
const WILL_RETAIN = 0x20;
const WILL_QOS_SHIFT = 3;
const WILL = 0x04;
const CLEAN_SESSION = 0x02;
const RESERVED = 0x01;

/**
 * Checks `p` and writes its variable header and payload, in field order, each field checked as it
 * is written. The connect flags byte comes before the fields it describes, so it is filled in
 * last. Nothing follows the body.
 */
export function writeConnect(p: ConnectPacket, w: BodyWriter): Uint8Array {
  putString(w, p.protocolName, 'protocol name');
  putU8(w, checkInteger(p.protocolLevel, 'protocol level', 0xff));
  // A position in `w.buf` stays valid when it grows: the body keeps its offsets.
  const flagsAt = w.pos;
  putU8(w, 0);
  putU16(w, checkInteger(p.keepAlive, 'keep alive', 0xffff));
  // [MQTT-3.1.3-3] the client id is always present; [MQTT-3.1.3-4] a UTF-8 string.
  const idAt = w.pos;
  putString(w, p.clientId, 'client id');
  const idLength = w.pos - idAt - 2;
  // MQTT 3.1 section 3.1: 1-23 characters; a server would refuse anything else with CONNACK 2.
  if (protocolVersionOf(p) === 3 && !(idLength >= 1 && idLength <= MQTT31_MAX_CLIENT_ID_BYTES)) {
    throw clientIdRejected(idLength);
  }
  let flags = p.cleanSession ? CLEAN_SESSION : 0;
  const will = p.will;
  if (will !== undefined) {
    if (will === null || typeof will !== 'object') throw new MqttError('INVALID_PACKET', 'will must be an object');
    // [MQTT-3.1.3-10] the will topic is a UTF-8 string, and a topic name.
    putTopicName(w, will.topic, 'MQTT-4.7.1-1');
    putBinary(w, checkBytes(will.payload, 'will payload', true));
    flags |= WILL | (checkQos(will.qos, 'will QoS', 'MQTT-3.1.2-14') << WILL_QOS_SHIFT) | (will.retain ? WILL_RETAIN : 0);
  }
  const username = p.username;
  if (username !== undefined) {
    putString(w, username, 'user name');
    flags |= USERNAME;
  }
  const password = p.password;
  if (password !== undefined) {
    // [MQTT-3.1.2-22] no password without a user name.
    if (username === undefined) {
      throw new MqttError('INVALID_CONNECT_FLAGS', 'a password needs a user name', { rule: 'MQTT-3.1.2-22' });
    }
    putBinary(w, checkBytes(password, 'password', true));
    flags |= PASSWORD;
  }
  w.buf[flagsAt] = flags;
  return EMPTY_BYTES;
}

/**
 * Decodes a CONNECT body whose fixed header had `headerFlags`. Binary fields (will payload,
 * password) are views into the frame's bytes. `headerAt` is the frame's first byte, for errors.
 */
export function decodeConnect(r: FrameReader, headerFlags: number, headerAt: number): ConnectPacket {
  const nameAt = r.pos;
  const protocolName = r.string('protocol name');
  const version = versionOfName(protocolName);
  // [MQTT-3.1.2-1] a name other than "MQTT" (or 3.1's "MQIsdp") is not this protocol: close.
  if (version === undefined) {
    r.fail('INVALID_PROTOCOL_NAME', `protocol name must be "MQTT" or "MQIsdp", got ${JSON.stringify(protocolName)}`, 'MQTT-3.1.2-1', nameAt);
  }
  const protocolLevel = r.u8('protocol level');
  // [MQTT-3.1.2-2] the server answers an unsupported level with CONNACK 0x01, so stop here: the
  // rest of the packet may follow another version's layout. Bit 7 marks a bridge (version.ts).
  if ((protocolLevel & ~BRIDGE_LEVEL_BIT) !== version) {
    const want = version === 4 ? '4 (MQTT 3.1.1)' : '3 (MQTT 3.1)';
    r.fail('UNSUPPORTED_PROTOCOL_LEVEL', `protocol level ${protocolLevel} is not ${want} for "${protocolName}"`, 'MQTT-3.1.2-2', r.pos - 1, 1);
  }
  // [MQTT-2.2.2-1] [MQTT-2.2.2-2] checked here, not while framing: in MQTT 3.1 these bits are "not used".
  if (version === 4 && headerFlags !== 0) {
    r.fail('INVALID_HEADER_FLAGS', `CONNECT flags must be 0, got ${headerFlags}`, 'MQTT-2.2.2-2', headerAt);
  }
  const flagsAt = r.pos;
  let flags = r.u8('connect flags');
  if (version === 4) checkConnectFlags(r, flags, flagsAt);
  else flags = connectFlags31(r, flags, flagsAt);
  const keepAlive = r.u16('keep alive');
  // [MQTT-3.1.3-3] the client id is mandatory and first in the payload.
  const idAt = r.pos;
  const clientId = r.string('client id', 'MQTT-3.1.3-3');
  if (version === 3) {
    const idLength = r.pos - idAt - 2;
    if (idLength === 0 || idLength > MQTT31_MAX_CLIENT_ID_BYTES) r.fail('CLIENT_ID_REJECTED', clientIdRejected(idLength).message, undefined, idAt, 2);
  }
  const packet: ConnectPacket = {
    cmd: 'connect',
    protocolName,
    protocolLevel,
    clientId,
    cleanSession: (flags & CLEAN_SESSION) !== 0,
    keepAlive,
  };
  // Fields follow in the order of [MQTT-3.1.3-1]; each flag says whether its field is there.
  if ((flags & WILL) !== 0) {
    // [MQTT-3.1.2-9] will flag set: will topic and will message are present.
    const topic = r.topicName('MQTT-4.7.1-1', 'MQTT-3.1.2-9');
    const payload = r.binary('will message', 'MQTT-3.1.2-9');
    const qos = ((flags >>> WILL_QOS_SHIFT) & 3) as QoS; // checkConnectFlags refused QoS 3 [MQTT-3.1.2-14]
    packet.will = { topic, payload, qos, retain: (flags & WILL_RETAIN) !== 0 };
  }
  // [MQTT-3.1.2-19] / [MQTT-3.1.2-21] a set flag means the field is present.
  if ((flags & USERNAME) !== 0) packet.username = r.string('user name', 'MQTT-3.1.2-19');
  if ((flags & PASSWORD) !== 0) packet.password = r.binary('password', 'MQTT-3.1.2-21');
  if (r.remaining() > 0) {
    // Bytes left over sit where the first absent field would be: a field whose flag is 0 is
    // absent [MQTT-3.1.2-11] (will), [MQTT-3.1.2-18] (user name), [MQTT-3.1.2-20] (password).
    const rule =
      (flags & WILL) === 0 && (flags & (USERNAME | PASSWORD)) === 0
        ? 'MQTT-3.1.2-11'
        : (flags & USERNAME) === 0
          ? 'MQTT-3.1.2-18'
          : (flags & PASSWORD) === 0
            ? 'MQTT-3.1.2-20'
            : undefined;
    r.fail('INVALID_LENGTH', `${r.remaining()} bytes after the last CONNECT field`, rule);
  }
  return packet;
}

function clientIdRejected(bytes: number): MqttError {
  return new MqttError('CLIENT_ID_REJECTED', `an MQTT 3.1 client id is 1-${MQTT31_MAX_CLIENT_ID_BYTES} bytes, got ${bytes}`, { returnCode: 2 });
}

/**
 * The connect flags of an MQTT 3.1 CONNECT, with what 3.1 calls "not used" cleared: bit 0, and
 * the will QoS and will retain bits when there is no will (3.1.1 requires them to be 0).
 * A will QoS of 3 and a password without a user name stay errors, as mosquitto also refuses them.
 */
function connectFlags31(r: FrameReader, flags: number, at: number): number {
  flags &= ~RESERVED;
  if ((flags & WILL) === 0) flags &= ~(WILL_RETAIN | (3 << WILL_QOS_SHIFT));
  checkConnectFlags(r, flags, at);
  return flags;
}

/** Checks the connect flags byte against spec 3.1.2.3 - 3.1.2.9. */
function checkConnectFlags(r: FrameReader, flags: number, at: number): void {
  // [MQTT-3.1.2-3] bit 0 is reserved and must be 0.
  if ((flags & RESERVED) !== 0) r.fail('INVALID_CONNECT_FLAGS', 'reserved connect flag bit 0 is set', 'MQTT-3.1.2-3', at);
  const willQos = (flags >>> WILL_QOS_SHIFT) & 3;
  if ((flags & WILL) === 0) {
    // [MQTT-3.1.2-11] without a will, will QoS [MQTT-3.1.2-13] and will retain [MQTT-3.1.2-15] are 0.
    if (willQos !== 0) r.fail('INVALID_CONNECT_FLAGS', 'will QoS set without the will flag', 'MQTT-3.1.2-13', at);
    if ((flags & WILL_RETAIN) !== 0) {
      r.fail('INVALID_CONNECT_FLAGS', 'will retain set without the will flag', 'MQTT-3.1.2-15', at);
    }
  } else if (willQos === 3) {
    // [MQTT-3.1.2-14] will QoS is 0, 1 or 2.
    r.fail('INVALID_QOS', 'will QoS 3', 'MQTT-3.1.2-14', at);
  }
  // [MQTT-3.1.2-22] no password without a user name.
  if ((flags & PASSWORD) !== 0 && (flags & USERNAME) === 0) {
    r.fail('INVALID_CONNECT_FLAGS', 'password flag set without the user name flag', 'MQTT-3.1.2-22', at);
  }
}
