/**
 * The client against a real mosquitto started by the test (127.0.0.1, temporary config): the
 * functional suite, then TLS with a certificate made at test time, and a refused CONNECT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ClientOptions } from '../../src/client/index.js';
import { cleanupTempDirs, makeTempDir, requirePeer, startMosquitto, stopAllProcesses, type MosquittoHandle } from '../helpers/peers.js';
import { makePki, until, type TestPki } from './fixtures.js';
import { clientSuite } from './suite.js';

const run = requirePeer('mosquitto');

clientSuite(
  'mosquitto',
  async () => {
    const mosq = await startMosquitto();
    return {
      url: `mqtt://127.0.0.1:${mosq.port}`,
      async stop() {
        await mosq.stop();
        await stopAllProcesses();
      },
    };
  },
  !run,
);

describe.skipIf(!run)('client against mosquitto: authentication and TLS', () => {
  let pki: TestPki;
  let mosq: MosquittoHandle;

  beforeAll(async () => {
    pki = makePki(makeTempDir('mqtt311-pki-'));
    mosq = await startMosquitto([`cafile ${pki.caFile}`, `certfile ${pki.certFile}`, `keyfile ${pki.keyFile}`]);
  });

  afterAll(async () => {
    await mosq?.stop();
    await stopAllProcesses();
    cleanupTempDirs();
  });

  it('connects over TLS with the test CA', async () => {
    const c = await connect(`mqtts://127.0.0.1:${mosq.port}`, { ca: pki.ca, reconnect: false });
    await c.subscribe('tls/t', { qos: 1 });
    const got = c.messages('tls/t');
    await c.publish('tls/t', 'secret', { qos: 2 });
    expect((await got.next()).value?.text).toBe('secret');
    await c.end();
  });

  it('refuses a server certificate it cannot verify', async () => {
    const error = await connect(`mqtts://127.0.0.1:${mosq.port}`, { reconnect: false }).catch((e) => e);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('rejects with ConnackError 5 when the broker refuses anonymous clients', async () => {
    const strict = await startMosquitto(['allow_anonymous false']);
    try {
      const error = await connect(`mqtt://127.0.0.1:${strict.port}`, { reconnect: false }).catch((e) => e);
      expect(error).toMatchObject({ name: 'ConnackError', code: 'CONNACK_REFUSED', returnCode: 5, message: 'CONNACK 5: not authorized' });
    } finally {
      await strict.stop();
    }
  });
});

/**
 * Publishes 3000 QoS 1 messages (bursts of 1000, what the default maxQueued holds besides the
 * window), then 300 QoS 2, to a subscriber through a mosquitto with `conf`; returns how many
 * arrived and the most PUBLISHes of each QoS that awaited their final acknowledgement at once.
 */
async function flood(conf: string[], options: ClientOptions): Promise<{ arrived: Record<1 | 2, number>; most: Record<1 | 2, number> }> {
  const mosq = await startMosquitto(conf);
  const url = `mqtt://127.0.0.1:${mosq.port}`;
  const sub = await connect(url);
  const pub = await connect(url, options);
  try {
    const received = { 1: new Set<string>(), 2: new Set<string>() };
    sub.on('message', (_topic, payload, packet) => received[packet.qos as 1 | 2].add(new TextDecoder().decode(payload)));
    await sub.subscribe('win/#', { qos: 2 });
    const open = { 1: 0, 2: 0 };
    const most = { 1: 0, 2: 0 };
    pub.on('packetsend', (p) => {
      if (p.cmd === 'publish' && p.qos > 0) most[p.qos as 1 | 2] = Math.max(most[p.qos as 1 | 2], ++open[p.qos as 1 | 2]);
    });
    pub.on('packetreceive', (p) => {
      if (p.cmd === 'puback') open[1]--;
      if (p.cmd === 'pubcomp') open[2]--;
    });
    for (let burst = 0; burst < 3; burst++) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => pub.publish('win/1', String(burst * 1000 + i), { qos: 1 })));
    }
    await Promise.all(Array.from({ length: 300 }, (_, i) => pub.publish('win/2', String(i), { qos: 2 })));
    // Every message, or what arrived in 10 s when the broker dropped some (then the test fails).
    await until(() => received[1].size === 3000 && received[2].size === 300, 10_000).catch(() => undefined);
    return { arrived: { 1: received[1].size, 2: received[2].size }, most };
  } finally {
    await Promise.all([sub.end(), pub.end()]);
    await mosq.stop();
  }
}

describe.skipIf(!run)('client against mosquitto: the in-flight window', () => {
  afterAll(async () => {
    await stopAllProcesses();
  });

  it('[MQTT-4.3.2-1] the default 20 keeps pace with a default mosquitto: nothing is lost', async () => {
    const r = await flood([], {});
    expect(r.most).toEqual({ 1: 20, 2: 20 });
    expect(r.arrived).toEqual({ 1: 3000, 2: 300 });
  });

  it("[MQTT-4.3.2-1] [MQTT-4.3.3-1] 'auto' widens past 20 for QoS 1 and holds QoS 2 at 20 (mosquitto with unbounded queues)", async () => {
    const r = await flood(['max_queued_messages 0'], { maxInflight: 'auto' });
    expect(r.most[1]).toBeGreaterThan(20);
    expect(r.most[2]).toBe(20);
    expect(r.arrived).toEqual({ 1: 3000, 2: 300 });
  });
});
