/**
 * MQTT 3.1 against real peers: mosquitto_pub/sub -V mqttv31 and Paho Python's MQTTv31 against
 * broker-mini, 3.1 and 3.1.1 clients side by side, and raw CONNECTs and SUBSCRIBEs sent to both
 * broker-mini and a real mosquitto, which must answer alike (what mosquitto answers is the
 * reference: CONNACK 1 for "MQIsdp" with a bad level, the requested QoS for a refused 3.1
 * subscription).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { connectProtocol, encode } from '../../src/codec/index.js';
import type { ClientInfo } from '../../src/broker-mini/index.js';
import { findBinary, makeTempDir, requirePeer, runProcess, runPython, spawnProcess, startMosquitto, stopAllProcesses, cleanupTempDirs, type MosquittoHandle } from '../helpers/peers.js';
import { closeAllRawClients, connectPacket, RawClient } from '../helpers/raw-client.js';
import { subscribedEvent, waitForEvent } from './wait.js';

const hasClients = requirePeer('mosquitto_pub') && requirePeer('mosquitto_sub');
const hasMosquitto = requirePeer('mosquitto');
const hasPaho = requirePeer('paho');

/** Debian's mosquitto ships the dynamic-security plugin, the only way to refuse a SUBSCRIBE in 2.0. */
const DYNSEC = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'].map((d) => join(d, 'mosquitto_dynamic_security.so')).find((p) => existsSync(p));
const hasDynsec = DYNSEC !== undefined || requirePeer('mosquitto_dynamic_security.so', 'apt-get install -y mosquitto (it ships the dynamic-security plugin)');

/** Starts a mosquitto whose default ACL refuses every SUBSCRIBE (anonymous clients have no roles). */
async function mosquittoRefusingSubscriptions(): Promise<MosquittoHandle> {
  const dir = makeTempDir('mqtt311-dynsec-');
  const config = join(dir, 'dynsec.json');
  const denySubscribe = { publishClientSend: true, publishClientReceive: true, subscribe: false, unsubscribe: true };
  writeFileSync(config, JSON.stringify({ defaultACLAccess: denySubscribe, clients: [], groups: [], roles: [] }));
  return startMosquitto([`plugin ${DYNSEC}`, `plugin_opt_config_file ${config}`]);
}

