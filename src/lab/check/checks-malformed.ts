/**
 * Malformed packets: a server must close the connection (spec 4.8, [MQTT-4.8.0-1]) and answer
 * nothing. Each row sends a valid CONNECT, then one packet the spec forbids, as raw bytes.
 */
import type { Check } from './types.js';
import type { CheckContext } from './context.js';

/** `topic` as an MQTT string: two length bytes, then the bytes. */
const str = (bytes: number[]) => [bytes.length >> 8, bytes.length & 0xff, ...bytes];
const ascii = (s: string) => [...Buffer.from(s)];

function closesOn(bytes: (ctx: CheckContext) => number[], what: string): Check['run'] {
  return async (ctx) => {
    const { probe } = await ctx.connect();
    const sent = bytes(ctx);
    probe.send(sent);
    await probe.expectClose(what);
    return `sent ${Buffer.from(sent).toString('hex').replace(/(..)/g, '$1 ').trim()}; the connection closed`;
  };
}

/** A PUBLISH QoS 0 on `topic` bytes with payload "x". */
const publishRaw = (topic: number[], flags = 0x30) => [flags, topic.length + 3, ...str(topic), 0x78];

/** Rows for packets the server must refuse by closing the connection. */
export const MALFORMED_CHECKS: Check[] = [
  {
    rule: 'MQTT-2.2.2-2',
    text: 'Wrong fixed-header flag bits: the receiver closes the connection.',
    run: closesOn(() => [0x41, 0x02, 0x00, 0x01], 'PUBACK with flags 0001'),
  },
  {
    rule: 'MQTT-3.3.1-4',
    text: 'PUBLISH with QoS bits 11 is refused by closing the connection.',
    run: closesOn((ctx) => publishRaw(ascii(ctx.topic('q3')), 0x36), 'PUBLISH with QoS 3'),
  },
  {
    rule: 'MQTT-3.3.2-2',
    text: 'A PUBLISH Topic Name contains no wildcard.',
    run: closesOn((ctx) => publishRaw(ascii(ctx.topic('+'))), 'PUBLISH to a topic with "+"'),
  },
  {
    rule: 'MQTT-1.5.3-1',
    text: 'Strings are valid UTF-8; on bad UTF-8 the receiver drops the connection.',
    run: closesOn((ctx) => publishRaw([...ascii(ctx.topic('')), 0xed, 0xa0, 0x80]), 'PUBLISH topic with an encoded surrogate'),
  },
  {
    rule: 'MQTT-1.5.3-2',
    text: 'Strings never contain U+0000; a receiver that sees it drops the connection.',
    run: closesOn((ctx) => publishRaw([...ascii(ctx.topic('')), 0x00]), 'PUBLISH topic with U+0000'),
  },
  {
    rule: 'MQTT-3.6.1-1',
    text: 'PUBREL flags must be 0010; anything else is malformed and closes.',
    run: closesOn(() => [0x60, 0x02, 0x00, 0x01], 'PUBREL with flags 0000'),
  },
  {
    rule: 'MQTT-3.8.1-1',
    text: 'SUBSCRIBE flags must be 0010; anything else is malformed and closes.',
    run: closesOn((ctx) => { const f = ascii(ctx.topic('f')); return [0x80, f.length + 5, 0x00, 0x01, ...str(f), 0x00]; }, 'SUBSCRIBE with flags 0000'),
  },
  {
    rule: 'MQTT-3.8.3-3',
    text: 'A SUBSCRIBE holds at least one filter; an empty one is a protocol violation.',
    run: closesOn(() => [0x82, 0x02, 0x00, 0x01], 'SUBSCRIBE without a filter'),
  },
  {
    rule: 'MQTT-3.8.3-4',
    text: 'SUBSCRIBE requested-QoS byte must be 0-2 with its upper bits zero, else close.',
    run: closesOn((ctx) => { const f = ascii(ctx.topic('f')); return [0x82, f.length + 5, 0x00, 0x01, ...str(f), 0x03]; }, 'SUBSCRIBE with QoS 3'),
  },
  {
    rule: 'MQTT-3.10.1-1',
    text: 'UNSUBSCRIBE flags must be 0010; anything else is malformed and closes.',
    run: closesOn((ctx) => { const f = ascii(ctx.topic('f')); return [0xa0, f.length + 4, 0x00, 0x01, ...str(f)]; }, 'UNSUBSCRIBE with flags 0000'),
  },
  {
    rule: 'MQTT-3.10.3-2',
    text: 'An UNSUBSCRIBE holds at least one filter; an empty one is a protocol violation.',
    run: closesOn(() => [0xa2, 0x02, 0x00, 0x01], 'UNSUBSCRIBE without a filter'),
  },
  {
    rule: 'MQTT-3.14.1-1',
    text: 'DISCONNECT reserved flag bits must be zero; the server disconnects otherwise.',
    run: closesOn(() => [0xe1, 0x00], 'DISCONNECT with flags 0001'),
  },
  {
    rule: 'MQTT-3.1.2-3',
    text: 'CONNECT flags bit 0 (reserved) must be zero; the server disconnects if it is set.',
    run: async (ctx) => {
      const probe = await ctx.open();
      const id = ascii(ctx.clientId());
      probe.send([0x10, 10 + 2 + id.length, ...str(ascii('MQTT')), 0x04, 0x03, 0x00, 0x00, ...str(id)]);
      await probe.expectClose('CONNECT with reserved flag bit 0 set');
      return 'no CONNACK; the connection closed';
    },
  },
];
