/**
 * Golden fixtures (fixtures.ts) drive decode, encode, round-trip and length tests; then the
 * encoder's entry points (`encodeInto`, `encodeParts`) and what decoded payloads are in Node.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  Decoder,
  decode,
  encode,
  encodedLength,
  encodeInto,
  encodeParts,
  type Packet,
  type PublishPacket,
} from '../../src/codec/index.js';
import { plain } from './arbitraries.js';
import { FIXTURES, TRAILER } from './fixtures.js';
import { thrown } from './helpers.js';

const withTrailer = (bytes: number[]) => Buffer.from([...bytes, ...TRAILER.bytes]);

describe.each(FIXTURES)('$name', ({ packet, bytes, protocolVersion = 4 }) => {
  // The connection's version; a CONNECT names its own, and the decoder takes it from there.
  const v = { protocolVersion };
  it('decodes, stopping at the packet boundary before a trailing foreign frame', () => {
    const decoder = new Decoder(v);
    const out = decoder.feed(withTrailer(bytes));
    expect(out.map(plain)).toStrictEqual([plain(packet), TRAILER.packet]);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.offset).toBe(bytes.length + TRAILER.bytes.length);
  });

  it('decodes with decode() when given exactly its bytes', () => {
    expect(plain(decode(Uint8Array.from(bytes), v))).toStrictEqual(plain(packet));
  });

  it('encodes to exactly the golden bytes', () => {
    expect([...encode(packet, v)]).toEqual(bytes);
  });

  it('round-trips: decode(encode(p)) equals p', () => {
    expect(plain(decode(encode(packet, v), v))).toStrictEqual(plain(packet));
  });

  it('encodedLength matches the byte count', () => {
    expect(encodedLength(packet, v)).toBe(bytes.length);
  });

  it('encodeInto writes the same bytes at an offset and returns their count', () => {
    const target = new Uint8Array(bytes.length + 10).fill(0xee);
    expect(encodeInto(packet, target, 3, v)).toBe(bytes.length);
    expect([...target.subarray(3, 3 + bytes.length)]).toEqual(bytes);
    expect(target[2]).toBe(0xee); // nothing before the offset
    expect(target[3 + bytes.length]).toBe(0xee); // nothing after the packet
  });

  it('encodeParts concatenates to the same bytes', () => {
    expect([...Buffer.concat(encodeParts(packet, v))]).toEqual(bytes);
  });

  it('decode() refuses the bytes with one byte missing or one byte extra', () => {
    expect(thrown(() => decode(Uint8Array.from(bytes.slice(0, -1)), v)).code).toBe('INVALID_LENGTH');
    expect(thrown(() => decode(Uint8Array.from([...bytes, 0]))).code).toBe('INVALID_LENGTH');
  });
});

describe('the fixture table', () => {
  it('covers all 14 packet types', () => {
    expect(new Set(FIXTURES.map((f) => f.packet.cmd)).size).toBe(14);
  });
});

describe('encodeParts', () => {
  const publish: PublishPacket = {
    cmd: 'publish',
    topic: 'a/b',
    payload: new Uint8Array(70_000).fill(7),
    qos: 1,
    retain: false,
    dup: false,
    packetId: 9,
  };

  it('returns [header, payload] for a PUBLISH, handing back the payload itself (no copy)', () => {
    const parts = encodeParts(publish);
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(publish.payload);
    // 0x32 | Remaining Length 70,007 = 0xF7 0xA2 0x04 | topic | packet id
    expect([...parts[0]!]).toEqual([0x32, 0xf7, 0xa2, 0x04, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x00, 0x09]);
    expect(Buffer.concat(parts).equals(Buffer.from(encode(publish)))).toBe(true);
  });

  it('returns one array for other packets', () => {
    expect(encodeParts({ cmd: 'pingreq' }).map((p) => [...p])).toEqual([[0xc0, 0x00]]);
  });

  it('refuses an invalid PUBLISH like encode does [MQTT-3.3.2-2]', () => {
    const err = thrown(() => encodeParts({ ...publish, topic: 'a/+' }));
    expect([err.code, err.rule]).toEqual(['INVALID_TOPIC', 'MQTT-3.3.2-2']);
  });
});

describe('encodeInto', () => {
  it('throws BUFFER_TOO_SMALL and writes nothing when the packet does not fit', () => {
    const target = new Uint8Array(4).fill(0xee);
    const err = thrown(() => encodeInto({ cmd: 'puback', packetId: 1 }, target, 1));
    expect(err.code).toBe('BUFFER_TOO_SMALL');
    expect([...target]).toEqual([0xee, 0xee, 0xee, 0xee]);
  });

  it('checks the packet before the room', () => {
    const err = thrown(() => encodeInto({ cmd: 'puback', packetId: 0 }, new Uint8Array(0), 0));
    expect([err.code, err.rule]).toEqual(['INVALID_PACKET_ID', 'MQTT-2.3.1-1']);
  });

  const publish = (topic: string, payloadSize: number): PublishPacket => ({
    cmd: 'publish',
    topic,
    payload: new Uint8Array(payloadSize).fill(7),
    qos: 1,
    packetId: 513,
    retain: true,
    dup: false,
  });

  it('writes a PUBLISH at an offset as encode does, touching no byte around it', () => {
    const packet = publish('sensors/room1', 200); // a 2-byte Remaining Length
    const bytes = encode(packet);
    const target = new Uint8Array(bytes.length + 9).fill(0xee);
    expect(encodeInto(packet, target, 4)).toBe(bytes.length);
    expect(target.subarray(4, 4 + bytes.length)).toStrictEqual(Uint8Array.from(bytes));
    expect([...target.subarray(0, 4), ...target.subarray(4 + bytes.length)]).toEqual(Array(9).fill(0xee));
  });

  it('[MQTT-3.3.2-2] refuses a wildcard in a PUBLISH topic every time, also after a valid topic, and writes nothing', () => {
    const target = new Uint8Array(64).fill(0xee);
    const refuse = (topic: string) => {
      const err = thrown(() => encodeInto(publish(topic, 3), target, 0));
      expect([err.code, err.rule]).toEqual(['INVALID_TOPIC', 'MQTT-3.3.2-2']);
    };
    refuse('a/+');
    refuse('a/+');
    expect(encodeInto(publish('a/b', 3), new Uint8Array(64), 0)).toBe(12);
    refuse('a/#');
    refuse('a/#');
    expect(target.every((b) => b === 0xee)).toBe(true);
  });

  it('[MQTT-4.7.3-2] refuses U+0000 in a PUBLISH topic and writes nothing', () => {
    const target = new Uint8Array(64).fill(0xee);
    const err = thrown(() => encodeInto(publish('a/\u0000/b', 3), target, 0));
    expect([err.code, err.rule]).toEqual(['NULL_CHARACTER', 'MQTT-4.7.3-2']);
    expect(target.every((b) => b === 0xee)).toBe(true);
  });

  it('throws BUFFER_TOO_SMALL and writes nothing for a topic that fits by its characters, not by its UTF-8 bytes', () => {
    const packet = publish('caf\u00e9', 3); // 'é' takes 2 bytes: 14 bytes in all, not 13
    expect(encodedLength(packet)).toBe(14);
    const target = new Uint8Array(13).fill(0xee);
    expect(thrown(() => encodeInto(packet, target, 0)).code).toBe('BUFFER_TOO_SMALL');
    expect(target.every((b) => b === 0xee)).toBe(true);
    const roomy = new Uint8Array(14);
    expect(encodeInto(packet, roomy, 0)).toBe(14);
    expect(roomy).toStrictEqual(Uint8Array.from(encode(packet)));
  });
});

describe('decoded payloads in Node', () => {
  const packet: Packet = { cmd: 'publish', topic: 't', payload: Buffer.from('hello'), qos: 0, retain: false, dup: false };
  const bytes = Buffer.from(encode(packet));

  it('are Buffer views into the chunk when a packet sits in one chunk', () => {
    const chunk = Buffer.concat([bytes, bytes]);
    const [first] = new Decoder().feed(chunk) as PublishPacket[];
    expect(Buffer.isBuffer(first!.payload)).toBe(true);
    expect(first!.payload.toString()).toBe('hello');
    expect(first!.payload.buffer).toBe(chunk.buffer); // a view, not a copy
    chunk[bytes.length - 1] = 0x21; // so the caller must not reuse the chunk while holding it
    expect(first!.payload.toString()).toBe('hell!');
  });

  it('are Buffer copies when a packet spans chunks', () => {
    const decoder = new Decoder();
    const a = Buffer.from(bytes.subarray(0, 5));
    const b = Buffer.from(bytes.subarray(5));
    expect(decoder.feed(a)).toEqual([]);
    const [p] = decoder.feed(b) as PublishPacket[];
    expect(Buffer.isBuffer(p!.payload)).toBe(true);
    expect(p!.payload.toString()).toBe('hello');
    a.fill(0); // a copy: the caller may reuse the chunks
    b.fill(0);
    expect(p!.payload.toString()).toBe('hello');
  });

  it('are plain Uint8Array views when the chunk is a plain Uint8Array', () => {
    const chunk = Uint8Array.from(bytes);
    const p = decode(chunk) as PublishPacket;
    expect(p.payload.buffer).toBe(chunk.buffer);
    expect(Buffer.isBuffer(p.payload)).toBe(false);
    expect([...p.payload]).toEqual([...Buffer.from('hello')]);
  });

  it('behave as Buffers in every way a caller can see', () => {
    const withAuth: Packet = { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c', cleanSession: true, keepAlive: 0, username: 'u', password: Buffer.from('pw') };
    const p = decode(Buffer.concat([bytes])) as PublishPacket;
    const c = decode(Buffer.from(encode(withAuth))) as Extract<Packet, { cmd: 'connect' }>;
    for (const [view, text] of [[p.payload, 'hello'], [c.password!, 'pw']] as const) {
      expect(view).toBeInstanceOf(Buffer);
      expect(view.constructor).toBe(Buffer);
      expect(view.toString()).toBe(text);
      expect(inspect(view)).toBe(inspect(Buffer.from(text)));
      expect(JSON.stringify(view)).toBe(JSON.stringify(Buffer.from(text)));
      expect(Buffer.from(text).equals(view)).toBe(true);
      expect(view).toEqual(Buffer.from(text));
      const part = (view as Buffer).subarray(1);
      expect(Object.getPrototypeOf(part)).toBe(Buffer.prototype); // Node's own Buffer
      expect(part.toString()).toBe(text.slice(1));
    }
  });

  it('encode() returns a Buffer in Node', () => {
    expect(Buffer.isBuffer(encode(packet))).toBe(true);
  });
});
