/**
 * PUBLISH (spec 3.3): an application message.
 *
 * ```
 *   fixed header   0011 DUP QoS(2) RETAIN, Remaining Length
 *   variable hdr   topic name (UTF-8 string), packet identifier (2 bytes, only when QoS > 0)
 *   payload        the rest of the packet, zero or more bytes
 * ```
 */
import { putU16, type BodyWriter } from './body-writer.js';
import { MqttError } from './errors.js';
import { checkBytes, checkPacketId, checkQos } from './fields.js';
import type { PublishPacket, QoS } from './packets.js';
import type { FrameReader } from './reader.js';
import { putTopicName } from './topic.js';

/** Rule cited for a wildcard in a PUBLISH topic. */
const WILDCARD_RULE = 'MQTT-3.3.2-2';

/**
 * Checks `p` and writes its variable header (topic name, packet identifier); returns the payload,
 * checked, which follows it and is not copied here. A topic name found valid before is not checked
 * again (the memo of topic-cache.ts): most PUBLISHes go to a topic the client has used before.
 */
export function writePublish(p: PublishPacket, w: BodyWriter): Uint8Array {
  // [MQTT-3.3.2-1] the topic name is a UTF-8 string; [MQTT-3.3.2-2] without wildcards.
  putTopicName(w, p.topic, WILDCARD_RULE);
  const qos = checkQos(p.qos, 'PUBLISH QoS', 'MQTT-3.3.1-4');
  if (qos === 0) {
    // [MQTT-3.3.1-2] DUP is 0 on QoS 0; [MQTT-2.3.1-5] a QoS 0 PUBLISH has no packet identifier.
    if (p.dup) throw new MqttError('INVALID_DUP', 'DUP set on a QoS 0 PUBLISH', { rule: 'MQTT-3.3.1-2' });
    if (p.packetId !== undefined) {
      throw new MqttError('INVALID_PACKET_ID', 'a QoS 0 PUBLISH has no packet identifier', { rule: 'MQTT-2.3.1-5' });
    }
  } else {
    putU16(w, checkPacketId(p.packetId));
  }
  return checkBytes(p.payload, 'PUBLISH payload', false);
}

/** Flag bits 3-0 of the fixed header: DUP, QoS, RETAIN. */
export function publishFlags(p: PublishPacket): number {
  return (p.dup ? 0b1000 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
}

/**
 * Decodes a PUBLISH body. The header flags were checked while framing (no QoS 3, no DUP on QoS 0).
 * The payload is a view into the frame's bytes.
 */
export function decodePublish(r: FrameReader, flags: number): PublishPacket {
  const qos = ((flags >>> 1) & 3) as QoS; // checkPublishFlags refused QoS 3 [MQTT-3.3.1-4]
  const retain = (flags & 1) !== 0;
  const dup = (flags & 0b1000) !== 0;
  const topic = r.topicName(WILDCARD_RULE);
  if (qos === 0) return { cmd: 'publish', topic, payload: r.rest(), qos, retain, dup };
  // [MQTT-2.3.1-1] QoS 1 and 2 carry a non-zero packet identifier.
  const packetId = r.packetId();
  return { cmd: 'publish', topic, payload: r.rest(), qos, retain, dup, packetId };
}

/**
 * Checks PUBLISH's fixed-header flags while framing:
 * ```
 *   bit 3 DUP | bits 2-1 QoS | bit 0 RETAIN
 * ```
 */
export function checkPublishFlags(flags: number, offset: number): void {
  const qos = (flags >>> 1) & 3;
  // [MQTT-3.3.1-4] both QoS bits set (QoS 3) is malformed.
  if (qos === 3) throw new MqttError('INVALID_QOS', 'PUBLISH with QoS 3', { rule: 'MQTT-3.3.1-4', offset });
  // [MQTT-3.3.1-2] a QoS 0 message is never a redelivery, so DUP must be 0.
  if (qos === 0 && (flags & 0x08) !== 0) {
    throw new MqttError('INVALID_DUP', 'PUBLISH with QoS 0 has DUP set', { rule: 'MQTT-3.3.1-2', offset });
  }
}
