/**
 * The load generator's bytes, all produced by our codec (`encode`) once, up front, then copied
 * and patched in the hot path: a sequence number into each payload, a packet id into each
 * QoS 1/2 PUBLISH. Nothing is encoded per message.
 *
 * Payload layout (big-endian), so a subscriber can check every delivery:
 * ```
 * offset 0  u32 publisher id   (unique per publishing connection in a run)
 * offset 4  u32 sequence       (per publisher and topic, from 0)
 * offset 8  u32 topic index    (which of the run's topics it was published to)
 * offset 12 ...                zero padding up to the payload size
 * ```
 * A payload must be at least 12 bytes.
 */
import { encode, type QoS } from '../../../src/codec/index.js';

/** Bytes at the start of each payload that carry the check fields. */
export const PAYLOAD_HEADER = 12;

/** `count` topic names of equal length (so every PUBLISH in a run has the same size). */
export function topicNames(prefix: string, count: number): string[] {
  const width = String(Math.max(0, count - 1)).length;
  return Array.from({ length: count }, (_, i) => `${prefix}/${String(i).padStart(width, '0')}`);
}

/**
 * A ring of pre-encoded PUBLISH packets, one per topic repeated so that the ring holds a whole
 * number of batches. Packet `i` of the ring goes to topic `i % topics.length`.
 */
export interface PublishRing {
  bytes: Buffer;
  /** Size of one packet (all the same, see `topicNames`). */
  packetSize: number;
  /** Packets in the ring. */
  packets: number;
  /** Offset of the payload inside one packet. */
  payloadOffset: number;
  /** Offset of the packet id inside one packet (QoS 1/2 only, else -1). */
  packetIdOffset: number;
  topicCount: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Builds the ring for publishing `qos` messages of `payloadSize` bytes round-robin to `topics`. */
export function publishRing(topics: string[], qos: QoS, payloadSize: number, batch: number): PublishRing {
  if (payloadSize < PAYLOAD_HEADER) throw new RangeError(`payload must be ≥ ${PAYLOAD_HEADER} bytes`);
  const payload = new Uint8Array(payloadSize);
  const encoded = topics.map((topic) =>
    encode({ cmd: 'publish', topic, payload, qos, retain: false, dup: false, ...(qos > 0 ? { packetId: 1 } : {}) }),
  );
  const packetSize = encoded[0]!.length;
  if (encoded.some((e) => e.length !== packetSize)) throw new Error('topic names must have equal byte length');
  // The payload is the last field of a PUBLISH (spec 3.3.3), the packet id the two bytes before
  // it when QoS > 0 (spec 3.3.2.2).
  const payloadOffset = packetSize - payloadSize;
  const packets = (topics.length * batch) / gcd(topics.length, batch); // lcm: whole topics and batches
  const bytes = Buffer.allocUnsafe(packets * packetSize);
  for (let i = 0; i < packets; i++) bytes.set(encoded[i % topics.length]!, i * packetSize);
  return {
    bytes,
    packetSize,
    packets,
    payloadOffset,
    packetIdOffset: qos > 0 ? payloadOffset - 2 : -1,
    topicCount: topics.length,
  };
}

/** The bytes of a CONNECT with a clean session (spec 3.1). */
export function connectBytes(clientId: string, keepAlive: number): Buffer {
  return Buffer.from(
    encode({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId, cleanSession: true, keepAlive }),
  );
}

/** The bytes of a SUBSCRIBE for `filters` at `qos` (spec 3.8). */
export function subscribeBytes(packetId: number, filters: string[], qos: QoS): Buffer {
  return Buffer.from(
    encode({ cmd: 'subscribe', packetId, subscriptions: filters.map((topicFilter) => ({ topicFilter, qos })) }),
  );
}

/** A DISCONNECT (spec 3.14): a clean goodbye, so the broker drops no will and logs no error. */
export function disconnectBytes(): Buffer {
  return Buffer.from(encode({ cmd: 'disconnect' }));
}

/** The packet-id-only acknowledgements the load generator sends. */
export type AckCmd = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

/**
 * Writes `ids.length` acknowledgements of type `cmd` into one buffer. The first byte comes from
 * the codec (it differs per type: PUBREL carries the required flags 0b0010 [MQTT-3.6.1-1]);
 * every ack is 4 bytes: header, remaining length 2, packet id.
 */
export function ackBytes(cmd: AckCmd, ids: ArrayLike<number>, count = ids.length): Buffer {
  const template = ACK_TEMPLATES[cmd];
  const out = Buffer.allocUnsafe(count * 4);
  for (let i = 0; i < count; i++) {
    const o = i * 4;
    const id = ids[i]!;
    out[o] = template[0]!;
    out[o + 1] = template[1]!;
    out[o + 2] = id >>> 8;
    out[o + 3] = id & 0xff;
  }
  return out;
}

const ACK_TEMPLATES: Record<AckCmd, Uint8Array> = {
  puback: encode({ cmd: 'puback', packetId: 1 }),
  pubrec: encode({ cmd: 'pubrec', packetId: 1 }),
  pubrel: encode({ cmd: 'pubrel', packetId: 1 }),
  pubcomp: encode({ cmd: 'pubcomp', packetId: 1 }),
};
for (const [cmd, t] of Object.entries(ACK_TEMPLATES)) {
  if (t.length !== 4) throw new Error(`unexpected ${cmd} size ${t.length}`);
}

/** Reads a big-endian u32 from a Uint8Array (decoded payloads need not be Buffers). */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
