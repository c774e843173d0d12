/**
 * Strict acknowledgements of the broker's outbound deliveries, as mosquitto 2.0.11 does them
 * (differential.test.ts runs the same cases against it): an ack that does not fit its
 * delivery's flow closes the connection [MQTT-4.8.0-1]; one for an unknown packet id does not.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerError } from '../../src/broker-mini/core/errors.js';
import type { PublishPacket } from '../../src/codec/index.js';
import { Harness, bytes } from './harness.js';

type Ack = 'puback' | 'pubrec' | 'pubcomp';

/** A subscriber that got one delivery at `qos`, then sent `acks` (the last with `lastId` if given). */
function afterAcks(qos: 1 | 2, acks: Ack[], lastId?: number) {
  const h = new Harness();
  const errors: BrokerError[] = [];
  h.core.on('clientError', (_c, e) => errors.push(e as BrokerError));
  const s = h.subscriber('s', 't', qos);
  h.core.publish('t', bytes('m'), { qos });
  const id = (s.takeOne('publish') as PublishPacket).packetId!;
  acks.forEach((cmd, i) => s.send({ cmd, packetId: i === acks.length - 1 && lastId !== undefined ? lastId : id }));
  return { s, errors, sent: s.take() };
}

describe('strict acknowledgements of outbound deliveries', () => {
  it.each([
    ['[MQTT-4.3.2-2] a PUBREC for a QoS 1 delivery', 1, ['pubrec'], 'QOS2_ACK_FOR_QOS1', 'MQTT-4.3.2-2'],
    ['[MQTT-4.3.2-2] a PUBCOMP for a QoS 1 delivery', 1, ['pubcomp'], 'QOS2_ACK_FOR_QOS1', 'MQTT-4.3.2-2'],
    ['[MQTT-4.3.3-2] a PUBACK for a QoS 2 delivery', 2, ['puback'], 'PUBACK_FOR_QOS2', 'MQTT-4.3.3-2'],
    ['[MQTT-4.3.3-2] a PUBACK for a QoS 2 delivery awaiting PUBCOMP', 2, ['pubrec', 'puback'], 'PUBACK_FOR_QOS2', 'MQTT-4.3.3-2'],
    ['[MQTT-4.3.3-2] a PUBCOMP before PUBREC', 2, ['pubcomp'], 'PUBCOMP_BEFORE_PUBREC', 'MQTT-4.3.3-2'],
  ] as const)('[MQTT-4.8.0-1] %s closes the connection', (_name, qos, acks, code, rule) => {
    const { s, errors } = afterAcks(qos, [...acks]);
    expect(s.isClosed).toBe(true);
    expect(errors).toMatchObject([{ code, rule }]);
  });

  it('[MQTT-4.3.2-2] ignores a PUBACK for an unknown packet id', () => {
    const { s, sent } = afterAcks(1, ['puback', 'puback'], 999);
    expect(s.isClosed).toBe(false);
    expect(sent).toEqual([]);
  });

  it('[MQTT-4.3.3-2] answers a PUBREC for an unknown packet id with PUBREL, and ignores such a PUBCOMP', () => {
    const { s, sent } = afterAcks(2, ['pubrec', 'pubcomp', 'pubrec'], 999);
    expect(sent).toEqual([{ cmd: 'pubrel', packetId: 1 }, { cmd: 'pubrel', packetId: 999 }]);
    s.send({ cmd: 'pubcomp', packetId: 999 });
    expect(s.isClosed).toBe(false);
    expect(s.take()).toEqual([]);
  });
});
