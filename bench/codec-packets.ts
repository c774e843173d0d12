/**
 * The packets the codec benchmarks run on, shared by bench/codec.ts (ours against mqtt-packet)
 * and bench/codec-compare.ts (two builds of ours).
 */
import type { Packet } from '../src/codec/index.js';

/** `n` bytes of `fill`. */
export const bytesOf = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);

/** A PUBLISH to a 25-character ASCII topic with a `payload`-byte payload. */
export const publish = (payload: number, qos: 0 | 1): Packet =>
  qos === 0
    ? { cmd: 'publish', topic: 'sensors/room1/temperature', payload: bytesOf(payload), qos, retain: false, dup: false }
    : { cmd: 'publish', topic: 'sensors/room1/temperature', payload: bytesOf(payload), qos, retain: false, dup: false, packetId: 42 };

export const connect: Packet = {
  cmd: 'connect',
  protocolName: 'MQTT',
  protocolLevel: 4,
  clientId: 'bench-client-0001',
  cleanSession: true,
  keepAlive: 60,
  will: { topic: 'clients/bench-client-0001/status', payload: Buffer.from('offline'), qos: 1, retain: true },
  username: 'bench-user',
  password: Buffer.from('bench-password'),
};

export const subscribe: Packet = {
  cmd: 'subscribe',
  packetId: 7,
  subscriptions: [
    { topicFilter: 'sensors/+/temperature', qos: 1 },
    { topicFilter: 'sensors/+/humidity', qos: 1 },
    { topicFilter: 'alerts/#', qos: 2 },
    { topicFilter: 'devices/+/status', qos: 0 },
    { topicFilter: '$SYS/broker/load/#', qos: 0 },
  ],
};

export const repeat = (p: Packet, n: number): Packet[] => Array.from({ length: n }, () => p);

/** One packet of every type (PUBLISH twice: QoS 0 with 16 bytes, QoS 1 with 100). */
export const MIXED: Packet[] = [
  connect,
  { cmd: 'connack', sessionPresent: false, returnCode: 0 },
  publish(16, 0),
  publish(100, 1),
  { cmd: 'puback', packetId: 42 },
  { cmd: 'pubrec', packetId: 43 },
  { cmd: 'pubrel', packetId: 43 },
  { cmd: 'pubcomp', packetId: 43 },
  subscribe,
  { cmd: 'suback', packetId: 7, returnCodes: [1, 1, 2, 0, 0x80] },
  { cmd: 'unsubscribe', packetId: 8, topicFilters: ['alerts/#', 'sensors/+/humidity'] },
  { cmd: 'unsuback', packetId: 8 },
  { cmd: 'pingreq' },
  { cmd: 'pingresp' },
  { cmd: 'disconnect' },
];

/** 10,000 packets cycling through `MIXED`. */
export const mixedStream: Packet[] = Array.from({ length: Math.ceil(10_000 / MIXED.length) }, () => MIXED)
  .flat()
  .slice(0, 10_000);

/** Cuts `stream` into Buffers of `size` bytes (views, as a socket would hand them over). */
export const chunked = (stream: Buffer, size: number): Buffer[] => {
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
  return chunks;
};
