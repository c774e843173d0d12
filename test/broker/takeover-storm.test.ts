/**
 * A takeover storm against the memory budget, over real sockets: rounds of connections that all
 * claim one ClientId at once, each leaving an incomplete 1 MiB PUBLISH behind. Whichever way the
 * broker settles each round, at most one of them is left connected, every byte of their
 * incomplete packets is released from the budget when they go, and a well-behaved pair of clients
 * keeps exchanging QoS 1 messages throughout. Bounded: 10 rounds of 20 connections, 30 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';
import { startGoodPair } from './good-pair.js';

const ROUNDS = 10;
const WIDTH = 20;
const KiB = 1024;

let broker: Broker;
let port: number;

beforeAll(async () => {
  broker = await startBroker({ port: 0, memoryBudget: 64 * 1024 * KiB, partialPacketTimeout: 10_000 });
  port = broker.address.port;
});
afterAll(async () => {
  await closeAllRawClients();
  await broker.close();
});

/** The fixed header, topic and the first 64 KiB of a QoS 0 PUBLISH of 1 MiB + 4 bytes. */
const PARTIAL = Uint8Array.from([0x30, 0x80, 0x80, 0x40, 0, 1, 0x73, ...new Uint8Array(64 * KiB)]); // remaining length 1 MiB

describe('takeover storm', () => {
  it('[MQTT-3.1.4-2] concurrent takeovers of one ClientId leave at most one connection and release every budgeted byte; a good pair keeps flowing', async () => {
    const good = await startGoodPair(broker, 'calm');
    const exchange = () => good.exchange();

    const storm: RawClient[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const wave = await Promise.all(Array.from({ length: WIDTH }, () => RawClient.connect(port)));
      for (const c of wave) {
        c.send({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'storm', cleanSession: false, keepAlive: 0, will: { topic: 'storm/will', payload: new Uint8Array([round]), qos: 1, retain: false } });
        c.sendBytes(PARTIAL);
      }
      storm.push(...wave);
      await exchange();
    }
    // Every connection but the one that took the ClientId last is closed.
    await expect.poll(() => storm.filter((c) => !c.isClosed).length, { timeout: 15_000, interval: 50 }).toBeLessThanOrEqual(1);
    await exchange();
    for (const c of storm) c.socket.destroy();
    await Promise.all(storm.map((c) => c.closed));
    await expect.poll(() => broker.connectionCount, { timeout: 5_000, interval: 20 }).toBe(2);
    expect(broker.memory.partialBytes).toBe(0);
    expect(broker.memory.peakHeld).toBeLessThanOrEqual(64 * 1024 * KiB);
    expect(broker.sessionInfo('storm')?.connected ?? false).toBe(false);
    expect(good.pub.isClosed || good.sub.isClosed).toBe(false);
    await exchange();
  }, 30_000);
});
