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

/** The last plain ASCII topic name a stream carried (see the top of this file). @internal */
export class RecentTopicName {
  private name = '';

  /** The remembered name if `buf[start, start + len)` holds exactly its characters, else `undefined`. */
  match(buf: Uint8Array, start: number, len: number): string | undefined {
    const name = this.name;
    if (len !== name.length) return undefined;
    // An ASCII character's code is its byte, so comparing codes with bytes compares the encodings.
    for (let i = 0; i < len; i++) if (buf[start + i] !== name.charCodeAt(i)) return undefined;
    return name;
  }

  /** Remembers `name`, a valid topic name of plain ASCII characters (0x01-0x7f), not empty. */
  remember(name: string): string {
    this.name = name;
    return name;
  }
}
