/**
 * SUBSCRIBE (spec 3.8): the client asks for messages matching one or more topic filters.
 *
 * ```
 *   fixed header   1000 0010, Remaining Length
 *   variable hdr   packet identifier (2 bytes)
 *   payload        one or more of: topic filter (UTF-8 string), requested QoS byte 000000QQ
 * ```
 */
import { MqttError } from './errors.js';
import { putU16, putU8, type BodyWriter } from './body-writer.js';
import { EMPTY_BYTES } from './bytes.js';
import { checkPacketId, checkQos } from './fields.js';
import type { QoS, SubscribePacket, Subscription } from './packets.js';
import type { FrameReader } from './reader.js';
import { putTopic } from './topic.js';

/** Checks `p` and writes its body, each filter checked as it is copied. Nothing follows it. */
export function writeSubscribe(p: SubscribePacket, w: BodyWriter): Uint8Array {
  putU16(w, checkPacketId(p.packetId));
  const subs = p.subscriptions;
  // [MQTT-3.8.3-3] at least one topic filter / QoS pair.
  if (!Array.isArray(subs) || subs.length === 0) {
    throw new MqttError('EMPTY_SUBSCRIPTION_LIST', 'SUBSCRIBE without a topic filter', { rule: 'MQTT-3.8.3-3' });
  }
  for (let i = 0; i < subs.length; i++) {
    const sub = subs[i]!; // i < length
    if (sub === null || typeof sub !== 'object') throw new MqttError('INVALID_PACKET', 'a subscription must be an object');
    // [MQTT-3.8.3-1] filters are UTF-8 strings; spec 4.7.1 places the wildcards.
    putTopic(w, sub.topicFilter, true, 'MQTT-4.7.1-1');
    putU8(w, checkQos(sub.qos, 'requested QoS', 'MQTT-3.8.3-4'));
  }
  return EMPTY_BYTES;
}

/** Decodes a SUBSCRIBE body. */
export function decodeSubscribe(r: FrameReader): SubscribePacket {
  const packetId = r.packetId();
  const subscriptions: Subscription[] = [];
  while (r.remaining() > 0) {
    const topicFilter = r.topicFilter();
    const qos = r.u8('requested QoS');
    // [MQTT-3.8.3-4] the upper 6 bits are reserved (0) and QoS 3 does not exist.
    if (qos > 2) r.fail('INVALID_QOS', `requested QoS byte ${qos} is not 0, 1 or 2`, 'MQTT-3.8.3-4', r.pos - 1);
    subscriptions.push({ topicFilter, qos: qos as QoS }); // over 2 was refused just above
  }
  if (subscriptions.length === 0) {
    r.fail('EMPTY_SUBSCRIPTION_LIST', 'SUBSCRIBE without a topic filter', 'MQTT-3.8.3-3');
  }
  return { cmd: 'subscribe', packetId, subscriptions };
}
