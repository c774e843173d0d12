/**
 * fast-check arbitraries for valid MQTT 3.1.1 packets of all 14 types, and helpers to compare
 * decoded packets with the originals.
 */
import fc from 'fast-check';
import type { Packet, QoS, SubackReturnCode, Will } from '../../src/codec/index.js';

/** Any code point but U+0000 (forbidden in strings), mostly ASCII so topics look like topics. */
const stringUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom('é', '€', '😀', '\ufeff', '\u07ff', '\u0800', '\uffff', '\u{10ffff}') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((s) => !s.includes('\u0000')) },
);

/** A UTF-8 string field: no U+0000, no lone surrogate. */
export const mqttString: fc.Arbitrary<string> = fc.string({ unit: stringUnit, maxLength: 12 });

/** One topic level: no separator, no wildcard. */
const level: fc.Arbitrary<string> = fc.string({
  unit: stringUnit.filter((c) => c !== '/' && c !== '+' && c !== '#'),
  maxLength: 6,
});

/** A valid topic name: levels joined by `/`, at least one character. */
export const topicName: fc.Arbitrary<string> = fc
  .array(level, { minLength: 1, maxLength: 5 })
  .map((levels) => levels.join('/'))
  .filter((t) => t.length > 0);

/** A valid topic filter: levels, some `+`, maybe a final `#`. */
export const topicFilter: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);

export const qos: fc.Arbitrary<QoS> = fc.constantFrom(0, 1, 2);
export const packetId: fc.Arbitrary<number> = fc.integer({ min: 1, max: 0xffff });
const bytes = (maxLength: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });

const will: fc.Arbitrary<Will> = fc.record({ topic: topicName, payload: bytes(16), qos, retain: fc.boolean() });

/** A CONNECT of the given protocol name and level whose client id comes from `clientId`. */
const connectOf = (protocolName: string, protocolLevel: number, clientId: fc.Arbitrary<string>) => fc
  .record({
    clientId,
    cleanSession: fc.boolean(),
    keepAlive: fc.integer({ min: 0, max: 0xffff }),
    will: fc.option(will, { nil: undefined }),
    username: fc.option(mqttString, { nil: undefined }),
    password: fc.option(bytes(16), { nil: undefined }),
  })
  .map(({ will, username, password, ...rest }): Packet => {
    const p: Packet = { cmd: 'connect', protocolName, protocolLevel, ...rest };
    if (will !== undefined) p.will = will;
    if (username !== undefined) {
      p.username = username;
      // [MQTT-3.1.2-22] a password only with a user name.
      if (password !== undefined) p.password = password;
    }
    return p;
  });

const connect = connectOf('MQTT', 4, mqttString);

const publish: fc.Arbitrary<Packet> = fc
  .record({ topic: topicName, payload: bytes(64), qos, retain: fc.boolean(), dup: fc.boolean(), packetId })
  .map(({ qos, dup, packetId, ...rest }): Packet =>
    // [MQTT-2.3.1-5] no packet id at QoS 0; [MQTT-3.3.1-2] no DUP at QoS 0.
    qos === 0 ? { cmd: 'publish', ...rest, qos, dup: false } : { cmd: 'publish', ...rest, qos, dup, packetId },
  );

const ack = fc
  .tuple(fc.constantFrom('puback', 'pubrec', 'pubrel', 'pubcomp', 'unsuback'), packetId)
  .map(([cmd, packetId]): Packet => ({ cmd, packetId }));

