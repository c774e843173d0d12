/**
 * `mqtt311 decode --pcap`: the capture reader on hand-made frames (order, retransmission, file
 * kinds), and on a real capture of loopback traffic to mosquitto written by dumpcap, compared
 * with Wireshark's own MQTT dissection (`tshark -V`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { decode, encode, PACKET_TYPE, type Packet } from '../../src/codec/index.js';
import { runDecode } from '../../src/cli/decode.js';
import { decodeCapture } from '../../src/lab/capture.js';
import { PcapError, readPcap } from '../../src/lab/pcap.js';
import { closeAllRawClients, RawClient } from '../helpers/raw-client.js';
import { cleanupTempDirs, makeTempDir, requirePeer, runProcess, spawnProcess, startMosquitto, stopAllProcesses } from '../helpers/peers.js';

afterAll(async () => {
  await closeAllRawClients();
  await stopAllProcesses();
  cleanupTempDirs();
});

/** An Ethernet + IPv4 + TCP frame from 127.0.0.1:`from` to 127.0.0.1:`to`. */
function frame(from: number, to: number, seq: number, payload: Uint8Array, flags = 0x18): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(from, 0);
  tcp.writeUInt16BE(to, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 20 + payload.length, 2);
  ip[9] = 6;
  Buffer.from([127, 0, 0, 1, 127, 0, 0, 1]).copy(ip, 12);
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  return Buffer.concat([eth, ip, tcp, payload]);
}

/** A little-endian, microsecond libpcap file of Ethernet `frames`, one ms apart. */
function pcapFile(frames: Buffer[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const records = frames.map((f, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000, 0);
    h.writeUInt32LE(i * 1000, 4);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    return Buffer.concat([h, f]);
  });
  return Buffer.concat([header, ...records]);
}

