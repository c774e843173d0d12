/**
 * Connections lend decoders from one pool (connection.ts): a connection holds one only while a
 * packet is incomplete. Packets split across chunks on several connections at once, in MQTT 3.1
 * and 3.1.1, must each be decoded under their own connection's version and offsets.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectProtocol, encode } from '../../src/codec/index.js';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ port: 0 });
});
afterEach(() => closeAllRawClients());
afterAll(() => broker.close());

describe('decoders shared between connections', () => {
  it('packets split across chunks on a 3.1 and a 3.1.1 connection at once arrive whole, each answered in its version', async () => {
    const { port } = broker.address;
    const reader = await RawClient.connect(port);
    await reader.handshake({ clientId: 'reader' });
    reader.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'split/#', qos: 1 }] });
    expect((await reader.expect('suback')).returnCodes).toEqual([1]);

    const old = await RawClient.connect(port);
    expect((await old.handshake({ ...connectProtocol(3), clientId: 'old' })).returnCode).toBe(0);
    const neu = await RawClient.connect(port);
    expect((await neu.handshake({ clientId: 'new' })).returnCode).toBe(0);

    const fromOld = encode({ cmd: 'publish', topic: 'split/old', payload: Buffer.from('from 3.1'), qos: 1, packetId: 7, retain: false, dup: false });
    const fromNew = encode({ cmd: 'publish', topic: 'split/new', payload: Buffer.from('from 3.1.1'), qos: 1, packetId: 9, retain: false, dup: false });
    // Both connections hold half a packet at the same time; a third sends a whole one in between.
    old.sendBytes(fromOld.subarray(0, 5));
    neu.sendBytes(fromNew.subarray(0, 3));
    reader.send({ cmd: 'pingreq' });
    expect((await reader.expect('pingresp')).cmd).toBe('pingresp');
    neu.sendBytes(fromNew.subarray(3));
    old.sendBytes(fromOld.subarray(5));

    expect(await old.expect('puback')).toEqual({ cmd: 'puback', packetId: 7 });
    expect(await neu.expect('puback')).toEqual({ cmd: 'puback', packetId: 9 });
    const got = [await reader.expect('publish'), await reader.expect('publish')].map((p) => (p.cmd === 'publish' ? [p.topic, Buffer.from(p.payload).toString()] : []));
    expect(got.sort()).toEqual([
      ['split/new', 'from 3.1.1'],
      ['split/old', 'from 3.1'],
    ]);
  });
});
