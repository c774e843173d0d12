/**
 * Normative statements about the fixed header (spec 2.2: flag bits), packet identifiers
 * (spec 2.3.1), the PUBLISH flags (spec 3.3.1) and the packet-format half of the QoS flows
 * (spec 4.3). Bad bytes are built by hand; the decoder must refuse them with a typed error and the
 * encoder must never produce them.
 */
import { describe, expect, it } from 'vitest';
import { decode, Decoder, encode, type Packet, type PacketCmd } from '../../src/codec/index.js';
import { decodeError, encodeError, thrown } from './helpers.js';

const empty = new Uint8Array(0);

/**
 * Spec table 2.2: the required flag bits 3-0 of every packet type but PUBLISH, a valid body for
 * that type, the packet to encode, and the rule the codec cites when the flags are wrong (2.2.2-2
 * generally; some packet types restate it under their own id).
 */
const FLAG_TABLE: { cmd: PacketCmd; type: number; flags: number; body: number[]; packet: Packet; rules: string[] }[] = [
  // CONNECT: "MQTT", level 4, clean session, keep alive 0, client id "c"
  { cmd: 'connect', type: 1, flags: 0b0000, body: [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, 0, 1, 0x63], packet: { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c', cleanSession: true, keepAlive: 0 }, rules: [] },
  { cmd: 'connack', type: 2, flags: 0b0000, body: [0, 0], packet: { cmd: 'connack', sessionPresent: false, returnCode: 0 }, rules: [] },
  { cmd: 'puback', type: 4, flags: 0b0000, body: [0, 1], packet: { cmd: 'puback', packetId: 1 }, rules: [] },
  { cmd: 'pubrec', type: 5, flags: 0b0000, body: [0, 1], packet: { cmd: 'pubrec', packetId: 1 }, rules: [] },
  { cmd: 'pubrel', type: 6, flags: 0b0010, body: [0, 1], packet: { cmd: 'pubrel', packetId: 1 }, rules: ['MQTT-3.6.1-1'] },
  { cmd: 'pubcomp', type: 7, flags: 0b0000, body: [0, 1], packet: { cmd: 'pubcomp', packetId: 1 }, rules: [] },
  // SUBSCRIBE: id 1, filter "a" QoS 0
  { cmd: 'subscribe', type: 8, flags: 0b0010, body: [0, 1, 0, 1, 0x61, 0], packet: { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }] }, rules: ['MQTT-3.8.1-1'] },
  { cmd: 'suback', type: 9, flags: 0b0000, body: [0, 1, 0], packet: { cmd: 'suback', packetId: 1, returnCodes: [0] }, rules: [] },
  // UNSUBSCRIBE: id 1, filter "a"
  { cmd: 'unsubscribe', type: 10, flags: 0b0010, body: [0, 1, 0, 1, 0x61], packet: { cmd: 'unsubscribe', packetId: 1, topicFilters: ['a'] }, rules: ['MQTT-3.10.1-1'] },
  { cmd: 'unsuback', type: 11, flags: 0b0000, body: [0, 1], packet: { cmd: 'unsuback', packetId: 1 }, rules: [] },
  { cmd: 'pingreq', type: 12, flags: 0b0000, body: [], packet: { cmd: 'pingreq' }, rules: [] },
  { cmd: 'pingresp', type: 13, flags: 0b0000, body: [], packet: { cmd: 'pingresp' }, rules: [] },
  { cmd: 'disconnect', type: 14, flags: 0b0000, body: [], packet: { cmd: 'disconnect' }, rules: ['MQTT-3.14.1-1'] },
];

const withFlags = (row: (typeof FLAG_TABLE)[number], flags: number) => [(row.type << 4) | flags, row.body.length, ...row.body];

