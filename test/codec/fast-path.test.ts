import { describe, expect, it } from 'vitest';
import { encodeIntoChecked } from '../../src/codec/encode.js';
import { encodeInto, isMqttError, validateTopicName, type PublishPacket } from '../../src/codec/index.js';

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

/** Encodes with `encodeInto` and with the checked path alone; both results, bytes or error code. */
function both(p: PublishPacket): [unknown, unknown] {
  const run = (f: typeof encodeInto): unknown => {
    const buf = new Uint8Array(64).fill(0xee);
    try {
      return buf.subarray(0, f(p, buf, 1) + 1);
    } catch (err) {
      return isMqttError(err) ? [err.code, err.rule, buf.every((b) => b === 0xee)] : err;
    }
  };
  return [run(encodeInto), run(encodeIntoChecked)];
}

describe('the one topic-name memo (validateTopicName and the encodeInto fast path)', () => {
  it('a non-ASCII topic name validated once is encoded by its UTF-8 length, as the checked path does', () => {
    const topic = 'sensör/température/€';
    validateTopicName(topic);
    const [fast, checked] = both(publish(topic));
    expect(fast).toEqual(checked);
  });

  it('[MQTT-3.3.2-2] a topic with a wildcard is never remembered: both paths refuse it', () => {
    expect(() => validateTopicName('a/+')).toThrow();
    const [fast, checked] = both(publish('a/+'));
    expect(fast).toEqual(['INVALID_TOPIC', 'MQTT-3.3.2-2', true]);
    expect(checked).toEqual(fast);
  });

  it('[MQTT-2.3.1-5] a known topic does not let a bad field through: same error, buffer untouched', () => {
    validateTopicName('known/topic');
    const [fast, checked] = both(publish('known/topic', { qos: 0 }));
    expect(fast).toEqual(['INVALID_PACKET_ID', 'MQTT-2.3.1-5', true]);
    expect(checked).toEqual(fast);
  });

  it('a packet that does not fit the buffer is refused before anything is written', () => {
    validateTopicName('fits/not');
    const [fast, checked] = both(publish('fits/not', { payload: new Uint8Array(100) }));
    expect(fast).toEqual(['BUFFER_TOO_SMALL', undefined, true]);
    expect(checked).toEqual(fast);
  });
});
