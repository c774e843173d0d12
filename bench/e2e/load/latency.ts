/**
 * The latency probe: one publisher and one subscriber in the same process (one clock), QoS 1 both
 * ways, publishing at a fixed low rate so the broker is never the queue.
 *
 * Two times per message:
 * - delivery: PUBLISH written by the publisher → PUBLISH read by the subscriber (through the broker);
 * - PUBACK: PUBLISH written → its PUBACK read by the publisher (spec 4.3.2).
 * Only messages sent while recording (between the harness's two samples) are kept.
 */
import { performance } from 'node:perf_hooks';
import type { Packet } from '../../../src/codec/index.js';
import { Conn, type PacketSink } from './conn.js';
import { SubConn } from './subscriber.js';
import { publishRing, topicNames, type PublishRing } from './wire.js';

/** What the latency worker runs. */
export interface LatencyTask {
  role: 'latency';
  port: number;
  topicPrefix: string;
  /** Messages per second. */
  rate: number;
  payloadSize: number;
}

/** Percentiles of one latency series, in microseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Summarizes `samples` (milliseconds) as microsecond percentiles. */
export function summarize(samples: number[]): LatencySummary {
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => (s.length === 0 ? NaN : Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 1000));
  return { count: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

/** A rate-paced QoS 1 publisher and its subscriber. */
export class LatencyProbe implements PacketSink {
  recording = false;
  sent = 0;
  acked = 0;
  unexpected = 0;
  readonly delivery: number[] = [];
  readonly puback: number[] = [];
  readonly #sentAt = new Float64Array(65536); // by sequence number (mod 65536)
  readonly #recAt = new Uint8Array(65536); // 1 when that message was sent while recording
  readonly #idAt = new Float64Array(65536); // by packet id
  readonly #idRec = new Uint8Array(65536);
  #timer: NodeJS.Timeout | undefined;
  #t0 = 0;
  #scheduled = 0;
  #nextId = 1;

  private constructor(
    readonly pub: Conn,
    readonly sub: SubConn,
    readonly ring: PublishRing,
    readonly rate: number,
  ) {
    pub.sink = this;
    sub.onDelivery = (_pub, seq) => {
      const i = seq & 0xffff;
      if (this.#recAt[i] === 1) {
        this.#recAt[i] = 0;
        this.delivery.push(performance.now() - this.#sentAt[i]!);
      }
    };
  }

  /** Connects both sides and subscribes (QoS 1). */
  static async open(task: LatencyTask, clientPrefix: string): Promise<LatencyProbe> {
    const [topic] = topicNames(task.topicPrefix, 1) as [string];
    const subConn = await Conn.open(task.port, `${clientPrefix}-lat-sub`);
    const sub = new SubConn(subConn, 0, 1);
    await subConn.subscribe([topic], 1);
    const pub = await Conn.open(task.port, `${clientPrefix}-lat-pub`);
    return new LatencyProbe(pub, sub, publishRing([topic], 1, task.payloadSize, 1), task.rate);
  }

  /** Starts publishing at `rate` per second (a 1 ms timer sends whatever is due). */
  start(): void {
    this.#t0 = performance.now();
    this.#timer = setInterval(() => {
      const due = Math.floor(((performance.now() - this.#t0) * this.rate) / 1000) - this.#scheduled;
      // After a stall (a descheduled process) send at most a few, so no burst skews the tail:
      // keep the pace, drop the backlog.
      for (let i = 0; i < Math.min(due, 4); i++) this.#sendOne();
      this.#scheduled += due;
    }, 1);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  onPacket(p: Packet): void {
    if (p.cmd !== 'puback') {
      this.unexpected++;
      return;
    }
    this.acked++;
    if (this.#idRec[p.packetId] === 1) {
      this.#idRec[p.packetId] = 0;
      this.puback.push(performance.now() - this.#idAt[p.packetId]!);
    }
  }

  #sendOne(): void {
    const { bytes, packetSize, payloadOffset, packetIdOffset } = this.ring;
    const out = Buffer.allocUnsafe(packetSize);
    bytes.copy(out, 0, 0, packetSize);
    const seq = this.sent++;
    const id = this.#nextId;
    this.#nextId = id === 65535 ? 1 : id + 1;
    out.writeUInt32BE(0, payloadOffset);
    out.writeUInt32BE(seq, payloadOffset + 4);
    out.writeUInt32BE(0, payloadOffset + 8);
    out.writeUInt16BE(id, packetIdOffset);
    const rec = this.recording ? 1 : 0;
    const now = performance.now();
    this.#sentAt[seq & 0xffff] = now;
    this.#recAt[seq & 0xffff] = rec;
    this.#idAt[id] = now;
    this.#idRec[id] = rec;
    this.pub.socket.write(out);
  }
}
