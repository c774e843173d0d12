/**
 * Codec benchmark: this codec against mqtt-packet (the codec MQTT.js and aedes use), side by side
 * in one process.
 *
 * Each workload runs both codecs in alternating rounds (ours, theirs, then theirs, ours, …) and
 * reports the median round, so drift on a busy machine hits both alike: read the ratio column.
 * Rates are per second of CPU time (see `measure`).
 * Every loop is bounded by an iteration count and a time budget. Where a workload has a floor
 * (the least any decoder must do: for big frames in small chunks, allocating and copying them),
 * it is measured in the same rounds and printed in a note, to show how much room is left.
 *
 *   npx tsx bench/codec.ts            # table on stdout, JSON in bench/results/codec.json
 *   ROUNDS=15 npx tsx bench/codec.ts  # more rounds for steadier medians
 *   ONLY='64 KiB' FLOOR_PAIRS=2000 npx tsx bench/codec.ts   # some rows; more pairs for the encode floor
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';
import { Decoder, encode, type Packet } from '../src/codec/index.js';
import { FLOOR_BATCH, FLOOR_PAIRS, floorPairs } from './codec-floor.js';
import { chunked, connect, mixedStream, publish, repeat, subscribe } from './codec-packets.js';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
/** Time budget of one measurement (one codec, one round). */
const ROUND_MS = Number(process.env.ROUND_MS ?? 60);
/** Upper bound on batches per measurement, whatever the clock says. */
const MAX_BATCHES = 10_000;

/** One measured unit of work: returns the packets and bytes it processed. */
type Batch = () => { packets: number; bytes: number };

interface Workload {
  name: string;
  kind: 'encode' | 'decode';
  /** The ratio (ours / mqtt-packet, packets per second) we aim for. */
  target: number;
  ours: Batch;
  theirs: Batch;
  note?: string | undefined;
  /**
   * The least any decoder must do for this workload, to see how close to it both codecs are: for
   * frames that arrive in many chunks, allocating each frame and copying its chunks into it.
   */
  floor?: Batch | undefined;
  /** For an encode floor: the least share of the floor's rate ours must reach (e.g. 0.9). */
  floorTarget?: number | undefined;
  /**
   * For an encode floor: `FLOOR_BATCH` encodes by ours, by the floor and by mqtt-packet (see
   * `floorPairs`); ours is paired with each of the other two.
   */
  floorPair?: { ours: () => void; floor: () => void; theirs: () => void } | undefined;
}

interface Rate {
  packetsPerSec: number;
  mbPerSec: number;
}

let sink = 0; // results flow here so no work is optimised away

/**
 * Runs `batch` for ROUND_MS of wall time (or MAX_BATCHES), and rates it per second of CPU time
 * (user + system, this process). On a shared machine a round may wait for a core longer than it
 * runs; CPU time leaves that wait out, where wall time would count it against whichever codec
 * happened to be running.
 */