describe.skipIf(!hasClients)('mosquitto_pub / mosquitto_sub -V mqttv31 against broker-mini', () => {
  let broker: Broker;
  let port: number;
  const versions = new Map<string, number>();
  const bin = (name: string) => findBinary(name)!;
  const common = (version: string) => ['-h', '127.0.0.1', '-p', String(port), '-V', version];
  const pub = (version: string, args: string[]) => runProcess(bin('mosquitto_pub'), [...common(version), ...args], { timeoutMs: 10_000 });
  const sub = (version: string, id: string, args: string[]) => spawnProcess(bin('mosquitto_sub'), [...common(version), '-i', id, '-W', '15', ...args]);

  beforeAll(async () => {
    broker = await startBroker({ port: 0, acl: [{ topic: '#', access: 'readwrite' }, { topic: 'private/#', access: 'deny' }] });
    port = broker.address.port;
    broker.on('connect', (c: ClientInfo) => versions.set(c.clientId, c.protocolVersion));
  });
  afterAll(async () => {
    await stopAllProcesses();
    await broker.close();
  });

  it('delivers QoS 0, 1 and 2 from a 3.1 publisher to a 3.1 subscriber', async () => {
    const s = sub('mqttv31', 'v31-sub', ['-v', '-q', '2', '-C', '3', '-t', 'v31/#']);
    await subscribedEvent(broker, 'v31-sub');
    for (const qos of ['0', '1', '2']) {
      expect((await pub('mqttv31', ['-i', `v31-pub-${qos}`, '-q', qos, '-t', `v31/q${qos}`, '-m', `hello ${qos}`])).code).toBe(0);
    }
    expect((await s.exited).code).toBe(0);
    expect(s.stdout().trim().split('\n')).toEqual(['v31/q0 hello 0', 'v31/q1 hello 1', 'v31/q2 hello 2']);
    expect([versions.get('v31-sub'), versions.get('v31-pub-2')]).toEqual([3, 3]);
  });

  it('a 3.1 publisher reaches a 3.1.1 subscriber, and back', async () => {
    const new311 = sub('mqttv311', 'x-311', ['-v', '-q', '1', '-C', '1', '-t', 'x/to311']);
    const old31 = sub('mqttv31', 'x-31', ['-v', '-q', '1', '-C', '1', '-t', 'x/to31']);
    await Promise.all([subscribedEvent(broker, 'x-311'), subscribedEvent(broker, 'x-31')]);
    expect((await pub('mqttv31', ['-q', '1', '-t', 'x/to311', '-m', 'from 3.1'])).code).toBe(0);
    expect((await pub('mqttv311', ['-q', '2', '-t', 'x/to31', '-m', 'from 3.1.1'])).code).toBe(0);
    await Promise.all([new311.exited, old31.exited]);
    expect([new311.stdout().trim(), old31.stdout().trim()]).toEqual(['x/to311 from 3.1', 'x/to31 from 3.1.1']);
    expect([versions.get('x-311'), versions.get('x-31')]).toEqual([4, 3]);
  });

  it('[MQTT-3.3.1-6] gives a late 3.1 subscriber the message a 3.1 client retained, flagged retained', async () => {
    expect((await pub('mqttv31', ['-q', '1', '-r', '-t', 'v31/retained', '-m', 'kept'])).code).toBe(0);
    const late = await runProcess(bin('mosquitto_sub'), [...common('mqttv31'), '-C', '1', '-W', '10', '-t', 'v31/retained', '-F', '%r %t %p'], { timeoutMs: 15_000 });
    expect(late.stdout.trim()).toBe('1 v31/retained kept');
    expect((await pub('mqttv31', ['-r', '-t', 'v31/retained', '-n'])).code).toBe(0);
    expect(broker.retained.get('v31/retained')).toBeUndefined();
  });

  it('[MQTT-3.1.2-8] publishes the will of a killed 3.1 client to a 3.1.1 watcher', async () => {
    const watcher = sub('mqttv311', 'v31-watch', ['-v', '-C', '1', '-t', 'v31/will/#']);
    await subscribedEvent(broker, 'v31-watch');
    const victim = sub('mqttv31', 'v31-victim', ['-t', 'v31/nothing', '--will-topic', 'v31/will/victim', '--will-payload', 'gone', '--will-qos', '1', '-k', '60']);
    await subscribedEvent(broker, 'v31-victim');
    victim.child.kill('SIGKILL');
    await watcher.exited;
    expect(watcher.stdout().trim()).toBe('v31/will/victim gone');
  });

  it('answers a refused 3.1 subscription with the QoS asked for, as mosquitto does, and delivers nothing on it', async () => {
    const r = await runProcess(bin('mosquitto_sub'), [...common('mqttv31'), '-d', '-q', '1', '-t', 'private/x', '-E'], { timeoutMs: 10_000 });
    expect(r.stdout).toContain('Subscribed (mid: 1): 1');
    const r311 = await runProcess(bin('mosquitto_sub'), [...common('mqttv311'), '-d', '-q', '1', '-t', 'private/x', '-E'], { timeoutMs: 10_000 });
    expect(r311.stdout).toContain('Subscribed (mid: 1): 128');
  });
});

describe.skipIf(!hasClients || !hasMosquitto || !hasDynsec)('a refused MQTT 3.1 subscription on a real mosquitto (reference)', () => {
  let mosq: MosquittoHandle;
  beforeAll(async () => {
    mosq = await mosquittoRefusingSubscriptions();
  });
  afterAll(async () => {
    await mosq?.stop();
    await stopAllProcesses();
    cleanupTempDirs();
  });

  it('mosquitto 2.0 answers the QoS asked for to 3.1 (no failure code) and 0x80 to 3.1.1', async () => {
    const run = (version: string) =>
      runProcess(findBinary('mosquitto_sub')!, ['-h', '127.0.0.1', '-p', String(mosq.port), '-V', version, '-d', '-q', '1', '-t', 'a/b', '-E'], { timeoutMs: 10_000 });
    expect((await run('mqttv31')).stdout).toContain('Subscribed (mid: 1): 1');
    expect((await run('mqttv311')).stdout).toContain('Subscribed (mid: 1): 128');
  });
});

