/**
 * `mqtt311 proxy` on real sockets: between Paho Python and mosquitto (the classic tutorial), and
 * between scripted peers that break the rules on purpose, so the right rule ids must be flagged.
 * Also the faults it injects on request, and its JSON output.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import type { Packet } from '../../src/codec/index.js';
import { closeAllRawClients, RawClient } from '../helpers/raw-client.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, requirePeer, runPython, startMosquitto, stopAllProcesses, cleanupTempDirs } from '../helpers/peers.js';
import { startProxyCli, startScriptedServer, type ProxyRun, type ScriptedServer } from './helpers.js';

const runs: ProxyRun[] = [];
const servers: ScriptedServer[] = [];
const brokers: Broker[] = [];

async function proxyTo(port: number, ...args: string[]): Promise<ProxyRun> {
  const run = await startProxyCli(['--to', `127.0.0.1:${port}`, ...args]);
  runs.push(run);
  return run;
}

afterEach(async () => {
  await closeAllRawClients();
  for (const r of runs.splice(0)) await r.stop();
  for (const s of servers.splice(0)) await s.close();
  for (const b of brokers.splice(0)) await b.close();
});
afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});

/** The flagged lines ("!! [rule] side: …") of an output, as "rule side". */
const flagged = (text: string) => [...text.matchAll(/!! \[(\S+)\] (client|server):/g)].map((m) => `${m[1]} ${m[2]}`);

const TUTORIAL = `
import sys, threading
import paho.mqtt.client as mqtt
got = threading.Event()
def on_message(client, userdata, msg):
    print("message", msg.topic, msg.payload.decode(), flush=True)
    got.set()
c = mqtt.Client(client_id="paho-tutorial", clean_session=True)
c.on_message = on_message
c.connect("127.0.0.1", int(sys.argv[1]), 60)
c.loop_start()
c.subscribe("good", 1)[1]
c.publish("hello", "world", qos=1).wait_for_publish()
c.publish("good", "news", qos=2).wait_for_publish()
if not got.wait(10): sys.exit(3)
c.disconnect()
c.loop_stop()
`;

