/**
 * The memos of valid topic names (src/codec/topic-cache.ts): by name for encoding and
 * `validateTopicName`, by bytes for decoding. A memo may only save work, never change an outcome.
 */
import { describe, expect, it } from 'vitest';
import { Decoder, decode, encode, encodeInto, isMqttError, validateTopicName, type Packet, type PublishPacket } from '../../src/codec/index.js';

const publish = (topic: string, extra: Partial<PublishPacket> = {}): PublishPacket => ({
  cmd: 'publish',
  topic,
  payload: new Uint8Array([1, 2, 3]),
  qos: 1,
  packetId: 7,
  retain: false,
  dup: false,
  ...extra,
});

/** `encodeInto` at offset 1 of a 64-byte target: the bytes written, or the error's code and rule and whether the target is untouched. */
function into(p: PublishPacket): unknown {
  const buf = new Uint8Array(64).fill(0xee);
  try {
    return [...buf.subarray(1, encodeInto(p, buf, 1) + 1)];
  } catch (err) {
    return isMqttError(err) ? [err.code, err.rule, buf.every((b) => b === 0xee)] : err;
  }
}

/** The code and rule `fn` throws. */
function thrown(fn: () => unknown): [string, string | undefined] {
  try {
    fn();
  } catch (err) {
    if (isMqttError(err)) return [err.code, err.rule];
    throw err;
  }
  throw new Error('did not throw');
}

/** A PUBLISH frame (QoS 0, no payload) whose topic field holds `topic` as raw bytes. */
const rawPublish = (topic: number[]) => Uint8Array.from([0x30, 2 + topic.length, 0, topic.length, ...topic]);
const ascii = (s: string) => [...Buffer.from(s, 'latin1')];

describe('the topic-name memo by name (validateTopicName, encode, encodeInto)', () => {
  it('a non-ASCII topic name validated once is encoded by its UTF-8 length', () => {
    const topic = 'sensör/température/€';
    validateTopicName(topic);
    const bytes = [...Buffer.from(topic, 'utf8')];
    expect(into(publish(topic))).toEqual([0x32, 2 + bytes.length + 2 + 3, 0, bytes.length, ...bytes, 0, 7, 1, 2, 3]);
    expect(into(publish(topic))).toEqual([...encode(publish(topic))]);
  });

  it('[MQTT-3.3.2-2] a topic with a wildcard is never remembered: encoding refuses it every time', () => {
    expect(() => validateTopicName('a/+')).toThrow();
    expect(into(publish('a/+'))).toEqual(['INVALID_TOPIC', 'MQTT-3.3.2-2', true]);
    expect(into(publish('a/+'))).toEqual(['INVALID_TOPIC', 'MQTT-3.3.2-2', true]);
  });

  it('[MQTT-2.3.1-5] a known topic does not let a bad field through: same error, buffer untouched', () => {
    validateTopicName('known/topic');
    expect(into(publish('known/topic', { qos: 0 }))).toEqual(['INVALID_PACKET_ID', 'MQTT-2.3.1-5', true]);
  });

  it('a packet that does not fit the buffer is refused before anything is written', () => {
    validateTopicName('fits/not');
    expect(into(publish('fits/not', { payload: new Uint8Array(100) }))).toEqual(['BUFFER_TOO_SMALL', undefined, true]);
  });
});

