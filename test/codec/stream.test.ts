/**
 * The streaming decoder: any chunking of a byte stream yields the same packets; the Remaining
 * Length boundaries of spec table 2.4; size limits enforced before the body is buffered;
 * errors that stick.
 */
import { describe, expect, it } from 'vitest';
import { Decoder, decode, encode, encodedLength, type Packet } from '../../src/codec/index.js';
import { writeFixedHeader } from '../../src/codec/remaining-length.js';
import { plain } from './arbitraries.js';
import { FIXTURES } from './fixtures.js';
import { thrown } from './helpers.js';

const STREAM = Buffer.from(FIXTURES.flatMap((f) => f.bytes));
const PACKETS = FIXTURES.map((f) => plain(f.packet));

function decodeChunks(chunks: Uint8Array[]): Packet[] {
  const decoder = new Decoder();
  const out = chunks.flatMap((c) => decoder.feed(c));
  expect(decoder.bufferedBytes).toBe(0);
  return out.map(plain);
}

describe('chunking', () => {
  it('decodes the whole fixture stream pushed at once', () => {
    expect(decodeChunks([STREAM])).toStrictEqual(PACKETS);
  });

  it('decodes the same packets at every split point of the stream', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      expect(decodeChunks([STREAM.subarray(0, i), STREAM.subarray(i)])).toStrictEqual(PACKETS);
    }
  });

  it('decodes the same packets split into three chunks at many pairs of points', () => {
    for (let i = 1; i < STREAM.length; i += 7) {
      for (let j = i; j < STREAM.length; j += 11) {
        const chunks = [STREAM.subarray(0, i), STREAM.subarray(i, j), STREAM.subarray(j)];
        expect(decodeChunks(chunks)).toStrictEqual(PACKETS);
      }
    }
  });

  it('decodes the same packets fed one byte at a time', () => {
    const decoder = new Decoder();
    const out: Packet[] = [];
    for (let i = 0; i < STREAM.length; i++) {
      out.push(...decoder.feed(STREAM.subarray(i, i + 1)));
      // A packet comes out exactly when its last byte arrives, not before.
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(i + 1);
    }
    expect(out.map(plain)).toStrictEqual(PACKETS);
  });

  it('push and next work apart: next() is undefined until a packet is whole', () => {
    const decoder = new Decoder();
    const bytes = encode({ cmd: 'puback', packetId: 5 });
    decoder.push(bytes.subarray(0, 3));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.next()).toBeUndefined(); // asking again changes nothing
    decoder.push(bytes.subarray(3));
    expect(decoder.next()).toEqual({ cmd: 'puback', packetId: 5 });
    expect(decoder.next()).toBeUndefined();
  });

  it('keeps every copied payload intact across decoders and slabs (split packets are copied, never overwritten)', () => {
    // Two decoders take turns with packets split across chunks, so both copy into the shared area;
    // 200 packets of ~1 KiB fill several slabs. Every payload must still hold its own bytes at the end.
    const decoders = [new Decoder(), new Decoder()];
    const kept: { packet: Packet; fill: number }[] = [];
    for (let i = 0; i < 200; i++) {
      const fill = i % 251;
      const bytes = encode({ cmd: 'publish', topic: 't', payload: new Uint8Array(1000 + i).fill(fill), qos: 0, retain: false, dup: false });
      const d = decoders[i % 2];
      expect(d!.feed(bytes.subarray(0, 500))).toEqual([]);
      const out = d!.feed(bytes.subarray(500));
      expect(out).toHaveLength(1);
      kept.push({ packet: out[0]!, fill });
    }
    for (const [i, { packet, fill }] of kept.entries()) {
      const payload = (packet as { payload: Uint8Array }).payload;
      expect(payload.length).toBe(1000 + i);
      expect(payload.every((b) => b === fill)).toBe(true);
    }
  });

  it('ignores empty chunks', () => {
    const decoder = new Decoder();
    expect(decoder.feed(new Uint8Array(0))).toEqual([]);
    expect(decoder.feed(Uint8Array.of(0xc0, 0x00))).toEqual([{ cmd: 'pingreq' }]);
  });
});

/** A QoS 0 PUBLISH to "big" whose payload is `size` bytes counting up from `seed` (mod 256). */
function bigPublish(size: number, seed = 0): Packet {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (seed + i) & 0xff;
  return { cmd: 'publish', topic: 'big', payload, qos: 0, retain: false, dup: false };
}

