import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SubscriptionTree } from '../../src/broker-mini/core/router.js';
import { RetainedStore } from '../../src/broker-mini/core/retained.js';
import { topicMatches } from '../../src/codec/index.js';

const b = (s: string) => new TextEncoder().encode(s);
/** A tree holding the given (filter, clientId) subscriptions, all at QoS 0. */
const treeOf = (...subs: Array<[string, string]>) => {
  const t = new SubscriptionTree();
  for (const [filter, clientId] of subs) t.add(filter, clientId, 0);
  return t;
};
/** The clientIds matching `topic`, sorted. */
const matched = (t: SubscriptionTree, topic: string) => [...t.match(topic).keys()].sort();

describe('SubscriptionTree', () => {
  it('matches literal levels, + and # (spec 4.7.1)', () => {
    const t = treeOf(['sport/tennis/player1', 'lit'], ['sport/tennis/+', 'plus'], ['sport/#', 'hash'], ['#', 'all'], ['+/+', 'two']);
    expect(matched(t, 'sport/tennis/player1')).toEqual(['all', 'hash', 'lit', 'plus']);
    expect(matched(t, 'sport')).toEqual(['all', 'hash']); // '#' includes the parent level
    expect(matched(t, 'sport/')).toEqual(['all', 'hash', 'two']);
    expect(matched(t, '/finance')).toEqual(['all', 'two']);
    expect(matched(t, 'sport/tennis/player1/ranking')).toEqual(['all', 'hash']);
  });

  it('[MQTT-4.7.2-1] filters starting with + or # never match topics starting with $', () => {
    const t = treeOf(['#', 'hash'], ['+/monitor/Clients', 'plus'], ['$SYS/#', 'sys'], ['$SYS/monitor/+', 'sysplus']);
    expect(matched(t, '$SYS/monitor/Clients')).toEqual(['sys', 'sysplus']);
    expect(matched(t, 'x/monitor/Clients')).toEqual(['hash', 'plus']);
  });

  it('[MQTT-3.3.5-1] gives a client with overlapping filters one entry, at the highest granted QoS', () => {
    const t = new SubscriptionTree();
    t.add('a/#', 'c', 0);
    t.add('a/+', 'c', 2);
    t.add('a/b', 'c', 1);
    t.add('a/b', 'd', 1);
    expect(t.match('a/b')).toEqual(new Map([['c', 2], ['d', 1]]));
  });

  it('[MQTT-3.8.4-3] the same filter from the same client replaces the subscription', () => {
    const t = new SubscriptionTree();
    expect(t.add('a/b', 'c', 0)).toBe(false);
    expect(t.add('a/b', 'c', 2)).toBe(true);
    expect(t.size).toBe(1);
    expect(t.match('a/b').get('c')).toBe(2);
  });

  it('[MQTT-3.10.4-1] removes only the subscription whose filter is the same string', () => {
    const t = new SubscriptionTree();
    t.add('a/+', 'c', 0);
    t.add('a/b', 'c', 0);
    expect(t.remove('a/b/#', 'c')).toBe(false);
    expect(t.remove('a/#', 'c')).toBe(false);
    expect(t.remove('a/+', 'c')).toBe(true);
    expect(t.match('a/b').has('c')).toBe(true);
    expect(t.match('a/x').has('c')).toBe(false);
    expect(t.size).toBe(1);
  });

  it('[MQTT-4.7.3-4] compares raw strings: no case folding or Unicode normalisation', () => {
    const t = new SubscriptionTree();
    t.add('Caf\u00e9', 'nfc', 0); // é precomposed
    t.add('cafe\u0301', 'nfd', 0); // e + combining acute
    expect([...t.match('Caf\u00e9').keys()]).toEqual(['nfc']);
    expect([...t.match('cafe\u0301').keys()]).toEqual(['nfd']);
    expect(t.match('caf\u00e9').size).toBe(0);
    expect(t.match('Cafe\u0301').size).toBe(0);
  });

  it('prunes empty branches when subscriptions go away', () => {
    const t = new SubscriptionTree();
    for (let i = 0; i < 100; i++) t.add(`x/${i}/y`, 'c', 0);
    for (let i = 0; i < 100; i++) t.remove(`x/${i}/y`, 'c');
    expect(t.size).toBe(0);
    t.add('x/1/y', 'd', 1);
    expect(t.match('x/1/y')).toEqual(new Map([['d', 1]]));
  });

  it('agrees with the codec topicMatches on a grid of filters and topics', () => {
    const filters = ['#', '+', '+/+', 'a', 'a/#', 'a/+', 'a/+/c', '+/b/#', '/+', '/#', 'a//c', '$SYS/#', '+/#', 'a/b/c/#'];
    const topics = ['a', 'a/b', 'a/b/c', 'a//c', '/a', '/', 'b/b/x', '$SYS/x', '$x', 'a/b/c/d', 'x'];
    const t = treeOf(...filters.map((f, i): [string, string] => [f, `c${i}`]));
    for (const topic of topics) {
      const expected = filters.map((f, i) => (topicMatches(f, topic) ? `c${i}` : '')).filter(Boolean).sort();
      expect(matched(t, topic), topic).toEqual(expected);
    }
  });
});

