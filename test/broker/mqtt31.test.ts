/**
 * MQTT 3.1 clients in the broker core (no sockets): served beside 3.1.1 clients, each answered in
 * its own version, and refused where `protocolVersions` says so; then that option per listener,
 * over TCP and WebSocket. The same against real peers is in interop-mqtt31.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/broker-mini/index.js';
import { connectProtocol, decode, encode, type ConnectPacket } from '../../src/codec/index.js';
import { closeAllRawClients, RawClient } from '../helpers/raw-client.js';
import { closeCode, openMqttWs } from '../ws/helpers.js';
import type { ClientInfo } from '../../src/broker-mini/options.js';
import { connectPacket } from '../helpers/raw-client.js';
import { bytes, Harness, text } from './harness.js';

const v31 = (fields: Partial<Omit<ConnectPacket, 'cmd'>> = {}) => connectPacket({ ...connectProtocol(3), clientId: 'old', ...fields });

describe('broker-mini with MQTT 3.1 clients', () => {
  it('accepts an MQIsdp CONNECT beside 3.1.1 ones and tells hooks the version', () => {
    const seen: ClientInfo[] = [];
    const h = new Harness();
    h.core.on('connect', (c) => seen.push(c));
    expect(h.open().send(v31()).take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 0 }]);
    h.connect({ clientId: 'new' });
    expect(seen.map((c) => [c.clientId, c.protocolVersion])).toEqual([['old', 3], ['new', 4]]);
  });

  it('sends a 3.1 client no Session Present flag when it resumes a session (3.1 has none)', () => {
    const h = new Harness();
    h.open().send(v31({ cleanSession: false })).drop();
    expect(h.open().send(v31({ cleanSession: false })).take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 0 }]);
    // The session was resumed all the same: a 3.1.1 client with the same id is told so.
    expect(h.open().send(connectPacket({ clientId: 'old', cleanSession: false })).take()).toEqual([
      { cmd: 'connack', sessionPresent: true, returnCode: 0 },
    ]);
  });

  it('messages flow both ways between a 3.1 and a 3.1.1 client, at every QoS', () => {
    const h = new Harness();
    const old = h.open().send(v31());
    const neu = h.connect({ clientId: 'new' });
    old.take();
    old.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'to-old', qos: 2 }] });
    neu.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'to-new', qos: 2 }] });
    expect(old.takeOne('suback').returnCodes).toEqual([2]);
    expect(neu.takeOne('suback').returnCodes).toEqual([2]);
    for (const qos of [0, 1, 2] as const) {
      const packetId = qos === 0 ? undefined : 10 + qos;
      neu.send({ cmd: 'publish', topic: 'to-old', payload: bytes(`n${qos}`), qos, retain: false, dup: false, ...(packetId ? { packetId } : {}) });
      old.send({ cmd: 'publish', topic: 'to-new', payload: bytes(`o${qos}`), qos, retain: false, dup: false, ...(packetId ? { packetId } : {}) });
      const toOld = old.take().find((p) => p.cmd === 'publish');
      const toNew = neu.take().find((p) => p.cmd === 'publish');
      expect([toOld?.cmd === 'publish' && text(toOld.payload), toNew?.cmd === 'publish' && text(toNew.payload)]).toEqual([`n${qos}`, `o${qos}`]);
    }
  });

  it('answers a refused subscription of a 3.1 client with the QoS asked for and makes none, as mosquitto does', () => {
    // mosquitto 2.0 handle_subscribe.c: an ACL-denied filter gets 0x80 for 3.1.1, the requested
    // QoS for 3.1 (which has no failure code), and no subscription (interop-mqtt31.test.ts shows it).
    const h = new Harness({ acl: [{ access: 'readwrite', topic: '#' }, { access: 'deny', topic: 'secret/#' }] });
    const old = h.open().send(v31());
    old.take();
    old.send({ cmd: 'subscribe', packetId: 5, subscriptions: [{ topicFilter: 'secret/x', qos: 1 }, { topicFilter: 'open', qos: 2 }] });
    expect(old.take()).toEqual([{ cmd: 'suback', packetId: 5, returnCodes: [1, 2] }]);
    const neu = h.connect({ clientId: 'new' });
    neu.send({ cmd: 'subscribe', packetId: 5, subscriptions: [{ topicFilter: 'secret/x', qos: 1 }] });
    expect(neu.take()).toEqual([{ cmd: 'suback', packetId: 5, returnCodes: [0x80] }]);
    neu.send({ cmd: 'publish', topic: 'secret/x', payload: bytes('s'), qos: 0, retain: false, dup: false });
    expect(old.take()).toEqual([]);
    expect([...(h.core.sessions.get('old')?.subscriptions ?? [])]).toEqual([['open', 2]]);
  });

  it('[MQTT-3.1.2-2] protocolVersions restricts the versions served: the others get CONNACK 1', () => {
    const only311 = new Harness({ protocolVersions: [4] });
    const old = only311.open().send(v31());
    expect(old.take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 1 }]);
    expect(old.isClosed).toBe(true);
    only311.connect({ clientId: 'new' });
    const only31 = new Harness({ protocolVersions: [3] });
    expect(only31.open().send(connectPacket({ clientId: 'new' })).take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 1 }]);
    expect(only31.open().send(v31()).take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 0 }]);
    expect(() => new Harness({ protocolVersions: [5 as 4] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('serves a bridge (level 0x83 or 0x84) as its version', () => {
    const h = new Harness();
    expect(h.open().send(v31({ ...connectProtocol(3, true) })).take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 0 }]);
    expect(h.open().send(connectPacket({ ...connectProtocol(4, true), clientId: 'b4' })).take()).toMatchObject([{ returnCode: 0 }]);
  });
});

describe('protocolVersions per listener', () => {
  it('[MQTT-3.1.2-2] a WebSocket listener restricted to 3.1.1 answers a 3.1 CONNECT with CONNACK 1, while TCP serves it', async () => {
    const broker = await startBroker({ port: 0, ws: { port: 0, protocolVersions: [4] } });
    try {
      const ws = await openMqttWs(`ws://127.0.0.1:${broker.wsAddress!.port}`);
      const answer = new Promise<Uint8Array>((resolve) => ws.once('message', (data: Buffer) => resolve(data)));
      const closed = closeCode(ws);
      ws.send(encode(v31()));
      expect(decode(await answer)).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 1 });
      await closed;
      const tcp = await RawClient.connect(broker.address.port, { protocolVersion: 3 });
      expect(await tcp.handshake(v31())).toEqual({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    } finally {
      await closeAllRawClients();
      await broker.close();
    }
  });
});