/**
 * Whether the decoded packets are `expected`, payloads compared as bytes in one go (element by
 * element comparison of hundreds of KiB is slow).
 */
function expectPackets(actual: Packet[], expected: Packet[]): void {
  const payloadless = (p: Packet) => (p.cmd === 'publish' ? { ...p, payload: p.payload.length } : p);
  expect(actual.map(payloadless)).toStrictEqual(expected.map(payloadless));
  for (const [i, p] of expected.entries()) {
    if (p.cmd === 'publish') expect(Buffer.compare((actual[i] as typeof p).payload, p.payload)).toBe(0);
  }
}

/** `bytes` cut into chunks of `size` bytes, as a socket might hand them over. */
const cut = (bytes: Uint8Array, size: number) => {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
};

describe('frames that span chunks', () => {
  it('assembles 64 KiB and 300 KiB PUBLISHes from 1460-byte chunks, payloads intact, counting every held byte', () => {
    // 300 KiB is past the size whose buffer is reserved from the header alone, so that frame is
    // queued until half of it has arrived, then assembled.
    const packets = [bigPublish(65_536, 1), bigPublish(300 * 1024, 2), { cmd: 'pingreq' } as const];
    const stream = Buffer.concat(packets.map((p) => encode(p)));
    const decoder = new Decoder();
    const out: Packet[] = [];
    let pushed = 0;
    for (const chunk of cut(stream, 1460)) {
      out.push(...decoder.feed(chunk));
      pushed += chunk.length;
      // Every byte pushed is either in a returned packet or still held.
      expect(decoder.offset + decoder.bufferedBytes).toBe(pushed);
    }
    expect(decoder.bufferedBytes).toBe(0);
    expectPackets(out, packets);
  });

  it('decodes a big frame whose chunks were all pushed before next() was called', () => {
    const packets = [bigPublish(200 * 1024, 3), bigPublish(10_000, 4)];
    const decoder = new Decoder();
    for (const chunk of cut(Buffer.concat(packets.map((p) => encode(p))), 1000)) decoder.push(chunk);
    const out: Packet[] = [];
    for (let p = decoder.next(); p !== undefined; p = decoder.next()) out.push(p);
    expectPackets(out, packets);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('returns the whole packets that follow an assembled frame in its last chunk, and keeps the partial one', () => {
    const big = encode(bigPublish(10_000, 5));
    const acks = encode({ cmd: 'puback', packetId: 9 });
    const decoder = new Decoder();
    expect(decoder.feed(big.subarray(0, 4000))).toEqual([]);
    // The tail of the big frame, two PUBACKs and the first byte of a third, in one chunk.
    const out = decoder.feed(Buffer.concat([big.subarray(4000), acks, acks, acks.subarray(0, 1)]));
    expectPackets(out, [bigPublish(10_000, 5), { cmd: 'puback', packetId: 9 }, { cmd: 'puback', packetId: 9 }]);
    expect(decoder.bufferedBytes).toBe(1);
    expect(decoder.feed(acks.subarray(1))).toEqual([{ cmd: 'puback', packetId: 9 }]);
  });

  it('copies an assembled frame out of the chunks: overwriting them afterwards changes no payload', () => {
    const bytes = Buffer.from(encode(bigPublish(20_000, 6)));
    const decoder = new Decoder();
    const chunks = cut(bytes, 1460);
    const out = chunks.flatMap((c) => decoder.feed(c));
    bytes.fill(0);
    expectPackets(out, [bigPublish(20_000, 6)]);
  });

  it('reports the stream offset of a malformed field inside an assembled frame', () => {
    // After a PINGREQ (2 bytes), a 5,000-byte SUBSCRIBE whose requested QoS byte is 3.
    const filter = 'f'.repeat(4990);
    const subscribe = Buffer.from(encode({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: filter, qos: 0 }] }));
    const qosAt = subscribe.length - 1;
    subscribe[qosAt] = 3;
    const stream = Buffer.concat([encode({ cmd: 'pingreq' }), subscribe]);
    const decoder = new Decoder();
    const err = thrown(() => {
      for (const chunk of cut(stream, 1460)) decoder.feed(chunk);
    });
    expect([err.code, err.rule, err.offset]).toEqual(['INVALID_QOS', 'MQTT-3.8.3-4', 2 + qosAt]);
    expect(decoder.bufferedBytes).toBe(0);
  });
});

