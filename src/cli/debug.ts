/**
 * `-d` output: one line per packet sent or received, exactly as libmosquitto 2.0 logs them for
 * mosquitto_pub/mosquitto_sub, so the two tools' `-d` outputs compare line for line:
 *
 * ```text
 * Client (null) sending CONNECT
 * Client (null) received CONNACK (0)
 * Client (null) sending PUBLISH (d0, q1, r0, m1, 'a/b', ... (5 bytes))
 * Client (null) received PUBACK (Mid: 1, RC:0)
 * Client (null) sending DISCONNECT
 * ```
 * Payloads are shown by size and passwords never, as in every human-readable output here.
 */
import type { Packet } from '../codec/index.js';

/** Which way a packet went. */
export type Direction = 'sending' | 'received';

/**
 * Turns packets into mosquitto's `-d` lines. It keeps one piece of state: libmosquitto numbers
 * every message it sends, QoS 0 included (`m1`, `m2`, …) from the same counter as its
 * SUBSCRIBE/UNSUBSCRIBE ids, while a QoS 0 PUBLISH carries no packet id on the wire.
 */
export class DebugPrinter {
  readonly #who: string;
  #lastMid = 0;

  /** `clientId` as sent in CONNECT; an empty one prints as "(null)", as libmosquitto prints it. */
  constructor(clientId: string) {
    this.#who = `Client ${clientId === '' ? '(null)' : clientId}`;
  }

  /** The lines for one packet (a SUBSCRIBE prints one per filter). */
  lines(direction: Direction, packet: Packet): string[] {
    const who = `${this.#who} ${direction}`;
    const sent = direction === 'sending';
    switch (packet.cmd) {
      case 'connack':
        return [`${who} CONNACK (${packet.returnCode})`];
      case 'publish': {
        let mid = packet.packetId ?? 0;
        if (sent) mid = this.#mid(packet.packetId);
        return [`${who} PUBLISH (d${packet.dup ? 1 : 0}, q${packet.qos}, r${packet.retain ? 1 : 0}, m${mid}, '${packet.topic}', ... (${packet.payload.length} bytes))`];
      }
      case 'puback':
      case 'pubrec':
        // Sent acks carry a reason code in libmosquitto's log, received ones (PUBACK) an RC.
        if (sent) return [`${who} ${packet.cmd.toUpperCase()} (m${packet.packetId}, rc0)`];
        return [`${who} ${packet.cmd.toUpperCase()} (Mid: ${packet.packetId}${packet.cmd === 'puback' ? ', RC:0' : ''})`];
      case 'pubrel':
        return [sent ? `${who} PUBREL (m${packet.packetId})` : `${who} PUBREL (Mid: ${packet.packetId})`];
      case 'pubcomp':
        return [sent ? `${who} PUBCOMP (m${packet.packetId})` : `${who} PUBCOMP (Mid: ${packet.packetId}, RC:0)`];
      case 'subscribe': {
        const mid = this.#mid(packet.packetId);
        return packet.subscriptions.map((s) => `${who} SUBSCRIBE (Mid: ${mid}, Topic: ${s.topicFilter}, QoS: ${s.qos}, Options: 0x00)`);
      }
      case 'unsubscribe': {
        const mid = this.#mid(packet.packetId);
        return packet.topicFilters.map((f) => `${who} UNSUBSCRIBE (Mid: ${mid}, Topic: ${f})`);
      }
      case 'suback':
        // mosquitto_sub's own line follows libmosquitto's (printed in -d mode only).
        return [`${who} SUBACK`, `Subscribed (mid: ${packet.packetId}): ${packet.returnCodes.join(', ')}`];
      case 'connect':
      case 'unsuback':
      case 'pingreq':
      case 'pingresp':
      case 'disconnect':
        return [`${who} ${packet.cmd.toUpperCase()}`];
      default: {
        const unreachable: never = packet;
        return unreachable;
      }
    }
  }

  /** The message id libmosquitto would have used for an outgoing packet. */
  #mid(packetId: number | undefined): number {
    this.#lastMid = packetId ?? this.#lastMid + 1;
    return this.#lastMid;
  }
}
