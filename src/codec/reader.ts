/**
 * A reader over exactly one packet's bytes after its fixed header. Every read checks the frame's
 * end, so a field that claims more bytes than the packet has is an `INVALID_LENGTH` error, never a
 * read into the next packet. Errors carry the stream offset of the field being read.
 */
import { EMPTY_BYTES, viewBytes } from './bytes.js';
import { MqttError, type MqttErrorCode } from './errors.js';
import { HASH, PLUS, topicByteLength } from './topic.js';
import { RecentTopicName } from './topic-cache.js';
import { asciiString, utf8String } from './utf8.js';
import type { ProtocolVersion } from './version.js';

/**
 * Byte classes for scanning a topic name in one branch-free pass: bit 0 marks a byte a topic name
 * must not hold (U+0000, `+`, `#`), bit 7 a byte of a multi-byte UTF-8 sequence.
 */
const TOPIC_BYTE_CLASS = new Uint8Array(256);
TOPIC_BYTE_CLASS[0] = 1;
TOPIC_BYTE_CLASS[PLUS] = 1;
TOPIC_BYTE_CLASS[HASH] = 1;
TOPIC_BYTE_CLASS.fill(0x80, 0x80);

/** Byte classes for any string: bit 0 marks U+0000, bit 7 a byte of a multi-byte sequence. */
const STRING_BYTE_CLASS = new Uint8Array(256);
STRING_BYTE_CLASS[0] = 1;
STRING_BYTE_CLASS.fill(0x80, 0x80);

/** Reads the fields of one frame; the decoder reuses one instance. @internal */
export class FrameReader {
  /** The bytes holding the frame (a caller's chunk, or a copy when the frame spanned chunks). */
  buf: Uint8Array = EMPTY_BYTES;
  /** Next byte to read. */
  pos = 0;
  /** One past the frame's last byte. */
  end = 0;
  /** Stream offset of `buf[0]`, so that `base + pos` is the stream offset of `pos`. */
  base = 0;
  /** The protocol version whose rules apply: set by the decoder's option, then by a decoded CONNECT. */
  version: ProtocolVersion = 4;
  /** The last plain ASCII topic name read (see `topicName`). */
  private readonly recentTopic = new RecentTopicName();

  /** Points the reader at `buf[pos, end)`, whose first byte sits at `streamOffset` in the stream. */
  reset(buf: Uint8Array, pos: number, end: number, streamOffset: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.base = streamOffset - pos;
  }

  /** Bytes left in the frame. */
  remaining(): number {
    return this.end - this.pos;
  }

  /** Throws an `MqttError` located at stream offset `base + at`. */
  fail(code: MqttErrorCode, message: string, rule?: string, at: number = this.pos, returnCode?: number): never {
    throw new MqttError(code, message, { rule, offset: this.base + at, returnCode });
  }

  /** Throws `INVALID_LENGTH` unless `n` more bytes are in the frame. */
  need(n: number, what: string, rule?: string): void {
    if (this.pos + n > this.end) {
      this.fail('INVALID_LENGTH', `${what} needs ${n} bytes but the packet has ${this.end - this.pos} left`, rule);
    }
  }

  /** One byte; `what` names the field and `rule` is cited if the frame ends first. */
  u8(what: string, rule?: string): number {
    this.need(1, what, rule);
    return this.buf[this.pos++]!; // need(1) checked the byte is in the frame
  }

