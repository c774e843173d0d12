/**
 * UTF-8 encoded strings (spec 1.5.3): a 2-byte big-endian length, then at most 65,535 bytes of
 * well-formed UTF-8 with no U+0000.
 *
 * Encoding copies a plain ASCII string (the common case) in one pass, checking each character
 * as it goes; any other string is first checked in full, then written by the native encoder. The
 * checks refuse what cannot be sent: a lone surrogate (a JS string may hold one, UTF-8 cannot)
 * [MQTT-1.5.3-1] and U+0000 [MQTT-1.5.3-2]. Decoding takes a fast path for ASCII and otherwise uses a strict (`fatal`)
 * TextDecoder, which refuses ill-formed sequences, overlong forms and encoded surrogates.
 */
import type { BodyWriter } from './body-writer.js';
import { nativeAscii } from './bytes.js';
import { MqttError } from './errors.js';

/** The largest string or binary field: its length prefix is 16 bits (spec 1.5.3, 1.5.2). */
export const MAX_STRING_BYTES = 65_535;

const encoder = new TextEncoder();
// ignoreBOM: a leading EF BB BF is U+FEFF, an ordinary character that must be kept, not a
// byte-order mark to strip [MQTT-1.5.3-3].
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Writes `s` as a UTF-8 string field (2-byte length, then the bytes), checking it as it is copied:
 * `INVALID_UTF8` for a lone surrogate, `NULL_CHARACTER` for U+0000 and `STRING_TOO_LONG` past
 * 65,535 bytes. `field` names the field in messages.
 */
export function putString(w: BodyWriter, s: string, field: string): void {
  // Fast path, small enough to be inlined: ASCII without U+0000, each character read once.
  if (typeof s === 'string' && s.length <= MAX_STRING_BYTES) {
    const n = s.length;
    w.room(2 + n);
    const buf = w.buf;
    const start = w.pos + 2;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      // (c - 1) >>> 0 < 0x7f holds exactly for 0x01-0x7f: U+0000 wraps around to 2^32 - 1.
      if ((c - 1) >>> 0 >= 0x7f) break;
      buf[start + i] = c;
    }
    if (i === n) {
      buf[start - 2] = n >>> 8;
      buf[start - 1] = n & 0xff;
      w.pos = start + n;
      return;
    }
  }
  // Anything else: the full check (which throws every error), then the whole string again.
  putUtf8(w, s, checkedUtf8Length(s, field));
}

/** The full check of a string field: multi-byte characters, and every error. Returns its UTF-8 length. */
function checkedUtf8Length(s: string, field: string): number {
  if (typeof s !== 'string') {
    throw new MqttError('INVALID_PACKET', `${field} must be a string`);
  }
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      // [MQTT-1.5.3-2] U+0000 must not appear in a string.
      if (c === 0) throw new MqttError('NULL_CHARACTER', `${field} contains U+0000`, { rule: 'MQTT-1.5.3-2' });
    } else if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A surrogate pair is one code point of 4 bytes; a lone surrogate has no UTF-8 form.
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) throw loneSurrogate(field);
      bytes += 2; // 2 UTF-16 units already counted, 4 bytes in all
      i++;
    } else {
      bytes += 2;
    }
  }
  if (bytes > MAX_STRING_BYTES) {
    throw new MqttError('STRING_TOO_LONG', `${field} is ${bytes} bytes; the limit is ${MAX_STRING_BYTES}`);
  }
  return bytes;
}

/** The error for a lone surrogate in a JavaScript string [MQTT-1.5.3-1]. */
export function loneSurrogate(field: string): MqttError {
  return new MqttError('INVALID_UTF8', `${field} contains a lone surrogate, which has no UTF-8 form`, {
    rule: 'MQTT-1.5.3-1',
  });
}

/**
 * Writes `s`, already checked and found to be `bytes` bytes of UTF-8, as a string field. Plain
 * ASCII (as many bytes as characters) is copied by a loop; anything else goes through the encoder.
 */
export function putUtf8(w: BodyWriter, s: string, bytes: number): void {
  w.room(2 + bytes);
  const buf = w.buf;
  const start = w.pos + 2;
  buf[start - 2] = bytes >>> 8;
  buf[start - 1] = bytes & 0xff;
  if (bytes === s.length) for (let i = 0; i < bytes; i++) buf[start + i] = s.charCodeAt(i);
  else encoder.encodeInto(s, buf.subarray(start, start + bytes));
  w.pos = start + bytes;
}

/** Decodes `buf[start, end)`, which the caller has checked holds only bytes 0x01-0x7f. */
export function asciiString(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n > 4) {
    const native = nativeAscii(buf, start, end);
    if (native !== undefined) return native;
    if (n > 32) return strictDecoder.decode(buf.subarray(start, end));
  }
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!); // i < end <= buf.length
  return s;
}

/** Decodes `buf[start, end)` as strict UTF-8; `undefined` when the bytes are not well-formed. */
export function utf8String(buf: Uint8Array, start: number, end: number): string | undefined {
  try {
    return strictDecoder.decode(buf.subarray(start, end));
  } catch {
    return undefined;
  }
}
