/**
 * Properties checked with fast-check over generated packets and bytes. A failure prints the seed
 * and path to replay it (`fc.assert(..., { seed, path })`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decoder, decode, encode, encodedLength, encodeInto, isMqttError, type Packet } from '../../src/codec/index.js';
import { anyPacket, edgyStringPacket, oddPublish, packetByType, packetByType31, packetStream, packetStream31, plain } from './arbitraries.js';
import type { ProtocolVersion } from '../../src/codec/index.js';

const RUNS = 300;

const concat = (packets: Packet[], protocolVersion: ProtocolVersion = 4) => Buffer.concat(packets.map((p) => encode(p, { protocolVersion })));

/** Splits `bytes` at the given cut points (taken modulo its length), in order. */
function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/**
 * Feeds `chunks` into a decoder with a small size limit. Returns the packets, or the MqttError;
 * anything else thrown fails the property. The loop is bounded: each `next()` either consumes a
 * packet or returns undefined.
 */
function decodeAll(chunks: Uint8Array[], protocolVersion: ProtocolVersion = 4): { packets: Packet[]; error?: unknown } {
  const decoder = new Decoder({ maxPacketSize: 512, protocolVersion });
  const packets: Packet[] = [];
  try {
    for (const chunk of chunks) packets.push(...decoder.feed(chunk));
  } catch (error) {
    if (!isMqttError(error)) throw error;
    expect(decoder.error).toBe(error);
    expect(typeof error.offset).toBe('number');
    return { packets, error };
  }
  return { packets };
}

