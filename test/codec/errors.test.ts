/**
 * What the codec refuses, by rule: each test builds the offending bytes (decoder) or packet
 * object (encoder) and checks the error's `code` and `rule`. Decoder errors are also checked to be
 * the same when the bytes arrive one at a time.
 */
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/codec/index.js';
import { ascii, decodeError, encodeError, thrown } from './helpers.js';

const str = (s: string) => [0, s.length, ...ascii(s)];

/** A packet with a one-byte Remaining Length computed from the body. */
const frame = (first: number, ...body: number[]) => Uint8Array.from([first, body.length, ...body]);

/** decode() and a byte-at-a-time Decoder must refuse `bytes` alike; returns [code, rule]. */
function refusal(bytes: Uint8Array): [string, string | undefined] {
  const err = decodeError(bytes);
  return [err.code, err.rule];
}

const encodeRefusal = (packet: unknown): [string, string | undefined] => {
  const err = encodeError(packet);
  return [err.code, err.rule];
};

/** CONNECT bytes with the given flags, keep alive 0, then the payload fields. */
const connect = (flags: number, ...payload: number[]) =>
  frame(0x10, ...str('MQTT'), 4, flags, 0, 0, ...payload);
const baseConnect = { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c', cleanSession: true, keepAlive: 0 };
const basePublish = { cmd: 'publish', topic: 't', payload: new Uint8Array(0), qos: 0, retain: false, dup: false };

describe('fixed header (spec 2.2)', () => {
  it('refuses reserved packet types 0 and 15', () => {
    expect(refusal(frame(0x00))[0]).toBe('INVALID_PACKET_TYPE');
    expect(refusal(frame(0xf0))[0]).toBe('INVALID_PACKET_TYPE');
  });

  it('[MQTT-2.2.2-1] [MQTT-2.2.2-2] refuses an MQTT 3.1.1 CONNECT with reserved flag bits set, once its name says 3.1.1', () => {
    const err = decodeError(frame(0x11, ...str('MQTT'), 4, 2, 0, 0, ...str('c')));
    expect([err.code, err.rule, err.offset]).toEqual(['INVALID_HEADER_FLAGS', 'MQTT-2.2.2-2', 0]);
  });

  it.each([
    ['CONNACK', 0x28, 'MQTT-2.2.2-2'],
    ['PUBACK', 0x42, 'MQTT-2.2.2-2'],
    ['PUBREC', 0x51, 'MQTT-2.2.2-2'],
    ['PUBCOMP', 0x74, 'MQTT-2.2.2-2'],
    ['SUBACK', 0x92, 'MQTT-2.2.2-2'],
    ['UNSUBACK', 0xb8, 'MQTT-2.2.2-2'],
    ['PINGREQ', 0xc1, 'MQTT-2.2.2-2'],
    ['PINGRESP', 0xd2, 'MQTT-2.2.2-2'],
  ])('[MQTT-2.2.2-1] [MQTT-2.2.2-2] refuses %s with reserved flag bits set', (_name, first, rule) => {
    expect(refusal(frame(first, 0, 1))).toEqual(['INVALID_HEADER_FLAGS', rule]);
  });

  it('[MQTT-3.6.1-1] refuses PUBREL whose flags are not 0010', () => {
    expect(refusal(frame(0x60, 0, 1))).toEqual(['INVALID_HEADER_FLAGS', 'MQTT-3.6.1-1']);
    expect(refusal(frame(0x63, 0, 1))).toEqual(['INVALID_HEADER_FLAGS', 'MQTT-3.6.1-1']);
  });

  it('[MQTT-3.8.1-1] refuses SUBSCRIBE whose flags are not 0010', () => {
    expect(refusal(frame(0x80, 0, 1, ...str('a'), 0))).toEqual(['INVALID_HEADER_FLAGS', 'MQTT-3.8.1-1']);
  });

  it('[MQTT-3.10.1-1] refuses UNSUBSCRIBE whose flags are not 0010', () => {
    expect(refusal(frame(0xa0, 0, 1, ...str('a')))).toEqual(['INVALID_HEADER_FLAGS', 'MQTT-3.10.1-1']);
  });

  it('[MQTT-3.14.1-1] refuses DISCONNECT with reserved flag bits set', () => {
    expect(refusal(frame(0xe1))).toEqual(['INVALID_HEADER_FLAGS', 'MQTT-3.14.1-1']);
  });

  it.each([
    ['PINGREQ with a body', frame(0xc0, 0)],
    ['DISCONNECT with a body', frame(0xe0, 0, 0)],
    ['PUBACK of 3 bytes', frame(0x40, 0, 1, 0)],
    ['PUBREL of 1 byte', frame(0x62, 1)],
    ['CONNACK of 3 bytes', frame(0x20, 0, 0, 0)],
    ['UNSUBACK of 0 bytes', frame(0xb0)],
  ])('refuses a Remaining Length that does not fit the type: %s', (_name, bytes) => {
    expect(refusal(bytes)[0]).toBe('INVALID_LENGTH');
  });

  it('refuses bytes left over after the last field of a SUBSCRIBE (a filter without its QoS)', () => {
    expect(refusal(frame(0x82, 0, 1, ...str('a'), 0, 0, 1))[0]).toBe('INVALID_LENGTH');
  });
});

describe('packet identifiers (spec 2.3.1)', () => {
  it.each([
    ['PUBLISH QoS 1', frame(0x32, ...str('t'), 0, 0)],
    ['PUBACK', frame(0x40, 0, 0)],
    ['PUBREL', frame(0x62, 0, 0)],
    ['SUBSCRIBE', frame(0x82, 0, 0, ...str('a'), 0)],
    ['SUBACK', frame(0x90, 0, 0, 0)],
    ['UNSUBSCRIBE', frame(0xa2, 0, 0, ...str('a'))],
  ])('[MQTT-2.3.1-1] the decoder refuses packet identifier 0 in %s', (_name, bytes) => {
    expect(refusal(bytes)).toEqual(['INVALID_PACKET_ID', 'MQTT-2.3.1-1']);
  });

  it.each([0, 65_536, 1.5, -1, undefined, '7'])('[MQTT-2.3.1-1] the encoder refuses packet identifier %s', (packetId) => {
    expect(encodeRefusal({ cmd: 'puback', packetId })).toEqual(['INVALID_PACKET_ID', 'MQTT-2.3.1-1']);
    expect(encodeRefusal({ ...basePublish, qos: 1, packetId })).toEqual(['INVALID_PACKET_ID', 'MQTT-2.3.1-1']);
    expect(encodeRefusal({ cmd: 'subscribe', packetId, subscriptions: [{ topicFilter: 'a', qos: 0 }] })).toEqual([
      'INVALID_PACKET_ID',
      'MQTT-2.3.1-1',
    ]);
  });

  it('[MQTT-2.3.1-5] a QoS 0 PUBLISH has no packet identifier: the encoder refuses one', () => {
    expect(encodeRefusal({ ...basePublish, packetId: 1 })).toEqual(['INVALID_PACKET_ID', 'MQTT-2.3.1-5']);
    // and a QoS 0 PUBLISH decodes without one: the two bytes after the topic are payload
    expect(decode(frame(0x30, ...str('t'), 0, 1))).toMatchObject({ payload: Uint8Array.of(0, 1) });
    expect(decode(frame(0x30, ...str('t'), 0, 1))).not.toHaveProperty('packetId');
  });
});

describe('CONNECT (spec 3.1)', () => {
  it('[MQTT-3.1.2-1] refuses a protocol name other than "MQTT" (or MQTT 3.1\'s "MQIsdp")', () => {
    expect(refusal(frame(0x10, ...str('MQIsdP'), 3, 2, 0, 0, ...str('c')))).toEqual(['INVALID_PROTOCOL_NAME', 'MQTT-3.1.2-1']);
    expect(refusal(frame(0x10, ...str('mqtt'), 4, 2, 0, 0, ...str('c')))).toEqual(['INVALID_PROTOCOL_NAME', 'MQTT-3.1.2-1']);
  });

  it('[MQTT-3.1.2-2] refuses protocol level 3 and 5 with action connack, return code 1', () => {
    for (const level of [3, 5]) {
      const bytes = frame(0x10, ...str('MQTT'), level, 2, 0, 0, ...str('c'));
      expect(refusal(bytes)).toEqual(['UNSUPPORTED_PROTOCOL_LEVEL', 'MQTT-3.1.2-2']);
      const err = thrown(() => decode(bytes));
      expect([err.action, err.returnCode, err.offset]).toEqual(['connack', 1, 8]);
    }
  });

  it('[MQTT-3.1.2-3] refuses the reserved connect flag bit 0', () => {
    expect(refusal(connect(0x03, ...str('c')))).toEqual(['INVALID_CONNECT_FLAGS', 'MQTT-3.1.2-3']);
  });

  it('[MQTT-3.1.2-9] will flag set: will topic and message must be present', () => {
    expect(refusal(connect(0x06, ...str('c')))).toEqual(['INVALID_LENGTH', 'MQTT-3.1.2-9']);
    expect(refusal(connect(0x06, ...str('c'), ...str('w')))).toEqual(['INVALID_LENGTH', 'MQTT-3.1.2-9']);
  });

  it('[MQTT-3.1.2-11] will flag 0: no will fields in the payload', () => {
    expect(refusal(connect(0x02, ...str('c'), ...str('w'), ...str('m')))).toEqual(['INVALID_LENGTH', 'MQTT-3.1.2-11']);
  });

  it('[MQTT-3.1.2-13] will flag 0: will QoS must be 0', () => {
    expect(refusal(connect(0x0a, ...str('c')))).toEqual(['INVALID_CONNECT_FLAGS', 'MQTT-3.1.2-13']);
  });

  it('[MQTT-3.1.2-14] will QoS 3 is refused by the decoder; the encoder refuses will QoS 3', () => {
    expect(refusal(connect(0x1e, ...str('c'), ...str('w'), ...str('m')))).toEqual(['INVALID_QOS', 'MQTT-3.1.2-14']);
    const will = { topic: 'w', payload: new Uint8Array(0), qos: 3, retain: false };
    expect(encodeRefusal({ ...baseConnect, will })).toEqual(['INVALID_QOS', 'MQTT-3.1.2-14']);
  });

  it('[MQTT-3.1.2-15] will flag 0: will retain must be 0', () => {
    expect(refusal(connect(0x22, ...str('c')))).toEqual(['INVALID_CONNECT_FLAGS', 'MQTT-3.1.2-15']);
  });

  it('[MQTT-3.1.2-18] user name flag 0: no user name in the payload', () => {
    expect(refusal(connect(0x06, ...str('c'), ...str('w'), ...str('m'), ...str('u')))).toEqual(['INVALID_LENGTH', 'MQTT-3.1.2-18']);
  });

  it('[MQTT-3.1.2-19] user name flag 1: the user name must be present', () => {
    expect(refusal(connect(0x82, ...str('c')))).toEqual(['INVALID_LENGTH', 'MQTT-3.1.2-19']);
    expect(decode(connect(0x82, ...str('c'), ...str('u')))).toMatchObject({ username: 'u' });
  });

  it('[MQTT-3.1.2-20] password flag 0: no password in the payload', () => {
    expect(refusal(connect(0x82, ...str('c'), ...str('u'), ...str('p')))).toEqual(['INVALID_LENGTH', 'MQTT-3.1.2-20']);
  });

  it('[MQTT-3.1.2-21] password flag 1: the password must be present', () => {
    expect(refusal(connect(0xc2, ...str('c'), ...str('u')))).toEqual(['INVALID_LENGTH', 'MQTT-3.1.2-21']);
    expect(decode(connect(0xc2, ...str('c'), ...str('u'), 0, 2, 0xff, 0x00))).toMatchObject({ password: Uint8Array.of(0xff, 0) });
  });

  it('[MQTT-3.1.2-22] a password without a user name is refused by decoder and encoder', () => {
    expect(refusal(connect(0x42, ...str('c'), ...str('p')))).toEqual(['INVALID_CONNECT_FLAGS', 'MQTT-3.1.2-22']);
    expect(encodeRefusal({ ...baseConnect, password: Uint8Array.of(1) })).toEqual(['INVALID_CONNECT_FLAGS', 'MQTT-3.1.2-22']);
  });

  it('[MQTT-3.1.3-3] the client id must be present', () => {
    expect(refusal(connect(0x02))).toEqual(['INVALID_LENGTH', 'MQTT-3.1.3-3']);
  });

  it('[MQTT-3.1.3-10] the will topic is a topic name: no wildcards, not empty', () => {
    expect(refusal(connect(0x06, ...str('c'), ...str('w/#'), ...str('m')))).toEqual(['INVALID_TOPIC', 'MQTT-4.7.1-1']);
    expect(refusal(connect(0x06, ...str('c'), ...str(''), ...str('m')))).toEqual(['INVALID_TOPIC', 'MQTT-4.7.3-1']);
    const will = { topic: 'w/+', payload: new Uint8Array(0), qos: 0, retain: false };
    expect(encodeRefusal({ ...baseConnect, will })).toEqual(['INVALID_TOPIC', 'MQTT-4.7.1-1']);
  });

  it('the encoder refuses keep alive, level or binary fields out of range', () => {
    expect(encodeRefusal({ ...baseConnect, keepAlive: 65_536 })[0]).toBe('INVALID_PACKET');
    expect(encodeRefusal({ ...baseConnect, protocolLevel: 256 })[0]).toBe('INVALID_PACKET');
    expect(encodeRefusal({ ...baseConnect, username: 'u', password: new Uint8Array(65_536) })[0]).toBe('STRING_TOO_LONG');
    expect(encodeRefusal({ ...baseConnect, username: 'u', password: 'text' })[0]).toBe('INVALID_PACKET');
    expect(encodeRefusal({ ...baseConnect, clientId: 'x'.repeat(65_536) })[0]).toBe('STRING_TOO_LONG');
  });
});

describe('CONNACK (spec 3.2)', () => {
  it('refuses reserved acknowledge flag bits and return codes above 5', () => {
    expect(refusal(frame(0x20, 0x02, 0))[0]).toBe('INVALID_RETURN_CODE');
    expect(refusal(frame(0x20, 0, 6))[0]).toBe('INVALID_RETURN_CODE');
    expect(encodeRefusal({ cmd: 'connack', sessionPresent: false, returnCode: 6 })[0]).toBe('INVALID_RETURN_CODE');
  });

  it('[MQTT-3.2.2-4] a refusal has Session Present 0, in both directions', () => {
    expect(refusal(frame(0x20, 1, 5))).toEqual(['INVALID_RETURN_CODE', 'MQTT-3.2.2-4']);
    expect(encodeRefusal({ cmd: 'connack', sessionPresent: true, returnCode: 5 })).toEqual(['INVALID_RETURN_CODE', 'MQTT-3.2.2-4']);
  });
});

describe('PUBLISH (spec 3.3)', () => {
  it('[MQTT-3.3.1-2] DUP on QoS 0 is refused from the first byte, and by the encoder', () => {
    expect(refusal(frame(0x38, ...str('t')))).toEqual(['INVALID_DUP', 'MQTT-3.3.1-2']);
    expect(encodeRefusal({ ...basePublish, dup: true })).toEqual(['INVALID_DUP', 'MQTT-3.3.1-2']);
  });

  it('[MQTT-3.3.1-4] QoS 3 is refused from the first byte, and by the encoder', () => {
    expect(refusal(frame(0x36, ...str('t'), 0, 1))).toEqual(['INVALID_QOS', 'MQTT-3.3.1-4']);
    expect(encodeRefusal({ ...basePublish, qos: 3, packetId: 1 })).toEqual(['INVALID_QOS', 'MQTT-3.3.1-4']);
  });

  it.each(['a/+', '#', 'a/#', 'a+b'])('[MQTT-3.3.2-2] refuses the wildcard topic %j', (topic) => {
    expect(refusal(frame(0x30, ...str(topic)))).toEqual(['INVALID_TOPIC', 'MQTT-3.3.2-2']);
    expect(encodeRefusal({ ...basePublish, topic })).toEqual(['INVALID_TOPIC', 'MQTT-3.3.2-2']);
  });

  it('[MQTT-4.7.3-1] refuses an empty topic', () => {
    expect(refusal(frame(0x30, 0, 0, 1))).toEqual(['INVALID_TOPIC', 'MQTT-4.7.3-1']);
    expect(encodeRefusal({ ...basePublish, topic: '' })).toEqual(['INVALID_TOPIC', 'MQTT-4.7.3-1']);
  });

  it('[MQTT-4.7.3-2] refuses U+0000 in a topic', () => {
    expect(refusal(frame(0x30, 0, 3, 0x61, 0, 0x62))).toEqual(['NULL_CHARACTER', 'MQTT-4.7.3-2']);
    expect(encodeRefusal({ ...basePublish, topic: 'a\u0000' })).toEqual(['NULL_CHARACTER', 'MQTT-4.7.3-2']);
  });

  it('[MQTT-4.7.3-3] the encoder refuses a topic over 65,535 bytes', () => {
    expect(encodeRefusal({ ...basePublish, topic: 'é'.repeat(32_768) })).toEqual(['STRING_TOO_LONG', 'MQTT-4.7.3-3']);
  });

  it('the encoder refuses a payload that is not a Uint8Array', () => {
    expect(encodeRefusal({ ...basePublish, payload: 'text' })[0]).toBe('INVALID_PACKET');
  });
});

describe('SUBSCRIBE, SUBACK, UNSUBSCRIBE (spec 3.8 - 3.10)', () => {
  it('[MQTT-3.8.3-3] refuses a SUBSCRIBE without any filter', () => {
    expect(refusal(frame(0x82, 0, 1))).toEqual(['EMPTY_SUBSCRIPTION_LIST', 'MQTT-3.8.3-3']);
    expect(encodeRefusal({ cmd: 'subscribe', packetId: 1, subscriptions: [] })).toEqual(['EMPTY_SUBSCRIPTION_LIST', 'MQTT-3.8.3-3']);
  });

  it.each([3, 0x04, 0x81, 0xff])('[MQTT-3.8.3-4] refuses requested-QoS byte 0x%s', (q) => {
    expect(refusal(frame(0x82, 0, 1, ...str('a'), q))).toEqual(['INVALID_QOS', 'MQTT-3.8.3-4']);
  });

  it('[MQTT-3.8.3-4] the encoder refuses a requested QoS that is not 0, 1 or 2', () => {
    expect(encodeRefusal({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 3 }] })).toEqual([
      'INVALID_QOS',
      'MQTT-3.8.3-4',
    ]);
  });

  it('[MQTT-4.7.1-2] [MQTT-4.7.1-3] refuses misplaced wildcards in SUBSCRIBE and UNSUBSCRIBE filters', () => {
    expect(refusal(frame(0x82, 0, 1, ...str('a/#/b'), 0))).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.1-2']);
    expect(refusal(frame(0x82, 0, 1, ...str('a+'), 0))).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.1-3']);
    expect(refusal(frame(0xa2, 0, 1, ...str('a#')))).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.1-2']);
    expect(encodeRefusal({ cmd: 'unsubscribe', packetId: 1, topicFilters: ['+a'] })).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.1-3']);
  });

  it('[MQTT-4.7.3-1] refuses an empty filter', () => {
    expect(refusal(frame(0x82, 0, 1, 0, 0, 0))).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.3-1']);
    expect(encodeRefusal({ cmd: 'unsubscribe', packetId: 1, topicFilters: [''] })).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.3-1']);
  });

  it.each([3, 0x7f, 0x81, 0xff])('[MQTT-3.9.3-2] refuses SUBACK return code %i', (rc) => {
    expect(refusal(frame(0x90, 0, 1, 0, rc))).toEqual(['INVALID_RETURN_CODE', 'MQTT-3.9.3-2']);
    expect(encodeRefusal({ cmd: 'suback', packetId: 1, returnCodes: [rc] })).toEqual(['INVALID_RETURN_CODE', 'MQTT-3.9.3-2']);
  });

  it('refuses a SUBACK without return codes', () => {
    expect(refusal(frame(0x90, 0, 1))[0]).toBe('EMPTY_SUBSCRIPTION_LIST');
    expect(encodeRefusal({ cmd: 'suback', packetId: 1, returnCodes: [] })[0]).toBe('EMPTY_SUBSCRIPTION_LIST');
  });

  it('[MQTT-3.10.3-2] refuses an UNSUBSCRIBE without any filter', () => {
    expect(refusal(frame(0xa2, 0, 1))).toEqual(['EMPTY_SUBSCRIPTION_LIST', 'MQTT-3.10.3-2']);
    expect(encodeRefusal({ cmd: 'unsubscribe', packetId: 1, topicFilters: [] })).toEqual(['EMPTY_SUBSCRIPTION_LIST', 'MQTT-3.10.3-2']);
  });
});

describe('the encoder refuses what is not a packet', () => {
  it.each([null, 42, 'publish', {}, { cmd: 'auth' }])('refuses %j with INVALID_PACKET', (value) => {
    expect(encodeRefusal(value)[0]).toBe('INVALID_PACKET');
  });
});
