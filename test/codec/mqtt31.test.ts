/**
 * MQTT 3.1 (protocol name "MQIsdp", level 3) in the codec: what its text allows where 3.1.1
 * tightened a rule, what it requires where 3.1.1 relaxed one, and which name/level pairs are
 * still refused as the 3.1.1 standard says. The golden fixtures of level 3 are in fixtures.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  connectProtocol,
  Decoder,
  decode,
  encode,
  inspect,
  isBridgeConnect,
  protocolVersionOf,
  type ConnectPacket,
} from '../../src/codec/index.js';
import { decodeError, stringField as field, thrown } from './helpers.js';

/** CONNECT bytes: header byte `first`, then name, level, flags, keep alive 60 and `payload`. */
function connect(name: string, level: number, flags: number, payload: number[][], first = 0x10): Uint8Array {
  const body = [...field(name), level, flags, 0x00, 0x3c, ...payload.flat()];
  return Uint8Array.from([first, body.length, ...body]);
}
const connect31 = (flags: number, ...payload: number[][]) => connect('MQIsdp', 3, flags, payload);
const CLEAN = 0x02;
const base31: ConnectPacket = { cmd: 'connect', ...connectProtocol(3), clientId: 'c', cleanSession: true, keepAlive: 60 };

describe('MQTT 3.1 CONNECT: which name and level pairs are accepted', () => {
  it('accepts "MQIsdp" level 3 and reports the version on the packet', () => {
    const p = decode(connect31(CLEAN, field('c'))) as ConnectPacket;
    expect([p.protocolName, p.protocolLevel, protocolVersionOf(p), isBridgeConnect(p)]).toEqual(['MQIsdp', 3, 3, false]);
  });

  it('accepts bit 7 of the level as the same version from a bridge, keeping the level as on the wire', () => {
    const p31 = decode(connect('MQIsdp', 0x83, CLEAN, [field('c')])) as ConnectPacket;
    const p311 = decode(connect('MQTT', 0x84, CLEAN, [field('c')])) as ConnectPacket;
    expect([p31.protocolLevel, protocolVersionOf(p31), isBridgeConnect(p31)]).toEqual([0x83, 3, true]);
    expect([p311.protocolLevel, protocolVersionOf(p311), isBridgeConnect(p311)]).toEqual([0x84, 4, true]);
    expect(connectProtocol(3, true)).toEqual({ protocolName: 'MQIsdp', protocolLevel: 0x83 });
  });

  it('[MQTT-3.1.2-2] "MQIsdp" with any level but 3 (and "MQTT" with level 3) gets CONNACK 1, as mosquitto answers', () => {
    for (const [name, level] of [['MQIsdp', 0], ['MQIsdp', 4], ['MQIsdp', 0x84], ['MQTT', 3], ['MQTT', 0x83]] as const) {
      const err = decodeError(connect(name, level, CLEAN, [field('c')]));
      expect([err.code, err.rule, err.action, err.returnCode]).toEqual(['UNSUPPORTED_PROTOCOL_LEVEL', 'MQTT-3.1.2-2', 'connack', 1]);
    }
  });

  it('[MQTT-3.1.2-1] any other protocol name closes the connection without CONNACK', () => {
    for (const name of ['MQIsd', 'mqisdp', 'MQTT3']) {
      const err = decodeError(connect(name, 3, CLEAN, [field('c')]));
      expect([err.code, err.action]).toEqual(['INVALID_PROTOCOL_NAME', 'close']);
    }
  });
});

describe('MQTT 3.1 CONNECT: the client identifier is 1-23 characters (3.1 section 3.1)', () => {
  it('refuses an empty client id with CONNACK 2 (3.1 has no server-assigned ids; mosquitto answers 2 too)', () => {
    const err = decodeError(connect31(CLEAN, field('')));
    expect([err.code, err.action, err.returnCode]).toEqual(['CLIENT_ID_REJECTED', 'connack', 2]);
  });

  it('accepts 23 bytes and refuses 24 with CONNACK 2', () => {
    expect((decode(connect31(CLEAN, field('x'.repeat(23)))) as ConnectPacket).clientId).toHaveLength(23);
    expect(decodeError(connect31(CLEAN, field('x'.repeat(24)))).returnCode).toBe(2);
  });

  it('the encoder refuses what the decoder refuses', () => {
    for (const clientId of ['', 'x'.repeat(24), 'é'.repeat(12)]) {
      expect(thrown(() => encode({ ...base31, clientId })).code).toBe('CLIENT_ID_REJECTED');
    }
    expect(encode({ ...base31, clientId: 'é'.repeat(11) })).toHaveLength(2 + 12 + 2 + 22);
  });
});

