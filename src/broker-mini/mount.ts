/**
 * mosquitto's `mount_point`: a listener whose clients live under a topic prefix. Every topic a
 * client names (PUBLISH, will, SUBSCRIBE, UNSUBSCRIBE) gets the prefix on the way in, and
 * messages to it lose the prefix on the way out, so its clients see only their own subtree and
 * the rest of the broker sees them under `PREFIX…`. Done at the transport, the core never knows.
 */
import type { Packet, PublishPacket } from '../codec/index.js';

/** The packet as the core must see it: topics and filters under `mount`. */
export function mountInbound(packet: Packet, mount: string): Packet {
  switch (packet.cmd) {
    case 'publish':
      return { ...packet, topic: mount + packet.topic };
    case 'subscribe':
      return { ...packet, subscriptions: packet.subscriptions.map((s) => ({ ...s, topicFilter: mount + s.topicFilter })) };
    case 'unsubscribe':
      return { ...packet, topicFilters: packet.topicFilters.map((f) => mount + f) };
    case 'connect':
      return packet.will ? { ...packet, will: { ...packet.will, topic: mount + packet.will.topic } } : packet;
    default:
      return packet;
  }
}

/** The packet as the client must see it: the prefix removed from PUBLISH topics. */
export function mountOutbound(packet: Packet, mount: string): Packet {
  if (packet.cmd !== 'publish' || !packet.topic.startsWith(mount)) return packet;
  const out: PublishPacket = { ...packet, topic: packet.topic.slice(mount.length) };
  return out;
}
