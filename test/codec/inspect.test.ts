import { describe, expect, it } from 'vitest';
import {
  describePacket,
  encode,
  formatInspection,
  formatStreamInspection,
  inspect,
  inspectStream,
  type InspectedField,
  type Packet,
} from '../../src/codec/index.js';
import { ascii, thrown } from './helpers.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

/** The fields without the flag rows, as `[offset, length, field, value, section]`. */
const rows = (fields: InspectedField[]) =>
  fields.filter((f) => f.bits === undefined).map((f) => [f.offset, f.length, f.field, f.value, f.section]);
const flags = (fields: InspectedField[]) =>
  fields.filter((f) => f.bits !== undefined).map((f) => [f.offset, f.bits, f.field, f.value, f.section]);

describe('inspect', () => {
  it('names every field of a QoS 1 PUBLISH with its offset, length, value and section', () => {
    const publish = bytes(
      0x32, //                   PUBLISH, DUP 0, QoS 1, RETAIN 0
      0x0c, //                   remaining length 12
      0x00, 0x03, ...ascii('a/b'), // topic name
      0x00, 0x07, //             packet identifier 7
      ...ascii('hello'), //      payload
    );
    const result = inspect(publish);
    expect(result.packet).toMatchObject({ cmd: 'publish', topic: 'a/b', qos: 1, packetId: 7 });
    expect(result.offset).toBe(0);
    expect(rows(result.fields)).toEqual([
      [0, 1, 'packet type / flags', 'PUBLISH dup=0 qos=1 retain=0', '2.2, 3.3.1'],
      [1, 1, 'remaining length', 12, '2.2.3'],
      [2, 2, 'topic name length', 3, '3.3.2.1'],
      [4, 3, 'topic name', '"a/b"', '3.3.2.1'],
      [7, 2, 'packet identifier', 7, '2.3.1, 3.3.2.2'],
      [9, 5, 'payload', '5 B "hello"', '3.3.3'],
    ]);
    expect(flags(result.fields)).toEqual([
      [0, '7-4', 'packet type', '3 PUBLISH', '2.2.1'],
      [0, '3', 'DUP', 0, '3.3.1.1'],
      [0, '2-1', 'QoS', 1, '3.3.1.2'],
      [0, '0', 'RETAIN', 0, '3.3.1.3'],
    ]);
  });

  it('has no packet identifier row for a QoS 0 PUBLISH, and shows a binary payload by size only', () => {
    const result = inspect(bytes(0x31, 0x07, 0x00, 0x01, ...ascii('t'), 0x00, 0xff, 0x10, 0x80));
    expect(rows(result.fields)).toEqual([
      [0, 1, 'packet type / flags', 'PUBLISH dup=0 qos=0 retain=1', '2.2, 3.3.1'],
      [1, 1, 'remaining length', 7, '2.2.3'],
      [2, 2, 'topic name length', 1, '3.3.2.1'],
      [4, 1, 'topic name', '"t"', '3.3.2.1'],
      [5, 4, 'payload', '4 B', '3.3.3'],
    ]);
  });

  it('walks a CONNECT with will, user name and password, each connect flag named, the password redacted', () => {
    const connect = bytes(
      0x10, 0x20, //                   CONNECT, remaining length 32
      0x00, 0x04, ...ascii('MQTT'), // protocol name
      0x04, //                         protocol level 4
      0xee, //                         flags: user, password, will retain, will QoS 1, will, clean
      0x00, 0x3c, //                   keep alive 60
      0x00, 0x02, ...ascii('c1'), //   client identifier
      0x00, 0x03, ...ascii('a/b'), //  will topic
      0x00, 0x03, ...ascii('bye'), //  will message
      0x00, 0x01, ...ascii('u'), //    user name
      0x00, 0x03, ...ascii('s3c'), //  password
    );
    const result = inspect(connect);
    expect(result.bytes.length).toBe(34);
    expect(rows(result.fields)).toEqual([
      [0, 1, 'packet type / flags', 'CONNECT flags=0000', '2.2'],
      [1, 1, 'remaining length', 32, '2.2.3'],
      [2, 2, 'protocol name length', 4, '3.1.2.1'],
      [4, 4, 'protocol name', '"MQTT"', '3.1.2.1'],
      [8, 1, 'protocol level', '4 (3.1.1)', '3.1.2.2'],
      [9, 1, 'connect flags', '0xee', '3.1.2.3'],
      [10, 2, 'keep alive', '60 s', '3.1.2.10'],
      [12, 2, 'client identifier length', 2, '3.1.3.1'],
      [14, 2, 'client identifier', '"c1"', '3.1.3.1'],
      [16, 2, 'will topic length', 3, '3.1.3.2'],
      [18, 3, 'will topic', '"a/b"', '3.1.3.2'],
      [21, 2, 'will message length', 3, '3.1.3.3'],
      [23, 3, 'will message', '3 B "bye"', '3.1.3.3'],
      [26, 2, 'user name length', 1, '3.1.3.4'],
      [28, 1, 'user name', '"u"', '3.1.3.4'],
      [29, 2, 'password length', 3, '3.1.3.5'],
      [31, 3, 'password', '<redacted> (3 B)', '3.1.3.5'],
    ]);
    expect(flags(result.fields).filter(([offset]) => offset === 9)).toEqual([
      [9, '7', 'user name flag', 1, '3.1.2.8'],
      [9, '6', 'password flag', 1, '3.1.2.9'],
      [9, '5', 'will retain', 1, '3.1.2.7'],
      [9, '4-3', 'will QoS', 1, '3.1.2.6'],
      [9, '2', 'will flag', 1, '3.1.2.5'],
      [9, '1', 'clean session', 1, '3.1.2.4'],
      [9, '0', 'reserved', 0, '3.1.2.3'],
    ]);
    // The secret appears nowhere in the dump: not as text, not as hex.
    const password = result.fields.find((f) => f.field === 'password');
    expect(password?.redacted).toBe(true);
    const text = formatInspection(result);
    expect(text).not.toContain('s3c');
    expect(text).not.toContain('73 33 63');
    expect(text).toContain('<redacted> (3 B)');
  });

  it('gives CONNACK return codes their meaning and names the session-present bit', () => {
    const result = inspect(bytes(0x20, 0x02, 0x00, 0x05));
    expect(rows(result.fields).slice(2)).toEqual([
      [2, 1, 'acknowledge flags', '0x00', '3.2.2.1'],
      [3, 1, 'return code', '0x05 not authorized', '3.2.2.3'],
    ]);
    expect(flags(result.fields)).toContainEqual([2, '0', 'session present', 0, '3.2.2.2']);
    const accepted = inspect(bytes(0x20, 0x02, 0x01, 0x00));
    expect(accepted.fields.find((f) => f.field === 'return code')?.value).toBe('0x00 accepted');
    expect(accepted.fields.find((f) => f.field === 'session present')?.value).toBe(1);
  });

  it('lists SUBSCRIBE filters with their requested QoS, and SUBACK return codes with their meaning', () => {
    const subscribe = inspect(bytes(
      0x82, 0x0c, //                  SUBSCRIBE (flags 0010), remaining length 12
      0x00, 0x0a, //                  packet identifier 10
      0x00, 0x03, ...ascii('a/+'), 0x01, // filter "a/+", QoS 1
      0x00, 0x01, ...ascii('#'), 0x00, //   filter "#", QoS 0
    ));
    expect(rows(subscribe.fields).slice(2)).toEqual([
      [2, 2, 'packet identifier', 10, '2.3.1, 3.8.2'],
      [4, 2, 'topic filter length', 3, '3.8.3'],
      [6, 3, 'topic filter', '"a/+"', '3.8.3'],
      [9, 1, 'requested QoS', 1, '3.8.3'],
      [10, 2, 'topic filter length', 1, '3.8.3'],
      [12, 1, 'topic filter', '"#"', '3.8.3'],
      [13, 1, 'requested QoS', 0, '3.8.3'],
    ]);
    expect(flags(subscribe.fields)).toContainEqual([0, '3-0', 'reserved', '0010', '3.8.1']);

    const suback = inspect(bytes(0x90, 0x04, 0x00, 0x03, 0x01, 0x80));
    expect(rows(suback.fields).slice(2)).toEqual([
      [2, 2, 'packet identifier', 3, '2.3.1, 3.9.2'],
      [4, 1, 'return code', '0x01 granted QoS 1', '3.9.3'],
      [5, 1, 'return code', '0x80 failure', '3.9.3'],
    ]);
  });

  it('walks UNSUBSCRIBE, the acks, and the packets that are a fixed header only', () => {
    const unsubscribe = inspect(bytes(0xa2, 0x07, 0x00, 0x02, 0x00, 0x03, ...ascii('x/y')));
    expect(rows(unsubscribe.fields).slice(2)).toEqual([
      [2, 2, 'packet identifier', 2, '2.3.1, 3.10.2'],
      [4, 2, 'topic filter length', 3, '3.10.3'],
      [6, 3, 'topic filter', '"x/y"', '3.10.3'],
    ]);
    const pubrel = inspect(bytes(0x62, 0x02, 0xff, 0xff));
    expect(rows(pubrel.fields)).toEqual([
      [0, 1, 'packet type / flags', 'PUBREL flags=0010', '2.2'],
      [1, 1, 'remaining length', 2, '2.2.3'],
      [2, 2, 'packet identifier', 65535, '2.3.1, 3.6.2'],
    ]);
    expect(flags(pubrel.fields)).toEqual([
      [0, '7-4', 'packet type', '6 PUBREL', '2.2.1'],
      [0, '3-0', 'reserved', '0010', '3.6.1'],
    ]);
    for (const [b0, name] of [[0xc0, 'PINGREQ'], [0xd0, 'PINGRESP'], [0xe0, 'DISCONNECT']] as const) {
      expect(rows(inspect(bytes(b0, 0x00)).fields)).toEqual([
        [0, 1, 'packet type / flags', `${name} flags=0000`, '2.2'],
        [1, 1, 'remaining length', 0, '2.2.3'],
      ]);
    }
  });

  it('shows a multi-byte remaining length as one field, and escapes U+FEFF in strings', () => {
    const payload = new Uint8Array(200).fill(0x41);
    const packet: Packet = { cmd: 'publish', topic: '\ufeffa', payload, qos: 0, retain: false, dup: false };
    const result = inspect(encode(packet));
    const length = result.fields.find((f) => f.field === 'remaining length');
    expect(length).toMatchObject({ offset: 1, length: 2, value: 2 + 4 + 200 });
    expect(result.fields.find((f) => f.field === 'topic name')?.value).toBe('"\\ufeffa"');
    // A long text payload is previewed, then cut.
    expect(result.fields.find((f) => f.field === 'payload')?.value).toBe(`200 B "${'A'.repeat(24)}"…`);
  });

  it('throws the codec error with code, rule and offset for bad bytes', () => {
    const pubrel = thrown(() => inspect(bytes(0x60, 0x02, 0x00, 0x01))); // PUBREL flags must be 0010
    expect(pubrel.code).toBe('INVALID_HEADER_FLAGS');
    expect(pubrel.rule).toBe('MQTT-3.6.1-1');
    expect(pubrel.offset).toBe(0);

    const wildcard = thrown(() => inspect(bytes(0x30, 0x05, 0x00, 0x03, ...ascii('a/#'))));
    expect(wildcard.code).toBe('INVALID_TOPIC');
    expect(wildcard.rule).toBe('MQTT-3.3.2-2');
    expect(wildcard.offset).toBeGreaterThanOrEqual(2);

    const short = thrown(() => inspect(bytes(0x30, 0x05, 0x00)));
    expect(short.code).toBe('INVALID_LENGTH');
  });
});

