/**
 * The packet inspector: an annotated dump of a packet's bytes, for people learning the protocol
 * and for `mqtt311 decode`.
 *
 * `inspect` lets the codec decode the packet first (so every check the codec makes applies, and a
 * bad packet throws the codec's `MqttError`), then walks the same bytes once more and names each
 * field: where it starts, how long it is, its value, and the spec section that defines it.
 * The text forms (the printed dump, and `describePacket`, the cheap one-line form used in logs)
 * are in inspect-format.ts.
 */
import { decode } from './decode.js';
import { isMqttError, MqttError } from './errors.js';
import { CONNACK_MEANING, hex2, payloadValue, quote } from './inspect-format.js';
import type { InspectedField, Inspection, StreamInspection } from './inspection.js';
import type { Packet } from './packets.js';

/** Where each packet's variable header (and so its packet identifier) is defined. */
const ID_SECTION: Partial<Record<Packet['cmd'], string>> = {
  puback: '3.4.2', pubrec: '3.5.2', pubrel: '3.6.2', pubcomp: '3.7.2', subscribe: '3.8.2', suback: '3.9.2', unsubscribe: '3.10.2', unsuback: '3.11.2',
};
/** Where the fixed header of packets with required flag values 0010 is defined ([MQTT-2.2.2-1]). */
const FLAGS_SECTION: Partial<Record<Packet['cmd'], string>> = { pubrel: '3.6.1', subscribe: '3.8.1', unsubscribe: '3.10.1' };

const bit = (byte: number, n: number) => (byte >> n) & 1;

/** Reads the bytes of a packet the codec has already accepted, recording each field. */
class Walker {
  readonly fields: InspectedField[] = [];
  pos = 0;
  constructor(private readonly bytes: Uint8Array, private readonly base: number) {}

  // Unreachable for bytes `decode` accepted; kept so a codec/inspector mismatch is a typed error.
  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new MqttError('INVALID_LENGTH', 'field runs past the end of the packet', { offset: this.pos });
  }

  add(length: number, field: string, value: string | number, section: string, redacted = false): void {
    this.need(length);
    const f: InspectedField = { offset: this.base + this.pos, length, field, value, section };
    if (redacted) f.redacted = true;
    this.fields.push(f);
    this.pos += length;
  }

  /** A flag inside the byte just added. */
  flag(bits: string, field: string, value: string | number, section: string): void {
    this.fields.push({ offset: this.base + this.pos - 1, length: 0, field, value, section, bits });
  }

  /** The byte `ahead` bytes past the current position, without moving. */
  u8(ahead = 0): number { return this.byte(this.pos + ahead); }
  u16(): number { return (this.byte(this.pos) << 8) | this.byte(this.pos + 1); }

  /** The byte at index `i`; past the end it is the same typed error as `need`'s. */
  private byte(i: number): number {
    const b = this.bytes[i];
    if (b === undefined) throw new MqttError('INVALID_LENGTH', 'field runs past the end of the packet', { offset: this.pos });
    return b;
  }

  /** A length-prefixed field (spec 1.5.3): one row for the prefix, one for the data. */
  prefixed(field: string, value: (length: number) => string | number, section: string, redacted = false): void {
    const length = this.u16();
    this.add(2, `${field} length`, length, section);
    this.add(length, field, value(length), section, redacted);
  }

  packetId(section: string): void {
    this.add(2, 'packet identifier', this.u16(), `2.3.1, ${section}`);
  }

  get remaining(): number { return this.bytes.length - this.pos; }
}

function walkFixedHeader(w: Walker, packet: Packet, byte0: number): void {
  const type = byte0 >> 4;
  const name = packet.cmd.toUpperCase();
  const flags = (byte0 & 0x0f).toString(2).padStart(4, '0');
  if (packet.cmd === 'publish') {
    w.add(1, 'packet type / flags', `${name} dup=${bit(byte0, 3)} qos=${(byte0 >> 1) & 3} retain=${bit(byte0, 0)}`, '2.2, 3.3.1');
    w.flag('7-4', 'packet type', `${type} ${name}`, '2.2.1');
    w.flag('3', 'DUP', bit(byte0, 3), '3.3.1.1');
    w.flag('2-1', 'QoS', (byte0 >> 1) & 3, '3.3.1.2');
    w.flag('0', 'RETAIN', bit(byte0, 0), '3.3.1.3');
  } else {
    const section = FLAGS_SECTION[packet.cmd] ?? '2.2.2';
    w.add(1, 'packet type / flags', `${name} flags=${flags}`, '2.2');
    w.flag('7-4', 'packet type', `${type} ${name}`, '2.2.1');
    // [MQTT-2.2.2-1] these bits are reserved and must carry the value in table 2.2.
    w.flag('3-0', 'reserved', flags, section);
  }
  // Remaining length: 1 to 4 bytes, 7 bits each, least significant first (spec 2.2.3).
  let n = 0;
  let value = 0;
  let byte: number;
  do {
    byte = w.u8(n);
    value += (byte & 0x7f) * 128 ** n;
    n++;
  } while (byte & 0x80 && n < 4);
  w.add(n, 'remaining length', value, '2.2.3');
}

/** 4 is MQTT 3.1.1, 3 is MQTT 3.1; bit 7 marks a bridge (see version.ts). */
function levelText(level: number): string | number {
  const version = level & 0x7f;
  const name = version === 4 ? '3.1.1' : version === 3 ? '3.1' : undefined;
  if (name === undefined) return level;
  return (level & 0x80) !== 0 ? `${hex2(level)} (${name}, bridge)` : `${level} (${name})`;
}

