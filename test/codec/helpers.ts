/**
 * Helpers the codec tests share: catching the `MqttError` a call throws, checking that the decoder
 * refuses bytes alike whether they arrive whole or one at a time, and building bytes by hand.
 */
import { expect } from 'vitest';
import { decode, Decoder, encode, MqttError, type Packet } from '../../src/codec/index.js';

/** The `MqttError` that `fn` throws; fails the test if it throws anything else, or nothing. */
export function thrown(fn: () => unknown): MqttError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MqttError);
    return err as MqttError;
  }
  throw new Error('expected an MqttError, nothing was thrown');
}

/**
 * The error `decode` throws for `input`. A `Decoder` fed the same bytes one at a time must throw
 * the same error (code, rule and stream offset), and keep it as its `error`.
 */
export function decodeError(input: Uint8Array | number[]): MqttError {
  const bytes = Uint8Array.from(input);
  const whole = thrown(() => decode(bytes));
  const decoder = new Decoder();
  const streamed = thrown(() => {
    for (const byte of bytes) decoder.feed(Uint8Array.of(byte));
  });
  expect([streamed.code, streamed.rule, streamed.offset]).toEqual([whole.code, whole.rule, whole.offset]);
  expect(decoder.error).toBe(streamed);
  return whole;
}

/** The error `encode` throws for `packet` (an object the types may not allow). */
export const encodeError = (packet: unknown): MqttError => thrown(() => encode(packet as Packet));

/** The character codes of `s`, one byte each: for ASCII text in hand-built packets. */
export const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** The UTF-8 bytes of `s`. */
export const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];

/** A UTF-8 string field (spec 1.5.3): 2-byte big-endian length, then the UTF-8 bytes of `s`. */
export const stringField = (s: string): number[] => {
  const b = utf8(s);
  return [b.length >> 8, b.length & 0xff, ...b];
};