function measure(batch: Batch): Rate {
  let packets = 0;
  let bytes = 0;
  let batches = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  do {
    const r = batch();
    packets += r.packets;
    bytes += r.bytes;
    batches++;
  } while (performance.now() - start < ROUND_MS && batches < MAX_BATCHES);
  const cpu = process.cpuUsage(cpuStart);
  const seconds = (cpu.user + cpu.system) / 1e6;
  return { packetsPerSec: packets / seconds, mbPerSec: bytes / seconds / 1e6 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function run(w: Workload) {
  // Warm up both (JIT), then alternate which goes first in each round. The floor, when there is
  // one, takes its turn in the same rounds, so that it meets the same garbage and the same noise.
  measure(w.ours);
  measure(w.theirs);
  const ours: Rate[] = [];
  const theirs: Rate[] = [];
  const floors: Rate[] = [];
  const ratios: number[] = [];
  const floorRatios: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let a: Rate;
    let b: Rate;
    if (i % 2 === 0) {
      a = measure(w.ours);
      b = measure(w.theirs);
      if (w.floor !== undefined) floors.push(measure(w.floor));
    } else {
      if (w.floor !== undefined) floors.push(measure(w.floor));
      b = measure(w.theirs);
      a = measure(w.ours);
    }
    ours.push(a);
    theirs.push(b);
    ratios.push(a.packetsPerSec / b.packetsPerSec);
    const f = floors.at(-1);
    if (f !== undefined) floorRatios.push(a.packetsPerSec / f.packetsPerSec);
  }
  // An encode floor gets its own paired measurement (see `floorPairs`).
  const pairs = w.floorPair === undefined ? undefined : floorPairs(w.floorPair.ours, w.floorPair.floor);
  // The same pairing against mqtt-packet, whose rounds here swing as much as the floor's.
  const rivalPairs = w.floorPair === undefined ? undefined : floorPairs(w.floorPair.ours, w.floorPair.theirs);
  const med = (rs: Rate[]): Rate => ({
    packetsPerSec: median(rs.map((r) => r.packetsPerSec)),
    mbPerSec: median(rs.map((r) => r.mbPerSec)),
  });
  return {
    workload: w.name,
    kind: w.kind,
    target: w.target,
    note: w.note,
    ratio: median(ratios),
    ours: med(ours),
    mqttPacket: med(theirs),
    floor: floors.length === 0 ? undefined : med(floors),
    oursOverFloor: pairs !== undefined ? median(pairs) : floorRatios.length === 0 ? undefined : median(floorRatios),
    /** For an encode floor: the pairs' ratios at the ends and the quartiles: lowest, 25 %, 75 %, highest. */
    floorSpread: pairs === undefined ? undefined : [0, 0.25, 0.75, 1].map((q) => pairs[Math.round(q * (pairs.length - 1))] ?? NaN),
    floorTarget: w.floorTarget,
    /** For an encode floor: ours ÷ mqtt-packet paired the same way, and its middle half. */
    rivalPaired: rivalPairs === undefined ? undefined : [0.5, 0.25, 0.75].map((q) => rivalPairs[Math.round(q * (rivalPairs.length - 1))] ?? NaN),
  };
}

// ---- packets -------------------------------------------------------------------------------

/** mqtt-packet's object for one of our packets (its field names differ a little). */
function toMqttPacket(p: Packet): mqttPacket.Packet {
  switch (p.cmd) {
    case 'connect':
      return {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: p.clientId,
        clean: p.cleanSession,
        keepalive: p.keepAlive,
        ...(p.will && { will: { topic: p.will.topic, payload: Buffer.from(p.will.payload), qos: p.will.qos, retain: p.will.retain } }),
        ...(p.username !== undefined && { username: p.username }),
        ...(p.password && { password: Buffer.from(p.password) }),
      };
    case 'connack':
      return { cmd: 'connack', sessionPresent: p.sessionPresent, returnCode: p.returnCode };
    case 'publish':
      return { cmd: 'publish', topic: p.topic, payload: Buffer.from(p.payload), qos: p.qos, retain: p.retain, dup: p.dup, ...(p.packetId !== undefined && { messageId: p.packetId }) };
    case 'subscribe':
      return { cmd: 'subscribe', messageId: p.packetId, subscriptions: p.subscriptions.map((s) => ({ topic: s.topicFilter, qos: s.qos })) };
    case 'suback':
      return { cmd: 'suback', messageId: p.packetId, granted: p.returnCodes };
    case 'unsubscribe':
      return { cmd: 'unsubscribe', messageId: p.packetId, unsubscriptions: p.topicFilters };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'unsuback':
      return { cmd: p.cmd, messageId: p.packetId } as mqttPacket.Packet;
    default:
      return { cmd: p.cmd };
  }
}

// ---- workloads -----------------------------------------------------------------------------

const ENCODE_BATCH = 1000;

function encodeWorkload(name: string, packet: Packet, target: number, floorTarget?: number): Workload {
  const theirs = toMqttPacket(packet);
  const size = encode(packet).length;
  if (!Buffer.from(encode(packet)).equals(mqttPacket.generate(theirs))) throw new Error(`${name}: the codecs disagree`);
  return {
    name,
    kind: 'encode',
    target,
    ours: () => {
      for (let i = 0; i < ENCODE_BATCH; i++) sink += encode(packet).length;
      return { packets: ENCODE_BATCH, bytes: ENCODE_BATCH * size };
    },
    theirs: () => {
      for (let i = 0; i < ENCODE_BATCH; i++) sink += mqttPacket.generate(theirs).length;
      return { packets: ENCODE_BATCH, bytes: ENCODE_BATCH * size };
    },
    floor: floorTarget === undefined || packet.cmd !== 'publish' ? undefined : allocCopyFloor(packet.payload, size, ENCODE_BATCH),
    floorTarget,
    floorPair:
      floorTarget === undefined || packet.cmd !== 'publish'
        ? undefined
        : {
            ours: () => {
              for (let i = 0; i < FLOOR_BATCH; i++) sink += encode(packet).length;
            },
            floor: allocCopyFloor(packet.payload, size, FLOOR_BATCH),
            theirs: () => {
              for (let i = 0; i < FLOOR_BATCH; i++) sink += mqttPacket.generate(theirs).length;
            },
          },
  };
}

/**
 * The least any encoder of a PUBLISH must do: allocate the packet's bytes (uninitialised, as
 * ours does) and copy the payload in. The header bytes are not even written.
 */
function allocCopyFloor(payload: Uint8Array, size: number, count: number): Batch {
  return () => {
    for (let i = 0; i < count; i++) {
      const buf = Buffer.allocUnsafe(size);
      buf.set(payload, size - payload.length);
      sink += buf.length;
    }
    return { packets: count, bytes: count * size };
  };
}

/**
 * A batch that does only what any decoder must for `chunks` when every frame spans several of
 * them: allocate each frame (uninitialised, as ours does) and copy each chunk's bytes into it.
 * `frameSize` is the size of every frame (the stream holds frames of one size).
 */
function copyFloor(chunks: Buffer[], frameSize: number, count: number, bytes: number): Batch {
  return () => {
    let frame = Buffer.allocUnsafe(frameSize);
    let filled = 0;
    let n = 0;
    for (const chunk of chunks) {
      for (let from = 0; from < chunk.length; ) {
        const k = Math.min(chunk.length - from, frameSize - filled);
        frame.set(from === 0 && k === chunk.length ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset + from, k), filled);
        filled += k;
        from += k;
        if (filled === frameSize) {
          sink += frame[0]!;
          n++;
          frame = Buffer.allocUnsafe(frameSize);
          filled = 0;
        }
      }
    }
    if (n !== count) throw new Error(`copy floor: ${n} frames of ${count}`);
    return { packets: n, bytes };
  };
}