describe('SubscriptionTree.routes (the cached form of match)', () => {
  const asMap = (routes: readonly { clientId: string; qos: number }[]) => new Map(routes.map((r) => [r.clientId, r.qos]));

  it('remembers a topic’s routes until the subscriptions change', () => {
    const t = new SubscriptionTree();
    t.add('a/+', 'c', 1);
    const first = t.routes('a/b');
    expect(first).toEqual([{ clientId: 'c', qos: 1 }]);
    expect(t.routes('a/b')).toBe(first); // the same list: nothing was recomputed
    t.add('#', 'd', 0);
    expect(asMap(t.routes('a/b'))).toEqual(new Map([['c', 1], ['d', 0]]));
    t.remove('a/+', 'c');
    expect(t.routes('a/b')).toEqual([{ clientId: 'd', qos: 0 }]);
    t.add('#', 'd', 2); // a new QoS for the same filter [MQTT-3.8.4-3]
    expect(t.routes('a/b')).toEqual([{ clientId: 'd', qos: 2 }]);
  });

  it('stays bounded and correct past its size: many topics, and topics too long to cache', () => {
    const t = new SubscriptionTree();
    t.add('x/#', 'c', 1);
    for (let i = 0; i < 10_000; i++) expect(t.routes(`x/${i}`)).toHaveLength(1);
    const long = `x/${'y'.repeat(1_000)}`;
    expect(t.routes(long)).toEqual([{ clientId: 'c', qos: 1 }]);
    expect(t.routes(long)).not.toBe(t.routes(long)); // computed each time, never kept
    expect(t.routes('x/0')).toEqual([{ clientId: 'c', qos: 1 }]);
  });

  it('always answers what match answers, through any sequence of subscribes and unsubscribes', () => {
    const level = fc.constantFrom('a', 'b', '', '$s');
    const filter = fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 3 }).chain((ls) =>
      fc.boolean().map((hash) => (hash ? [...ls, '#'] : ls).join('/')),
    );
    const topic = fc.array(level, { minLength: 1, maxLength: 3 }).map((ls) => ls.join('/'));
    const op = fc.oneof(
      fc.record({ op: fc.constant('add' as const), filter, client: fc.constantFrom('c1', 'c2', 'c3'), qos: fc.constantFrom(0, 1, 2) }),
      fc.record({ op: fc.constant('remove' as const), filter, client: fc.constantFrom('c1', 'c2', 'c3') }),
      fc.record({ op: fc.constant('route' as const), topic }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const t = new SubscriptionTree();
        for (const o of ops) {
          if (o.op === 'add') t.add(o.filter, o.client, o.qos as 0 | 1 | 2);
          else if (o.op === 'remove') t.remove(o.filter, o.client);
          else expect(asMap(t.routes(o.topic))).toEqual(t.match(o.topic));
        }
      }),
    );
  });
});

describe('RetainedStore', () => {
  it('[MQTT-3.3.1-5] [MQTT-3.3.1-7] keeps one message per topic: the newest, with its QoS', () => {
    const r = new RetainedStore();
    r.set('a', b('1'), 1);
    r.set('a', b('2'), 0);
    expect(r.get('a')).toEqual({ topic: 'a', payload: b('2'), qos: 0 });
    expect(r.size).toBe(1);
  });

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty payload clears the topic and is not stored', () => {
    const r = new RetainedStore();
    r.set('a', b('1'), 1);
    r.set('a', new Uint8Array(0), 0);
    expect(r.get('a')).toBeUndefined();
    r.set('b', new Uint8Array(0), 1);
    expect(r.size).toBe(0);
  });

  it('counts bytes (payload plus topic) and refuses beyond its bounds, removing the topic’s older message', () => {
    const r = new RetainedStore({ maxMessages: 2, maxBytes: 10 });
    expect(r.set('a', b('1234'), 0)).toBe('stored'); // 5
    expect(r.set('b', b('12'), 0)).toBe('stored'); // 3
    expect(r.set('c', b('1'), 0)).toBe('refused'); // a third topic
    expect(r.set('a', b('12345'), 1)).toBe('stored'); // 6 + 3 = 9: replacing needs no new slot
    expect(r.bytes).toBe(9);
    expect(r.set('b', b('123'), 0)).toBe('stored'); // 6 + 4 = 10: exactly the bound
    expect(r.set('b', b('1234'), 0)).toBe('refused'); // 6 + 5 = 11
    expect(r.get('b')).toBeUndefined();
    expect(r.bytes).toBe(6);
    expect(r.set('a', new Uint8Array(0), 0)).toBe('cleared');
    expect(r.bytes).toBe(0);
  });

  it('[MQTT-3.3.1-6] finds every retained message matching a filter, never $ topics for a leading wildcard', () => {
    const r = new RetainedStore();
    for (const t of ['a/b', 'a/c', 'b', '$SYS/x']) r.set(t, b(t), 0);
    expect(r.matching('a/+').map((m) => m.topic).sort()).toEqual(['a/b', 'a/c']);
    expect(r.matching('#').map((m) => m.topic).sort()).toEqual(['a/b', 'a/c', 'b']);
    expect(r.matching('$SYS/#').map((m) => m.topic)).toEqual(['$SYS/x']);
    expect(r.matching('b').map((m) => m.topic)).toEqual(['b']);
    expect(r.matching('zzz')).toEqual([]);
  });
});