const CONNECT = encode({ cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'cap', cleanSession: true, keepAlive: 0 });
const CONNACK = encode({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
const PUBLISH = encode({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('hello'), qos: 0, retain: false, dup: false });

describe('the pcap reader', () => {
  it('reassembles out-of-order and retransmitted segments, and splits packets across segments', () => {
    const c2s = Buffer.concat([CONNECT, PUBLISH]);
    const [a, b, c] = [c2s.subarray(0, 7), c2s.subarray(7, 20), c2s.subarray(20)];
    const file = pcapFile([
      frame(50000, 1883, 99, new Uint8Array(0), 0x02), // SYN: data starts at 100
      frame(50000, 1883, 100, a),
      frame(50000, 1883, 107 + b.length, c), // early
      frame(50000, 1883, 107, b),
      frame(50000, 1883, 100, a), // retransmission
      frame(1883, 50000, 5000, CONNACK),
    ]);
    const records = decodeCapture(file);
    expect(records.map((r) => `${r.record.dir} ${r.record.packet?.cmd}`)).toEqual(['c2s connect', 'c2s publish', 's2c connack']);
    expect(Buffer.from(records[1]!.record.bytes)).toEqual(Buffer.from(PUBLISH));
  });

  it('tells a pcapng file and a file that is no capture apart, with a hint', () => {
    expect(() => readPcap(Buffer.from('0a0d0d0a000000000000000000000000000000000000000000', 'hex'))).toThrow(/pcapng.*-F pcap/);
    expect(() => readPcap(Buffer.alloc(30, 1))).toThrow(PcapError);
  });

  it('[MQTT-2.2.2-2] flags a malformed packet in a capture like the proxy does', () => {
    const file = pcapFile([frame(50000, 1883, 1, CONNECT), frame(1883, 50000, 1, Buffer.from([0x21, 0x02, 0x00, 0x00]))]);
    const [, bad] = decodeCapture(file);
    expect(bad!.record).toMatchObject({ kind: 'malformed', violations: [{ rule: 'MQTT-2.2.2-2', by: 'server' }] });
  });
});

interface Dissected {
  type: number;
  remainingLength: number;
  topic?: string;
  packetId?: number;
}

/** The MQTT messages of `tshark -V` output, with the fields both sides name. */
function parseTshark(text: string): Dissected[] {
  return text.split('MQ Telemetry Transport Protocol, ').slice(1).map((block) => {
    const d: Dissected = { type: Number(/Message Type: [^\n]*\((\d+)\)/.exec(block)?.[1]), remainingLength: Number(/Msg Len: (\d+)/.exec(block)?.[1]) };
    const topic = /\n\s+Topic: ([^\n]*)/.exec(block)?.[1];
    if (topic !== undefined) d.topic = topic;
    const id = /Message Identifier: (\d+)/.exec(block)?.[1];
    if (id !== undefined) d.packetId = Number(id);
    return d;
  });
}

/** The same fields from one of our packets. */
function fieldsOf(packet: Packet, bytes: number): Dissected {
  const header = bytes < 2 + 128 ? 2 : bytes < 3 + 16384 ? 3 : 4;
  const d: Dissected = { type: PACKET_TYPE[packet.cmd], remainingLength: bytes - header };
  if (packet.cmd === 'publish') d.topic = packet.topic;
  if (packet.cmd === 'subscribe') d.topic = packet.subscriptions[0]!.topicFilter;
  if ('packetId' in packet && packet.packetId !== undefined) d.packetId = packet.packetId;
  return d;
}

/** Resolves once `file` holds `count` MQTT packets to `port`; polls (there is no event), up to 15 s. */
async function fileHolds(file: string, count: number, port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    let seen = 0;
    try {
      seen = decodeCapture(readFileSync(file), port).filter((r) => r.record.kind === 'packet').length;
    } catch {
      /* not written yet */
    }
    if (seen >= count) return;
    if (Date.now() > deadline) throw new Error(`the capture holds ${seen} MQTT packets, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const canCapture = requirePeer('dumpcap', 'apt-get install -y tshark (dumpcap; run as root)') && requirePeer('tshark', 'apt-get install -y tshark') && requirePeer('mosquitto');

describe.skipIf(!canCapture)('decode --pcap on a dumpcap capture of traffic to mosquitto', () => {
  it('agrees with tshark -V on every MQTT packet\'s type, length, topic and packet id', { timeout: 60_000 }, async () => {
    const mosq = await startMosquitto();
    const file = join(makeTempDir('mqtt311-pcap-'), 'mqtt.pcap');
    try {
      const dumpcap = spawnProcess('dumpcap', ['-i', 'lo', '-f', `tcp port ${mosq.port}`, '-P', '-w', file], { timeoutMs: 40_000 });
      await dumpcap.waitForOutput(/File: /, 15_000, "stderr");
      const sub = await RawClient.connect(mosq.port);
      await sub.handshake({ clientId: 'cap-sub' });
      sub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'good', qos: 1 }] });
      await sub.expect('suback');
      const pub = await RawClient.connect(mosq.port);
      await pub.handshake({ clientId: 'cap-pub' });
      pub.send({ cmd: 'publish', topic: 'hello', payload: Buffer.from('world'), qos: 1, retain: false, dup: false, packetId: 10 });
      await pub.expect('puback');
      pub.send({ cmd: 'publish', topic: 'good', payload: Buffer.alloc(300, 0x61), qos: 2, retain: false, dup: false, packetId: 11 });
      await pub.expect('pubrec');
      pub.send({ cmd: 'pubrel', packetId: 11 });
      await pub.expect('pubcomp');
      const delivery = await sub.expect('publish');
      sub.send({ cmd: 'puback', packetId: delivery.packetId ?? 0 });
      for (const c of [pub, sub]) {
        c.send({ cmd: 'disconnect' });
        await c.close();
      }
      // dumpcap writes what it captured in batches: wait (bounded) until the last DISCONNECT is in
      // the file, then SIGINT makes it close the file.
      await fileHolds(file, 16, mosq.port);
      await dumpcap.stop('SIGINT', 5_000);

      const [out, err] = [new PassThrough(), new PassThrough()];
      let json = '';
      out.on('data', (d: Buffer) => (json += d.toString()));
      const html = join(makeTempDir('mqtt311-pcap-html-'), 'capture.html');
      const code = await runDecode(['--pcap', file, '--port', String(mosq.port), '--json', '--html', html], { stdin: new PassThrough(), stdout: out, stderr: err, interrupt: new AbortController().signal });
      await new Promise((resolve) => setImmediate(resolve)); // let the streams deliver
      expect(code).toBe(0);
      const ours = json
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; hex: string; length: number; violations: unknown[] })
        .filter((r) => r.kind === 'packet');
      expect(ours.flatMap((r) => r.violations)).toEqual([]);
      const mine = ours.map((r) => fieldsOf(decode(Buffer.from(r.hex.replace(/ /g, ''), 'hex')), r.length));

      const tshark = await runProcess('tshark', ['-r', file, '-d', `tcp.port==${mosq.port},mqtt`, '-Y', 'mqtt', '-V'], { timeoutMs: 30_000 });
      expect(tshark.code).toBe(0);
      const theirs = parseTshark(tshark.stdout);
      expect(mine).toHaveLength(16);
      expect(mine).toEqual(theirs);
      expect(readFileSync(file).readUInt32LE(0)).toBe(0xa1b2c3d4);
      // decode --html draws the same packets: one arrow each, two connections.
      const page = readFileSync(html, 'utf8');
      expect(page.match(/class="arrow"/g)).toHaveLength(16);
      expect(page.match(/<svg class="sequence"/g)).toHaveLength(2);
    } finally {
      await mosq.stop();
    }
  });
});
