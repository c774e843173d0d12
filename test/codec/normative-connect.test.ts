/**
 * Normative statements about the CONNECT packet (spec 3.1): the connect flags byte and which
 * payload fields each flag makes present, their order, and the protocol name and level. Every
 * CONNECT here is built by hand from its fields; the decoder must refuse the bad ones with a typed
 * error, and the encoder must produce only good ones.
 */
import { describe, expect, it } from 'vitest';
import { decode, encode, type ConnectPacket } from '../../src/codec/index.js';
import { decodeError, encodeError, stringField as field } from './helpers.js';


// Connect flags (spec 3.1.2.3): bit 7 user name | 6 password | 5 will retain | 4-3 will QoS | 2 will | 1 clean | 0 reserved
const USER = 0x80;
const PASS = 0x40;
const WILL_RETAIN = 0x20;
const WILL_QOS_1 = 0x08;
const WILL_QOS_2 = 0x10;
const WILL = 0x04;
const CLEAN = 0x02;
const RESERVED = 0x01;

/**
 * A CONNECT: fixed header 0x10 and Remaining Length, then the variable header (protocol name
 * "MQTT", level, `flags`, keep alive 60) and the payload fields given, in the order given.
 */
function connect(flags: number, payload: number[][], { name = 'MQTT', level = 4 } = {}): Uint8Array {
  const body = [...field(name), level, flags, 0x00, 0x3c, ...payload.flat()];
  return Uint8Array.from([0x10, body.length, ...body]);
}
/** Offset of the connect flags byte in `connect(...)` with the name "MQTT": 2 + 6 + 1. */
const FLAGS_AT = 9;