describe('fixed header flags (spec 2.2.2, table 2.2)', () => {
  it('[MQTT-2.2.2-1] the encoder writes the reserved flag bits exactly as table 2.2 lists them', () => {
    for (const row of FLAG_TABLE) {
      const out = encode(row.packet);
      expect([row.cmd, out[0]]).toEqual([row.cmd, (row.type << 4) | row.flags]);
      expect([...out]).toEqual(withFlags(row, row.flags)); // and the whole packet is the hand-built one
      expect(decode(out)).toEqual(row.packet);
    }
  });

  it('[MQTT-2.2.2-2] the decoder refuses every other value of the flag bits, for every packet type but PUBLISH', () => {
    for (const row of FLAG_TABLE) {
      for (let flags = 0; flags < 16; flags++) {
        if (flags === row.flags) continue;
        const err = decodeError(withFlags(row, flags));
        expect([row.cmd, flags, err.code]).toEqual([row.cmd, flags, 'INVALID_HEADER_FLAGS']);
        expect(['MQTT-2.2.2-2', 'MQTT-2.2.2-1', ...row.rules]).toContain(err.rule);
        expect(err.action).toBe('close');
        expect(err.offset).toBe(0);
      }
    }
  });

  it('[MQTT-2.2.2-2] a wrong flag is refused from the first byte, before the rest of the packet arrives', () => {
    const decoder = new Decoder();
    const err = thrown(() => decoder.feed(Uint8Array.of(0x41))); // PUBACK with flag bit 0 set
    expect(err.code).toBe('INVALID_HEADER_FLAGS');
    expect(decoder.error).toBe(err);
    expect(thrown(() => decoder.feed(Uint8Array.of(0x02, 0x00, 0x01)))).toBe(err); // errored stays errored
  });

  it('[MQTT-3.6.1-1] PUBREL flags must be 0010: 0110 0000 is malformed', () => {
    const err = decodeError([0x60, 0x02, 0x00, 0x01]); // PUBREL, flags 0000, id 1
    expect(err.code).toBe('INVALID_HEADER_FLAGS');
    expect(['MQTT-3.6.1-1', 'MQTT-2.2.2-2']).toContain(err.rule);
    expect([...encode({ cmd: 'pubrel', packetId: 1 })]).toEqual([0x62, 0x02, 0x00, 0x01]);
  });

  it('[MQTT-3.8.1-1] SUBSCRIBE flags must be 0010: 1000 0000 is malformed', () => {
    const err = decodeError([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]); // SUBSCRIBE, flags 0000
    expect(err.code).toBe('INVALID_HEADER_FLAGS');
    expect(['MQTT-3.8.1-1', 'MQTT-2.2.2-2']).toContain(err.rule);
    expect(decodeError([0x8a, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]).code).toBe('INVALID_HEADER_FLAGS'); // flags 1010
  });

  it('[MQTT-3.10.1-1] UNSUBSCRIBE flags must be 0010: 1010 0011 is malformed', () => {
    const err = decodeError([0xa3, 0x05, 0x00, 0x01, 0x00, 0x01, 0x61]); // UNSUBSCRIBE, flags 0011
    expect(err.code).toBe('INVALID_HEADER_FLAGS');
    expect(['MQTT-3.10.1-1', 'MQTT-2.2.2-2']).toContain(err.rule);
  });

  it('[MQTT-3.14.1-1] DISCONNECT reserved bits must be zero', () => {
    for (const first of [0xe1, 0xe2, 0xe8]) {
      const err = decodeError([first, 0x00]);
      expect(err.code).toBe('INVALID_HEADER_FLAGS');
      expect(['MQTT-3.14.1-1', 'MQTT-2.2.2-2']).toContain(err.rule);
    }
    expect(decode(Uint8Array.of(0xe0, 0x00))).toEqual({ cmd: 'disconnect' });
  });

  it('refuses the reserved packet types 0 and 15 (spec 2.2.1)', () => {
    expect(decodeError([0x00, 0x00]).code).toBe('INVALID_PACKET_TYPE');
    expect(decodeError([0xf0, 0x00]).code).toBe('INVALID_PACKET_TYPE');
  });
});