describe.skipIf(!hasPaho)('Paho Python with protocol=MQTTv31 against broker-mini', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker({ port: 0, authorizeSubscribe: (_c, filter) => !filter.startsWith('forbidden') });
  });
  afterAll(async () => {
    await stopAllProcesses();
    await broker.close();
    cleanupTempDirs();
  });

  it('connects (generated 3.1 client id, no Session Present), subscribes, and round-trips QoS 0, 1 and 2', async () => {
    const connected = waitForEvent(broker, 'connect', (c) => c.protocolVersion === 3);
    const script = `
import json, sys, threading
import paho.mqtt.client as mqtt
port = int(sys.argv[1])
def out(**kw):
    print(json.dumps(kw), flush=True)
done = threading.Event()
subscribed = threading.Event()
got = []
def on_connect(client, userdata, flags, rc):
    out(event="connack", rc=rc, session_present=flags.get("session present", 0))
    client.subscribe([("py31/#", 2), ("forbidden/x", 1)])
def on_subscribe(client, userdata, mid, granted):
    out(event="suback", granted=list(granted))
    subscribed.set()
def on_message(client, userdata, msg):
    got.append(msg.payload.decode())
    out(event="message", topic=msg.topic, payload=msg.payload.decode(), qos=msg.qos)
    if len(got) == 3:
        done.set()
c = mqtt.Client(client_id="", clean_session=True, protocol=mqtt.MQTTv31)
c.on_connect = on_connect
c.on_subscribe = on_subscribe
c.on_message = on_message
c.connect("127.0.0.1", port, 30)
c.loop_start()
if not subscribed.wait(5):
    out(event="timeout", what="suback")
for q in (0, 1, 2):
    c.publish("py31/q%d" % q, "m%d" % q, qos=q).wait_for_publish()
if not done.wait(5):
    out(event="timeout", what="messages")
c.disconnect()
c.loop_stop()
`;
    const r = await runPython(script, [String(broker.address.port)], { timeoutMs: 20_000 });
    const events = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toEqual({ event: 'connack', rc: 0, session_present: 0 });
    // The refused filter is answered with the QoS asked for (3.1 has no 0x80), as mosquitto does.
    expect(events[1]).toEqual({ event: 'suback', granted: [2, 1] });
    expect(events.slice(2).map((e) => [e.topic, e.payload, e.qos])).toEqual([
      ['py31/q0', 'm0', 0],
      ['py31/q1', 'm1', 1],
      ['py31/q2', 'm2', 2],
    ]);
    const [client] = await connected;
    // Paho generates a 3.1 client id of at most 23 characters.
    expect(client.clientId.length).toBeLessThanOrEqual(23);
  });
});

describe('MQTT.js with protocolVersion 3 (MQIsdp) against broker-mini', () => {
  it('round-trips QoS 0, 1 and 2 with a 3.1.1 MQTT.js client, both ways', async () => {
    const broker = await startBroker({ port: 0 });
    const url = `mqtt://127.0.0.1:${broker.address.port}`;
    const versions: Array<[string, number]> = [];
    broker.on('connect', (c) => versions.push([c.clientId, c.protocolVersion]));
    const old = await mqtt.connectAsync(url, { protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'js31', reconnectPeriod: 0 });
    const neu = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'js311', reconnectPeriod: 0 });
    try {
      const got: string[] = [];
      const both = new Promise<void>((resolve) => {
        const on = (who: string) => (topic: string, payload: Buffer, packet: { qos: number }) => {
          got.push(`${who} ${topic} ${payload.toString()} q${packet.qos}`);
          if (got.length === 6) resolve();
        };
        old.on('message', on('3.1'));
        neu.on('message', on('3.1.1'));
      });
      expect((await old.subscribeAsync('js/to31', { qos: 2 }))[0]!.qos).toBe(2);
      expect((await neu.subscribeAsync('js/to311', { qos: 2 }))[0]!.qos).toBe(2);
      for (const qos of [0, 1, 2] as const) {
        await neu.publishAsync('js/to31', `n${qos}`, { qos });
        await old.publishAsync('js/to311', `o${qos}`, { qos });
      }
      await both;
      expect(versions).toEqual([['js31', 3], ['js311', 4]]);
      expect(got.sort()).toEqual([
        '3.1 js/to31 n0 q0', '3.1 js/to31 n1 q1', '3.1 js/to31 n2 q2',
        '3.1.1 js/to311 o0 q0', '3.1.1 js/to311 o1 q1', '3.1.1 js/to311 o2 q2',
      ]);
    } finally {
      await Promise.all([old.endAsync(true), neu.endAsync(true)]);
      await broker.close();
    }
  });
});

