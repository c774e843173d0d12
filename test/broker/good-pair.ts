/**
 * A well-behaved publisher/subscriber pair for tests that attack a broker: it must keep
 * exchanging QoS 1 messages, in order, whatever the attackers do.
 */
import { expect } from 'vitest';
import type { Broker } from '../../src/broker-mini/index.js';
import type { PublishPacket } from '../../src/codec/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { subscribedEvent } from './wait.js';

/** The pair, connected and subscribed. */
export interface GoodPair {
  pub: RawClient;
  sub: RawClient;
  /** One QoS 1 message from `pub` to `sub`: PUBLISH, PUBACK, delivery, PUBACK. */
  exchange(): Promise<void>;
  /** Messages exchanged so far. */
  readonly exchanged: number;
}

/** Connects `${name}-pub` and `${name}-sub` (subscribed to `${name}` at QoS 1) to `broker`. */
export async function startGoodPair(broker: Broker, name: string): Promise<GoodPair> {
  const { port } = broker.address;
  const sub = await RawClient.connect(port);
  expect(await sub.handshake({ clientId: `${name}-sub` })).toMatchObject({ returnCode: 0 });
  const subscribed = subscribedEvent(broker, `${name}-sub`);
  sub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: name, qos: 1 }] });
  await sub.expect('suback');
  await subscribed;
  const pub = await RawClient.connect(port);
  expect(await pub.handshake({ clientId: `${name}-pub` })).toMatchObject({ returnCode: 0 });
  let exchanged = 0;
  return {
    pub,
    sub,
    get exchanged() {
      return exchanged;
    },
    async exchange() {
      const id = (exchanged % 65_535) + 1;
      pub.send({ cmd: 'publish', topic: name, payload: new Uint8Array([id & 0xff]), qos: 1, retain: false, dup: false, packetId: id } as PublishPacket);
      expect(await pub.expect('puback')).toEqual({ cmd: 'puback', packetId: id });
      const got = await sub.expect('publish');
      expect(got.payload[0]).toBe(id & 0xff);
      sub.send({ cmd: 'puback', packetId: got.packetId! });
      exchanged++;
    },
  };
}