/** A QoS 0 PUBLISH to topic "a" whose Remaining Length is `n` (n >= 3). */
const publishOfRemaining = (n: number): Packet => ({
  cmd: 'publish',
  topic: 'a',
  payload: new Uint8Array(n - 3),
  qos: 0,
  retain: false,
  dup: false,
});

describe('Remaining Length boundaries (spec 2.2.3, table 2.4)', () => {
  const cases: [number, number[]][] = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16_383, [0xff, 0x7f]],
    [16_384, [0x80, 0x80, 0x01]],
    [2_097_151, [0xff, 0xff, 0x7f]],
    [2_097_152, [0x80, 0x80, 0x80, 0x01]],
  ];

  it.each(cases)('Remaining Length %i is encoded as %j and decodes back', (n, varint) => {
    const packet = n === 0 ? ({ cmd: 'pingreq' } as const) : publishOfRemaining(n);
    const bytes = encode(packet);
    expect([...bytes.subarray(1, 1 + varint.length)]).toEqual(varint);
    expect(bytes.length).toBe(1 + varint.length + n);
    expect(encodedLength(packet)).toBe(bytes.length);
    const decoded = decode(bytes);
    expect(decoded.cmd).toBe(packet.cmd);
    if (decoded.cmd === 'publish') expect(decoded.payload.length).toBe(n - 3);
  });

  it('Remaining Length 268,435,455 (the maximum) is 0xFF 0xFF 0xFF 0x7F; the decoder frames it without the body', () => {
    const header = new Uint8Array(5);
    expect(writeFixedHeader(header, 0, 0x30, 268_435_455)).toBe(5);
    expect([...header]).toEqual([0x30, 0xff, 0xff, 0xff, 0x7f]);
    // With the default limit (the protocol maximum) the header is accepted and the decoder waits.
    const decoder = new Decoder();
    expect(decoder.feed(header)).toEqual([]);
    expect(decoder.error).toBeUndefined();
    // With a smaller limit it is refused from the header alone, before any body byte arrives.
    const limited = new Decoder({ maxPacketSize: 268_435_459 });
    const err = thrown(() => limited.feed(header));
    expect(err.code).toBe('PACKET_TOO_LARGE');
  });

  it('encodedLength handles the maximum Remaining Length; one byte more is PACKET_TOO_LONG', () => {
    // A zero-filled typed array of this size is not written to, so its pages are never touched.
    const payload = new Uint8Array(268_435_455 - 3);
    const max = { cmd: 'publish', topic: 'a', payload, qos: 0, retain: false, dup: false } as const;
    expect(encodedLength(max)).toBe(268_435_460);
    const over = { ...max, topic: 'ab' };
    expect(thrown(() => encodedLength(over)).code).toBe('PACKET_TOO_LONG');
    expect(thrown(() => encode(over)).code).toBe('PACKET_TOO_LONG');
  });

  it('a fifth Remaining Length byte is MALFORMED_REMAINING_LENGTH, found without waiting for more bytes', () => {
    for (const bytes of [[0x30, 0x80, 0x80, 0x80, 0x80], [0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]]) {
      const err = thrown(() => new Decoder().feed(Uint8Array.from(bytes)));
      expect(err.code).toBe('MALFORMED_REMAINING_LENGTH');
      expect(err.offset).toBe(4);
      expect(thrown(() => decode(Uint8Array.from(bytes))).code).toBe('MALFORMED_REMAINING_LENGTH');
    }
  });

  it('accepts a non-minimal Remaining Length, which the spec algorithm decodes to its value', () => {
    expect(decode(Uint8Array.of(0xc0, 0x80, 0x00))).toEqual({ cmd: 'pingreq' });
  });
});

