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
import { putU16, type BodyWriter } from './body-writer.js';
import { EMPTY_BYTES } from './bytes.js';
import { checkPacketId } from './fields.js';
import type { UnsubscribePacket } from './packets.js';
import type { FrameReader } from './reader.js';
import { putTopic } from './topic.js';

/** Checks `p` and writes its body, each filter checked as it is copied. Nothing follows it. */
export function writeUnsubscribe(p: UnsubscribePacket, w: BodyWriter): Uint8Array {
  putU16(w, checkPacketId(p.packetId));
  const filters = p.topicFilters;
  // [MQTT-3.10.3-2] at least one topic filter.
  if (!Array.isArray(filters) || filters.length === 0) {
    throw new MqttError('EMPTY_SUBSCRIPTION_LIST', 'UNSUBSCRIBE without a topic filter', { rule: 'MQTT-3.10.3-2' });
  }
  // [MQTT-3.10.3-1] filters are UTF-8 strings, back to back.
  for (let i = 0; i < filters.length; i++) {
    const filter = filters[i]!; // i < length
    putTopic(w, filter, true, 'MQTT-4.7.1-1');
  }
  return EMPTY_BYTES;
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
