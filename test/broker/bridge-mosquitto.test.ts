/**
 * Bridges against a real mosquitto: broker-mini bridged to mosquitto (both ways, QoS 0/1/2,
 * prefixes, notifications, MQTT 3.1, TLS with a client certificate), mosquitto stopped and
 * restarted mid-stream, and mosquitto as the bridge client of broker-mini.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from '../../src/client/index.js';
import { parseConfig, startBroker, type Broker } from '../../src/broker-mini/index.js';
import type { Bridge } from '../../src/broker-mini/bridge.js';
import { makeCertificates } from '../helpers/certs.js';
import {
  cleanupTempDirs,
  findBinary,
  freePort,
  makeTempDir,
  requirePeer,
  runProcess,
  spawnProcess,
  startMosquitto,
  stopAllProcesses,
  waitForPort,
  type MosquittoHandle,
} from '../helpers/peers.js';
import { waitForEvent } from './wait.js';

const HOST = '127.0.0.1';
const hasPeers = requirePeer('mosquitto') && requirePeer('mosquitto_pub') && requirePeer('mosquitto_sub') && requirePeer('stdbuf', 'apt-get install -y coreutils');

afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});

/** Resolves at the bridge's next `event`; rejects after `timeoutMs`. */
function bridgeEvent(bridge: Bridge, event: 'connect' | 'offline', timeoutMs = 15_000): Promise<void> {
  if (event === 'connect' && bridge.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bridge: no ${event} within ${timeoutMs} ms`)), timeoutMs);
    bridge.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * mosquitto_sub on `port` for `topic`; resolves once its SUBACK is in (its -d output says so).
 * `messages` then resolves with its first `count` messages as "topic qos payload".
 */
async function mosquittoSub(port: number, topic: string, qos: number, count: number): Promise<{ messages: Promise<string[]> }> {
  // stdbuf: mosquitto_sub's stdout is block-buffered into a pipe, and its SUBACK line must show at once.
  const sub = spawnProcess(findBinary('stdbuf')!, ['-oL', findBinary('mosquitto_sub')!, '-h', HOST, '-p', String(port), '-t', topic, '-q', String(qos), '-C', String(count), '-W', '20', '-d', '-F', 'MSG %t %q %p']);
  await sub.waitForOutput('received SUBACK', 10_000);
  const messages = sub.exited.then(() =>
    sub
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('MSG '))
      .map((l) => l.slice(4)),
  );
  return { messages };
}

async function mosquittoPub(port: number, topic: string, message: string, qos: number): Promise<void> {
  const r = await runProcess(findBinary('mosquitto_pub')!, ['-h', HOST, '-p', String(port), '-t', topic, '-m', message, '-q', String(qos)]);
  expect(r.code, r.stderr).toBe(0);
}

describe.skipIf(!hasPeers)('broker-mini bridged to mosquitto', () => {
  let mosq: MosquittoHandle;
  let edge: Broker;
  beforeAll(async () => {
    mosq = await startMosquitto(['log_type all']);
    const config = parseConfig(
      [
        'connection upstream',
        `address ${HOST}:${mosq.port}`,
        'remote_clientid edge-1',
        'restart_timeout 1',
        'topic # out 2 edge/ site/edge/',
        'topic # in 2 cmd/ site/cmd/',
      ].join('\n'),
    );
    edge = await startBroker({ port: 0, ...config });
    await bridgeEvent(edge.bridges[0]!, 'connect');
  });
  afterAll(async () => {
    await edge?.close();
    await mosq?.stop();
  });

  it.each([0, 1, 2])('[MQTT-7.0.0-1] QoS %i: mosquitto_pub on broker-mini reaches mosquitto_sub on mosquitto, prefixes remapped', async (qos) => {
    const got = await mosquittoSub(mosq.port, `site/edge/q${qos}`, qos, 1);
    await mosquittoPub(edge.address.port, `edge/q${qos}`, `up-${qos}`, qos);
    expect(await got.messages).toEqual([`site/edge/q${qos} ${qos} up-${qos}`]);
  });

  it.each([0, 1, 2])('[MQTT-7.0.0-1] QoS %i: mosquitto_pub on mosquitto reaches mosquitto_sub on broker-mini, prefixes remapped', async (qos) => {
    const got = await mosquittoSub(edge.address.port, `cmd/q${qos}`, qos, 1);
    await mosquittoPub(mosq.port, `site/cmd/q${qos}`, `down-${qos}`, qos);
    expect(await got.messages).toEqual([`cmd/q${qos} ${qos} down-${qos}`]);
  });

  it('publishes "1" retained on $SYS/broker/connection/REMOTE_CLIENTID/state on both sides', async () => {
    const remote = await mosquittoSub(mosq.port, '$SYS/broker/connection/edge-1/state', 0, 1);
    const local = await mosquittoSub(edge.address.port, '$SYS/broker/connection/edge-1/state', 0, 1);
    expect(await remote.messages).toEqual(['$SYS/broker/connection/edge-1/state 0 1']);
    expect(await local.messages).toEqual(['$SYS/broker/connection/edge-1/state 0 1']);
  });

  it('with try_private accepted, mosquitto does not send our own messages back', async () => {
    const bridge = edge.bridges[0];
    expect(bridge!.echoGuard).toBe(false);
    // A both-way topic: what goes out would come straight back if mosquitto did not know us as a bridge.
    const both = await startBroker({ port: 0, bridges: [{ name: 'loop', addresses: [`${HOST}:${mosq.port}`], remoteClientId: 'loop-1', topics: [{ pattern: 'loop/#', direction: 'both', qos: 1 }] }] });
    try {
      await bridgeEvent(both.bridges[0]!, 'connect');
      const local = await connect({ host: HOST, port: both.address.port });
      const seen: string[] = [];
      local.on('message', (t, p) => seen.push(`${t} ${String(p)}`));
      await local.subscribe('loop/#', { qos: 1 });
      const remote = await mosquittoSub(mosq.port, 'loop/#', 1, 1);
      await local.publish('loop/a', 'once', { qos: 1 });
      expect(await remote.messages).toEqual(['loop/a 1 once']);
      // A marker from the remote side arrives after any echo would have: then count.
      const marker = new Promise<void>((resolve) => local.handle('loop/marker', () => resolve()));
      await mosquittoPub(mosq.port, 'loop/marker', 'm', 1);
      await marker;
      expect(seen).toEqual(['loop/a once', 'loop/marker m']);
      expect(both.bridges[0]!.stats.echoes).toBe(0);
      await local.end();
    } finally {
      await both.close();
    }
  });

  it('bridge_protocol_version mqttv31 connects with MQIsdp level 3', async () => {
    const config = parseConfig(['connection old', `address ${HOST}:${mosq.port}`, 'remote_clientid v31-bridge', 'bridge_protocol_version mqttv31', 'try_private false', 'topic v31/# out 1'].join('\n'));
    const v31 = await startBroker({ port: 0, ...config });
    try {
      await bridgeEvent(v31.bridges[0]!, 'connect');
      const got = await mosquittoSub(mosq.port, 'v31/x', 1, 1);
      await mosquittoPub(v31.address.port, 'v31/x', 'old', 1);
      expect(await got.messages).toEqual(['v31/x 1 old']);
      // mosquitto logs the protocol of each client: p1 is MQTT 3.1.
      expect(mosq.log()).toMatch(/as v31-bridge \(p1,/);
    } finally {
      await v31.close();
    }
  });
});

describe.skipIf(!hasPeers)('mosquitto stopped and restarted under a bridge', () => {
  it('[MQTT-4.6.0-1] QoS 1/2 messages published meanwhile all arrive afterwards, in order, QoS 2 once', async () => {
    // Persistence keeps the subscriber's and the bridge's sessions across the restart (mosquitto
    // saves them when stopped), so the subscriber is there whenever the bridge comes back.
    const mosq = await startMosquitto(['persistence true', 'persistence_location {dir}/', 'log_type all']);
    const bin = findBinary('mosquitto')!;
    let restarted: ReturnType<typeof spawnProcess> | undefined;
    const edge = await startBroker({
      port: 0,
      bridges: [{ name: 'up', addresses: [`${HOST}:${mosq.port}`], remoteClientId: 'edge-r', restartTimeout: 1, topics: [{ pattern: 'stream/#', direction: 'out', qos: 2 }] }],
    });
    let sub: MqttClient | undefined;
    let pub: MqttClient | undefined;
    try {
      const bridge = edge.bridges[0];
      await bridgeEvent(bridge!, 'connect');
      sub = await connect({ host: HOST, port: mosq.port, clientId: 'far-sub', cleanSession: false, reconnect: { initialDelay: 200, maxDelay: 500 } });
      await sub.subscribe('stream/#', { qos: 2 });
      const got: Array<{ n: number; qos: number }> = [];
      const total = 60;
      const all = new Promise<void>((resolve) =>
        sub!.on('message', (_t, p, packet) => {
          got.push({ n: Number(String(p)), qos: packet.qos });
          if (new Set(got.map((g) => g.n)).size === total) resolve();
        }),
      );
      pub = await connect({ host: HOST, port: edge.address.port });
      const qosOf = (n: number) => (n % 2 === 0 ? 2 : 1);
      const send = (from: number, to: number) => Promise.all(Array.from({ length: to - from + 1 }, (_, i) => pub!.publish('stream/n', String(from + i), { qos: qosOf(from + i) })));
      // Mid-stream: the first third is still on its way when mosquitto stops.
      const first = send(1, 20);
      const offline = bridgeEvent(bridge!, 'offline');
      await mosq.process.stop('SIGTERM', 5_000);
      await first;
      await offline;
      await send(21, total);
      expect(bridge!.connected).toBe(false);
      restarted = spawnProcess(bin, ['-c', join(mosq.dir, 'mosquitto.conf')], { timeoutMs: 120_000 });
      await waitForPort(mosq.port, 10_000);
      await all;
      // Order holds within each QoS (spec 4.6: a QoS 2 flow completes later than a QoS 1 one).
      const sent = Array.from({ length: total }, (_, i) => i + 1);
      for (const qos of [1, 2]) {
        const firsts = got.filter((g) => g.qos === qos).map((g) => g.n).filter((n, i, a) => a.indexOf(n) === i);
        expect(firsts).toEqual(sent.filter((n) => qosOf(n) === qos));
      }
      // QoS 2: exactly once; and every message keeps its QoS.
      for (const n of sent.filter((x) => qosOf(x) === 2)) expect(got.filter((g) => g.n === n)).toHaveLength(1);
      expect(got.every((g) => g.qos === qosOf(g.n))).toBe(true);
      expect(bridge!.stats.dropped).toBe(0);
    } finally {
      await pub?.end({ force: true });
      sub?.destroy();
      await edge.close();
      await restarted?.stop('SIGTERM');
      await mosq.stop();
    }
  });
});

describe.skipIf(!hasPeers)('mosquitto bridged to broker-mini', () => {
  it('[MQTT-7.0.0-1] mosquitto as the bridge client: messages flow both ways with prefixes', async () => {
    const mini = await startBroker({ port: 0 });
    // try_private false: a plain MQTT 3.1.1 CONNECT (the try_private case is the next test).
    const connected = waitForEvent(mini, 'subscribe', (_s, client) => client.clientId === 'mosq-bridge', 15_000);
    const mosq = await startMosquitto([
      'connection tomini',
      `address ${HOST}:${mini.address.port}`,
      'remote_clientid mosq-bridge',
      'try_private false',
      'restart_timeout 1',
      'topic # out 1 up/ edge/up/',
      'topic # in 1 down/ edge/down/',
    ]);
    try {
      const [subs] = await connected;
      expect(subs).toEqual([{ topicFilter: 'edge/down/#', qos: 1 }]);
      const upward = await mosquittoSub(mini.address.port, 'edge/up/#', 1, 1);
      await mosquittoPub(mosq.port, 'up/t', 'to-mini', 1);
      expect(await upward.messages).toEqual(['edge/up/t 1 to-mini']);
      const downward = await mosquittoSub(mosq.port, 'down/#', 1, 1);
      await mosquittoPub(mini.address.port, 'edge/down/t', 'to-mosq', 1);
      expect(await downward.messages).toEqual(['down/t 1 to-mosq']);
    } finally {
      await mosq.stop();
      await mini.close();
    }
  });
});

describe.skipIf(!hasPeers)('mosquitto bridged to broker-mini with try_private', () => {
  it('[MQTT-7.0.0-1] accepts protocol level 0x84 and never sends the bridge its own messages back', async () => {
    const mini = await startBroker({ port: 0 });
    const connected = waitForEvent(mini, 'subscribe', (_s, client) => client.clientId === 'mosq-private', 15_000);
    // try_private true is mosquitto's default: its CONNECT carries protocol level 0x80 | 4.
    const mosq = await startMosquitto([
      'connection private',
      `address ${HOST}:${mini.address.port}`,
      'remote_clientid mosq-private',
      'restart_timeout 1',
      'topic loop/# both 1',
    ]);
    try {
      await connected;
      // On mosquitto's side: our loop/a, then loop/b published on broker-mini. An echo of loop/a
      // from broker-mini would arrive before loop/b, which broker-mini only gets afterwards.
      const mosqSide = await mosquittoSub(mosq.port, 'loop/#', 1, 2);
      const miniSide = await mosquittoSub(mini.address.port, 'loop/#', 1, 1);
      await mosquittoPub(mosq.port, 'loop/a', 'from-mosq', 1);
      expect(await miniSide.messages).toEqual(['loop/a 1 from-mosq']);
      await mosquittoPub(mini.address.port, 'loop/b', 'from-mini', 1);
      expect(await mosqSide.messages).toEqual(['loop/a 1 from-mosq', 'loop/b 1 from-mini']);
    } finally {
      await mosq.stop();
      await mini.close();
    }
  });
});

describe.skipIf(!hasPeers || !requirePeer('openssl', 'apt-get install -y openssl'))('a bridge over TLS to mosquitto', () => {
  let mosq: MosquittoHandle;
  let dir: string;
  let tlsPort: number;
  /** Serves a certificate for other.example, not for 127.0.0.1. */
  let otherPort: number;
  beforeAll(async () => {
    dir = makeTempDir('mqtt311-bridge-tls-');
    makeCertificates(dir);
    // A second server certificate, for a name that is not 127.0.0.1 (for bridge_insecure).
    const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 20_000 });
    writeFileSync(join(dir, 'other.ext'), 'subjectAltName=DNS:other.example\n');
    ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=other.example']);
    ssl(['x509', '-req', '-in', 'other.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'other.crt', '-days', '2', '-extfile', 'other.ext']);
    tlsPort = await freePort();
    otherPort = await freePort();
    // The first listener stays plain (for mosquitto_sub); the TLS ones want a client certificate.
    const tls = (port: number, cert: string) => [`listener ${port} 127.0.0.1`, `cafile ${dir}/ca.crt`, `certfile ${dir}/${cert}.crt`, `keyfile ${dir}/${cert}.key`, 'require_certificate true'];
    mosq = await startMosquitto([...tls(tlsPort, 'server'), ...tls(otherPort, 'other')]);
    await waitForPort(tlsPort);
    await waitForPort(otherPort);
  });
  afterAll(async () => {
    await mosq?.stop();
  });

  /** A broker-mini whose bridge has the given TLS lines (paths relative to the certificates' folder). */
  const withClientCert = ['bridge_cafile ca.crt', 'bridge_certfile client.crt', 'bridge_keyfile client.key'];
  function edgeWith(tlsLines: string[], port = tlsPort): Promise<Broker> {
    const lines = ['connection secure', `address ${HOST}:${port}`, 'remote_clientid tls-edge', 'restart_timeout 1', ...tlsLines, 'topic tls/# out 1'];
    return startBroker({ port: 0, ...parseConfig(lines.join('\n'), { file: join(dir, 'edge.conf') }) });
  }

  it('connects with bridge_cafile, bridge_certfile and bridge_keyfile', async () => {
    const edge = await edgeWith(withClientCert);
    try {
      await bridgeEvent(edge.bridges[0]!, 'connect');
      const got = await mosquittoSub(mosq.port, 'tls/x', 1, 1);
      await mosquittoPub(edge.address.port, 'tls/x', 'sealed', 1);
      expect(await got.messages).toEqual(['tls/x 1 sealed']);
    } finally {
      await edge.close();
    }
  });

  it('does not connect to a server its CA file does not vouch for', async () => {
    // client.crt is no CA: the server's chain cannot be verified.
    const edge = await edgeWith(['bridge_cafile client.crt', 'bridge_certfile client.crt', 'bridge_keyfile client.key']);
    try {
      await bridgeEvent(edge.bridges[0]!, 'offline');
      expect(edge.bridges[0]!.connected).toBe(false);
    } finally {
      await edge.close();
    }
  });

  it.each([
    [false, 'offline'],
    [true, 'connect'],
  ] as const)('bridge_insecure %s to a server whose certificate names another host: %s', async (insecure, event) => {
    const edge = await edgeWith([...withClientCert, `bridge_insecure ${insecure}`], otherPort);
    try {
      await bridgeEvent(edge.bridges[0]!, event);
      expect(edge.bridges[0]!.connected).toBe(insecure);
    } finally {
      await edge.close();
    }
  });
});
