/**
 * UNSUBSCRIBE (spec 3.10): the client drops one or more subscriptions.
 *
 * ```
 *   fixed header   1010 0010, Remaining Length
 *   variable hdr   packet identifier (2 bytes)
 *   payload        one or more topic filters (UTF-8 strings), back to back
 * ```
 */
import { MqttError } from './errors.js';
import { checkPacketId, writeU16 } from './fields.js';
import type { UnsubscribePacket } from './packets.js';
import type { FrameReader } from './reader.js';
import { topicByteLength } from './topic.js';
import { writeString } from './utf8.js';

/** Checks `p` and returns its Remaining Length. */
export function unsubscribeLength(p: UnsubscribePacket): number {
  checkPacketId(p.packetId);
  const filters = p.topicFilters;
  // [MQTT-3.10.3-2] at least one topic filter.
  if (!Array.isArray(filters) || filters.length === 0) {
    throw new MqttError('EMPTY_SUBSCRIPTION_LIST', 'UNSUBSCRIBE without a topic filter', { rule: 'MQTT-3.10.3-2' });
  }
  let length = 2;
  // [MQTT-3.10.3-1] filters are UTF-8 strings, back to back.
  for (let i = 0; i < filters.length; i++) {
    const filter = filters[i]!; // i < length
    length += 2 + topicByteLength(filter, true, 'MQTT-4.7.1-1');
  }
  return length;
}

/** Writes the packet identifier and the filters; returns the position after them. */
export function writeUnsubscribe(p: UnsubscribePacket, buf: Uint8Array, pos: number): number {
  pos = writeU16(buf, pos, p.packetId);
  const filters = p.topicFilters;
  for (let i = 0; i < filters.length; i++) {
    const filter = filters[i]!; // i < length
    pos = writeString(buf, pos, filter);
  }
  return pos;
}

/** Decodes an UNSUBSCRIBE body. */
export function decodeUnsubscribe(r: FrameReader): UnsubscribePacket {
  const packetId = r.packetId();
  const topicFilters: string[] = [];
  while (r.remaining() > 0) topicFilters.push(r.topicFilter());
  if (topicFilters.length === 0) {
    r.fail('EMPTY_SUBSCRIPTION_LIST', 'UNSUBSCRIBE without a topic filter', 'MQTT-3.10.3-2');
  }
  return { cmd: 'unsubscribe', packetId, topicFilters };
}