describe('MQTT 3.1 CONNECT: bits 3.1 calls "not used" (3.1.1 made them errors)', () => {
  it('ignores the fixed-header flags of an MQIsdp CONNECT ([MQTT-2.2.2-2] applies to "MQTT" only)', () => {
    const p = decode(connect('MQIsdp', 3, CLEAN, [field('c')], 0x1f));
    expect(p).toMatchObject({ cmd: 'connect', clientId: 'c' });
    expect(decodeError(connect('MQTT', 4, CLEAN, [field('c')], 0x12)).rule).toBe('MQTT-2.2.2-2');
  });

  it('ignores connect flag bit 0 ([MQTT-3.1.2-3] is 3.1.1 only)', () => {
    expect(decode(connect31(CLEAN | 0x01, field('c')))).toMatchObject({ cleanSession: true });
    expect(decodeError(connect('MQTT', 4, CLEAN | 0x01, [field('c')])).rule).toBe('MQTT-3.1.2-3');
  });

  it('ignores will QoS and will retain without a will ([MQTT-3.1.2-13] [MQTT-3.1.2-15] are 3.1.1 only)', () => {
    const p = decode(connect31(CLEAN | 0x20 | 0x10, field('c'))) as ConnectPacket;
    expect(p.will).toBeUndefined();
    expect(decodeError(connect('MQTT', 4, CLEAN | 0x10, [field('c')])).rule).toBe('MQTT-3.1.2-13');
  });

  it('still refuses a password without a user name and a will QoS 3, as mosquitto does for 3.1', () => {
    expect(decodeError(connect31(CLEAN | 0x40, field('c'), field('pw'))).rule).toBe('MQTT-3.1.2-22');
    expect(decodeError(connect31(CLEAN | 0x04 | 0x18, field('c'), field('w'), field('m'))).code).toBe('INVALID_QOS');
  });
});

describe('after an MQTT 3.1 CONNECT the decoder applies the 3.1 rules', () => {
  const server = () => {
    const d = new Decoder();
    d.feed(connect31(CLEAN, field('c')));
    return d;
  };

  it('takes the version from the CONNECT', () => {
    expect(new Decoder().protocolVersion).toBe(4);
    expect(server().protocolVersion).toBe(3);
    expect(new Decoder({ protocolVersion: 3 }).protocolVersion).toBe(3);
    expect(() => new Decoder({ protocolVersion: 5 as 3 })).toThrow(/protocol version/);
  });

  it('accepts DUP on a resent SUBSCRIBE, UNSUBSCRIBE or PUBREL (3.1 sends them at QoS 1, DUP on retry)', () => {
    const d = server();
    const out = d.feed(Uint8Array.from([0x8a, 6, 0, 1, 0, 1, 0x61, 1, 0xaa, 5, 0, 2, 0, 1, 0x61, 0x6a, 2, 0, 3]));
    expect(out.map((p) => p.cmd)).toEqual(['subscribe', 'unsubscribe', 'pubrel']);
    // 3.1.1 fixed these flags to 0010 [MQTT-3.8.1-1].
    expect(decodeError([0x8a, 6, 0, 1, 0, 1, 0x61, 1]).rule).toBe('MQTT-3.8.1-1');
  });

  it('still refuses a SUBSCRIBE that is not QoS 1', () => {
    expect(() => server().feed(Uint8Array.from([0x80, 6, 0, 1, 0, 1, 0x61, 1]))).toThrow(expect.objectContaining({ code: 'INVALID_HEADER_FLAGS' }));
  });

  it('ignores the "not used" flags of PINGREQ and DISCONNECT', () => {
    expect(server().feed(Uint8Array.from([0xc3, 0, 0xe8, 0])).map((p) => p.cmd)).toEqual(['pingreq', 'disconnect']);
  });
});

describe('MQTT 3.1 CONNACK and SUBACK', () => {
  const v3 = { protocolVersion: 3 } as const;

  it('a CONNACK has no Session Present flag: byte 1 is not used', () => {
    expect(decode(Uint8Array.of(0x20, 2, 0x01, 0), v3)).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    expect(decode(Uint8Array.of(0x20, 2, 0xff, 5), v3)).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 5 });
    expect(thrown(() => encode({ cmd: 'connack', sessionPresent: true, returnCode: 0 }, v3)).code).toBe('INVALID_PACKET');
  });

  it('[MQTT-3.9.3-2] a SUBACK has no failure code 0x80 in 3.1: the decoder and the encoder refuse it', () => {
    const err = thrown(() => decode(Uint8Array.of(0x90, 3, 0, 1, 0x80), v3));
    expect([err.code, err.offset]).toEqual(['INVALID_RETURN_CODE', 4]);
    expect(thrown(() => encode({ cmd: 'suback', packetId: 1, returnCodes: [0x80] }, v3)).code).toBe('INVALID_RETURN_CODE');
    expect(decode(Uint8Array.of(0x90, 3, 0, 1, 0x80))).toMatchObject({ returnCodes: [0x80] });
  });

  it('the encoders refuse a protocol version they do not know', () => {
    expect(thrown(() => encode({ cmd: 'pingreq' }, { protocolVersion: 5 as 4 })).code).toBe('INVALID_PACKET');
  });
});

describe('inspect', () => {
  it('names the version of the protocol level, and a bridge', () => {
    const level = (bytes: Uint8Array) => inspect(bytes).fields.find((f) => f.field === 'protocol level')?.value;
    expect(level(connect31(CLEAN, field('c')))).toBe('3 (3.1)');
    expect(level(connect('MQIsdp', 0x83, CLEAN, [field('c')]))).toBe('0x83 (3.1, bridge)');
  });
});
