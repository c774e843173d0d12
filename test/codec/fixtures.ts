/**
 * Golden fixtures: each packet object beside its exact bytes, with a comment on every field.
 * One table drives the decode, encode, round-trip, length and chunking tests.
 */
import type { Packet, ProtocolVersion } from '../../src/codec/index.js';
import { ascii } from './helpers.js';

/** One packet and the bytes it encodes to. */
export interface Fixture {
  name: string;
  packet: Packet;
  bytes: number[];
  /** The connection's protocol version, when it is not 4 (MQTT 3.1.1). */
  protocolVersion?: ProtocolVersion;
}

const u8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export const FIXTURES: Fixture[] = [
  {
    name: 'CONNECT minimal (clean session, no will, no credentials)',
    packet: { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c1', cleanSession: true, keepAlive: 60 },
    bytes: [
      0x10, // type 1 CONNECT, flags 0000
      14, // Remaining Length
      0x00, 0x04, ...ascii('MQTT'), // protocol name
      0x04, // protocol level 4 (3.1.1)
      0b0000_0010, // connect flags: clean session
      0x00, 60, // keep alive 60 s
      0x00, 0x02, ...ascii('c1'), // client id
    ],
  },
  {
    name: 'CONNECT clean session false, empty client id, keep alive 0',
    packet: { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: '', cleanSession: false, keepAlive: 0 },
    bytes: [
      0x10, // CONNECT
      12, // Remaining Length
      0x00, 0x04, ...ascii('MQTT'), // protocol name
      0x04, // protocol level
      0b0000_0000, // connect flags: none
      0x00, 0x00, // keep alive 0 (off)
      0x00, 0x00, // client id "" (the server may assign one)
    ],
  },
  {
    name: 'CONNECT with will (QoS 1, retain)',
    packet: {
      cmd: 'connect',
      protocolName: 'MQTT',
      protocolLevel: 4,
      clientId: 'dev',
      cleanSession: true,
      keepAlive: 300,
      will: { topic: 'dev/status', payload: u8('offline'), qos: 1, retain: true },
    },
    bytes: [
      0x10, // CONNECT
      36, // Remaining Length: 10 (variable header) + 5 + 12 + 9 (payload fields)
      0x00, 0x04, ...ascii('MQTT'), // protocol name
      0x04, // protocol level
      0b0010_1110, // connect flags: will retain, will QoS 01, will flag, clean session
      0x01, 0x2c, // keep alive 300 s
      0x00, 0x03, ...ascii('dev'), // client id
      0x00, 0x0a, ...ascii('dev/status'), // will topic
      0x00, 0x07, ...ascii('offline'), // will message
    ],
  },
  {
    name: 'CONNECT with user name and password',
    packet: {
      cmd: 'connect',
      protocolName: 'MQTT',
      protocolLevel: 4,
      clientId: 'app',
      cleanSession: true,
      keepAlive: 30,
      username: 'alice',
      password: u8('s3cr\u00e9t'),
    },
    bytes: [
      0x10, // CONNECT
      31, // Remaining Length
      0x00, 0x04, ...ascii('MQTT'), // protocol name
      0x04, // protocol level
      0b1100_0010, // connect flags: user name, password, clean session
      0x00, 30, // keep alive 30 s
      0x00, 0x03, ...ascii('app'), // client id
      0x00, 0x05, ...ascii('alice'), // user name
      0x00, 0x07, ...ascii('s3cr'), 0xc3, 0xa9, 0x74, // password: binary data (the UTF-8 of "s3crét")
    ],
  },
  {
    name: 'CONNECT with will QoS 2, user name only',
    packet: {
      cmd: 'connect',
      protocolName: 'MQTT',
      protocolLevel: 4,
      clientId: 'x',
      cleanSession: false,
      keepAlive: 65535,
      will: { topic: 'w', payload: new Uint8Array(0), qos: 2, retain: false },
      username: 'u',
    },
    bytes: [
      0x10, // CONNECT
      21, // Remaining Length
      0x00, 0x04, ...ascii('MQTT'), // protocol name
      0x04, // protocol level
      0b1001_0100, // connect flags: user name, will QoS 10, will flag
      0xff, 0xff, // keep alive 65535 s
      0x00, 0x01, ...ascii('x'), // client id
      0x00, 0x01, ...ascii('w'), // will topic
      0x00, 0x00, // will message: empty
      0x00, 0x01, ...ascii('u'), // user name
    ],
  },
  ...([0, 1, 2, 3, 4, 5] as const).map(
    (returnCode): Fixture => ({
      name: `CONNACK return code ${returnCode}`,
      packet: { cmd: 'connack', sessionPresent: false, returnCode },
      bytes: [
        0x20, // type 2 CONNACK, flags 0000
        0x02, // Remaining Length
        0x00, // acknowledge flags: session present 0
        returnCode, // return code (spec table 3.1)
      ],
    }),
  ),
  {
    name: 'CONNACK session present',
    packet: { cmd: 'connack', sessionPresent: true, returnCode: 0 },
    bytes: [
      0x20, // CONNACK
      0x02, // Remaining Length
      0x01, // acknowledge flags: session present 1
      0x00, // return code 0: accepted
    ],
  },
  {
    name: 'PUBLISH QoS 0',
    packet: { cmd: 'publish', topic: 'a/b', payload: u8('hello'), qos: 0, retain: false, dup: false },
    bytes: [
      0x30, // type 3 PUBLISH, flags: DUP 0, QoS 00, RETAIN 0
      10, // Remaining Length
      0x00, 0x03, ...ascii('a/b'), // topic name (no packet id at QoS 0)
      ...ascii('hello'), // payload
    ],
  },
  {
    name: 'PUBLISH QoS 1',
    packet: { cmd: 'publish', topic: 'a/b', payload: u8('hi'), qos: 1, retain: false, dup: false, packetId: 10 },
    bytes: [
      0x32, // PUBLISH, flags: QoS 01
      9, // Remaining Length
      0x00, 0x03, ...ascii('a/b'), // topic name
      0x00, 0x0a, // packet identifier 10
      ...ascii('hi'), // payload
    ],
  },
  {
    name: 'PUBLISH QoS 2',
    packet: { cmd: 'publish', topic: 't', payload: u8('x'), qos: 2, retain: false, dup: false, packetId: 65535 },
    bytes: [
      0x34, // PUBLISH, flags: QoS 10
      6, // Remaining Length
      0x00, 0x01, ...ascii('t'), // topic name
      0xff, 0xff, // packet identifier 65535
      ...ascii('x'), // payload
    ],
  },
  {
    name: 'PUBLISH retain',
    packet: { cmd: 'publish', topic: 'r', payload: u8('on'), qos: 0, retain: true, dup: false },
    bytes: [
      0x31, // PUBLISH, flags: RETAIN 1
      5, // Remaining Length
      0x00, 0x01, ...ascii('r'), // topic name
      ...ascii('on'), // payload
    ],
  },
  {
    name: 'PUBLISH dup QoS 1 retain',
    packet: { cmd: 'publish', topic: 'd', payload: u8('!'), qos: 1, retain: true, dup: true, packetId: 1 },
    bytes: [
      0x3b, // PUBLISH, flags: DUP 1, QoS 01, RETAIN 1
      6, // Remaining Length
      0x00, 0x01, ...ascii('d'), // topic name
      0x00, 0x01, // packet identifier 1
      ...ascii('!'), // payload
    ],
  },
  {
    name: 'PUBLISH empty payload, retained (clears the retained message)',
    packet: { cmd: 'publish', topic: 'a', payload: new Uint8Array(0), qos: 0, retain: true, dup: false },
    bytes: [
      0x31, // PUBLISH, RETAIN 1
      3, // Remaining Length
      0x00, 0x01, ...ascii('a'), // topic name; no payload bytes
    ],
  },
  {
    name: 'PUBLISH UTF-8 topic',
    packet: { cmd: 'publish', topic: 'é/€/😀', payload: u8('1'), qos: 0, retain: false, dup: false },
    bytes: [
      0x30, // PUBLISH
      14, // Remaining Length
      0x00, 0x0b, // topic length 11 bytes
      0xc3, 0xa9, 0x2f, // "é/" (U+00E9 in two bytes)
      0xe2, 0x82, 0xac, 0x2f, // "€/" (U+20AC in three bytes)
      0xf0, 0x9f, 0x98, 0x80, // "😀" (U+1F600 in four bytes; a surrogate pair in JS)
      0x31, // payload "1"
    ],
  },
  {
    name: 'PUBLISH with a 200-byte payload (two-byte Remaining Length)',
    packet: { cmd: 'publish', topic: 'big', payload: new Uint8Array(200).fill(0xab), qos: 0, retain: false, dup: false },
    bytes: [
      0x30, // PUBLISH
      0xcd, 0x01, // Remaining Length 205 = 0x4d + 1 * 128
      0x00, 0x03, ...ascii('big'), // topic name
      ...new Array<number>(200).fill(0xab), // payload
    ],
  },
  ...(['puback', 'pubrec', 'pubcomp', 'unsuback'] as const).map(
    (cmd, i): Fixture => ({
      name: `${cmd.toUpperCase()}`,
      packet: { cmd, packetId: 0x1234 + i },
      bytes: [
        [0x40, 0x50, 0x70, 0xb0][i]!, // type 4, 5, 7 or 11, flags 0000
        0x02, // Remaining Length
        0x12, 0x34 + i, // packet identifier
      ],
    }),
  ),
  {
    name: 'PUBREL',
    packet: { cmd: 'pubrel', packetId: 7 },
    bytes: [
      0x62, // type 6 PUBREL, flags 0010 (required, [MQTT-3.6.1-1])
      0x02, // Remaining Length
      0x00, 0x07, // packet identifier
    ],
  },
  {
    name: 'SUBSCRIBE single filter',
    packet: { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/#', qos: 1 }] },
    bytes: [
      0x82, // type 8 SUBSCRIBE, flags 0010 (required, [MQTT-3.8.1-1])
      8, // Remaining Length
      0x00, 0x01, // packet identifier
      0x00, 0x03, ...ascii('a/#'), // topic filter
      0x01, // requested QoS 1
    ],
  },
  {
    name: 'SUBSCRIBE multiple filters',
    packet: {
      cmd: 'subscribe',
      packetId: 300,
      subscriptions: [
        { topicFilter: 'sport/+/score', qos: 0 },
        { topicFilter: '#', qos: 2 },
        { topicFilter: '$SYS/#', qos: 1 },
      ],
    },
    bytes: [
      0x82, // SUBSCRIBE
      31, // Remaining Length
      0x01, 0x2c, // packet identifier 300
      0x00, 0x0d, ...ascii('sport/+/score'), // topic filter 1
      0x00, // requested QoS 0
      0x00, 0x01, ...ascii('#'), // topic filter 2
      0x02, // requested QoS 2
      0x00, 0x06, ...ascii('$SYS/#'), // topic filter 3
      0x01, // requested QoS 1
    ],
  },
  {
    name: 'SUBACK with every return code, including failure 0x80',
    packet: { cmd: 'suback', packetId: 300, returnCodes: [0, 1, 2, 0x80] },
    bytes: [
      0x90, // type 9 SUBACK, flags 0000
      6, // Remaining Length
      0x01, 0x2c, // packet identifier 300
      0x00, // granted QoS 0
      0x01, // granted QoS 1
      0x02, // granted QoS 2
      0x80, // failure
    ],
  },
  {
    name: 'UNSUBSCRIBE multiple filters',
    packet: { cmd: 'unsubscribe', packetId: 2, topicFilters: ['a/b', 'c/+', '#'] },
    bytes: [
      0xa2, // type 10 UNSUBSCRIBE, flags 0010 (required, [MQTT-3.10.1-1])
      15, // Remaining Length
      0x00, 0x02, // packet identifier
      0x00, 0x03, ...ascii('a/b'), // topic filter 1
      0x00, 0x03, ...ascii('c/+'), // topic filter 2
      0x00, 0x01, ...ascii('#'), // topic filter 3
    ],
  },
  {
    name: 'PINGREQ',
    packet: { cmd: 'pingreq' },
    bytes: [
      0xc0, // type 12 PINGREQ, flags 0000
      0x00, // Remaining Length 0
    ],
  },
  {
    name: 'PINGRESP',
    packet: { cmd: 'pingresp' },
    bytes: [
      0xd0, // type 13 PINGRESP, flags 0000
      0x00, // Remaining Length 0
    ],
  },
  {
    name: 'DISCONNECT',
    packet: { cmd: 'disconnect' },
    bytes: [
      0xe0, // type 14 DISCONNECT, flags 0000 ([MQTT-3.14.1-1])
      0x00, // Remaining Length 0
    ],
  },
  // --- MQTT 3.1 (protocol name "MQIsdp", level 3) and bridges --------------------------------
  {
    name: 'MQTT 3.1 CONNECT (MQIsdp, level 3)',
    packet: { cmd: 'connect', protocolName: 'MQIsdp', protocolLevel: 3, clientId: 'sensor-7', cleanSession: true, keepAlive: 60 },
    bytes: [
      0x10, // type 1 CONNECT, flags 0000
      22, // Remaining Length: 12 (variable header) + 10 (client id)
      0x00, 0x06, ...ascii('MQIsdp'), // protocol name "MQIsdp" (MQTT 3.1)
      0x03, // protocol level 3
      0b0000_0010, // connect flags: clean session
      0x00, 60, // keep alive 60 s
      0x00, 0x08, ...ascii('sensor-7'), // client id: 3.1 requires 1-23 characters
    ],
  },
  {
    name: 'MQTT 3.1 CONNECT from a bridge (level 0x83) with will and user name',
    packet: {
      cmd: 'connect',
      protocolName: 'MQIsdp',
      protocolLevel: 0x83,
      clientId: 'hub.b1',
      cleanSession: false,
      keepAlive: 10,
      will: { topic: 'b/state', payload: u8('0'), qos: 2, retain: false },
      username: 'b',
    },
    bytes: [
      0x10, // CONNECT
      35, // Remaining Length: 12 + 8 + 9 + 3 + 3
      0x00, 0x06, ...ascii('MQIsdp'), // protocol name
      0x83, // protocol level 3 with bit 7 set: a bridge (mosquitto try_private)
      0b1001_0100, // connect flags: user name, will QoS 10, will flag
      0x00, 10, // keep alive 10 s
      0x00, 0x06, ...ascii('hub.b1'), // client id
      0x00, 0x07, ...ascii('b/state'), // will topic
      0x00, 0x01, ...ascii('0'), // will message
      0x00, 0x01, ...ascii('b'), // user name
    ],
  },
  {
    name: 'MQTT 3.1.1 CONNECT from a bridge (level 0x84)',
    packet: { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 0x84, clientId: 'br', cleanSession: true, keepAlive: 60 },
    bytes: [
      0x10, // CONNECT
      14, // Remaining Length
      0x00, 0x04, ...ascii('MQTT'), // protocol name
      0x84, // protocol level 4 with bit 7 set: a bridge
      0b0000_0010, // connect flags: clean session
      0x00, 60, // keep alive 60 s
      0x00, 0x02, ...ascii('br'), // client id
    ],
  },
  {
    name: 'MQTT 3.1 CONNACK accepted (no Session Present flag)',
    protocolVersion: 3,
    packet: { cmd: 'connack', sessionPresent: false, returnCode: 0 },
    bytes: [
      0x20, // type 2 CONNACK
      0x02, // Remaining Length
      0x00, // reserved, not used in 3.1
      0x00, // return code 0: accepted
    ],
  },
  {
    name: 'MQTT 3.1 SUBACK granting QoS 2, 0, 1 (no 0x80 in 3.1)',
    protocolVersion: 3,
    packet: { cmd: 'suback', packetId: 3, returnCodes: [2, 0, 1] },
    bytes: [
      0x90, // type 9 SUBACK
      0x05, // Remaining Length
      0x00, 0x03, // packet identifier 3
      0x02, 0x00, 0x01, // granted QoS, one per filter
    ],
  },
];

/**
 * A foreign frame appended after each fixture's bytes in the decode tests: a PUBACK for packet
 * id 0xBEEF. Decoding must stop at the fixture's boundary and then yield exactly this.
 */
export const TRAILER: { packet: Packet; bytes: number[] } = {
  packet: { cmd: 'puback', packetId: 0xbeef },
  bytes: [
    0x40, // PUBACK
    0x02, // Remaining Length
    0xbe, 0xef, // packet identifier 0xBEEF
  ],
};
