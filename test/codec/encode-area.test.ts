/**
 * The encoder writes each body once, into a scratch area every encode reuses, then copies it out
 * (src/codec/body-writer.ts). These tests hold it to what that must not change: bodies of any
 * size, an encode started while another is writing its body, and an encode that throws half-way.
 */
import { describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  encodedLength,
  encodeInto,
  encodeParts,
  type ConnectPacket,
  type Packet,
  type SubscribePacket,
} from '../../src/codec/index.js';
import { plain } from './arbitraries.js';
import { thrown } from './helpers.js';

const roundTrip = (p: Packet) => expect(plain(decode(encode(p)))).toStrictEqual(plain(p));

describe('bodies bigger than the scratch area', () => {
  it('encodes a CONNECT of five fields of 60,000 bytes each, the connect flags filled in last', () => {
    const long = 'x'.repeat(60_000);
    const connect: ConnectPacket = {
      cmd: 'connect',
      protocolName: 'MQTT',
      protocolLevel: 4,
      clientId: long,
      cleanSession: false,
      keepAlive: 30,
      will: { topic: `w/${long}`, payload: new Uint8Array(60_000).fill(1), qos: 2, retain: true },
      username: long,
      password: new Uint8Array(60_000).fill(2),
    };
    const bytes = encode(connect);
    expect(bytes.length).toBe(encodedLength(connect));
    // After a 4-byte fixed header (Remaining Length about 300,000 takes 3 bytes), "MQTT" (2 + 4
    // bytes) and the level, the flags: user name, password, will retain, will QoS 2, will.
    expect(bytes[4 + 6 + 1]).toBe(0b1111_0100);
    roundTrip(connect);
  });

  it('encodes a SUBSCRIBE of 20,000 filters, multi-byte characters included, and a small packet after it', () => {
    const subscriptions = Array.from({ length: 20_000 }, (_, i) => ({ topicFilter: `é/${i}/+/#`, qos: (i % 3) as 0 | 1 | 2 }));
    const subscribe: SubscribePacket = { cmd: 'subscribe', packetId: 9, subscriptions };
    roundTrip(subscribe);
    expect([...encode({ cmd: 'puback', packetId: 258 })]).toEqual([0x40, 0x02, 0x01, 0x02]);
  });
});

describe('re-entrance and errors', () => {
  it('an encode run from a getter while another writes its body leaves both packets intact', () => {
    const inner: Packet = { cmd: 'publish', topic: 'inner/topic', payload: Uint8Array.of(1, 2, 3), qos: 1, retain: false, dup: false, packetId: 7 };
    let innerBytes: Uint8Array = new Uint8Array(0);
    const outer = {
      cmd: 'subscribe',
      packetId: 5,
      subscriptions: [
        { topicFilter: 'first/filter', qos: 1 },
        {
          get topicFilter() {
            innerBytes = encode(inner); // runs while the outer body is half written
            return 'second/+';
          },
          qos: 2,
        },
      ],
    } as SubscribePacket;
    const outerBytes = encode(outer);
    expect(plain(decode(innerBytes))).toStrictEqual(plain(inner));
    expect(plain(decode(outerBytes))).toStrictEqual(plain({ ...outer, subscriptions: [outer.subscriptions[0], { topicFilter: 'second/+', qos: 2 }] }));
  });

  it('an encode that throws half-way leaves nothing behind for the next one [MQTT-4.7.1-2]', () => {
    const bad: SubscribePacket = { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a'.repeat(3000), qos: 0 }, { topicFilter: 'a/#/b', qos: 0 }] };
    for (const run of [() => encode(bad), () => encodedLength(bad), () => encodeParts(bad), () => encodeInto(bad, new Uint8Array(9000), 0)]) {
      expect(thrown(run).rule).toBe('MQTT-4.7.1-2');
      expect([...encode({ cmd: 'unsuback', packetId: 3 })]).toEqual([0xb0, 0x02, 0x00, 0x03]);
    }
  });

  it('encodeParts gives one array for a PUBLISH with nothing to hand over apart (an empty payload)', () => {
    const parts = encodeParts({ cmd: 'publish', topic: 'a', payload: new Uint8Array(0), qos: 0, retain: false, dup: false });
    expect(parts.map((p) => [...p])).toEqual([[0x30, 0x03, 0x00, 0x01, 0x61]]);
  });

  it('hands out arrays of their own: a later encode does not change an earlier result', () => {
    const first = encode({ cmd: 'unsubscribe', packetId: 4, topicFilters: ['a/b', 'c/#'] });
    const copy = [...first];
    for (let i = 0; i < 1000; i++) encode({ cmd: 'unsubscribe', packetId: 1 + i, topicFilters: [`z/${i}`] });
    expect([...first]).toEqual(copy);
  });
});