/** Valid packets of each of the 14 types. */
export const packetByType: Record<Packet['cmd'], fc.Arbitrary<Packet>> = {
  connect,
  connack: fc
    .record({ sessionPresent: fc.boolean(), returnCode: fc.constantFrom(0, 1, 2, 3, 4, 5) })
    // [MQTT-3.2.2-4] session present only on acceptance
    .map(({ sessionPresent, returnCode }): Packet => ({ cmd: 'connack', sessionPresent: sessionPresent && returnCode === 0, returnCode })),
  publish,
  puback: ack.map((p): Packet => ({ ...p, cmd: 'puback' }) as Packet),
  pubrec: ack.map((p): Packet => ({ ...p, cmd: 'pubrec' }) as Packet),
  pubrel: ack.map((p): Packet => ({ ...p, cmd: 'pubrel' }) as Packet),
  pubcomp: ack.map((p): Packet => ({ ...p, cmd: 'pubcomp' }) as Packet),
  subscribe: fc
    .record({ packetId, subscriptions: fc.array(fc.record({ topicFilter, qos }), { minLength: 1, maxLength: 5 }) })
    .map((r): Packet => ({ cmd: 'subscribe', ...r })),
  suback: fc
    .record({ packetId, returnCodes: fc.array(fc.constantFrom<SubackReturnCode>(0, 1, 2, 0x80), { minLength: 1, maxLength: 5 }) })
    .map((r): Packet => ({ cmd: 'suback', ...r })),
  unsubscribe: fc
    .record({ packetId, topicFilters: fc.array(topicFilter, { minLength: 1, maxLength: 5 }) })
    .map((r): Packet => ({ cmd: 'unsubscribe', ...r })),
  unsuback: ack.map((p): Packet => ({ ...p, cmd: 'unsuback' }) as Packet),
  pingreq: fc.constant<Packet>({ cmd: 'pingreq' }),
  pingresp: fc.constant<Packet>({ cmd: 'pingresp' }),
  disconnect: fc.constant<Packet>({ cmd: 'disconnect' }),
};

/** A valid packet of any type, each type equally likely. */
export const anyPacket: fc.Arbitrary<Packet> = fc.oneof(...Object.values(packetByType));

/** A short stream of valid packets. */
export const packetStream: fc.Arbitrary<Packet[]> = fc.array(anyPacket, { minLength: 1, maxLength: 8 });

/**
 * Valid packets of each type on an MQTT 3.1 connection: the CONNECT is "MQIsdp" level 3 (or 0x83,
 * from a bridge) with a client id of 1-23 bytes (at most 5 characters of at most 4 bytes), a
 * CONNACK has no Session Present flag and a SUBACK no 0x80.
 */
export const packetByType31: Record<Packet['cmd'], fc.Arbitrary<Packet>> = {
  ...packetByType,
  connect: fc.constantFrom(3, 0x83).chain((level) => connectOf('MQIsdp', level, fc.string({ unit: stringUnit, minLength: 1, maxLength: 5 }))),
  connack: packetByType.connack.map((p): Packet => ({ ...p, sessionPresent: false }) as Packet),
  suback: fc
    .record({ packetId, returnCodes: fc.array(fc.constantFrom<SubackReturnCode>(0, 1, 2), { minLength: 1, maxLength: 5 }) })
    .map((r): Packet => ({ cmd: 'suback', ...r })),
};

/** A short stream of valid packets on an MQTT 3.1 connection. */
export const packetStream31: fc.Arbitrary<Packet[]> = fc.array(fc.oneof(...Object.values(packetByType31)), { minLength: 1, maxLength: 8 });

/**
 * A string from the characters every string check looks at: plain ASCII, the level separator,
 * the wildcards, `$`, U+0000, the last ASCII and first non-ASCII code points, 2- to 4-byte
 * characters and both halves of a surrogate pair (alone, a lone surrogate). Valid or not. Mostly
 * plain ASCII, so that one odd character is often the only one, and the others plain.
 */
const edgyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('a', 'a/b', 'sensors/room1') },
  {
    weight: 3,
    arbitrary: fc.string({
      unit: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom('a', 'Z', '$', '/') },
        { weight: 1, arbitrary: fc.constantFrom('+', '#', '\u0000', '\u007f', '\u0080', 'é', '€', '😀', '\ud83d', '\ude00') },
      ),
      maxLength: 8,
    }),
  },
);

