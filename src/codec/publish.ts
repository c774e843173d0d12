/**
 * PUBLISH (spec 3.3): an application message.
 *
 * ```
 *   fixed header   0011 DUP QoS(2) RETAIN, Remaining Length
 *   variable hdr   topic name (UTF-8 string), packet identifier (2 bytes, only when QoS > 0)
 *   payload        the rest of the packet, zero or more bytes
 * ```
 */
import { writeBytes } from './bytes.js';
import { MqttError } from './errors.js';
import { checkBytes, checkPacketId, checkQos, writeU16 } from './fields.js';
import type { PublishPacket, QoS } from './packets.js';
import type { FrameReader } from './reader.js';
import { topicNameByteLength } from './topic.js';
import { writeString } from './utf8.js';

/** Rule cited for a wildcard in a PUBLISH topic. */
const WILDCARD_RULE = 'MQTT-3.3.2-2';

/**
 * Checks `p` and returns its Remaining Length. A topic name found valid before is not scanned
 * again (the memo of topic-cache.ts): most PUBLISHes go to a topic the client has used before.
 */
export function publishLength(p: PublishPacket): number {
  // [MQTT-3.3.2-1] the topic name is a UTF-8 string; [MQTT-3.3.2-2] without wildcards.
  const topicBytes = topicNameByteLength(p.topic, WILDCARD_RULE);
  const qos = checkQos(p.qos, 'PUBLISH QoS', 'MQTT-3.3.1-4');
  if (qos === 0) {
    // [MQTT-3.3.1-2] DUP is 0 on QoS 0; [MQTT-2.3.1-5] a QoS 0 PUBLISH has no packet identifier.
    if (p.dup) throw new MqttError('INVALID_DUP', 'DUP set on a QoS 0 PUBLISH', { rule: 'MQTT-3.3.1-2' });
    if (p.packetId !== undefined) {
      throw new MqttError('INVALID_PACKET_ID', 'a QoS 0 PUBLISH has no packet identifier', { rule: 'MQTT-2.3.1-5' });
    }
  } else {
    checkPacketId(p.packetId);
  }
  const payload = checkBytes(p.payload, 'PUBLISH payload', false);
  return 2 + topicBytes + (qos === 0 ? 0 : 2) + payload.length;
}

/** Flag bits 3-0 of the fixed header: DUP, QoS, RETAIN. */
export function publishFlags(p: PublishPacket): number {
  return (p.dup ? 0b1000 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
}

/** Writes the variable header (topic, packet identifier); returns the position after it. */
export function writePublishHead(p: PublishPacket, buf: Uint8Array, pos: number): number {
  pos = writeString(buf, pos, p.topic);
  return p.qos === 0 ? pos : writeU16(buf, pos, p.packetId as number); // QoS 1 or 2: publishLength required a packet id
}

/** Writes the variable header and payload; returns the position after them. */
export function writePublish(p: PublishPacket, buf: Uint8Array, pos: number): number {
  pos = writePublishHead(p, buf, pos);
  writeBytes(buf, pos, p.payload);
  return pos + p.payload.length;
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