function walkConnect(w: Walker, p: Extract<Packet, { cmd: 'connect' }>): void {
  w.prefixed('protocol name', () => quote(p.protocolName), '3.1.2.1');
  w.add(1, 'protocol level', levelText(p.protocolLevel), '3.1.2.2');
  const f = w.u8();
  w.add(1, 'connect flags', hex2(f), '3.1.2.3');
  w.flag('7', 'user name flag', bit(f, 7), '3.1.2.8');
  w.flag('6', 'password flag', bit(f, 6), '3.1.2.9');
  w.flag('5', 'will retain', bit(f, 5), '3.1.2.7');
  w.flag('4-3', 'will QoS', (f >> 3) & 3, '3.1.2.6');
  w.flag('2', 'will flag', bit(f, 2), '3.1.2.5');
  w.flag('1', 'clean session', bit(f, 1), '3.1.2.4');
  w.flag('0', 'reserved', bit(f, 0), '3.1.2.3');
  w.add(2, 'keep alive', `${p.keepAlive} s`, '3.1.2.10');
  // [MQTT-3.1.3-1] payload order: client id, will topic, will message, user name, password.
  w.prefixed('client identifier', () => quote(p.clientId), '3.1.3.1');
  if (p.will) {
    const will = p.will;
    w.prefixed('will topic', () => quote(will.topic), '3.1.3.2');
    w.prefixed('will message', () => payloadValue(will.payload), '3.1.3.3');
  }
  if (p.username !== undefined) w.prefixed('user name', () => quote(p.username ?? ''), '3.1.3.4');
  if (p.password !== undefined) w.prefixed('password', (n) => `<redacted> (${n} B)`, '3.1.3.5', true);
}

function walkBody(w: Walker, p: Packet): void {
  switch (p.cmd) {
    case 'connect':
      return walkConnect(w, p);
    case 'connack': {
      const f = w.u8();
      w.add(1, 'acknowledge flags', hex2(f), '3.2.2.1');
      w.flag('7-1', 'reserved', (f >> 1).toString(2).padStart(7, '0'), '3.2.2.1');
      w.flag('0', 'session present', bit(f, 0), '3.2.2.2');
      w.add(1, 'return code', `${hex2(p.returnCode)} ${CONNACK_MEANING[p.returnCode] ?? 'reserved'}`, '3.2.2.3');
      return;
    }
    case 'publish':
      w.prefixed('topic name', () => quote(p.topic), '3.3.2.1');
      if (p.qos > 0) w.packetId('3.3.2.2'); // [MQTT-2.3.1-5] absent at QoS 0
      w.add(w.remaining, 'payload', payloadValue(p.payload), '3.3.3');
      return;
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp': case 'unsuback':
      return w.packetId(ID_SECTION[p.cmd] ?? '2.3.1');
    case 'subscribe':
      w.packetId('3.8.2');
      for (const s of p.subscriptions) {
        w.prefixed('topic filter', () => quote(s.topicFilter), '3.8.3');
        w.add(1, 'requested QoS', s.qos, '3.8.3');
      }
      return;
    case 'suback':
      w.packetId('3.9.2');
      for (const rc of p.returnCodes) w.add(1, 'return code', rc === 0x80 ? '0x80 failure' : `${hex2(rc)} granted QoS ${rc}`, '3.9.3');
      return;
    case 'unsubscribe':
      w.packetId('3.10.2');
      for (const t of p.topicFilters) w.prefixed('topic filter', () => quote(t), '3.10.3');
      return;
    case 'pingreq': case 'pingresp': case 'disconnect':
      return; // fixed header only
    default: {
      const never: never = p;
      throw new MqttError('INVALID_PACKET', `unknown packet ${String((never as { cmd?: unknown }).cmd)}`); // only a value outside the Packet union gets here
    }
  }
}

function inspectAt(bytes: Uint8Array, base: number): Inspection {
  const packet = decode(bytes);
  const w = new Walker(bytes, base);
  walkFixedHeader(w, packet, w.u8());
  walkBody(w, packet);
  return { packet, offset: base, bytes, fields: w.fields };
}

/**
 * Decode exactly one whole packet and name every field of its byte layout.
 *
 * @throws MqttError the codec's error (with `code`, `rule`, `offset`) when the bytes are not one
 * valid packet.
 */
export function inspect(bytes: Uint8Array): Inspection {
  return inspectAt(bytes, 0);
}

/**
 * Total length of the packet starting at `pos` (fixed header included), or `undefined` when its
 * remaining length is truncated or malformed; the codec then produces the error.
 */
function frameLength(bytes: Uint8Array, pos: number): number | undefined {
  let value = 0;
  for (let n = 0; n < 4; n++) {
    const byte = bytes[pos + 1 + n];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 128 ** n;
    if ((byte & 0x80) === 0) return 2 + n + value;
  }
  return undefined; // a fifth length byte: malformed (spec 2.2.3)
}

/**
 * Inspect packets back to back until the input ends or one fails to decode.
 *
 * Never throws for bad input: the codec's error and the offset where decoding stopped are
 * returned with the packets decoded before it.
 */
export function inspectStream(bytes: Uint8Array): StreamInspection {
  const inspections: Inspection[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const length = frameLength(bytes, pos);
    const end = length === undefined ? bytes.length : Math.min(pos + length, bytes.length);
    try {
      inspections.push(inspectAt(bytes.subarray(pos, end), pos));
    } catch (err) {
      const error = isMqttError(err) ? err : new MqttError('INVALID_PACKET', String(err), { cause: err });
      return { inspections, consumed: pos, error, errorOffset: pos + (error.offset ?? 0) };
    }
    pos = end;
  }
  return { inspections, consumed: pos };
}
