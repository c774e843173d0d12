/**
 * The codec's memos of valid topic names, in one place. Applications publish to a few topics over
 * and over, so checking a topic name is mostly checking one seen a moment ago.
 *
 * - **By name**, for encoding: the names found valid by `validateTopicName` (which the client
 *   calls for every publish) or by encoding a PUBLISH, each with its UTF-8 byte length. A string
 *   cannot change, so a name found valid once stays valid, and a repeated one costs a lookup
 *   instead of a scan. Bounded: emptied when full, so a client publishing to ever new topics
 *   holds at most `MAX_NAMES`.
 * - **By bytes**, for decoding (`RecentTopicName`): each stream's last plain ASCII topic name.
 *   Bytes equal to it are that valid name again; comparing them costs less than scanning them
 *   and building a new string.
 * @internal
 */

const MAX_NAMES = 256;
const names = new Map<string, number>();
/** The name looked up or remembered last: a run of publishes to one topic skips even the lookup. */
let lastName = '';
let lastBytes = 0;

/** The UTF-8 byte length of `topic` if it is known to be a valid topic name, else `undefined`. */
export function knownTopicNameBytes(topic: string): number | undefined {
  if (topic === lastName && lastBytes !== 0) return lastBytes;
  const bytes = names.get(topic);
  if (bytes !== undefined) {
    lastName = topic;
    lastBytes = bytes;
  }
  return bytes;
}

/** Remembers that `topic`, of `bytes` UTF-8 bytes, is a valid topic name (spec 4.7). */
export function rememberTopicName(topic: string, bytes: number): void {
  if (names.size >= MAX_NAMES) names.clear();
  names.set(topic, bytes);
  lastName = topic;
  lastBytes = bytes;
}

/** The longest topic name a decoder remembers, so that it holds at most this many bytes for it. */
const MAX_RECENT_BYTES = 1024;

/** The last plain ASCII topic name a stream carried (see the top of this file). @internal */
export class RecentTopicName {
  private name = '';
  /** The name's bytes (its characters, all below 0x80), in the first `name.length` slots. */
  private bytes = new Uint8Array(64);

  /** The remembered name if `buf[start, start + len)` holds exactly its bytes, else `undefined`. */
  match(buf: Uint8Array, start: number, len: number): string | undefined {
    if (len !== this.name.length) return undefined;
    const bytes = this.bytes;
    for (let i = 0; i < len; i++) if (buf[start + i] !== bytes[i]) return undefined;
    return this.name;
  }

  /**
   * Remembers `name`, a valid topic name of plain ASCII characters (0x01-0x7f), not empty, unless
   * it is longer than `MAX_RECENT_BYTES`; returns it.
   */
  remember(name: string): string {
    const n = name.length;
    if (n > MAX_RECENT_BYTES) return name;
    if (n > this.bytes.length) this.bytes = new Uint8Array(MAX_RECENT_BYTES);
    for (let i = 0; i < n; i++) this.bytes[i] = name.charCodeAt(i);
    this.name = name;
    return name;
  }
}