/**
 * Packets whose string fields (topic, filters, client id, will topic, user name, protocol name)
 * are `edgyString`s: some encode, some must be refused.
 */
export const edgyStringPacket: fc.Arbitrary<Packet> = fc.oneof(
  fc
    .record({ topic: edgyString, payload: bytes(8), qos })
    .map(({ qos, ...rest }): Packet =>
      qos === 0
        ? { cmd: 'publish', ...rest, qos, retain: false, dup: false }
        : { cmd: 'publish', ...rest, qos, retain: false, dup: false, packetId: 1 },
    ),
  fc
    .array(fc.record({ topicFilter: edgyString, qos }), { minLength: 1, maxLength: 3 })
    .map((subscriptions): Packet => ({ cmd: 'subscribe', packetId: 1, subscriptions })),
  fc.array(edgyString, { minLength: 1, maxLength: 3 }).map((topicFilters): Packet => ({ cmd: 'unsubscribe', packetId: 1, topicFilters })),
  fc
    .record({
      protocolName: fc.oneof(fc.constant('MQTT'), edgyString),
      clientId: edgyString,
      willTopic: fc.option(edgyString, { nil: undefined }),
      username: fc.option(edgyString, { nil: undefined }),
    })
    .map(({ protocolName, clientId, willTopic, username }): Packet => {
      const p: Packet = { cmd: 'connect', protocolName, protocolLevel: 4, clientId, cleanSession: true, keepAlive: 0 };
      if (willTopic !== undefined) p.will = { topic: willTopic, payload: new Uint8Array(1), qos: 0, retain: false };
      if (username !== undefined) p.username = username;
      return p;
    }),
);

/**
 * PUBLISH packets whose fields other than the topic are valid or not: any QoS (3 included), DUP
 * on QoS 0, packet identifiers missing, 0, too big or not integers, payloads that are not byte
 * arrays, a packet that is not an object. Each field is usually valid, so that one bad field is
 * often the only one. Typed loosely on purpose: callers of the codec may pass anything.
 */
export const oddPublish: fc.Arbitrary<Packet> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc
      .record({
        topic: fc.oneof({ weight: 4, arbitrary: edgyString }, { weight: 1, arbitrary: fc.constantFrom<unknown>('', undefined, 7) }),
        payload: fc.oneof(
          { weight: 6, arbitrary: bytes(20) },
          { weight: 2, arbitrary: bytes(20).map((b) => Buffer.from(b)) },
          // Remaining Lengths of 2 and 3 bytes (spec table 2.4).
          { weight: 1, arbitrary: fc.uint8Array({ minLength: 110, maxLength: 140 }) },
          { weight: 1, arbitrary: fc.constant(new Uint8Array(16_400)) },
          { weight: 1, arbitrary: fc.constantFrom<unknown>('text', undefined, [1, 2]) },
        ),
        qos: fc.oneof({ weight: 6, arbitrary: qos }, { weight: 1, arbitrary: fc.constantFrom<unknown>(3, -1, '1', 1.5) }),
        dup: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, 1) }),
        retain: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, 'yes') }),
        packetId: fc.oneof(
          { weight: 2, arbitrary: packetId },
          { weight: 2, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 0x10000, 1.5, '7', -1) },
        ),
      })
      .map((r) => {
        const p: Record<string, unknown> = { cmd: 'publish', ...r };
        if (r.packetId === undefined) delete p.packetId; // absent, not present and undefined
        return p as unknown as Packet;
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, 'publish').map((p) => p as Packet) },
);

/**
 * A copy of `value` with every byte array turned into a plain `Uint8Array`, so a decoded packet
 * (whose payload may be a `Buffer` view) compares equal to the original with `toStrictEqual`.
 */
export function plain<T>(value: T): T {
  if (value instanceof Uint8Array) return Uint8Array.from(value) as T;
  if (Array.isArray(value)) return value.map(plain) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
  }
  return value;
}