describe('inspectStream', () => {
  it('inspects packets back to back with offsets into the whole input', () => {
    const input = bytes(
      0xc0, 0x00, //                        PINGREQ at 0
      0x40, 0x02, 0x00, 0x09, //            PUBACK id 9 at 2
      0x30, 0x04, 0x00, 0x01, 0x74, 0x21, // PUBLISH "t" "!" at 6
    );
    const result = inspectStream(input);
    expect(result.error).toBeUndefined();
    expect(result.consumed).toBe(12);
    expect(result.inspections.map((i) => [i.offset, i.packet.cmd])).toEqual([[0, 'pingreq'], [2, 'puback'], [6, 'publish']]);
    expect(result.inspections[1]!.fields.find((f) => f.field === 'packet identifier')).toMatchObject({ offset: 4, value: 9 });
    expect(result.inspections[2]!.fields.find((f) => f.field === 'payload')).toMatchObject({ offset: 11, length: 1 });
    expect(formatInspection(result.inspections[1]!)).toMatch(/^4 +00 09 +packet identifier +9 +2\.3\.1, 3\.4\.2$/m);
  });

  it('stops at the first bad packet and reports the typed error with its offset in the input', () => {
    const input = bytes(
      0xc0, 0x00, //             PINGREQ at 0
      0xe0, 0x00, //             DISCONNECT at 2
      0x82, 0x02, 0x00, 0x01, // SUBSCRIBE at 4 with no topic filter [MQTT-3.8.3-3]
      0xc0, 0x00, //             never reached
    );
    const result = inspectStream(input);
    expect(result.inspections.map((i) => i.packet.cmd)).toEqual(['pingreq', 'disconnect']);
    expect(result.consumed).toBe(4);
    expect(result.error?.code).toBe('EMPTY_SUBSCRIPTION_LIST');
    expect(result.error?.rule).toBe('MQTT-3.8.3-3');
    expect(result.errorOffset).toBeGreaterThanOrEqual(4);
    expect(result.errorOffset).toBeLessThanOrEqual(8);
    expect(formatStreamInspection(result)).toMatch(/error EMPTY_SUBSCRIPTION_LIST \[MQTT-3\.8\.3-3\] at offset \d+/);
  });

  it('reports a reserved packet type at its offset, and a truncated packet at the end', () => {
    const reserved = inspectStream(bytes(0xd0, 0x00, 0xf0, 0x00));
    expect(reserved.error?.code).toBe('INVALID_PACKET_TYPE');
    expect(reserved.errorOffset).toBe(2);

    const truncated = inspectStream(bytes(0xd0, 0x00, 0x40, 0x02, 0x00));
    expect(truncated.inspections).toHaveLength(1);
    expect(truncated.error?.code).toBe('INVALID_LENGTH');
    expect(truncated.consumed).toBe(2);

    const fifthLengthByte = inspectStream(bytes(0x30, 0xff, 0xff, 0xff, 0xff, 0x01));
    expect(fifthLengthByte.error?.code).toBe('MALFORMED_REMAINING_LENGTH');
    expect(fifthLengthByte.errorOffset).toBe(4);
  });

  it('reports a CONNECT with protocol level 3 with the CONNACK code a server must answer', () => {
    const connect = bytes(0x10, 0x0c, 0x00, 0x04, ...ascii('MQTT'), 0x03, 0x02, 0x00, 0x3c, 0x00, 0x00);
    const result = inspectStream(connect);
    expect(result.error?.code).toBe('UNSUPPORTED_PROTOCOL_LEVEL');
    expect(result.error?.returnCode).toBe(1);
    expect(formatStreamInspection(result)).toContain('answer CONNACK 0x01');
  });

  it('returns nothing and no error for empty input', () => {
    expect(inspectStream(new Uint8Array(0))).toEqual({ inspections: [], consumed: 0 });
  });
});