describe('maxPacketSize', () => {
  const packet = publishOfRemaining(98); // 100 bytes in all
  const bytes = encode(packet);

  it('accepts a packet of exactly maxPacketSize bytes', () => {
    expect(bytes.length).toBe(100);
    expect(new Decoder({ maxPacketSize: 100 }).feed(bytes)).toHaveLength(1);
  });

  it('refuses a bigger packet with PACKET_TOO_LARGE as soon as its length is known, before the body', () => {
    const decoder = new Decoder({ maxPacketSize: 99 });
    const err = thrown(() => decoder.feed(bytes.subarray(0, 2))); // type byte + length only
    expect(err.code).toBe('PACKET_TOO_LARGE');
    expect(err.action).toBe('close');
    expect(err.offset).toBe(1);
  });

  it('refuses a 256 MB claim from its 5 header bytes, so nothing is buffered for it', () => {
    const decoder = new Decoder({ maxPacketSize: 1024 });
    expect(thrown(() => decoder.feed(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0x7f))).code).toBe('PACKET_TOO_LARGE');
  });

  it('rejects a maxPacketSize that is not an integer 2..268,435,460', () => {
    for (const maxPacketSize of [0, 1, 1.5, 268_435_461, Number.NaN]) {
      expect(() => new Decoder({ maxPacketSize })).toThrow(expect.objectContaining({ name: 'MqttError', code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('errors stick', () => {
  it('once errored, next, push and feed throw the same error, and error holds it', () => {
    const decoder = new Decoder();
    const good = encode({ cmd: 'pingresp' });
    const err = thrown(() => decoder.feed(Buffer.from([...good, 0x41, 0x02, 0x00, 0x01]))); // PUBACK with flags 0001
    expect(err.code).toBe('INVALID_HEADER_FLAGS');
    expect(err.offset).toBe(2); // the stream offset of the bad packet's first byte
    expect(decoder.error).toBe(err);
    expect(() => decoder.next()).toThrow(err);
    expect(() => decoder.push(good)).toThrow(err);
    expect(() => decoder.feed(good)).toThrow(err);
    expect(decoder.bufferedBytes).toBe(0); // the buffered bytes were let go
  });

  it('reports stream offsets across packets and chunks', () => {
    const decoder = new Decoder();
    const ok = encode({ cmd: 'puback', packetId: 1 });
    decoder.feed(ok);
    decoder.feed(ok.subarray(0, 2));
    // Packet id 0 in the second PUBACK: the identifier starts at stream offset 6.
    const err = thrown(() => decoder.feed(Uint8Array.of(0x00, 0x00)));
    expect([err.code, err.rule, err.offset]).toEqual(['INVALID_PACKET_ID', 'MQTT-2.3.1-1', 6]);
  });

  it('checks the first byte before the Remaining Length arrives', () => {
    const err = thrown(() => new Decoder().feed(Uint8Array.of(0xf0)));
    expect([err.code, err.offset]).toEqual(['INVALID_PACKET_TYPE', 0]);
  });

  it('push refuses anything but a Uint8Array with INVALID_ARGUMENT', () => {
    expect(() => new Decoder().push('abc' as unknown as Uint8Array)).toThrow(expect.objectContaining({ name: 'MqttError', code: 'INVALID_ARGUMENT' }));
  });
});

describe('restart', () => {
  const ping = encode({ cmd: 'pingreq' });

  it('an idle decoder restarts at the given stream offset and protocol version', () => {
    const decoder = new Decoder();
    expect(decoder.feed(ping).map(plain)).toEqual([{ cmd: 'pingreq' }]);
    decoder.restart(3, 100);
    expect([decoder.offset, decoder.protocolVersion]).toEqual([100, 3]);
    decoder.restart(4, 100);
    expect(decoder.feed(ping).map(plain)).toEqual([{ cmd: 'pingreq' }]);
    expect(decoder.offset).toBe(102);
    // A reserved flag bit in the next fixed header: the error names the offset in the restarted stream.
    const err = thrown(() => decoder.feed(Uint8Array.of(0xc1, 0x00)));
    expect([err.code, err.offset]).toEqual(['INVALID_HEADER_FLAGS', 102]);
  });

  it('refuses to restart while bytes of a packet are held, and after an error', () => {
    const decoder = new Decoder();
    decoder.push(ping.subarray(0, 1));
    expect(thrown(() => decoder.restart(4, 0)).code).toBe('INVALID_ARGUMENT');
    const failed = new Decoder();
    expect(() => failed.feed(Uint8Array.of(0x00, 0x00))).toThrow();
    expect(thrown(() => failed.restart(4, 0)).code).toBe('INVALID_ARGUMENT');
  });
});
