/**
 * The protocol tracker on its own: packets in (as the codec encodes them), the rule ids it flags
 * out. No sockets; time is passed in.
 */
import { describe, expect, it } from 'vitest';
import { encode, type Packet } from '../../src/codec/index.js';
import { ProtocolTracker, type Direction, type TraceRecord } from '../../src/lab/tracker.js';

const CONNECT: Packet = { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c', cleanSession: true, keepAlive: 0 };
const CONNACK: Packet = { cmd: 'connack', sessionPresent: false, returnCode: 0 };
const pub = (packetId: number | undefined, qos: 0 | 1 | 2, payload = 'a', dup = false, topic = 'x'): Packet =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup, ...(packetId === undefined ? {} : { packetId }) }) as Packet;

/** Feeds `steps` in order and returns every record. */
function trace(steps: Array<[Direction, Packet | number[]]>, tracker = new ProtocolTracker()): TraceRecord[] {
  let now = 1_000;
  return steps.flatMap(([dir, p]) => tracker.feed(dir, Array.isArray(p) ? Uint8Array.from(p) : encode(p), now++));
}

/** The rule ids flagged as violations (notes left out). */
const rules = (records: TraceRecord[]) => records.flatMap((r) => r.violations.filter((v) => v.severity === 'violation').map((v) => v.rule));

const opening: Array<[Direction, Packet]> = [['c2s', CONNECT], ['s2c', CONNACK], ['c2s', { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'x', qos: 2 }] }], ['s2c', { cmd: 'suback', packetId: 1, returnCodes: [2] }]];