describe.skipIf(!hasMosquitto)('raw MQTT 3.1 CONNECTs: broker-mini answers as mosquitto does', () => {
  let mosq: MosquittoHandle;
  let broker: Broker;
  beforeAll(async () => {
    [mosq, broker] = await Promise.all([startMosquitto(), startBroker({ port: 0 })]);
  });
  afterEach(closeAllRawClients);
  afterAll(async () => {
    await Promise.all([mosq?.stop(), broker?.close()]);
    cleanupTempDirs();
  });

  /** What each server answers to `bytes`: the first packet (or 'none') and whether it then closed. */
  async function answers(bytes: Uint8Array): Promise<Array<{ first: unknown; closed: boolean }>> {
    return Promise.all(
      [mosq.port, broker.address.port].map(async (port) => {
        const c = await RawClient.connect(port, { protocolVersion: 3 });
        c.sendBytes(bytes);
        const first = await c.next(3_000).catch(() => 'none');
        const closed = first !== 'none' && (first as { returnCode?: number }).returnCode === 0 ? false : await c.closesWithin(3_000);
        return { first, closed };
      }),
    );
  }
  const connect31 = (fields = {}) => encode(connectPacket({ ...connectProtocol(3), clientId: 'raw31', ...fields }));
  const accepted = { first: { cmd: 'connack', sessionPresent: false, returnCode: 0 }, closed: false };

  it('[MQTT-3.1.2-2] "MQIsdp" with protocol level 0 (or 4) gets CONNACK 1 and is closed', async () => {
    for (const protocolLevel of [0, 4]) {
      const refused = { first: { cmd: 'connack', sessionPresent: false, returnCode: 1 }, closed: true };
      expect(await answers(connect31({ protocolLevel }))).toEqual([refused, refused]);
    }
  });

  it('an MQTT 3.1 CONNECT with an empty client id gets CONNACK 2 and is closed', async () => {
    const refused = { first: { cmd: 'connack', sessionPresent: false, returnCode: 2 }, closed: true };
    // Our encoder refuses to write it: encode it as level 0, then set the level to 3.
    const bytes = connect31({ clientId: '', protocolLevel: 0 });
    bytes[2 + 8] = 3;
    expect(await answers(bytes)).toEqual([refused, refused]);
  });

  it('accepts what 3.1 calls "not used": CONNECT header flags and connect flag bit 0', async () => {
    const flagged = connect31();
    flagged[0] = 0x12; // CONNECT with header flag bits 0010
    expect(await answers(flagged)).toEqual([accepted, accepted]);
    const reserved = connect31();
    reserved[2 + 8 + 1]! |= 0x01; // connect flags (after the 2-byte header, "MQIsdp" and the level): bit 0
    expect(await answers(reserved)).toEqual([accepted, accepted]);
  });

  it('accepts a bridge\'s level with bit 7 set (0x83, 0x84) as its version', async () => {
    expect(await answers(connect31({ ...connectProtocol(3, true) }))).toEqual([accepted, accepted]);
    expect(await answers(encode(connectPacket({ ...connectProtocol(4, true), clientId: 'raw311' })))).toEqual([accepted, accepted]);
  });
});
