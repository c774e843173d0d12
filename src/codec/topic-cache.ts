/**
 * The one memo of valid topic names, shared by `validateTopicName` (which the client calls for
 * every publish) and `encodeInto`'s PUBLISH fast path (fast-path.ts). Applications publish to a
 * few topics over and over; a string cannot change, so a name found valid once stays valid, and
 * a repeated one costs a lookup instead of a scan. It maps each name to its UTF-8 byte length.
 * Bounded: emptied when full, so a client publishing to ever new topics holds at most this many.
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
