/** Topic names, topic filters and matching (spec 4.7). */
import { describe, expect, it } from 'vitest';
import {
  isValidTopicFilter,
  isValidTopicName,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from '../../src/codec/index.js';
import { thrown } from './helpers.js';

const nameError = (t: string) => {
  const e = thrown(() => validateTopicName(t));
  return [e.code, e.rule];
};
const filterError = (f: string) => {
  const e = thrown(() => validateTopicFilter(f));
  return [e.code, e.rule];
};

describe('topic names', () => {
  it.each(['a', '/', '//', 'a/b/c', '/finance', 'sport/', '$SYS/x', ' ', 'é/€/😀', '\ufeff'])('accepts %j', (t) => {
    expect(() => validateTopicName(t)).not.toThrow();
    expect(isValidTopicName(t)).toBe(true);
  });

  it.each(['+', '#', 'a/+', 'a/#', 'a+', 'sport/tennis#'])('[MQTT-4.7.1-1] refuses the wildcard name %j', (t) => {
    expect(nameError(t)).toEqual(['INVALID_TOPIC', 'MQTT-4.7.1-1']);
    expect(isValidTopicName(t)).toBe(false);
  });

  it('[MQTT-4.7.3-1] refuses the empty name', () => {
    expect(nameError('')).toEqual(['INVALID_TOPIC', 'MQTT-4.7.3-1']);
  });

  it('[MQTT-4.7.3-2] refuses U+0000', () => {
    expect(nameError('a\u0000b')).toEqual(['NULL_CHARACTER', 'MQTT-4.7.3-2']);
  });

  it('[MQTT-4.7.3-3] accepts 65,535 bytes and refuses 65,536', () => {
    expect(isValidTopicName('a'.repeat(65_535))).toBe(true);
    expect(isValidTopicName('€'.repeat(21_845))).toBe(true); // 3 bytes each: 65,535
    expect(nameError('a'.repeat(65_536))).toEqual(['STRING_TOO_LONG', 'MQTT-4.7.3-3']);
    expect(nameError('😀'.repeat(16_384))).toEqual(['STRING_TOO_LONG', 'MQTT-4.7.3-3']); // 65,536 bytes
  });

  it('[MQTT-1.5.3-1] refuses a lone surrogate', () => {
    expect(nameError('a\ud800')).toEqual(['INVALID_UTF8', 'MQTT-1.5.3-1']);
    expect(nameError('\udc00')).toEqual(['INVALID_UTF8', 'MQTT-1.5.3-1']);
  });

  it('refuses what is not a string', () => {
    expect(thrown(() => validateTopicName(42 as unknown as string)).code).toBe('INVALID_TOPIC');
  });
});

describe('topic filters', () => {
  it.each(['#', '+', '+/+', '/+', '+/', 'a/#', 'a/+/b', '+/tennis/#', 'sport/tennis/player1', '$SYS/#', '//#'])(
    'accepts %j',
    (f) => {
      expect(() => validateTopicFilter(f)).not.toThrow();
      expect(isValidTopicFilter(f)).toBe(true);
    },
  );

  it.each(['sport/tennis#', 'sport/tennis/#/ranking', '#/', 'a/##', '#a'])(
    "[MQTT-4.7.1-2] refuses %j: '#' must be last and alone in its level",
    (f) => {
      expect(filterError(f)).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.1-2']);
      expect(isValidTopicFilter(f)).toBe(false);
    },
  );

  it.each(['sport+', 'a/+b', '++', 'a/b+/c', '+#'])("[MQTT-4.7.1-3] refuses %j: '+' must fill its level", (f) => {
    expect(filterError(f)).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.1-3']);
  });

  it('[MQTT-4.7.3-1] refuses the empty filter', () => {
    expect(filterError('')).toEqual(['INVALID_TOPIC_FILTER', 'MQTT-4.7.3-1']);
  });

  it('[MQTT-4.7.3-2] refuses U+0000', () => {
    expect(filterError('a/\u0000/#')).toEqual(['NULL_CHARACTER', 'MQTT-4.7.3-2']);
  });
});

describe('topicMatches (spec 4.7)', () => {
  const cases: [string, string, boolean][] = [
    // the spec's own examples, 4.7.1.2 and 4.7.1.3
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'sport/tennis', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player2', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    // more
    ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false],
    ['a/b', 'a', false],
    ['a', 'a/b', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a//c', true],
    ['a/+/c', 'a/b/d', false],
    ['+', 'a', true],
    ['+', '', true],
    ['a/#', 'a/', true],
    ['a/#', 'ab', false],
    ['//', '//', true],
    ['+/+/+', 'a/b', false],
    ['é/+', 'é/€', true],
    ['Sport', 'sport', false], // [MQTT-4.7.3-4] raw, case-sensitive comparison
    ['a/b', 'a/b ', false],
  ];

  it.each(cases)('%j against %j is %s', (filter, name, expected) => {
    expect(topicMatches(filter, name)).toBe(expected);
  });

  it('[MQTT-4.7.2-1] a filter starting with a wildcard does not match a name starting with $', () => {
    expect(topicMatches('#', '$SYS/uptime')).toBe(false);
    expect(topicMatches('+/monitor/Clients', '$SYS/monitor/Clients')).toBe(false);
    expect(topicMatches('+', '$')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/uptime')).toBe(true);
    expect(topicMatches('$SYS/monitor/+', '$SYS/monitor/Clients')).toBe(true);
    expect(topicMatches('a/#', 'a/$b')).toBe(true); // only the first character of the name counts
  });

  it('[MQTT-4.7.3-4] compares raw strings: no Unicode normalisation', () => {
    // "é" precomposed (U+00E9) and decomposed (e + U+0301) are different topics.
    expect(topicMatches('caf\u00e9', 'cafe\u0301')).toBe(false);
    expect(topicMatches('caf\u00e9/+', 'caf\u00e9/x')).toBe(true);
  });
});
