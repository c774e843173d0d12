/**
 * The client with `protocolVersion: 3` (MQTT 3.1) against a real mosquitto and broker-mini: the
 * CONNECT it sends, every QoS, wills, persistent sessions (no Session Present flag in 3.1), and
 * how it checks its options.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import { requirePeer, startMosquitto, stopAllProcesses, type MosquittoHandle } from '../helpers/peers.js';
import { until } from './fixtures.js';

const hasMosquitto = requirePeer('mosquitto');

/** A server under test; `versionOf` says which protocol version a client connected with, as the server saw it. */
interface Server {
  url: string;
  versionOf(clientId: string): number | undefined;
  stop(): Promise<void>;
}

function suite31(name: string, start: () => Promise<Server>, skip: boolean): void {
  describe.skipIf(skip)(`client with protocolVersion 3 against ${name}`, () => {
    let server: Server;
    const open: MqttClient[] = [];
    const client = async (options: Parameters<typeof connect>[1] = {}) => {
      const c = await connect(server.url, { protocolVersion: 3, reconnect: false, ...options });
      open.push(c);
      return c;
    };

    beforeAll(async () => {
      server = await start();
    });
    afterAll(async () => {
      await Promise.all(open.map((c) => c.end({ force: true })));
      await server?.stop();
    });

    it('connects as MQTT 3.1 with a generated id of at most 23 bytes, and round-trips QoS 0, 1 and 2', async () => {
      const c = await client();
      expect(c.clientId.length).toBeLessThanOrEqual(23);
      await until(() => server.versionOf(c.clientId) !== undefined, 5000, 'the server to report the connection');
      expect(server.versionOf(c.clientId)).toBe(3);
      const granted = await c.subscribe('v31c/#', { qos: 2 });
      expect(granted).toEqual([{ topicFilter: 'v31c/#', refused: false, qos: 2, returnCode: 2 }]);
      const got: string[] = [];
      c.on('message', (topic, payload, packet) => got.push(`${topic}=${payload.toString()}@${packet.qos}`));
      for (const qos of [0, 1, 2] as const) await c.publish(`v31c/${qos}`, `m${qos}`, { qos });
      await until(() => got.length === 3, 5000, 'three messages');
      expect(got).toEqual(['v31c/0=m0@0', 'v31c/1=m1@1', 'v31c/2=m2@2']);
    });

    it('a 3.1 client and a 3.1.1 client exchange messages both ways', async () => {
      const old = await client();
      const neu = await client({ protocolVersion: 4 });
      await old.subscribe('mix/to31', { qos: 1 });
      await neu.subscribe('mix/to311', { qos: 1 });
      const toOld = old.messages('mix/to31');
      const toNew = neu.messages('mix/to311');
      await neu.publish('mix/to31', 'from 3.1.1', { qos: 1 });
      await old.publish('mix/to311', 'from 3.1', { qos: 2 });
      expect([(await toOld.next()).value?.text, (await toNew.next()).value?.text]).toEqual(['from 3.1.1', 'from 3.1']);
    });

    it('resumes a persistent session; 3.1 has no Session Present flag, so sessionPresent stays false', async () => {
      const id = `v31p-${Date.now() % 1e9}`;
      const first = await client({ clientId: id, cleanSession: false });
      await first.subscribe('v31p/t', { qos: 1 });
      await first.end();
      const pub = await client();
      await pub.publish('v31p/t', 'while away', { qos: 1 });
      const again = await client({ clientId: id, cleanSession: false });
      const texts: string[] = [];
      again.on('message', (_t, p) => texts.push(p.toString()));
      expect(again.sessionPresent).toBe(false);
      await until(() => texts.length === 1, 5000, 'the queued message');
      expect(texts).toEqual(['while away']);
    });

    it('[MQTT-3.1.2-8] the server publishes the will of a 3.1 client that drops', async () => {
      const watcher = await client({ protocolVersion: 4 });
      await watcher.subscribe('v31w/#', { qos: 1 });
      const will = watcher.messages('v31w/#');
      const rude = await client({ will: { topic: 'v31w/rude', payload: 'gone', qos: 1 } });
      rude.destroy();
      expect((await will.next()).value?.text).toBe('gone');
    });
  });
}

suite31(
  'mosquitto',
  async () => {
    const mosq: MosquittoHandle = await startMosquitto();
    return {
      url: `mqtt://127.0.0.1:${mosq.port}`,
      // mosquitto logs "New client connected from … as ID (p1, c1, k60)": p1 is MQTT 3.1, p2 3.1.1.
      versionOf: (id) => {
        const p = new RegExp(` as ${id} \\(p(\\d)`).exec(mosq.log())?.[1];
        return p === undefined ? undefined : Number(p) + 2;
      },
      async stop() {
        await mosq.stop();
        await stopAllProcesses();
      },
    };
  },
  !hasMosquitto,
);

suite31(
  'broker-mini',
  async () => {
    const broker: Broker = await startBroker({ port: 0 });
    const versions = new Map<string, number>();
    broker.on('connect', (c) => versions.set(c.clientId, c.protocolVersion));
    return { url: `mqtt://127.0.0.1:${broker.address.port}`, versionOf: (id) => versions.get(id), stop: () => broker.close() };
  },
  false,
);

describe('protocolVersion option', () => {
  it('refuses a version other than 3 or 4, and a 3.1 client id that is empty or over 23 bytes, before connecting', async () => {
    const url = 'mqtt://127.0.0.1:1';
    await expect(connect(url, { protocolVersion: 5 as 4, reconnect: false })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(connect(url, { protocolVersion: 3, clientId: '', reconnect: false })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(connect(url, { protocolVersion: 3, clientId: 'x'.repeat(24), reconnect: false })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });

  it('sends the CONNECT of its version: "MQIsdp" level 3, or "MQTT" level 4 by default', async () => {
    const broker = await startBroker({ port: 0 });
    const seen: Array<[string, number]> = [];
    broker.on('connect', (c) => seen.push([c.clientId, c.protocolVersion]));
    try {
      for (const protocolVersion of [3, undefined] as const) {
        const c = await connect(`mqtt://127.0.0.1:${broker.address.port}`, { clientId: `pv-${protocolVersion}`, ...(protocolVersion !== undefined && { protocolVersion }), reconnect: false });
        await c.end();
      }
    } finally {
      await broker.close();
    }
    expect(seen).toEqual([['pv-3', 3], ['pv-undefined', 4]]);
  });
});