  /** A 16-bit big-endian integer (spec 1.5.2). */
  u16(what: string, rule?: string): number {
    this.need(2, what, rule);
    // need(2) checked both bytes are in the frame.
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  /** A packet identifier: 16 bits, never 0 [MQTT-2.3.1-1]. */
  packetId(): number {
    const id = this.u16('packet identifier');
    if (id === 0) this.fail('INVALID_PACKET_ID', 'packet identifier is 0', 'MQTT-2.3.1-1', this.pos - 2);
    return id;
  }

  /**
   * A UTF-8 string (spec 1.5.3). `rule` is cited when the field runs past the frame's end.
   * [MQTT-1.5.3-1] ill-formed UTF-8 or an encoded surrogate is refused; [MQTT-1.5.3-2] so is U+0000;
   * [MQTT-1.5.3-3] U+FEFF is kept as it is.
   */
  string(what: string, rule?: string, nullRule = 'MQTT-1.5.3-2'): string {
    const len = this.u16(what, rule);
    this.need(len, what, rule);
    const { buf } = this;
    const start = this.pos;
    const end = start + len;
    let classes = 0;
    // i < end <= buf.length (need(len) above); a byte indexes a 256-entry table.
    for (let i = start; i < end; i++) classes |= STRING_BYTE_CLASS[buf[i]!]!;
    if ((classes & 1) !== 0) {
      // In UTF-8 a byte below 0x80 is always that ASCII character, so 0x00 is U+0000.
      this.fail('NULL_CHARACTER', `${what} contains U+0000`, nullRule, buf.indexOf(0, start));
    }
    this.pos = end;
    return classes === 0 ? asciiString(buf, start, end) : this.utf8(start, end, what);
  }

  /**
   * A topic name (spec 4.7): a string with no wildcard (`wildcardRule`), no U+0000, not empty.
   * Scans the bytes once; `+` and `#` are single bytes in UTF-8, so no decoding is needed to find them.
   * Bytes equal to the last topic name the stream carried are that name again (topic-cache.ts).
   */
  topicName(wildcardRule: string, rule?: string): string {
    const len = this.u16('topic name', rule);
    this.need(len, 'topic name', rule);
    const { buf } = this;
    const start = this.pos;
    const end = start + len;
    // [MQTT-4.7.3-1] a topic name is at least one character long.
    if (len === 0) this.fail('INVALID_TOPIC', 'topic name is empty', 'MQTT-4.7.3-1', start - 2);
    const recent = this.recentTopic.match(buf, start, len);
    if (recent !== undefined) {
      this.pos = end;
      return recent;
    }
    let classes = 0;
    // i < end <= buf.length (need(len) above); a byte indexes a 256-entry table.
    for (let i = start; i < end; i++) classes |= TOPIC_BYTE_CLASS[buf[i]!]!;
    if ((classes & 1) !== 0) this.badTopicByte(start, end, wildcardRule);
    this.pos = end;
    if (classes !== 0) return this.utf8(start, end, 'topic name');
    return this.recentTopic.remember(asciiString(buf, start, end));
  }

  /** A topic filter (spec 4.7.1): a string with well-placed wildcards, no U+0000, not empty. */
  topicFilter(): string {
    const at = this.pos;
    const filter = this.string('topic filter', undefined, 'MQTT-4.7.3-2');
    // Wire strings cannot be over 65,535 bytes or hold surrogates, so only the filter rules can fail.
    topicByteLength(filter, true, 'MQTT-4.7.1-1', this.base + at);
    return filter;
  }

  /** A binary field: 2-byte length, then that many bytes, returned as a view (no copy). */
  binary(what: string, rule?: string): Uint8Array {
    const len = this.u16(what, rule);
    this.need(len, what, rule);
    const start = this.pos;
    this.pos = start + len;
    return viewBytes(this.buf, start, this.pos);
  }

  /** The rest of the frame as a view (no copy). */
  rest(): Uint8Array {
    const start = this.pos;
    this.pos = this.end;
    return viewBytes(this.buf, start, this.end);
  }

  /** Finds and reports the first byte a topic name must not hold. */
  private badTopicByte(start: number, end: number, wildcardRule: string): never {
    let i = start;
    while (i < end && TOPIC_BYTE_CLASS[this.buf[i]!] !== 1) i++; // i < end: in the frame
    // [MQTT-4.7.3-2] no U+0000; [MQTT-3.3.2-2] / [MQTT-4.7.1-1] no wildcard in a topic name.
    if (this.buf[i] === 0) this.fail('NULL_CHARACTER', 'topic name contains U+0000', 'MQTT-4.7.3-2', i);
    return this.fail('INVALID_TOPIC', 'topic name contains a wildcard', wildcardRule, i);
  }

  private utf8(start: number, end: number, what: string): string {
    const s = utf8String(this.buf, start, end);
    if (s === undefined) this.fail('INVALID_UTF8', `${what} is not well-formed UTF-8`, 'MQTT-1.5.3-1', start);
    return s;
  }
}