describe('protocol tracker', () => {
  it('a clean QoS 1 and QoS 2 exchange in both directions flags nothing', () => {
    const records = trace([
      ...opening,
      ['c2s', pub(2, 1)], ['s2c', { cmd: 'puback', packetId: 2 }],
      ['c2s', pub(3, 2)], ['s2c', { cmd: 'pubrec', packetId: 3 }], ['c2s', { cmd: 'pubrel', packetId: 3 }], ['s2c', { cmd: 'pubcomp', packetId: 3 }],
      ['s2c', pub(1, 2)], ['c2s', { cmd: 'pubrec', packetId: 1 }], ['s2c', { cmd: 'pubrel', packetId: 1 }], ['c2s', { cmd: 'pubcomp', packetId: 1 }],
      ['c2s', { cmd: 'pingreq' }], ['s2c', { cmd: 'pingresp' }], ['c2s', { cmd: 'disconnect' }],
    ]);
    expect(records.map((r) => r.packet?.cmd)).toHaveLength(17);
    expect(records.flatMap((r) => r.violations)).toEqual([]);
  });

  it('keeps each packet\'s own bytes, also when packets share or split chunks', () => {
    const t = new ProtocolTracker();
    const bytes = Buffer.concat([encode(CONNECT), encode({ cmd: 'pingreq' })]);
    const a = t.feed('c2s', bytes.subarray(0, 5), 1);
    const b = t.feed('c2s', bytes.subarray(5), 2);
    expect(a).toEqual([]);
    expect(b.map((r) => Buffer.from(r.bytes).toString('hex'))).toEqual([Buffer.from(encode(CONNECT)).toString('hex'), 'c000']);
  });

  it('takes a 4 MiB PUBLISH arriving in 64 KiB chunks whole, bytes intact', () => {
    const t = new ProtocolTracker();
    t.feed('c2s', encode(CONNECT), 0);
    const big = Buffer.from(encode(pub(undefined, 0, 'x'.repeat(4 * 1024 * 1024))));
    const records: TraceRecord[] = [];
    for (let at = 0; at < big.length; at += 65_536) records.push(...t.feed('c2s', big.subarray(at, at + 65_536), 1));
    expect(records).toHaveLength(1);
    expect(Buffer.from(records[0]!.bytes).equals(big)).toBe(true);
  });

  it('[MQTT-3.1.0-1] flags a first packet that is not CONNECT', () => {
    expect(rules(trace([['c2s', pub(undefined, 0)]]))).toContain('MQTT-3.1.0-1');
  });

  it('[MQTT-3.1.0-2] flags a second CONNECT', () => {
    expect(rules(trace([['c2s', CONNECT], ['s2c', CONNACK], ['c2s', CONNECT]]))).toEqual(['MQTT-3.1.0-2']);
  });

  it('[MQTT-3.2.0-1] flags a server whose first packet is not CONNACK', () => {
    expect(rules(trace([['c2s', CONNECT], ['s2c', { cmd: 'pingresp' }]]))).toContain('MQTT-3.2.0-1');
  });

  it('[MQTT-3.1.4-5] notes a PUBLISH sent before the CONNACK', () => {
    const records = trace([['c2s', CONNECT], ['c2s', pub(undefined, 0)]]);
    expect(records[1]!.violations).toMatchObject([{ rule: 'MQTT-3.1.4-5', severity: 'note', by: 'client' }]);
  });

  it('[MQTT-3.3.1-1] flags a broker re-delivering a PUBLISH without DUP', () => {
    expect(rules(trace([...opening, ['s2c', pub(5, 1)], ['s2c', pub(5, 1)]]))).toEqual(['MQTT-3.3.1-1']);
    expect(rules(trace([...opening, ['s2c', pub(5, 1)], ['s2c', pub(5, 1, 'a', true)]]))).toEqual([]);
  });

  it('[MQTT-2.3.1-2] flags a client reusing a packet id still in flight', () => {
    expect(rules(trace([...opening, ['c2s', pub(7, 1, 'a')], ['c2s', pub(7, 1, 'b')]]))).toEqual(['MQTT-2.3.1-2']);
    expect(rules(trace([...opening, ['c2s', pub(7, 1, 'a')], ['c2s', { cmd: 'subscribe', packetId: 7, subscriptions: [{ topicFilter: 'y', qos: 0 }] }]]))).toEqual(['MQTT-2.3.1-2']);
  });

  it('[MQTT-2.3.1-4] flags a broker reusing a packet id still in flight', () => {
    expect(rules(trace([...opening, ['s2c', pub(7, 1, 'a')], ['s2c', pub(7, 1, 'b')]]))).toEqual(['MQTT-2.3.1-4']);
  });

  it('[MQTT-4.3.3-1] flags a PUBREL before its PUBREC, and a PUBLISH re-sent after its PUBREL', () => {
    expect(rules(trace([...opening, ['c2s', pub(3, 2)], ['c2s', { cmd: 'pubrel', packetId: 3 }]]))).toEqual(['MQTT-4.3.3-1']);
    expect(rules(trace([...opening, ['c2s', pub(3, 2)], ['s2c', { cmd: 'pubrec', packetId: 3 }], ['c2s', { cmd: 'pubrel', packetId: 3 }], ['c2s', pub(3, 2, 'a', true)]]))).toEqual(['MQTT-4.3.3-1']);
  });

  it('[MQTT-4.3.3-2] flags a PUBCOMP before the PUBREL', () => {
    expect(rules(trace([...opening, ['c2s', pub(3, 2)], ['s2c', { cmd: 'pubrec', packetId: 3 }], ['s2c', { cmd: 'pubcomp', packetId: 3 }]]))).toEqual(['MQTT-4.3.3-2']);
  });

  it('[MQTT-3.3.4-1] flags the wrong acknowledgement for the QoS', () => {
    expect(rules(trace([...opening, ['c2s', pub(3, 2)], ['s2c', { cmd: 'puback', packetId: 3 }]]))).toEqual(['MQTT-3.3.4-1']);
  });

  it('[MQTT-2.3.1-6] flags an acknowledgement for nothing in flight on a clean session', () => {
    expect(rules(trace([...opening, ['s2c', { cmd: 'puback', packetId: 9 }]]))).toEqual(['MQTT-2.3.1-6']);
  });

  it('[MQTT-3.8.4-2] [MQTT-3.8.4-5] flag a SUBACK with the wrong id or the wrong number of codes', () => {
    const sub: Packet = { cmd: 'subscribe', packetId: 4, subscriptions: [{ topicFilter: 'a', qos: 1 }, { topicFilter: 'b', qos: 1 }] };
    expect(rules(trace([['c2s', CONNECT], ['s2c', CONNACK], ['c2s', sub], ['s2c', { cmd: 'suback', packetId: 5, returnCodes: [1, 1] }]]))).toEqual(['MQTT-3.8.4-2']);
    expect(rules(trace([['c2s', CONNECT], ['s2c', CONNACK], ['c2s', sub], ['s2c', { cmd: 'suback', packetId: 4, returnCodes: [1] }]]))).toEqual(['MQTT-3.8.4-5']);
  });

  it('[MQTT-3.10.4-4] flags an UNSUBACK with the wrong id', () => {
    expect(rules(trace([['c2s', CONNECT], ['s2c', CONNACK], ['c2s', { cmd: 'unsubscribe', packetId: 2, topicFilters: ['a'] }], ['s2c', { cmd: 'unsuback', packetId: 3 }]]))).toEqual(['MQTT-3.10.4-4']);
  });

  it('[MQTT-3.3.2-3] [MQTT-3.8.4-6] flag a delivery matching no subscription, or above the granted QoS', () => {
    expect(rules(trace([...opening, ['s2c', pub(undefined, 0, 'a', false, 'other')]]))).toEqual(['MQTT-3.3.2-3']);
    const q1: Array<[Direction, Packet]> = [['c2s', CONNECT], ['s2c', CONNACK], ['c2s', { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'x', qos: 2 }] }], ['s2c', { cmd: 'suback', packetId: 1, returnCodes: [1] }]];
    expect(rules(trace([...q1, ['s2c', pub(4, 2)]]))).toEqual(['MQTT-3.8.4-6']);
  });

  it('[MQTT-3.2.2-4] [MQTT-3.2.2-5] flag a refusal with Session Present, and packets after a refusal', () => {
    // The codec refuses such a CONNACK itself, so it shows as malformed with the rule.
    expect(rules(trace([['c2s', CONNECT], ['s2c', [0x20, 0x02, 0x01, 0x05]]]))).toEqual(['MQTT-3.2.2-4']);
    expect(rules(trace([['c2s', CONNECT], ['s2c', { cmd: 'connack', sessionPresent: false, returnCode: 5 }], ['s2c', { cmd: 'pingresp' }]]))).toEqual(['MQTT-3.2.2-5']);
  });

  it('[MQTT-3.14.4-2] flags a packet after DISCONNECT', () => {
    expect(rules(trace([['c2s', CONNECT], ['s2c', CONNACK], ['c2s', { cmd: 'disconnect' }], ['c2s', { cmd: 'pingreq' }]]))).toEqual(['MQTT-3.14.4-2']);
  });

  it('[MQTT-2.2.2-2] flags a malformed packet with the codec\'s rule and stops decoding that direction', () => {
    const t = new ProtocolTracker();
    const records = trace([['c2s', CONNECT], ['s2c', CONNACK], ['s2c', [0x42, 0x02, 0x00, 0x01]]], t);
    expect(records[2]).toMatchObject({ kind: 'malformed', error: { code: 'INVALID_HEADER_FLAGS' } });
    expect(rules(records)).toEqual(['MQTT-2.2.2-2']);
    expect(t.failed('s2c')).toBe(true);
    expect(t.feed('s2c', encode({ cmd: 'pingresp' }), 9)).toEqual([]);
  });

  it('[MQTT-3.3.1-1] [MQTT-3.1.2-4] judges a resumed session with the flows its last connection left unfinished', () => {
    const sessions = new Map();
    const persistent: Packet = { ...CONNECT, cleanSession: false } as Packet;
    const first = new ProtocolTracker(sessions);
    trace([['c2s', persistent], ['s2c', CONNACK], ['s2c', pub(3, 1)], ['c2s', pub(4, 2)]], first);
    first.close(5_000, 'client');
    // Re-delivered without DUP on the next connection of the session; the client's QoS 2 flow goes on.
    const again = trace([['c2s', persistent], ['s2c', CONNACK], ['s2c', pub(3, 1)], ['s2c', { cmd: 'pubrec', packetId: 4 }]], new ProtocolTracker(sessions));
    expect(rules(again)).toEqual(['MQTT-3.3.1-1']);
    const withDup = trace([['c2s', persistent], ['s2c', CONNACK], ['s2c', pub(3, 1, 'a', true)], ['c2s', { cmd: 'puback', packetId: 3 }]], new ProtocolTracker(sessions));
    expect(withDup.flatMap((r) => r.violations)).toEqual([]);
    // CleanSession 1 discards the session: the same PUBLISH is then simply new.
    const clean = trace([['c2s', CONNECT], ['s2c', CONNACK], ['c2s', { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'x', qos: 1 }] }], ['s2c', { cmd: 'suback', packetId: 1, returnCodes: [1] }], ['s2c', pub(3, 1)]], new ProtocolTracker(sessions));
    expect(rules(clean)).toEqual([]);
  });

  it('[MQTT-3.1.2-23] [MQTT-3.1.2-24] flag a silent client, then a server that does not close', () => {
    const t = new ProtocolTracker();
    t.feed('c2s', encode({ ...CONNECT, keepAlive: 2 } as Packet), 0);
    t.feed('s2c', encode(CONNACK), 0);
    expect(t.tick(1_900)).toEqual([]);
    expect(rules(t.tick(2_100))).toEqual(['MQTT-3.1.2-23']);
    expect(rules(t.tick(3_900))).toEqual([]);
    expect(rules(t.tick(4_100))).toEqual(['MQTT-3.1.2-24']);
    expect(t.tick(9_000)).toEqual([]);
  });
});