describe.skipIf(!(requirePeer('mosquitto') && requirePeer('paho')))('proxy between Paho Python and mosquitto', () => {
  it('prints the tutorial both ways, every packet, and flags nothing', async () => {
    const mosq = await startMosquitto();
    try {
      const proxy = await proxyTo(mosq.port);
      const paho = await runPython(TUTORIAL, [String(proxy.port)], { timeoutMs: 20_000 });
      expect(paho.stdout).toContain('message good news');
      expect(paho.code).toBe(0);
      const out = await proxy.stdout.waitFor(/connection closed/)
      const arrows = out.split('\n').filter((l) => / #1 /.test(l)).map((l) => l.replace(/^\S+ #1 (\S+) +\d+ B +/, '$1 '));
      expect(arrows[0]).toBe('C→S CONNECT clientId="paho-tutorial" clean keepAlive=60');
      for (const expected of [
        'S→C CONNACK 0x00 accepted',
        'C→S SUBSCRIBE id=1 ["good" q1]',
        'S→C SUBACK id=1 [1]',
        'C→S PUBLISH q1 id=2 "hello" (5 B)',
        'S→C PUBACK id=2',
        'C→S PUBLISH q2 id=3 "good" (4 B)',
        'S→C PUBREC id=3',
        'C→S PUBREL id=3',
        'S→C PUBCOMP id=3',
        'C→S DISCONNECT',
      ]) expect(arrows).toContain(expected);
      // The delivery of "good" comes back at the granted QoS 1.
      expect(arrows.some((l) => /^S→C PUBLISH q1 id=\d+ "good" \(4 B\)$/.test(l))).toBe(true);
      expect(out).not.toMatch(/!!/);
      // Paho sends SUBSCRIBE and PUBLISH without waiting for the CONNACK: allowed, so only noted.
      expect([...out.matchAll(/note \[(\S+)\]/g)].every((m) => m[1] === 'MQTT-3.1.4-5')).toBe(true);
    } finally {
      await mosq.stop();
    }
  });
});

describe('proxy flags the rules a scripted peer breaks', () => {
  it('[MQTT-3.8.4-2] [MQTT-3.3.1-1] [MQTT-4.3.3-2] [MQTT-2.2.2-2] a broken broker', async () => {
    const server = await startScriptedServer();
    servers.push(server);
    const proxy = await proxyTo(server.port);
    const client = await RawClient.connect(proxy.port);
    client.send({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'victim', cleanSession: true, keepAlive: 0 });
    const peer = await server.accept();
    expect((await peer.next()).cmd).toBe('connect');
    peer.send({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    client.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'x', qos: 1 }] });
    await peer.next();
    const delivery: Packet = { cmd: 'publish', topic: 'x', payload: Buffer.from('a'), qos: 1, retain: false, dup: false, packetId: 1 };
    // The wrong SUBACK id, then the same message twice without DUP.
    peer.send({ cmd: 'suback', packetId: 9, returnCodes: [1] }, { cmd: 'suback', packetId: 1, returnCodes: [1] }, delivery, delivery);
    client.send({ cmd: 'publish', topic: 'y', payload: Buffer.from('b'), qos: 2, retain: false, dup: false, packetId: 5 });
    await peer.next();
    // PUBCOMP before the client's PUBREL, then a PUBACK with reserved flag bits set.
    peer.send({ cmd: 'pubrec', packetId: 5 }, { cmd: 'pubcomp', packetId: 5 }, [0x42, 0x02, 0x00, 0x07]);
    const out = await proxy.stdout.waitFor(/MALFORMED[^\n]*\n[^\n]*\n/);
    expect(flagged(out)).toEqual(['MQTT-3.8.4-2 server', 'MQTT-3.3.1-1 server', 'MQTT-4.3.3-2 server', 'MQTT-2.2.2-2 server']);
    // The bytes went through unchanged, malformed ones included.
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await client.next()).cmd);
    expect(seen).toEqual(['connack', 'suback', 'suback', 'publish', 'publish', 'pubrec']);
  });

  it('[MQTT-3.3.1-1] a broker re-delivering without DUP on the next connection of a session', async () => {
    const server = await startScriptedServer();
    servers.push(server);
    const proxy = await proxyTo(server.port);
    const delivery: Packet = { cmd: 'publish', topic: 'x', payload: Buffer.from('a'), qos: 1, retain: false, dup: false, packetId: 3 };
    for (const round of [1, 2]) {
      const client = await RawClient.connect(proxy.port);
      client.send({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'kept', cleanSession: false, keepAlive: 0 });
      const peer = await server.accept();
      await peer.next();
      peer.send({ cmd: 'connack', sessionPresent: round === 2, returnCode: 0 }, delivery);
      expect((await client.next()).cmd).toBe('connack');
      expect((await client.next()).cmd).toBe('publish');
      // The client goes away without acknowledging; the proxy sees the close.
      await client.close();
      await proxy.stdout.waitFor(new RegExp(`#${round} \\S+ +connection closed`));
    }
    expect(flagged(proxy.stdout.text)).toEqual(['MQTT-3.3.1-1 server']);
    expect(proxy.stdout.text).toMatch(/#2 S→C +8 B +PUBLISH q1 id=3 "x" \(1 B\)\n +!! \[MQTT-3\.3\.1-1\]/);
  });

  it('[MQTT-2.3.1-2] [MQTT-3.1.4-5] [MQTT-3.1.2-23] a broken client, against broker-mini which closes in time ([MQTT-3.1.2-24])', async () => {
    const broker = await startBroker({ port: 0 });
    brokers.push(broker);
    const proxy = await proxyTo(broker.address.port);
    const client = await RawClient.connect(proxy.port);
    const publish = (payload: string): Packet => ({ cmd: 'publish', topic: 't', payload: Buffer.from(payload), qos: 1, retain: false, dup: false, packetId: 7 });
    // PUBLISH right behind CONNECT (before CONNACK), then the same id for a new message.
    client.sendBytes(Buffer.concat([
      Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x01, 0x00, 0x01, 0x6b]),
    ]));
    client.send(publish('one'));
    client.send(publish('two'));
    // Then silence: keep-alive is 1 s.
    const out = await proxy.stdout.waitFor(/connection closed by the server/, 10_000)
    expect(out).toMatch(/note \[MQTT-3\.1\.4-5\] client: PUBLISH sent before CONNACK/);
    expect(flagged(out)).toEqual(['MQTT-2.3.1-2 client', 'MQTT-3.1.2-23 client']);
    expect(out).not.toContain('MQTT-3.1.2-24');
  });
});