describe('properties', () => {
  it.each(Object.keys(packetByType))('decode(encode(p)) equals p for %s packets', (cmd) => {
    fc.assert(
      fc.property(packetByType[cmd as Packet['cmd']], (p) => {
        expect(plain(decode(encode(p)))).toStrictEqual(plain(p));
      }),
      { numRuns: 100 },
    );
  });

  it('encodedLength(p) === encode(p).length', () => {
    fc.assert(
      fc.property(anyPacket, (p) => {
        expect(encodedLength(p)).toBe(encode(p).length);
      }),
      { numRuns: RUNS },
    );
  });

  /** What a call did: its result, or the code and rule of the MqttError it threw. */
  const outcome = <T>(fn: () => T) => {
    try {
      return { result: fn() };
    } catch (error) {
      if (!isMqttError(error)) throw error;
      return { code: error.code, rule: error.rule };
    }
  };

  it('encode gives the same outcome again once the topic-name memo knows the topic', () => {
    // The first encode of a PUBLISH remembers its topic if valid (topic-cache.ts); the second may
    // skip checking it, and must give the same bytes or the same error.
    fc.assert(
      fc.property(fc.oneof(anyPacket, edgyStringPacket, oddPublish), (p) => {
        const first = outcome(() => [...encode(p)]);
        expect(outcome(() => [...encode(p)])).toStrictEqual(first);
      }),
      { numRuns: 2000 },
    );
  });

  it('encodeInto writes what encode returns at the offset, or throws what it throws and writes nothing', () => {
    // Targets are sized around the packet, some too small, at various offsets (some invalid).
    // Cases run in sequence, each twice in a row, so that the second may meet a remembered topic.
    const SENTINEL = 0xa5;
    const sized = (p: Packet) => outcome(() => encodedLength(p)).result ?? 24;
    const testCase = fc.record({
      packet: fc.oneof(anyPacket, edgyStringPacket, oddPublish),
      offset: fc.oneof({ weight: 8, arbitrary: fc.nat(6) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, NaN) }),
      slack: fc.integer({ min: -4, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(testCase, { minLength: 1, maxLength: 6 }), (cases) => {
        for (const { packet, offset, slack } of cases.flatMap((c) => [c, c])) {
          const length = Math.max(0, sized(packet) + (Number.isInteger(offset) ? offset : 0) + slack);
          const target = new Uint8Array(length).fill(SENTINEL);
          const written = outcome(() => encodeInto(packet, target, offset));
          const encoded = outcome(() => [...encode(packet)]);
          if (written.result === undefined) {
            expect(target.every((b) => b === SENTINEL)).toBe(true);
            if (written.code === 'BUFFER_TOO_SMALL') expect(encoded.result).toBeDefined();
            else expect(written).toStrictEqual(encoded);
          } else {
            expect([...target.subarray(offset, offset + written.result)]).toStrictEqual(encoded.result);
            expect(target.subarray(0, offset).every((b) => b === SENTINEL)).toBe(true);
            expect(target.subarray(offset + written.result).every((b) => b === SENTINEL)).toBe(true);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('any chunking of a stream yields the same packets', () => {
    fc.assert(
      fc.property(packetStream, fc.array(fc.nat(), { maxLength: 12 }), (packets, cuts) => {
        const stream = concat(packets);
        const { packets: out, error } = decodeAll(splitAt(stream, cuts));
        expect(error).toBeUndefined();
        expect(out.map(plain)).toStrictEqual(packets.map(plain));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes only ever yield packets or an MqttError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        decodeAll(splitAt(bytes, cuts));
      }),
      { numRuns: 1000 },
    );
  });

  it('mutated valid streams only ever yield packets or an MqttError, and re-encode to what was decoded', () => {
    const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(packetStream, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), (packets, mutations, cuts) => {
        const stream = Buffer.from(concat(packets));
        for (const { at, value } of mutations) stream[at % stream.length] = value;
        const { packets: out } = decodeAll(splitAt(stream, cuts));
        // Whatever the decoder accepted is a valid packet: the encoder takes it and it round-trips.
        for (const p of out) expect(plain(decode(encode(p)))).toStrictEqual(plain(p));
      }),
      { numRuns: RUNS },
    );
  });

  it('a truncated stream yields the whole packets and waits for the rest, without error', () => {
    fc.assert(
      fc.property(packetStream, fc.nat(), (packets, cut) => {
        const stream = concat(packets);
        const end = cut % stream.length;
        const decoder = new Decoder();
        const out = decoder.feed(stream.subarray(0, end));
        expect(out.map(plain)).toStrictEqual(packets.slice(0, out.length).map(plain));
        expect(decoder.offset + decoder.bufferedBytes).toBe(end);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('properties on an MQTT 3.1 connection (protocol version 3)', () => {
  const v3 = { protocolVersion: 3 } as const;

  it.each(Object.keys(packetByType31))('decode(encode(p)) equals p for %s packets', (cmd) => {
    fc.assert(
      fc.property(packetByType31[cmd as Packet['cmd']], (p) => {
        expect(plain(decode(encode(p, v3), v3))).toStrictEqual(plain(p));
        expect(encodedLength(p, v3)).toBe(encode(p, v3).length);
      }),
      { numRuns: 100 },
    );
  });

  it('any chunking of a 3.1 stream yields the same packets', () => {
    fc.assert(
      fc.property(packetStream31, fc.array(fc.nat(), { maxLength: 12 }), (packets, cuts) => {
        const { packets: out, error } = decodeAll(splitAt(concat(packets, 3), cuts), 3);
        expect(error).toBeUndefined();
        expect(out.map(plain)).toStrictEqual(packets.map(plain));
      }),
      { numRuns: RUNS },
    );
  });

  it('a server decoder takes the version of the CONNECT: a 3.1 CONNECT, then 3.1 packets', () => {
    fc.assert(
      fc.property(packetByType31.connect, packetStream31, fc.array(fc.nat(), { maxLength: 12 }), (connect, packets, cuts) => {
        const { packets: out, error } = decodeAll(splitAt(concat([connect, ...packets], 3), cuts));
        expect(error).toBeUndefined();
        expect(out.map(plain)).toStrictEqual([connect, ...packets].map(plain));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes only ever yield packets or an MqttError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        for (const { packets } of [decodeAll(splitAt(bytes, cuts), 3)]) {
          for (const p of packets) expect(plain(decode(encode(p, v3), v3))).toStrictEqual(plain(p));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