const base: ConnectPacket = { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c', cleanSession: true, keepAlive: 60 };
const text = (s: string) => new TextEncoder().encode(s);

describe('CONNECT protocol name and level (spec 3.1.2.1, 3.1.2.2)', () => {
  it('[MQTT-3.1.2-1] a protocol name other than "MQTT" is refused (only MQTT 3.1\'s "MQIsdp" is also known)', () => {
    const err = decodeError(connect(CLEAN, [field('c')], { name: 'MQISDP', level: 3 }));
    expect(err.code).toBe('INVALID_PROTOCOL_NAME');
    expect(err.rule).toBe('MQTT-3.1.2-1');
    expect(err.offset).toBe(2);
  });

  it('[MQTT-3.1.2-2] protocol level 3 is UNSUPPORTED_PROTOCOL_LEVEL: answer CONNACK 0x01, then close', () => {
    const err = decodeError(connect(CLEAN, [field('c')], { level: 3 }));
    expect(err.code).toBe('UNSUPPORTED_PROTOCOL_LEVEL');
    expect(err.rule).toBe('MQTT-3.1.2-2');
    expect(err.action).toBe('connack');
    expect(err.returnCode).toBe(1);
    expect(err.offset).toBe(8);
    // Any level but 4, even with a body laid out for another version (level 5 has properties here).
    for (const level of [0, 5, 255]) expect(decodeError(connect(CLEAN, [[0x00], field('c')], { level })).code).toBe('UNSUPPORTED_PROTOCOL_LEVEL');
  });
});

describe('CONNECT flags (spec 3.1.2.3 - 3.1.2.9)', () => {
  it('[MQTT-3.1.2-3] the reserved flag bit 0 must be zero; the encoder never sets it', () => {
    const err = decodeError(connect(CLEAN | RESERVED, [field('c')]));
    expect(err.code).toBe('INVALID_CONNECT_FLAGS');
    expect(err.rule).toBe('MQTT-3.1.2-3');
    expect(err.offset).toBe(FLAGS_AT);
    const full: ConnectPacket = { ...base, username: 'u', password: text('p'), will: { topic: 'w', payload: text('m'), qos: 2, retain: true } };
    for (const p of [base, { ...base, cleanSession: false }, full]) expect(encode(p)[FLAGS_AT]! & RESERVED).toBe(0);
  });

  it('[MQTT-3.1.2-9] with the will flag set, will topic and will message must be present', () => {
    // Will flag set, but the payload ends after the client id.
    const err = decodeError(connect(CLEAN | WILL, [field('c')]));
    expect(err.code).toBe('INVALID_LENGTH');
    expect(err.rule).toBe('MQTT-3.1.2-9');
    // Will topic present, will message missing.
    const noMessage = decodeError(connect(CLEAN | WILL, [field('c'), field('w')]));
    expect(noMessage.code).toBe('INVALID_LENGTH');
    expect(noMessage.rule).toBe('MQTT-3.1.2-9');
    // Encoding a will sets the flag and writes both fields after the client id.
    const out = encode({ ...base, will: { topic: 'w', payload: text('bye'), qos: 0, retain: false } });
    expect([...out.subarray(FLAGS_AT, FLAGS_AT + 1)]).toEqual([CLEAN | WILL]);
    expect([...out.subarray(12)]).toEqual([...field('c'), ...field('w'), ...field('bye')]);
  });

  it('[MQTT-3.1.2-11] with the will flag 0, no will topic or message may follow the client id', () => {
    const err = decodeError(connect(CLEAN, [field('c'), field('w'), field('m')]));
    expect(err.code).toBe('INVALID_LENGTH');
    expect(err.rule).toBe('MQTT-3.1.2-11');
    expect(encode(base)[FLAGS_AT]! & (WILL | WILL_RETAIN | WILL_QOS_1 | WILL_QOS_2)).toBe(0);
  });

  it('[MQTT-3.1.2-13] with the will flag 0, will QoS must be 0', () => {
    for (const qosBits of [WILL_QOS_1, WILL_QOS_2, WILL_QOS_1 | WILL_QOS_2]) {
      const err = decodeError(connect(CLEAN | qosBits, [field('c')]));
      expect(err.code).toBe('INVALID_CONNECT_FLAGS');
      expect(['MQTT-3.1.2-13', 'MQTT-3.1.2-11']).toContain(err.rule);
      expect(err.offset).toBe(FLAGS_AT);
    }
  });

  it('[MQTT-3.1.2-14] with the will flag 1, will QoS 3 is refused; 0, 1 and 2 decode', () => {
    const err = decodeError(connect(CLEAN | WILL | WILL_QOS_1 | WILL_QOS_2, [field('c'), field('w'), field('m')]));
    expect(err.code).toBe('INVALID_QOS');
    expect(err.rule).toBe('MQTT-3.1.2-14');
    for (const [bits, qos] of [[0, 0], [WILL_QOS_1, 1], [WILL_QOS_2, 2]]) {
      expect(decode(connect(CLEAN | WILL | bits!, [field('c'), field('w'), field('m')]))).toMatchObject({ will: { topic: 'w', qos } });
    }
    const enc = encodeError({ ...base, will: { topic: 'w', payload: text('m'), qos: 3, retain: false } });
    expect(enc.code).toBe('INVALID_QOS');
    expect(enc.rule).toBe('MQTT-3.1.2-14');
  });

  it('[MQTT-3.1.2-15] with the will flag 0, will retain must be 0', () => {
    const err = decodeError(connect(CLEAN | WILL_RETAIN, [field('c')]));
    expect(err.code).toBe('INVALID_CONNECT_FLAGS');
    expect(['MQTT-3.1.2-15', 'MQTT-3.1.2-11']).toContain(err.rule);
    expect(decode(connect(CLEAN | WILL | WILL_RETAIN, [field('c'), field('w'), field('m')]))).toMatchObject({ will: { retain: true } });
  });

  it('[MQTT-3.1.2-18] with the user name flag 0, no user name follows', () => {
    const err = decodeError(connect(CLEAN, [field('c'), field('u')]));
    expect(err.code).toBe('INVALID_LENGTH');
    expect(['MQTT-3.1.2-18', 'MQTT-3.1.2-11']).toContain(err.rule);
    const out = encode(base);
    expect(out[FLAGS_AT]! & USER).toBe(0);
    expect(out.length).toBe(FLAGS_AT + 3 + 3); // flags, keep alive, then only the client id
  });

  it('[MQTT-3.1.2-19] with the user name flag 1, a user name must be present (an empty one counts)', () => {
    const err = decodeError(connect(CLEAN | USER, [field('c')]));
    expect(err.code).toBe('INVALID_LENGTH');
    expect(err.rule).toBe('MQTT-3.1.2-19');
    expect(decode(connect(CLEAN | USER, [field('c'), field('')]))).toMatchObject({ username: '' });
    const out = encode({ ...base, username: '' });
    expect(out[FLAGS_AT]! & USER).toBe(USER);
    expect([...out.subarray(-2)]).toEqual([0x00, 0x00]);
  });

  it('[MQTT-3.1.2-20] with the password flag 0, no password follows', () => {
    const err = decodeError(connect(CLEAN | USER, [field('c'), field('u'), field('p')]));
    expect(err.code).toBe('INVALID_LENGTH');
    expect(err.rule).toBe('MQTT-3.1.2-20');
    expect(encode({ ...base, username: 'u' })[FLAGS_AT]! & PASS).toBe(0);
  });

  it('[MQTT-3.1.2-21] with the password flag 1, a password must be present', () => {
    const err = decodeError(connect(CLEAN | USER | PASS, [field('c'), field('u')]));
    expect(err.code).toBe('INVALID_LENGTH');
    expect(err.rule).toBe('MQTT-3.1.2-21');
    // The password is binary data (spec 3.1.3.5): any bytes, even ones that are not UTF-8.
    const packet = decode(connect(CLEAN | USER | PASS, [field('c'), field('u'), [0x00, 0x03, 0xff, 0x00, 0xc0]]));
    expect(packet).toMatchObject({ password: Uint8Array.of(0xff, 0x00, 0xc0) });
  });

  it('[MQTT-3.1.2-22] the password flag must be 0 when the user name flag is 0', () => {
    const err = decodeError(connect(CLEAN | PASS, [field('c'), field('p')]));
    expect(err.code).toBe('INVALID_CONNECT_FLAGS');
    expect(err.rule).toBe('MQTT-3.1.2-22');
    expect(err.offset).toBe(FLAGS_AT);
    const enc = encodeError({ ...base, password: text('p') });
    expect(enc.code).toBe('INVALID_CONNECT_FLAGS');
    expect(enc.rule).toBe('MQTT-3.1.2-22');
  });
});

describe('CONNECT payload (spec 3.1.3)', () => {
  it('[MQTT-3.1.3-1] the fields appear in the order client id, will topic, will message, user name, password', () => {
    const all = USER | PASS | WILL_RETAIN | WILL_QOS_1 | WILL | CLEAN;
    const input = connect(all, [field('cid'), field('wt'), field('wm'), field('un'), field('pw')]);
    const packet: ConnectPacket = {
      ...base,
      clientId: 'cid',
      username: 'un',
      password: text('pw'),
      will: { topic: 'wt', payload: text('wm'), qos: 1, retain: true },
    };
    expect(decode(input)).toEqual(packet);
    expect([...encode(packet)]).toEqual([...input]);
  });

  it('[MQTT-3.1.3-3] the client id is mandatory and first: a CONNECT that ends after its variable header is refused', () => {
    const err = decodeError(connect(CLEAN, []));
    expect(err.code).toBe('INVALID_LENGTH');
    expect(err.rule).toBe('MQTT-3.1.3-3');
    // A zero-length client id is present (whether a server accepts it is its own matter, spec 3.1.3.1).
    expect(decode(connect(CLEAN, [field('')]))).toMatchObject({ clientId: '' });
    expect([...encode({ ...base, clientId: '' }).subarray(12)]).toEqual([0x00, 0x00]);
  });
});