function decodeWorkload(name: string, packets: Packet[], chunkSize: number | 'one', target: number, note?: string): Workload {
  const stream = Buffer.concat(packets.map((p) => encode(p)));
  const chunks = chunkSize === 'one' ? [stream] : chunked(stream, chunkSize);
  const count = packets.length;
  const frameSize = encode(packets[0]!).length;
  const oneSize = packets.every((p) => encode(p).length === frameSize);
  return {
    name,
    kind: 'decode',
    target,
    note,
    floor: chunkSize !== 'one' && oneSize && frameSize > 4 * chunkSize ? copyFloor(chunks, frameSize, count, stream.length) : undefined,
    ours: () => {
      const decoder = new Decoder();
      let n = 0;
      for (const chunk of chunks) {
        decoder.push(chunk);
        for (let p = decoder.next(); p !== undefined; p = decoder.next()) n++;
      }
      if (n !== count) throw new Error(`${name}: ours decoded ${n} of ${count}`);
      return { packets: n, bytes: stream.length };
    },
    theirs: () => {
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let n = 0;
      parser.on('packet', () => n++);
      parser.on('error', (err) => {
        throw err;
      });
      for (const chunk of chunks) parser.parse(chunk);
      if (n !== count) throw new Error(`${name}: mqtt-packet decoded ${n} of ${count}`);
      return { packets: n, bytes: stream.length };
    },
  };
}