describe('PUBLISH flags (spec 3.3.1)', () => {
  it('[MQTT-3.3.1-1] the DUP bit is bit 3: encoded when set on a redelivery, and decoded', () => {
    const packet: Packet = { cmd: 'publish', topic: 't', payload: empty, qos: 1, packetId: 5, retain: false, dup: true };
    const out = encode(packet);
    expect([...out]).toEqual([0x3a, 0x05, 0x00, 0x01, 0x74, 0x00, 0x05]); // 0011 1010: DUP, QoS 1
    expect(decode(out)).toMatchObject({ dup: true, qos: 1, packetId: 5 });
    expect(decode(Uint8Array.of(0x3c, 0x05, 0x00, 0x01, 0x74, 0x00, 0x05))).toMatchObject({ dup: true, qos: 2 });
  });

  it('[MQTT-3.3.1-2] DUP on a QoS 0 PUBLISH is refused by the decoder and the encoder', () => {
    const err = decodeError([0x38, 0x03, 0x00, 0x01, 0x74]); // 0011 1000: DUP, QoS 0
    expect(err.code).toBe('INVALID_DUP');
    expect(err.rule).toBe('MQTT-3.3.1-2');
    const enc = encodeError({ cmd: 'publish', topic: 't', payload: empty, qos: 0, retain: false, dup: true });
    expect(enc.code).toBe('INVALID_DUP');
    expect(enc.rule).toBe('MQTT-3.3.1-2');
  });

  it('[MQTT-3.3.1-4] QoS bits 11 are refused by the decoder; the encoder refuses QoS 3', () => {
    for (const first of [0x36, 0x37, 0x3e]) {
      const err = decodeError([first, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01]);
      expect(err.code).toBe('INVALID_QOS');
      expect(err.rule).toBe('MQTT-3.3.1-4');
      expect(err.offset).toBe(0);
    }
    const enc = encodeError({ cmd: 'publish', topic: 't', payload: empty, qos: 3, packetId: 1, retain: false, dup: false });
    expect(enc.code).toBe('INVALID_QOS');
    expect(enc.rule).toBe('MQTT-3.3.1-4');
  });
});

describe('packet identifiers (spec 2.3.1)', () => {
  it('[MQTT-2.3.1-1] the decoder refuses packet identifier 0 in SUBSCRIBE, UNSUBSCRIBE and QoS 1/2 PUBLISH', () => {
    const cases: [string, number[], number][] = [
      ['SUBSCRIBE', [0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 0x61, 0x00], 2], // id 0, filter "a" QoS 0
      ['UNSUBSCRIBE', [0xa2, 0x05, 0x00, 0x00, 0x00, 0x01, 0x61], 2], //     id 0, filter "a"
      ['PUBLISH QoS 1', [0x32, 0x05, 0x00, 0x01, 0x74, 0x00, 0x00], 5], //    topic "t", id 0
      ['PUBLISH QoS 2', [0x34, 0x05, 0x00, 0x01, 0x74, 0x00, 0x00], 5],
    ];
    for (const [what, input, at] of cases) {
      const err = decodeError(input);
      expect([what, err.code, err.rule]).toEqual([what, 'INVALID_PACKET_ID', 'MQTT-2.3.1-1']);
      expect(err.offset).toBe(at);
    }
  });

  it('[MQTT-2.3.1-1] the encoder refuses an identifier outside 1..65535, or none, where one is required', () => {
    const packets = (packetId: unknown) => [
      { cmd: 'subscribe', packetId, subscriptions: [{ topicFilter: 'a', qos: 0 }] },
      { cmd: 'unsubscribe', packetId, topicFilters: ['a'] },
      { cmd: 'publish', topic: 't', payload: empty, qos: 1, packetId, retain: false, dup: false },
      { cmd: 'publish', topic: 't', payload: empty, qos: 2, packetId, retain: false, dup: false },
    ];
    for (const id of [0, 65536, 70000, -1, 1.5, undefined, '7']) {
      for (const packet of packets(id)) {
        const err = encodeError(packet);
        expect([packet.cmd, id, err.code]).toEqual([packet.cmd, id, 'INVALID_PACKET_ID']);
        expect(err.rule).toBe('MQTT-2.3.1-1');
      }
    }
    for (const id of [1, 65535]) for (const packet of packets(id)) expect(decode(encode(packet as Packet))).toMatchObject({ packetId: id });
  });

  it('[MQTT-2.3.1-5] a QoS 0 PUBLISH carries no packet identifier: what follows the topic is payload', () => {
    // 30 | 05 | 00 01 74 ("t") | 00 07 — two payload bytes, not an identifier
    const packet = decode(Uint8Array.of(0x30, 0x05, 0x00, 0x01, 0x74, 0x00, 0x07));
    expect(packet).toMatchObject({ cmd: 'publish', qos: 0, payload: Uint8Array.of(0x00, 0x07) });
    expect(packet).not.toHaveProperty('packetId');
    const enc = encodeError({ cmd: 'publish', topic: 't', payload: empty, qos: 0, packetId: 7, retain: false, dup: false });
    expect(enc.code).toBe('INVALID_PACKET_ID');
    expect(enc.rule).toBe('MQTT-2.3.1-5');
  });

  it('[MQTT-2.3.1-6] PUBACK, PUBREC and PUBREL carry the identifier given, big-endian, and decode it back', () => {
    for (const [cmd, first] of [['puback', 0x40], ['pubrec', 0x50], ['pubrel', 0x62], ['pubcomp', 0x70]] as const) {
      for (const packetId of [1, 0x1234, 65535]) {
        const out = encode({ cmd, packetId });
        expect([...out]).toEqual([first, 0x02, packetId >> 8, packetId & 0xff]);
        expect(decode(out)).toEqual({ cmd, packetId });
      }
      const err = encodeError({ cmd, packetId: 0 });
      expect(err.code).toBe('INVALID_PACKET_ID');
    }
  });

  it('an acknowledgement with a Remaining Length other than 2 is malformed (spec 3.4.1)', () => {
    expect(decodeError([0x40, 0x03, 0x00, 0x01, 0x00]).code).toBe('INVALID_LENGTH');
    expect(decodeError([0x40, 0x01, 0x01]).code).toBe('INVALID_LENGTH');
  });
});

