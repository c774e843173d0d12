/**
 * Normative statements about topic names and topic filters (spec 4.7, 3.3.2) and the SUBSCRIBE,
 * SUBACK and UNSUBSCRIBE payloads (spec 3.8.3, 3.9.3, 3.10.3). Checked three ways where it makes
 * sense: the validators, the decoder on hand-built packets, and the encoder.
 */
import { describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  isValidTopicFilter,
  isValidTopicName,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
  type Packet,
} from '../../src/codec/index.js';
import { decodeError, encodeError, stringField as field, thrown } from './helpers.js';

/** A whole packet: first byte, one-byte Remaining Length, body. */
const frame = (first: number, ...body: number[][]) => [first, body.flat().length, ...body.flat()];

const publish = (topic: string): Packet => ({ cmd: 'publish', topic, payload: new Uint8Array(0), qos: 0, retain: false, dup: false });
const subscribe = (topicFilter: string, qos = 0): Packet => ({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos: qos as 0 }] });
/** SUBSCRIBE id 1 with one filter and a requested-QoS byte. */
const subscribeBytes = (filter: string, qosByte = 0) => frame(0x82, [0x00, 0x01], field(filter), [qosByte]);

describe('topic names (spec 4.7, 3.3.2)', () => {
  it('[MQTT-3.3.2-2] a PUBLISH topic name with a wildcard is refused by the decoder and the encoder', () => {
    for (const topic of ['a/+', '#', 'a/#', 'sport+', 'a/b#']) {
      const err = decodeError(frame(0x30, field(topic)));
      expect([topic, err.code, err.rule]).toEqual([topic, 'INVALID_TOPIC', 'MQTT-3.3.2-2']);
      expect(err.offset).toBe(4 + topic.search(/[+#]/)); // the wildcard's own byte
      const enc = encodeError(publish(topic));
      expect([topic, enc.code, enc.rule]).toEqual([topic, 'INVALID_TOPIC', 'MQTT-3.3.2-2']);
    }
  });

  it('[MQTT-4.7.1-1] wildcards are for topic filters only, never topic names', () => {
    for (const topic of ['+', 'a/+/c', '#', 'a/#']) {
      expect(isValidTopicName(topic)).toBe(false);
      expect(isValidTopicFilter(topic)).toBe(true);
      const err = thrown(() => validateTopicName(topic));
      expect(err.code).toBe('INVALID_TOPIC');
      expect(['MQTT-4.7.1-1', 'MQTT-3.3.2-2']).toContain(err.rule);
    }
    // A will topic is a topic name too: a will published to "a/+" could never be routed.
    const will = encodeError({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c', cleanSession: true, keepAlive: 0, will: { topic: 'a/+', payload: new Uint8Array(0), qos: 0, retain: false } });
    expect(will.code).toBe('INVALID_TOPIC');
    expect(will.rule).toBe('MQTT-4.7.1-1');
  });

  it('[MQTT-4.7.3-1] a topic name or filter is at least one character long', () => {
    const name = thrown(() => validateTopicName(''));
    expect([name.code, name.rule]).toEqual(['INVALID_TOPIC', 'MQTT-4.7.3-1']);
    const filter = thrown(() => validateTopicFilter(''));
    expect([filter.code, filter.rule]).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.3-1']);
    const inPublish = decodeError([0x30, 0x02, 0x00, 0x00]); // topic length 0
    expect([inPublish.code, inPublish.rule]).toEqual(['INVALID_TOPIC', 'MQTT-4.7.3-1']);
    const inSubscribe = decodeError(frame(0x82, [0x00, 0x01], [0x00, 0x00], [0x00])); // empty filter
    expect([inSubscribe.code, inSubscribe.rule]).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.3-1']);
    const inUnsubscribe = decodeError(frame(0xa2, [0x00, 0x01], [0x00, 0x00]));
    expect([inUnsubscribe.code, inUnsubscribe.rule]).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.3-1']);
    expect(encodeError(publish('')).code).toBe('INVALID_TOPIC');
    expect(encodeError(subscribe('')).code).toBe('INVALID_TOPIC_FILTER');
    expect(encodeError({ cmd: 'unsubscribe', packetId: 1, topicFilters: [''] }).code).toBe('INVALID_TOPIC_FILTER');
    // One character is enough, even "/" (two empty levels).
    expect(decode(Uint8Array.from(frame(0x30, field('/'))))).toMatchObject({ topic: '/' });
  });

  it('[MQTT-4.7.3-2] topic names and filters never contain U+0000', () => {
    const inPublish = decodeError(frame(0x30, [0x00, 0x03, 0x61, 0x00, 0x62])); // "a\0b"
    expect(inPublish.code).toBe('NULL_CHARACTER');
    expect(['MQTT-4.7.3-2', 'MQTT-1.5.3-2']).toContain(inPublish.rule);
    expect(inPublish.offset).toBe(5);
    const inSubscribe = decodeError(frame(0x82, [0x00, 0x01], [0x00, 0x01, 0x00], [0x00]));
    expect(inSubscribe.code).toBe('NULL_CHARACTER');
    expect(['MQTT-4.7.3-2', 'MQTT-1.5.3-2']).toContain(inSubscribe.rule);
    for (const err of [thrown(() => validateTopicName('a\u0000')), thrown(() => validateTopicFilter('\u0000/#')), encodeError(publish('x\u0000'))]) {
      expect(err.code).toBe('NULL_CHARACTER');
      expect(['MQTT-4.7.3-2', 'MQTT-1.5.3-2']).toContain(err.rule);
    }
  });

  it('[MQTT-4.7.3-3] a topic encodes to at most 65535 bytes: 65535 round-trips, 65536 cannot be encoded', () => {
    const longest = 'a'.repeat(65535);
    const out = encode(publish(longest));
    expect(decode(out)).toMatchObject({ topic: longest });
    expect(isValidTopicName(longest)).toBe(true);
    // 65534 ASCII bytes plus "é" (2 bytes) is 65,535 characters but 65,536 bytes: bytes are what count.
    for (const topic of ['a'.repeat(65536), `${'a'.repeat(65534)}é`]) {
      for (const err of [encodeError(publish(topic)), thrown(() => validateTopicName(topic)), encodeError(subscribe(topic))]) {
        expect(err.code).toBe('STRING_TOO_LONG');
        expect(err.rule).toBe('MQTT-4.7.3-3');
      }
    }
  });
});

describe('topic filters and wildcards (spec 4.7.1)', () => {
  it('[MQTT-4.7.1-2] "#" is alone in its level and the last character of the filter', () => {
    for (const ok of ['#', 'a/#', '/#', 'a/b/#', '+/#']) {
      expect([ok, isValidTopicFilter(ok)]).toEqual([ok, true]);
      expect(decode(Uint8Array.from(subscribeBytes(ok)))).toMatchObject({ subscriptions: [{ topicFilter: ok }] });
    }
    for (const bad of ['a#', 'a/#/b', '#/', '#/a', 'a/b#', '##', 'a/#x']) {
      const err = thrown(() => validateTopicFilter(bad));
      expect([bad, err.code, err.rule]).toEqual([bad, 'INVALID_TOPIC_FILTER', 'MQTT-4.7.1-2']);
      const dec = decodeError(subscribeBytes(bad));
      expect([bad, dec.code, dec.rule]).toEqual([bad, 'INVALID_TOPIC_FILTER', 'MQTT-4.7.1-2']);
      expect(encodeError(subscribe(bad)).rule).toBe('MQTT-4.7.1-2');
    }
  });

  it('[MQTT-4.7.1-3] "+" fills a whole level, at any level, first and last included', () => {
    for (const ok of ['+', '+/+', 'a/+/b', '/+', '+/', 'a/+', '+/a/#']) {
      expect([ok, isValidTopicFilter(ok)]).toEqual([ok, true]);
      expect(decode(encode(subscribe(ok)))).toMatchObject({ subscriptions: [{ topicFilter: ok }] });
    }
    for (const bad of ['a+', '+a', 'a/b+/c', '++', 'a/+b', 'sport+']) {
      const err = thrown(() => validateTopicFilter(bad));
      expect([bad, err.code, err.rule]).toEqual([bad, 'INVALID_TOPIC_FILTER', 'MQTT-4.7.1-3']);
      const dec = decodeError(subscribeBytes(bad));
      expect([bad, dec.code, dec.rule]).toEqual([bad, 'INVALID_TOPIC_FILTER', 'MQTT-4.7.1-3']);
      const enc = encodeError({ cmd: 'unsubscribe', packetId: 1, topicFilters: [bad] });
      expect([bad, enc.code, enc.rule]).toEqual([bad, 'INVALID_TOPIC_FILTER', 'MQTT-4.7.1-3']);
    }
  });

  it('[MQTT-4.7.2-1] filters starting with a wildcard do not match topic names starting with "$"', () => {
    expect(topicMatches('#', '$SYS/broker/uptime')).toBe(false);
    expect(topicMatches('+/broker/uptime', '$SYS/broker/uptime')).toBe(false);
    expect(topicMatches('+', '$x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/broker/uptime')).toBe(true);
    expect(topicMatches('$SYS/+/uptime', '$SYS/broker/uptime')).toBe(true);
    // "$" elsewhere in a name is an ordinary character.
    expect(topicMatches('#', 'a/$b')).toBe(true);
    expect(topicMatches('+/$b', 'a/$b')).toBe(true);
  });

  it('matches the examples of spec 4.7.1.2 and 4.7.1.3', () => {
    expect(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1')).toBe(true);
    expect(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/ranking')).toBe(true);
    expect(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon')).toBe(true);
    expect(topicMatches('sport/#', 'sport')).toBe(true);
    expect(topicMatches('sport/tennis/+', 'sport/tennis/player1')).toBe(true);
    expect(topicMatches('sport/tennis/+', 'sport/tennis/player1/ranking')).toBe(false);
    expect(topicMatches('sport/+', 'sport')).toBe(false);
    expect(topicMatches('sport/+', 'sport/')).toBe(true);
    expect(topicMatches('+/+', '/finance')).toBe(true);
    expect(topicMatches('/+', '/finance')).toBe(true);
    expect(topicMatches('+', '/finance')).toBe(false);
  });
});

describe('SUBSCRIBE, SUBACK and UNSUBSCRIBE payloads (spec 3.8.3, 3.9.3, 3.10.3)', () => {
  it('[MQTT-3.8.3-3] a SUBSCRIBE with no topic filter / QoS pair is refused', () => {
    const err = decodeError([0x82, 0x02, 0x00, 0x01]); // packet id 1, nothing else
    expect(err.code).toBe('EMPTY_SUBSCRIPTION_LIST');
    expect(err.rule).toBe('MQTT-3.8.3-3');
    const enc = encodeError({ cmd: 'subscribe', packetId: 1, subscriptions: [] });
    expect(enc.code).toBe('EMPTY_SUBSCRIPTION_LIST');
    expect(enc.rule).toBe('MQTT-3.8.3-3');
    // A filter without its QoS byte is a truncated pair, not an empty list.
    expect(decodeError(frame(0x82, [0x00, 0x01], field('a'))).code).toBe('INVALID_LENGTH');
  });

  it('[MQTT-3.8.3-4] the requested-QoS byte must have its upper 6 bits zero and QoS 0, 1 or 2', () => {
    for (const qosByte of [0x03, 0x04, 0x05, 0x40, 0x80, 0x81, 0xff]) {
      const err = decodeError(subscribeBytes('a/b', qosByte));
      expect([qosByte, err.code, err.rule]).toEqual([qosByte, 'INVALID_QOS', 'MQTT-3.8.3-4']);
      expect(err.offset).toBe(2 + 2 + 5); // the QoS byte itself
    }
    for (const qos of [0, 1, 2]) expect(decode(Uint8Array.from(subscribeBytes('a/b', qos)))).toMatchObject({ subscriptions: [{ qos }] });
    const enc = encodeError(subscribe('a', 3));
    expect(enc.code).toBe('INVALID_QOS');
    expect(enc.rule).toBe('MQTT-3.8.3-4');
  });

  it('[MQTT-3.9.3-2] SUBACK return codes other than 0x00, 0x01, 0x02 and 0x80 are refused', () => {
    for (const rc of [0x03, 0x7f, 0x81, 0xff]) {
      const err = decodeError([0x90, 0x04, 0x00, 0x01, 0x00, rc]);
      expect([rc, err.code, err.rule]).toEqual([rc, 'INVALID_RETURN_CODE', 'MQTT-3.9.3-2']);
      expect(err.offset).toBe(5);
      const enc = encodeError({ cmd: 'suback', packetId: 1, returnCodes: [rc] });
      expect([rc, enc.code, enc.rule]).toEqual([rc, 'INVALID_RETURN_CODE', 'MQTT-3.9.3-2']);
    }
    const ok = Uint8Array.of(0x90, 0x06, 0x00, 0x01, 0x00, 0x01, 0x02, 0x80);
    expect(decode(ok)).toEqual({ cmd: 'suback', packetId: 1, returnCodes: [0, 1, 2, 0x80] });
    expect([...encode({ cmd: 'suback', packetId: 1, returnCodes: [0, 1, 2, 0x80] })]).toEqual([...ok]);
  });

  it('[MQTT-3.10.3-2] an UNSUBSCRIBE with no topic filter is refused', () => {
    const err = decodeError([0xa2, 0x02, 0x00, 0x01]);
    expect(err.code).toBe('EMPTY_SUBSCRIPTION_LIST');
    expect(err.rule).toBe('MQTT-3.10.3-2');
    const enc = encodeError({ cmd: 'unsubscribe', packetId: 1, topicFilters: [] });
    expect(enc.code).toBe('EMPTY_SUBSCRIPTION_LIST');
    expect(enc.rule).toBe('MQTT-3.10.3-2');
  });
});
