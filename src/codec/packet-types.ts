/**
 * The packet-type table (spec 2.2.1 table 2.1, 2.2.2 table 2.2), written once. One row per type
 * drives framing (the flags and Remaining Length the fixed header must carry), encode dispatch
 * (the first byte, the measure and write of the body) and decode dispatch (the body decoder).
 * Types 0 and 15 are reserved and have no row.
 *
 * ```
 *   byte 1 = type << 4 | flags      e.g. PUBREL 0110 0010, PUBLISH 0011 DUP QoS QoS RETAIN
 * ```
 */
import { ackLength, decodeAck, writeAck } from './ack.js';
import { connackLength, decodeConnack, writeConnack } from './connack.js';
import { connectLength, decodeConnect, writeConnect } from './connect.js';
import { decodeEmpty, emptyLength } from './empty.js';
import { MqttError } from './errors.js';
import type { ConnectPacket, Packet, PacketCmd, PublishPacket } from './packets.js';
import { checkPublishFlags, decodePublish, publishFlags, publishLength, writePublish } from './publish.js';
import type { FrameReader } from './reader.js';
import { decodeSuback, subackLength, writeSuback } from './suback.js';
import { decodeSubscribe, subscribeLength, writeSubscribe } from './subscribe.js';
import { decodeUnsubscribe, unsubscribeLength, writeUnsubscribe } from './unsubscribe.js';
import { protocolVersionOf, type ProtocolVersion } from './version.js';

/** A parsed fixed header; the decoder reuses one instance per stream. */
export class FixedHeader {
  /** Packet type, 1-14. */
  type = 0;
  /** Flag bits 3-0 of byte 1. */
  flags = 0;
  /** Bytes after the fixed header. */
  remainingLength = 0;
  /** Bytes of the fixed header itself, 2-5. */
  headerLength = 0;
}

/**
 * One packet type: its fixed-header rules and its body codec. Methods (not function properties)
 * so that a row for one packet shape can stand in a table of all of them; none uses `this`.
 */
export interface PacketType<P extends Packet = Packet> {
  /** The type number, bits 7-4 of byte 1. */
  readonly type: number;
  readonly cmd: PacketCmd;
  /** The only Remaining Length the type allows, or `undefined` when it varies. */
  readonly fixedLength: number | undefined;
  /** The flags (bits 3-0 of byte 1) the type carries: table 2.2's, or PUBLISH's at QoS 0 (0000). */
  readonly flags: number;
  /**
   * Called while framing only when byte 1's flags differ from `flags`: throws unless they are
   * what the type allows on a `version` stream. (So the common case costs one comparison.)
   */
  checkFlags(this: void, flags: number, offset: number, version: ProtocolVersion): void;
  /** Byte 1 of the fixed header for `p`. */
  firstByte(this: void, p: P): number;
  /** Checks `p` and returns its Remaining Length on a `version` stream. */
  length(this: void, p: P, version: ProtocolVersion): number;
  /** Writes the body of `p`, checked by `length`, after the fixed header; returns the position after it. */
  write(this: void, p: P, buf: Uint8Array, pos: number): number;
  /** Decodes the body `r` spans, whose fixed header is `h`. */
  decode(this: void, r: FrameReader, h: FixedHeader): P;
}

/**
 * MQTT 3.1 (section 2.1) used the fixed-header flags of every packet as DUP, QoS and RETAIN:
 * PUBREL, SUBSCRIBE and UNSUBSCRIBE are sent at QoS 1 and may carry DUP when resent; in the other
 * packets the flags are "not used". 3.1.1 made them fixed values [MQTT-2.2.2-1]. So for 3.1 only
 * the QoS bits of the three QoS 1 packets are checked.
 */
function flagsFit31(required: number, flags: number): boolean {
  return required === 0 || (flags & 0b0110) === required;
}

/**
 * The flag check of the types whose flags table 2.2 fixes. [MQTT-2.2.2-2] is the general
 * "invalid flags: close" rule; a few types restate it under their own id (`rule`).
 */
function fixedFlags(cmd: PacketCmd, required: number, rule: string): PacketType['checkFlags'] {
  return (flags, offset, version) => {
    if (flags === required || (version === 3 && flagsFit31(required, flags))) return;
    // [MQTT-2.2.2-1] reserved flag bits must hold the table's values; [MQTT-2.2.2-2] else close.
    throw new MqttError('INVALID_HEADER_FLAGS', `${cmd.toUpperCase()} flags must be ${required}, got ${flags}`, { rule, offset });
  };
}

/** A row for a type whose flags are fixed by table 2.2 (`required`, cited under `rule`). */
function row<C extends PacketCmd>(
  type: number,
  cmd: C,
  required: number,
  fixedLength: number | undefined,
  codec: Pick<PacketType<Extract<Packet, { cmd: C }>>, 'length' | 'write' | 'decode'>,
  rule = 'MQTT-2.2.2-2',
): PacketType<Extract<Packet, { cmd: C }>> {
  const first = (type << 4) | required;
  const checkFlags = fixedFlags(cmd, required, rule);
  return same({ type, cmd, fixedLength, flags: required, checkFlags, firstByte: () => first, ...codec });
}