describe('proxy faults and formats', () => {
  it('--drop puback leaves the PUBACKs out and says so; --json prints one object per line', async () => {
    const broker = await startBroker({ port: 0 });
    brokers.push(broker);
    const proxy = await proxyTo(broker.address.port, '--drop', 'puback', '--json');
    const client = await RawClient.connect(proxy.port);
    await client.handshake({ clientId: 'dropper' });
    client.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1 });
    client.send({ cmd: 'pingreq' });
    expect((await client.next()).cmd).toBe('pingresp');
    const out = await proxy.stdout.waitFor(/"type":"pingresp"/);
    const records = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; dir: string; hex: string });
    // PUBACK and PINGREQ cross on the wire, so their order is not fixed.
    expect(records.map((r) => `${r.dir} ${r.type}`).sort()).toEqual(['c2s connect', 'c2s pingreq', 'c2s publish', 's2c connack', 's2c pingresp', 's2c puback']);
    expect(records.find((r) => r.type === 'puback')).toMatchObject({ hex: '40 02 00 01' });
    expect(out).toContain('"fault":"dropped (--drop)"');
    expect(client.pending).toEqual([]);
  });

  it('--cut-after 3 closes both sides after the third packet', async () => {
    const broker = await startBroker({ port: 0 });
    brokers.push(broker);
    const proxy = await proxyTo(broker.address.port, '--cut-after', '3');
    const client = await RawClient.connect(proxy.port);
    await client.handshake({ clientId: 'cut' });
    client.send({ cmd: 'pingreq' });
    client.send({ cmd: 'pingreq' });
    expect(await client.closesWithin(5_000)).toBe(true);
    const out = await proxy.stdout.waitFor(/connection closed/)
    expect(out).toMatch(/cut after 3 packets/);
    expect(out.match(/C→S +\d+ B +PINGREQ/g)).toHaveLength(1);
  });

  it('--delay holds every chunk back; -v dumps every field; --html writes the session as a page when the proxy stops', async () => {
    const broker = await startBroker({ port: 0 });
    brokers.push(broker);
    const html = join(makeTempDir('mqtt311-lab-html-'), 'session.html');
    const proxy = await proxyTo(broker.address.port, '--delay', '150', '--html', html, '-v');
    const client = await RawClient.connect(proxy.port);
    const start = Date.now();
    await client.handshake({ clientId: 'slow' });
    // CONNECT and CONNACK were each held back 150 ms (a lower bound, not a measurement).
    expect(Date.now() - start).toBeGreaterThanOrEqual(290);
    await client.close();
    const out = await proxy.stdout.waitFor(/connection closed/);
    // -v: the codec's field-by-field table under each packet.
    expect(out).toMatch(/C→S +\d+ B +CONNECT clientId="slow"[^\n]*\n +CONNECT \(\d+ bytes\)\n +offset +bytes +field +value +spec\n/);
    expect(out).toMatch(/ +client identifier +"slow" +3\.1\.3\.1/);
    expect(await proxy.stop()).toBe(0);
    runs.splice(runs.indexOf(proxy), 1);
    const page = readFileSync(html, 'utf8');
    expect(page.match(/class="arrow"/g)).toHaveLength(2);
    expect(page).toContain('data-type="connack"');
  });

  it('passwords never reach the output, not even as hex', async () => {
    const broker = await startBroker({ port: 0, users: { u: 'sekret' } });
    brokers.push(broker);
    const proxy = await proxyTo(broker.address.port, '--json', '-v');
    const client = await RawClient.connect(proxy.port);
    expect((await client.handshake({ clientId: 'pw', username: 'u', password: Buffer.from('sekret') })).returnCode).toBe(0);
    const out = await proxy.stdout.waitFor(/connack/);
    expect(out).not.toContain(Buffer.from('sekret').toString('hex').match(/../g)!.join(' '));
    expect(out).not.toContain('sekret');
    expect(out).toContain('** ** ** ** ** **');
  });
});
