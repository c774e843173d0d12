/**
 * `-d` output: one line per packet sent or received, in the shape mosquitto_pub/sub print, so
 * people who know those tools can read it at a glance:
 *
 * ```text
 * Client mqtt311-pub-42 sending CONNECT
 * Client mqtt311-pub-42 received CONNACK (0)
 * Client mqtt311-pub-42 sending PUBLISH (d0, q1, r0, m1, 'a/b', ... (5 bytes))
 * Client mqtt311-pub-42 received PUBACK (Mid: 1)
 * ```
 * Payloads are shown by size and passwords never, as in every human-readable output here.
 */
import type { Packet } from '../codec/index.js';

/** Which way a packet went. */
export type Direction = 'sending' | 'received';

/** The text after "CONNACK", "PUBLISH", … for one packet, or `''` when there is none. */
function details(packet: Packet): string {
  switch (packet.cmd) {
    case 'connack':
      return ` (${packet.returnCode})`;
    case 'publish': {
      const id = packet.packetId ?? 0;
      const flags = `d${packet.dup ? 1 : 0}, q${packet.qos}, r${packet.retain ? 1 : 0}, m${id}`;
      return ` (${flags}, '${packet.topic}', ... (${packet.payload.length} bytes))`;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'unsuback':
      return ` (Mid: ${packet.packetId})`;
    case 'suback':
      return ` (Mid: ${packet.packetId}, granted: ${packet.returnCodes.map(grantedText).join(', ')})`;
    case 'connect':
    case 'subscribe':
    case 'unsubscribe':
    case 'pingreq':
    case 'pingresp':
    case 'disconnect':
      return '';
    default: {
      const unreachable: never = packet;
      return unreachable;
    }
  }
}

function grantedText(code: number): string {
  // 0x80 is the SUBACK failure code (spec 3.9.3).
  return code === 0x80 ? 'failure' : String(code);
}

/**
 * The `-d` lines for one packet. A SUBSCRIBE gives one line per topic filter, as mosquitto
 * prints it; every other packet gives one line.
 */
export function debugLines(clientId: string, direction: Direction, packet: Packet): string[] {
  const who = `Client ${clientId === '' ? '(empty id)' : clientId} ${direction}`;
  if (packet.cmd === 'subscribe') {
    return packet.subscriptions.map(
      (s) => `${who} SUBSCRIBE (Mid: ${packet.packetId}, Topic: ${s.topicFilter}, QoS: ${s.qos})`,
    );
  }
  if (packet.cmd === 'unsubscribe') {
    return packet.topicFilters.map((f) => `${who} UNSUBSCRIBE (Mid: ${packet.packetId}, Topic: ${f})`);
  }
  return [`${who} ${packet.cmd.toUpperCase()}${details(packet)}`];
}