describe('the QoS flows on the wire (spec 4.3)', () => {
  it('[MQTT-4.3.1-1] a QoS 0 PUBLISH goes out with QoS=0, DUP=0 and no identifier', () => {
    const out = encode({ cmd: 'publish', topic: 'a/b', payload: Uint8Array.of(0x68, 0x69), qos: 0, retain: false, dup: false });
    // 0011 0000 | 07 | 00 03 "a/b" | "hi"
    expect([...out]).toEqual([0x30, 0x07, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x68, 0x69]);
  });

  it('[MQTT-4.3.2-1] a new QoS 1 PUBLISH goes out with QoS=1, DUP=0 and its identifier', () => {
    const out = encode({ cmd: 'publish', topic: 'a', payload: empty, qos: 1, packetId: 300, retain: false, dup: false });
    expect([...out]).toEqual([0x32, 0x05, 0x00, 0x01, 0x61, 0x01, 0x2c]); // 0011 0010, id 0x012C
  });

  it('[MQTT-4.3.3-1] a new QoS 2 PUBLISH goes out with QoS=2, DUP=0; its PUBREL carries the same identifier', () => {
    const publish = encode({ cmd: 'publish', topic: 'a', payload: empty, qos: 2, packetId: 42, retain: true, dup: false });
    expect([...publish]).toEqual([0x35, 0x05, 0x00, 0x01, 0x61, 0x00, 0x2a]); // 0011 0101: QoS 2, RETAIN
    expect([...encode({ cmd: 'pubrel', packetId: 42 })]).toEqual([0x62, 0x02, 0x00, 0x2a]);
  });
});

describe('handling errors (spec 4.8)', () => {
  it('[MQTT-4.8.0-1] every protocol violation the decoder finds tells the receiver to close the connection', () => {
    const violations = [
      [0x41, 0x02, 0x00, 0x01], //             PUBACK with a reserved flag set
      [0x36, 0x03, 0x00, 0x01, 0x74], //       PUBLISH QoS 3
      [0x30, 0x03, 0x00, 0x01, 0x2b], //       PUBLISH to the topic "+"
      [0x82, 0x02, 0x00, 0x01], //             SUBSCRIBE with no filter
      [0x90, 0x03, 0x00, 0x01, 0x03], //       SUBACK return code 3
      [0x30, 0x03, 0x00, 0x01, 0x00], //       U+0000 in a topic
      [0x10, 0x0c, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x03, 0, 0, 0, 0], // CONNECT reserved flag
    ];
    for (const input of violations) {
      const err = decodeError(input);
      expect([input, err.action]).toEqual([input, 'close']);
      expect(err.returnCode).toBeUndefined();
    }
  });
});
