/**
 * Normative statements about UTF-8 strings (spec 1.5.3) and the string fields that must be
 * UTF-8 strings (client id, will topic, user name, topic name, topic filters). Each bad packet is
 * built by hand; the decoder must refuse it with a typed error, and the encoder must refuse to
 * produce it.
 */
import { describe, expect, it } from 'vitest';
import { decode, Decoder, encode } from '../../src/codec/index.js';
import { decodeError, encodeError, utf8 } from './helpers.js';

/** Bytes from numbers, byte arrays and ASCII strings. */
function bytes(...parts: (number | number[] | string)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

/** A whole packet: first byte, Remaining Length (one byte: these are short), then the body. */
function frame(first: number, ...body: (number | number[] | string)[]): Uint8Array {
  const rest = bytes(...body);
  return bytes(first, rest.length, [...rest]);
}

/** A length-prefixed field (spec 1.5.3) holding `data`. */
const field = (...data: number[]) => [data.length >> 8, data.length & 0xff, ...data];


/** A QoS 0 PUBLISH whose topic field holds `topic` (raw bytes) and no payload. */
const publishWithTopic = (topic: number[]) => bytes(0x30, topic.length + 2, field(...topic));

/** A CONNECT (clean session, keep alive 0) with the given flags and payload fields. */
const connectWith = (flags: number, ...payload: number[][]) => {
  const body = [...field(...utf8('MQTT')), 0x04, flags, 0x00, 0x00, ...payload.flat()];
  return bytes(0x10, body.length, body);
};

// Ill-formed UTF-8 sequences, each with the reason it is ill-formed (Unicode 3.9, RFC 3629).
const BAD_UTF8: [string, number[]][] = [
  ['ED A0 80: U+D800, a surrogate', [0xed, 0xa0, 0x80]],
  ['ED BF BF: U+DFFF, a surrogate', [0xed, 0xbf, 0xbf]],
  ['C0 AF: "/" in an overlong 2-byte form', [0xc0, 0xaf]],
  ['C1 81: "A" in an overlong 2-byte form', [0xc1, 0x81]],
  ['E0 80 AF: "/" in an overlong 3-byte form', [0xe0, 0x80, 0xaf]],
  ['F0 80 80 AF: "/" in an overlong 4-byte form', [0xf0, 0x80, 0x80, 0xaf]],
  ['C0 80: U+0000 in the overlong "modified UTF-8" form', [0xc0, 0x80]],
  ['F4 90 80 80: above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['80: a continuation byte with no lead byte', [0x61, 0x80]],
  ['E2 82: a 3-byte sequence cut short', [0x61, 0xe2, 0x82]],
  ['FF: a byte that never appears in UTF-8', [0xff]],
];

describe('UTF-8 encoded strings (spec 1.5.3)', () => {
  it.each(BAD_UTF8)('[MQTT-1.5.3-1] the decoder refuses a topic name with %s', (_why, seq) => {
    const err = decodeError(publishWithTopic(seq));
    expect(err.code).toBe('INVALID_UTF8');
    expect(err.rule).toBe('MQTT-1.5.3-1');
    expect(err.action).toBe('close');
    expect(err.offset).toBe(4); // the first byte of the string's data
  });

  it('[MQTT-1.5.3-1] the decoder accepts well-formed multi-byte UTF-8, including the spec example U+2A6D4', () => {
    // Spec 1.5.3.1: "A" U+2A6D4 is 41 F0 AA 9B 94.
    const packet = decode(publishWithTopic([0x41, 0xf0, 0xaa, 0x9b, 0x94]));
    expect(packet).toMatchObject({ cmd: 'publish', topic: 'A\u{2A6D4}' });
    expect(decode(publishWithTopic(utf8('é/€/😀')))).toMatchObject({ topic: 'é/€/😀' });
  });

  it('[MQTT-1.5.3-1] the encoder refuses a lone surrogate, which has no UTF-8 form', () => {
    for (const topic of ['a\ud800', '\udc00b', 'x\udbff\ud800']) {
      const err = encodeError({ cmd: 'publish', topic, payload: new Uint8Array(0), qos: 0, retain: false, dup: false });
      expect(err.code).toBe('INVALID_UTF8');
      expect(err.rule).toBe('MQTT-1.5.3-1');
    }
    const err = encodeError({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: '\ud83d', cleanSession: true, keepAlive: 0 });
    expect(err.code).toBe('INVALID_UTF8');
    expect(err.rule).toBe('MQTT-1.5.3-1');
  });

  it('[MQTT-1.5.3-2] the decoder refuses U+0000 in a client id and in a user name', () => {
    const inClientId = decodeError(connectWith(0x02, field(0x61, 0x00))); // client id "a\0"
    expect(inClientId.code).toBe('NULL_CHARACTER');
    expect(inClientId.rule).toBe('MQTT-1.5.3-2');
    expect(inClientId.offset).toBe(15); // 2 + 10 variable header + 2 length + "a"

    const inUserName = decodeError(connectWith(0x82, field(...utf8('c')), field(0x00))); // user name "\0"
    expect(inUserName.code).toBe('NULL_CHARACTER');
    expect(inUserName.rule).toBe('MQTT-1.5.3-2');
  });

  it('[MQTT-1.5.3-2] the encoder refuses U+0000 in a client id and a user name', () => {
    const base = { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, cleanSession: true, keepAlive: 0 };
    for (const packet of [{ ...base, clientId: 'a\u0000' }, { ...base, clientId: 'c', username: '\u0000' }]) {
      const err = encodeError(packet);
      expect(err.code).toBe('NULL_CHARACTER');
      expect(err.rule).toBe('MQTT-1.5.3-2');
    }
  });

  it('[MQTT-1.5.3-3] the decoder keeps EF BB BF as U+FEFF, at the start of a string and inside it', () => {
    const atStart = decode(publishWithTopic([0xef, 0xbb, 0xbf, 0x61])); // "\uFEFFa"
    expect(atStart).toMatchObject({ topic: '\ufeffa' });
    expect((atStart as { topic: string }).topic).toHaveLength(2);
    expect(decode(publishWithTopic([0x61, 0xef, 0xbb, 0xbf]))).toMatchObject({ topic: 'a\ufeff' });
    const connect = decode(connectWith(0x82, field(0xef, 0xbb, 0xbf), field(0xef, 0xbb, 0xbf, 0x75)));
    expect(connect).toMatchObject({ clientId: '\ufeff', username: '\ufeffu' });
    // Streamed one byte at a time (the BOM split across chunks) it is still kept.
    const decoder = new Decoder();
    const packets = [...publishWithTopic([0xef, 0xbb, 0xbf])].flatMap((b) => decoder.feed(Uint8Array.of(b)));
    expect(packets).toMatchObject([{ topic: '\ufeff' }]);
  });

  it('[MQTT-1.5.3-3] the encoder writes U+FEFF as EF BB BF and does not strip it', () => {
    const out = encode({ cmd: 'publish', topic: '\ufeff/x', payload: new Uint8Array(0), qos: 0, retain: false, dup: false });
    expect([...out]).toEqual([0x30, 0x07, 0x00, 0x05, 0xef, 0xbb, 0xbf, 0x2f, 0x78]);
  });
});

describe('fields that are UTF-8 strings', () => {
  it('[MQTT-3.1.3-4] a client id with ill-formed UTF-8 is refused, a well-formed one decodes', () => {
    const err = decodeError(connectWith(0x02, field(0xed, 0xa0, 0x80))); // client id = encoded U+D800
    expect(err.code).toBe('INVALID_UTF8');
    expect(err.rule).toBe('MQTT-1.5.3-1');
    expect(decode(connectWith(0x02, field(...utf8('客户端'))))).toMatchObject({ clientId: '客户端' });
  });

  it('[MQTT-3.1.3-10] a will topic with ill-formed UTF-8 or U+0000 is refused', () => {
    const overlong = decodeError(connectWith(0x06, field(...utf8('c')), field(0xc0, 0xaf), field(0x21))); // will topic C0 AF
    expect(overlong.code).toBe('INVALID_UTF8');
    expect(overlong.rule).toBe('MQTT-1.5.3-1');
    const nul = decodeError(connectWith(0x06, field(...utf8('c')), field(0x61, 0x00), field(0x21))); // will topic "a\0"
    expect(nul.code).toBe('NULL_CHARACTER');
    expect(['MQTT-1.5.3-2', 'MQTT-4.7.3-2']).toContain(nul.rule);
    expect(decode(connectWith(0x06, field(...utf8('c')), field(...utf8('wé')), field(0x21)))).toMatchObject({ will: { topic: 'wé' } });
  });

  it('[MQTT-3.1.3-11] a user name with ill-formed UTF-8 is refused; the encoder refuses a lone surrogate', () => {
    const err = decodeError(connectWith(0x82, field(...utf8('c')), field(0xe0, 0x80, 0xaf))); // user name overlong
    expect(err.code).toBe('INVALID_UTF8');
    expect(err.rule).toBe('MQTT-1.5.3-1');
    const enc = encodeError({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c', cleanSession: true, keepAlive: 0, username: 'u\udfff' });
    expect(enc.code).toBe('INVALID_UTF8');
    expect(enc.rule).toBe('MQTT-1.5.3-1');
  });

  it('[MQTT-3.3.2-1] the topic name opens the PUBLISH variable header as a length-prefixed UTF-8 string', () => {
    const out = encode({ cmd: 'publish', topic: 'é', payload: bytes('p'), qos: 1, packetId: 1, retain: false, dup: false });
    // 32 | 07 | 00 02 C3 A9 (topic "é") | 00 01 (packet id) | 70 (payload "p")
    expect([...out]).toEqual([0x32, 0x07, 0x00, 0x02, 0xc3, 0xa9, 0x00, 0x01, 0x70]);
    const err = decodeError(bytes(0x32, 0x07, field(0xc3, 0x28), 0x00, 0x01, 0x70)); // C3 28: lead byte, no continuation
    expect(err.code).toBe('INVALID_UTF8');
    expect(err.rule).toBe('MQTT-1.5.3-1');
    // A topic length that runs past the packet's end is a length error, not a read into the next packet.
    const short = decodeError(bytes(0x30, 0x03, 0x00, 0x05, 0x61)); // topic length 5, 1 byte left
    expect(short.code).toBe('INVALID_LENGTH');
  });

  it('[MQTT-3.8.3-1] SUBSCRIBE topic filters must be well-formed UTF-8', () => {
    // 82 | 08 | 00 01 (packet id) | 00 03 61 ED A0 (a truncated surrogate) | 00 (QoS) — 3 + 2 + 2 + 1
    const err = decodeError(bytes(0x82, 0x08, 0x00, 0x01, field(0x61, 0xed, 0xa0), 0x00));
    expect(err.code).toBe('INVALID_UTF8');
    expect(err.rule).toBe('MQTT-1.5.3-1');
    expect(decode(frame(0x82, 0x00, 0x01, field(...utf8('ü/+')), 0x01))).toMatchObject({
      subscriptions: [{ topicFilter: 'ü/+', qos: 1 }],
    });
    const enc = encodeError({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '\ud800/#', qos: 0 }] });
    expect(enc.code).toBe('INVALID_UTF8');
  });

  it('[MQTT-3.10.3-1] UNSUBSCRIBE topic filters are UTF-8 strings packed back to back', () => {
    // A2 | 0C | 00 05 (packet id) | 00 03 "a/b" | 00 03 "c/+"
    const input = bytes(0xa2, 0x0c, 0x00, 0x05, field(...utf8('a/b')), field(...utf8('c/+')));
    expect(decode(input)).toEqual({ cmd: 'unsubscribe', packetId: 5, topicFilters: ['a/b', 'c/+'] });
    expect([...encode({ cmd: 'unsubscribe', packetId: 5, topicFilters: ['a/b', 'c/+'] })]).toEqual([...input]);
    const err = decodeError(bytes(0xa2, 0x05, 0x00, 0x05, field(0xff)));
    expect(err.code).toBe('INVALID_UTF8');
    expect(err.rule).toBe('MQTT-1.5.3-1');
  });
});
