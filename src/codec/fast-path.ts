/**
 * The encoder's fast paths, in one place. Both give the same bytes and the same errors as the
 * checked path in encode.ts (the property tests in test/codec/properties.test.ts hold them to it);
 * they only skip work the common case does not need.
 *
 * - **One pass** (`encodeOnePass`, for `encode`): most packets carry only plain ASCII strings,
 *   which take one byte per character. So each string is measured by its length alone, the bytes
 *   are allocated, and each character is checked as it is copied: every character is read once,
 *   not twice, and reading characters is most of the cost of encoding a small packet. The packet
 *   modules take this mode as their `ascii` argument; their ASCII writers return `NOT_ASCII` when a
 *   string turns out not to be plain ASCII, and this path then gives up.
 * - **Known topic** (`encodePublishInto`, for `encodeInto`): a PUBLISH whose topic is known to be
 *   a valid topic name (the memo in topic-cache.ts, shared with `validateTopicName`) or is a plain
 *   ASCII one is sized from the memo and written directly; the topic is not scanned again.
 *
 * Anything these paths do not handle goes to the checked path, which measures every field exactly
 * and throws the first problem in field order.
 * @internal
 */
import { allocBytes } from './bytes.js';
import { MAX_REMAINING_LENGTH, packetSize, writeFixedHeader } from './header.js';
import { packetTypeOf, PUBLISH, type PacketType } from './packet-types.js';
import type { Packet, PublishPacket } from './packets.js';
import { publishLengthWithTopic, writePublish } from './publish.js';
import { knownTopicNameBytes, rememberTopicName } from './topic-cache.js';
import { isAsciiTopicName } from './topic.js';
import { MAX_STRING_BYTES } from './utf8.js';
import type { ProtocolVersion } from './version.js';

/**
 * The largest Remaining Length the one-pass path takes on. A bigger packet gains nothing there
 * (its cost is copying its payload), and a try that fails would waste a big allocation; up to
 * about 4 KiB, Node hands out allocations from its pool, so a wasted one costs little.
 */
const ONE_PASS_MAX_LENGTH = 4096;

/**
 * `encode` in one pass, or `undefined` for anything else: a non-ASCII character (2-4 bytes), a
 * U+0000, a misplaced wildcard, a packet over `ONE_PASS_MAX_LENGTH`, any error at all.
 */
export function encodeOnePass(p: Packet, version: ProtocolVersion): Uint8Array | undefined {
  let t: PacketType;
  let remaining: number;
  try {
    t = packetTypeOf(p);
    remaining = t.length(p, true, version);
  } catch {
    // Strings are not checked in this mode, so the first error here need not be the first in
    // field order: the checked path finds that one.
    return undefined;
  }
  // A string this path cannot handle measures Infinity (see `asciiLength`).
  if (!(remaining <= ONE_PASS_MAX_LENGTH)) return undefined;
  const size = packetSize(remaining);
  const buf = allocBytes(size);
  return t.write(p, buf, writeFixedHeader(buf, 0, t.firstByte(p), remaining), true) === size ? buf : undefined;
}

/** The UTF-8 bytes of `topic` if it is known valid or a plain ASCII topic name, else `undefined`. */
function topicNameBytes(topic: string): number | undefined {
  const known = knownTopicNameBytes(topic);
  if (known !== undefined) return known;
  // [MQTT-4.7.3-1] not empty; [MQTT-4.7.3-3] at most 65,535 bytes; isAsciiTopicName does the rest.
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_STRING_BYTES || !isAsciiTopicName(topic)) {
    return undefined;
  }
  rememberTopicName(topic, topic.length);
  return topic.length;
}

/**
 * `encodeInto` for a PUBLISH with a known or plain ASCII topic name: returns the bytes written,
 * or 0, having written nothing, when the checked path must take it (another topic, a packet that
 * is too long or does not fit). Its other fields are checked as on the checked path, in the same
 * order; the topic, which the checked path checks first, is valid, so the first error thrown here
 * is the one the checked path would throw. Everything is checked before a byte is written, so an
 * error leaves `buf` untouched.
 */
export function encodePublishInto(p: PublishPacket, buf: Uint8Array, offset: number): number {
  const topicBytes = topicNameBytes(p.topic);
  if (topicBytes === undefined) return 0;
  const remaining = publishLengthWithTopic(p, topicBytes);
  if (remaining > MAX_REMAINING_LENGTH) return 0;
  const size = packetSize(remaining);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > buf.length) return 0;
  writePublish(p, buf, writeFixedHeader(buf, offset, PUBLISH.firstByte(p), remaining), false);
  return size;
}
