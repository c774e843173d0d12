/**
 * Encoder-side checks of the fields every packet shares, so the encoder refuses what it cannot
 * encode instead of writing truncated or corrupt bytes.
 */
import { MqttError } from './errors.js';
import type { QoS } from './packets.js';
import { MAX_STRING_BYTES } from './utf8.js';

/** [MQTT-2.3.1-1] a packet identifier is a non-zero 16-bit integer. */
export function checkPacketId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 0xffff) {
    throw new MqttError('INVALID_PACKET_ID', `packet identifier must be an integer 1-65535, got ${String(id)}`, {
      rule: 'MQTT-2.3.1-1',
    });
  }
  return id;
}

/** QoS must be 0, 1 or 2; `rule` is the statement that forbids other values where the QoS sits. */
export function checkQos(qos: unknown, what: string, rule: string): QoS {
  if (qos !== 0 && qos !== 1 && qos !== 2) {
    throw new MqttError('INVALID_QOS', `${what} must be 0, 1 or 2, got ${String(qos)}`, { rule });
  }
  return qos;
}

/** Throws unless `bytes` is a `Uint8Array` (at most 65,535 bytes when `limited`, a binary field). */
export function checkBytes(bytes: unknown, what: string, limited: boolean): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new MqttError('INVALID_PACKET', `${what} must be a Uint8Array`);
  if (limited && bytes.length > MAX_STRING_BYTES) {
    throw new MqttError('STRING_TOO_LONG', `${what} is ${bytes.length} bytes; the limit is ${MAX_STRING_BYTES}`);
  }
  return bytes;
}

/** Throws unless `n` is an integer in `[0, max]`. */
export function checkInteger(n: unknown, what: string, max: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    throw new MqttError('INVALID_PACKET', `${what} must be an integer 0-${max}, got ${String(n)}`);
  }
  return n;
}