/**
 * `t` with its properties in one fixed order, so that every row has the same hidden class in JS
 * engines and the dispatch sites that read a row's functions stay monomorphic.
 */
function same<P extends Packet>(t: PacketType<P>): PacketType<P> {
  const { type, cmd, fixedLength, flags, checkFlags, firstByte, length, write, decode } = t;
  return { type, cmd, fixedLength, flags, checkFlags, firstByte, length, write, decode };
}

const ack = { length: ackLength, write: writeAck };
const empty = { length: emptyLength, write: (_p: Packet, _buf: Uint8Array, pos: number) => pos };

/** CONNECT: its flags depend on the version its body names. */
const CONNECT: PacketType<ConnectPacket> = same({
  type: 1,
  cmd: 'connect',
  fixedLength: undefined,
  flags: 0,
  // Checked by decodeConnect, once the protocol name says which version's rules apply.
  checkFlags: () => undefined,
  firstByte: () => 1 << 4, // flags 0000 [MQTT-2.2.2-1]
  length: connectLength,
  write: writeConnect,
  decode(r, h) {
    const connect = decodeConnect(r, h.flags, r.pos - h.headerLength);
    // What follows on this stream speaks the CONNECT's version.
    r.version = protocolVersionOf(connect) ?? r.version;
    return connect;
  },
});

/** PUBLISH: its flags are its own (DUP, QoS, RETAIN). Exported for the encoders that split or skip steps. */
export const PUBLISH: PacketType<PublishPacket> = same({
  type: 3,
  cmd: 'publish',
  fixedLength: undefined,
  flags: 0,
  checkFlags: checkPublishFlags, // DUP, QoS, RETAIN
  firstByte: (p) => (3 << 4) | publishFlags(p),
  length: publishLength,
  write: writePublish,
  decode: (r, h) => decodePublish(r, h.flags),
});

/** The table, indexed by type number. */
export const PACKET_TYPES: ReadonlyArray<PacketType | undefined> = [
  undefined,
  CONNECT,
  row(2, 'connack', 0, 2, {
    length: connackLength,
    write: writeConnack,
    decode: (r) => decodeConnack(r, r.version),
  }),
  PUBLISH,
  row(4, 'puback', 0, 2, { ...ack, decode: (r) => decodeAck(r, 'puback') }),
  row(5, 'pubrec', 0, 2, { ...ack, decode: (r) => decodeAck(r, 'pubrec') }),
  row(6, 'pubrel', 0b0010, 2, { ...ack, decode: (r) => decodeAck(r, 'pubrel') }, 'MQTT-3.6.1-1'),
  row(7, 'pubcomp', 0, 2, { ...ack, decode: (r) => decodeAck(r, 'pubcomp') }),
  row(8, 'subscribe', 0b0010, undefined, { length: subscribeLength, write: writeSubscribe, decode: decodeSubscribe }, 'MQTT-3.8.1-1'),
  row(9, 'suback', 0, undefined, {
    length: subackLength,
    write: writeSuback,
    decode: (r) => decodeSuback(r, r.version),
  }),
  row(
    10,
    'unsubscribe',
    0b0010,
    undefined,
    { length: unsubscribeLength, write: writeUnsubscribe, decode: decodeUnsubscribe },
    'MQTT-3.10.1-1',
  ),
  row(11, 'unsuback', 0, 2, { ...ack, decode: (r) => decodeAck(r, 'unsuback') }),
  row(12, 'pingreq', 0, 0, { ...empty, decode: () => decodeEmpty('pingreq') }), // no variable header, no payload (spec 3.12)
  row(13, 'pingresp', 0, 0, { ...empty, decode: () => decodeEmpty('pingresp') }),
  row(14, 'disconnect', 0, 0, { ...empty, decode: () => decodeEmpty('disconnect') }, 'MQTT-3.14.1-1'),
  undefined,
];

/** The same rows by `cmd`, for encoding. */
const BY_CMD: Readonly<Record<string, PacketType | undefined>> = (() => {
  const byCmd: Record<string, PacketType> = {};
  for (const t of PACKET_TYPES) if (t !== undefined) byCmd[t.cmd] = t;
  return byCmd;
})();

/**
 * The row for the packet `p`.
 * @throws MqttError `INVALID_PACKET` when `p` is not an object with a known `cmd`.
 */
export function packetTypeOf(p: Packet): PacketType {
  if (p === null || typeof p !== 'object') throw new MqttError('INVALID_PACKET', 'a packet must be an object');
  const t = BY_CMD[p.cmd];
  // The `cmd` check also refuses names that the object's prototype has ('toString', …).
  if (t === undefined || t.cmd !== p.cmd) {
    throw new MqttError('INVALID_PACKET', `unknown packet cmd ${JSON.stringify((p as { cmd?: unknown }).cmd)}`); // only a value outside the Packet union gets here
  }
  return t;
}
