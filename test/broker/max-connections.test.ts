/**
 * `maxConnections`: past the limit a new connection is closed on arrival, the clients already
 * connected keep working, and a freed slot is usable again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';

let broker: Broker;
let port: number;

beforeAll(async () => {
  broker = await startBroker({ port: 0, maxConnections: 2 });
  port = broker.address.port;
});
afterEach(() => closeAllRawClients());
afterAll(() => broker.close());

describe('maxConnections', () => {
  it('closes a connection beyond the limit at once and keeps serving the others', async () => {
    const a = await RawClient.connect(port);
    expect(await a.handshake({ clientId: 'a' })).toMatchObject({ returnCode: 0 });
    const b = await RawClient.connect(port); // counted before it sends CONNECT

    const c = await RawClient.connect(port);
    expect(await c.closesWithin(5_000)).toBe(true);
    expect(broker.stats.connectionsRefused).toBe(1);

    // The connected client is unaffected.
    a.send({ cmd: 'pingreq' });
    await a.expect('pingresp');

    // A freed slot can be used again.
    await b.close();
    const deadline = Date.now() + 5_000;
    while (broker.connectionCount > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const d = await RawClient.connect(port);
    expect(await d.handshake({ clientId: 'd' })).toMatchObject({ returnCode: 0 });
  });
});