describe('the topic-name memo by bytes (the decoder remembers its last topic name)', () => {
  /** Decodes `frames` in one stream; each PUBLISH's topic (a CONNECT's will topic), or the error's code and rule. */
  function topics(...frames: Uint8Array[]): unknown[] {
    const decoder = new Decoder();
    const out: unknown[] = [];
    for (const frame of frames) {
      try {
        for (const p of decoder.feed(frame)) out.push(p.cmd === 'connect' ? p.will?.topic : p.cmd === 'publish' ? p.topic : p.cmd);
      } catch (err) {
        if (!isMqttError(err)) throw err;
        out.push([err.code, err.rule]);
        break;
      }
    }
    return out;
  }

  it('a topic of the same length but other bytes is decoded as itself', () => {
    expect(topics(rawPublish(ascii('room/1')), rawPublish(ascii('room/2')), rawPublish(ascii('room/1')))).toEqual([
      'room/1',
      'room/2',
      'room/1',
    ]);
  });

  it('long topics, remembered or too long to remember, are decoded as themselves', () => {
    /** A PUBLISH frame with a 2-byte Remaining Length (the topics here are over 127 bytes). */
    const longPublish = (topic: string) => {
      const n = 2 + topic.length;
      return Uint8Array.from([0x30, 0x80 | (n & 0x7f), n >>> 7, topic.length >>> 8, topic.length & 0xff, ...ascii(topic)]);
    };
    for (const size of [100, 1024, 1025, 3000]) {
      const a = 'a'.repeat(size - 1);
      expect(topics(longPublish(`${a}1`), longPublish(`${a}1`), longPublish(`${a}2`), longPublish(`${a}+`))).toEqual([
        `${a}1`,
        `${a}1`,
        `${a}2`,
        ['INVALID_TOPIC', 'MQTT-3.3.2-2'],
      ]);
    }
  });

  it('[MQTT-3.3.2-2] a wildcard in a topic the length of the remembered one is refused', () => {
    expect(topics(rawPublish(ascii('room/1')), rawPublish(ascii('room/+')))).toEqual(['room/1', ['INVALID_TOPIC', 'MQTT-3.3.2-2']]);
  });

  it('[MQTT-4.7.3-2] U+0000 in a topic the length of the remembered one is refused', () => {
    expect(topics(rawPublish(ascii('room/1')), rawPublish([...ascii('room/'), 0]))).toEqual(['room/1', ['NULL_CHARACTER', 'MQTT-4.7.3-2']]);
  });

  it('[MQTT-1.5.3-1] a multi-byte topic after an ASCII one is decoded, and ill-formed bytes are refused', () => {
    const euro = [...Buffer.from('r€/1', 'utf8')]; // 6 bytes, as long as 'room/1'
    expect(topics(rawPublish(ascii('room/1')), rawPublish(euro), rawPublish(ascii('room/1')))).toEqual(['room/1', 'r€/1', 'room/1']);
    expect(topics(rawPublish(ascii('room/1')), rawPublish([0x72, 0xe2, 0x82, 0x2f, 0x2f, 0x31]))).toEqual([
      'room/1',
      ['INVALID_UTF8', 'MQTT-1.5.3-1'],
    ]);
  });

  it('[MQTT-4.7.3-1] an empty topic is refused on a stream that remembers one', () => {
    expect(topics(rawPublish(ascii('a')), rawPublish([]))).toEqual(['a', ['INVALID_TOPIC', 'MQTT-4.7.3-1']]);
    expect(thrown(() => decode(rawPublish([])))).toEqual(['INVALID_TOPIC', 'MQTT-4.7.3-1']);
  });

  it('a will topic in a CONNECT is checked in full, whatever the stream remembers', () => {
    const connect: Packet = {
      cmd: 'connect',
      protocolName: 'MQTT',
      protocolLevel: 4,
      clientId: 'c',
      cleanSession: true,
      keepAlive: 0,
      will: { topic: 'room/1', payload: new Uint8Array(0), qos: 0, retain: false },
    };
    const frame = encode(connect);
    const bad = Uint8Array.from(frame);
    bad[Buffer.from(frame).indexOf('room/1') + 5] = 0x23; // 'room/#'
    expect(topics(rawPublish(ascii('room/1')), frame)).toEqual(['room/1', 'room/1']);
    expect(topics(rawPublish(ascii('room/1')), bad)).toEqual(['room/1', ['INVALID_TOPIC', 'MQTT-4.7.1-1']]);
  });
});