describe('formatInspection', () => {
  it('prints a title and an aligned table, hex cut with … for long fields', () => {
    const payload = new TextEncoder().encode('a longer payload than four bytes');
    const text = formatInspection(inspect(encode({ cmd: 'publish', topic: 'a/b', payload, qos: 1, packetId: 7, retain: false, dup: false })));
    const lines = text.split('\n');
    expect(lines[0]).toBe(`PUBLISH (QoS 1, ${2 + 2 + 3 + 2 + payload.length} bytes)`);
    expect(lines[1]).toMatch(/^offset +bytes +field +value +spec$/);
    expect(lines[2]).toMatch(/^0 +32 +packet type \/ flags +PUBLISH dup=0 qos=1 retain=0 +2\.2, 3\.3\.1$/);
    // Every column starts at the same place on every line.
    const fieldColumn = lines[1]!.indexOf('field');
    for (const line of lines.slice(2)) expect(line.slice(fieldColumn - 2, fieldColumn)).toBe('  ');
    expect(text).toMatch(/^\s+ {2}QoS \(bits 2-1\) +1 +3\.3\.1\.2$/m);
    const payloadLine = lines.find((l) => l.includes('payload'));
    expect(payloadLine).toContain('61 20 6c 6f…');
    expect(payloadLine).toContain('32 B "a longer payload than fo"…');
  });
});