const WORKLOADS: Workload[] = [
  encodeWorkload('encode PUBLISH q0 16 B', publish(16, 0), 3.5),
  encodeWorkload('encode PUBLISH q1 1 KiB', publish(1024, 1), 1),
  encodeWorkload('encode PUBLISH q0 64 KiB', publish(65_536, 0), 1, 0.9),
  encodeWorkload('encode CONNECT will+user+pass', connect, 5),
  encodeWorkload('encode SUBSCRIBE 5 filters', subscribe, 5),
  decodeWorkload('decode 10k PUBLISH 16 B, one chunk', repeat(publish(16, 0), 10_000), 'one', 10),
  decodeWorkload('decode 10k PUBLISH 16 B, 1460 B chunks', repeat(publish(16, 0), 10_000), 1460, 10),
  decodeWorkload('decode 10k PUBLISH 1 KiB, one chunk', repeat(publish(1024, 1), 10_000), 'one', 3),
  decodeWorkload('decode 10k PUBLISH 1 KiB, 1460 B chunks', repeat(publish(1024, 1), 10_000), 1460, 3),
  decodeWorkload('decode 200 PUBLISH 64 KiB, one chunk', repeat(publish(65_536, 0), 200), 'one', 3, '200 packets (13 MB) rather than 10k'),
  decodeWorkload('decode 200 PUBLISH 64 KiB, 1460 B chunks', repeat(publish(65_536, 0), 200), 1460, 3, '200 packets (13 MB) rather than 10k'),
  decodeWorkload('decode 10k mixed (all 14 types), one chunk', mixedStream, 'one', 3),
  decodeWorkload('decode 10k mixed (all 14 types), 1460 B chunks', mixedStream, 1460, 3),
];

// ---- run and report ------------------------------------------------------------------------

const only = process.env.ONLY;
const results = [];
for (const w of WORKLOADS) {
  if (only && !w.name.includes(only)) continue;
  results.push(run(w));
  process.stderr.write('.');
}
process.stderr.write('\n');

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));
const rows = results.map((r) => [
  r.workload,
  `${r.ratio.toFixed(2)}x`,
  `${r.ratio >= r.target ? 'ok ' : 'LOW'} ≥${r.target}x`,
  `${fmt(r.ours.packetsPerSec)}/s`,
  `${r.ours.mbPerSec.toFixed(0)} MB/s`,
  `${fmt(r.mqttPacket.packetsPerSec)}/s`,
  `${r.mqttPacket.mbPerSec.toFixed(0)} MB/s`,
]);
const header = ['workload', 'ratio', 'target', 'ours pkt', 'ours MB', 'mqtt-packet pkt', 'mqtt-packet MB'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(`mqtt311 codec vs mqtt-packet ${process.version}, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, per CPU second, medians`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
for (const r of results) if (r.note) console.log(`note: ${r.workload}: ${r.note}`);
for (const r of results) {
  if (r.floor === undefined) continue;
  const floor = r.floor.packetsPerSec;
  if (r.kind === 'encode') {
    const share = r.oursOverFloor ?? 0;
    const verdict = r.floorTarget === undefined ? '' : ` (target ≥${r.floorTarget}: ${share >= r.floorTarget ? 'ok' : 'LOW'})`;
    const [low, q1, q3, high] = (r.floorSpread ?? []).map((x) => x.toFixed(2));
    const spread =
      r.floorSpread === undefined ? '' : ` of ${FLOOR_PAIRS} pairs of ${FLOOR_BATCH}-encode batches, middle half ${q1}-${q3}, all ${low}-${high}`;
    console.log(
      `note: ${r.workload}: ours runs at ${share.toFixed(2)} of a bare allocate-and-copy of the same bytes, the median` +
        `${spread} (${fmt(r.ours.packetsPerSec)}/s against ${fmt(floor)}/s in the rounds)${verdict}`,
    );
    const [mid, quarter, threeQuarters] = (r.rivalPaired ?? []).map((x) => x.toFixed(2));
    if (mid !== undefined) {
      console.log(`note: ${r.workload}: paired the same way with mqtt-packet, ours ÷ mqtt-packet ${mid}x (middle half ${quarter}-${threeQuarters})`);
    }
    continue;
  }
  console.log(
    `note: ${r.workload}: allocating each frame and copying its chunks in, and nothing else, runs at ` +
      `${fmt(floor)}/s (ours ${fmt(r.ours.packetsPerSec)}/s): a decoder that copies cannot beat mqtt-packet ` +
      `by much more than ${(floor / r.mqttPacket.packetsPerSec).toFixed(2)}x here`,
  );
}
console.log('note: MB/s counts input bytes; decoding from one chunk hands out payload views, so payload bytes are not copied');

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'codec.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, roundMs: ROUND_MS, results }, null, 2)}\n`,
);
console.log(`wrote ${out}`);
if (sink === -1) console.log(sink);