describe('describePacket', () => {
  it('describes each packet type on one line, password redacted, payload by size', () => {
    const payload = new Uint8Array(16);
    const cases: [Packet, string][] = [
      [{ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c1', cleanSession: true, keepAlive: 60, username: 'u', password: new TextEncoder().encode('secret'), will: { topic: 'a/b', payload, qos: 1, retain: false } },
        'CONNECT clientId="c1" clean keepAlive=60 username="u" password=<redacted> will="a/b" q1 (16 B)'],
      [{ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: '', cleanSession: false, keepAlive: 0 }, 'CONNECT clientId="" keepAlive=0'],
      [{ cmd: 'connack', sessionPresent: true, returnCode: 0 }, 'CONNACK 0x00 accepted sessionPresent'],
      [{ cmd: 'connack', sessionPresent: false, returnCode: 5 }, 'CONNACK 0x05 not authorized'],
      [{ cmd: 'publish', topic: 'a/b', payload, qos: 1, packetId: 7, retain: true, dup: false }, 'PUBLISH q1 id=7 retain "a/b" (16 B)'],
      [{ cmd: 'publish', topic: 'x', payload: new Uint8Array(0), qos: 2, packetId: 9, retain: false, dup: true }, 'PUBLISH q2 id=9 dup "x" (0 B)'],
      [{ cmd: 'publish', topic: 'x', payload, qos: 0, retain: false, dup: false }, 'PUBLISH q0 "x" (16 B)'],
      [{ cmd: 'puback', packetId: 7 }, 'PUBACK id=7'],
      [{ cmd: 'pubrel', packetId: 8 }, 'PUBREL id=8'],
      [{ cmd: 'subscribe', packetId: 3, subscriptions: [{ topicFilter: 'a/+', qos: 1 }, { topicFilter: '#', qos: 0 }] }, 'SUBSCRIBE id=3 ["a/+" q1, "#" q0]'],
      [{ cmd: 'suback', packetId: 3, returnCodes: [1, 0x80] }, 'SUBACK id=3 [1, 0x80]'],
      [{ cmd: 'unsubscribe', packetId: 4, topicFilters: ['a/+', 'b'] }, 'UNSUBSCRIBE id=4 ["a/+", "b"]'],
      [{ cmd: 'unsuback', packetId: 4 }, 'UNSUBACK id=4'],
      [{ cmd: 'pingreq' }, 'PINGREQ'],
      [{ cmd: 'pingresp' }, 'PINGRESP'],
      [{ cmd: 'disconnect' }, 'DISCONNECT'],
    ];
    for (const [packet, line] of cases) expect(describePacket(packet)).toBe(line);
  });

  it('never shows password bytes, and cuts very long topics', () => {
    const password = new TextEncoder().encode('hunter2');
    const line = describePacket({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c', cleanSession: true, keepAlive: 1, username: 'u', password });
    expect(line).not.toContain('hunter2');
    const long = describePacket({ cmd: 'publish', topic: 't'.repeat(1000), payload: new Uint8Array(1), qos: 0, retain: false, dup: false });
    expect(long.length).toBeLessThan(120);
    expect(long).toContain('…');
  });
});
