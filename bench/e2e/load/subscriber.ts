/**
 * Subscribing connections of the load generator: they count and check every delivery.
 *
 * Each payload names its publisher, its topic index and a sequence number that is consecutive
 * per publisher and topic (see `wire.ts`). A subscriber on one topic therefore sees, for each
 * publisher, 0, 1, 2, … in order — every topic is an ordered topic by default [MQTT-4.6.0-5] and
 * the broker forwards each publisher's messages in the order they arrived [MQTT-4.6.0-6]. A number below the expected one is a duplicate; a jump is a gap (lost
 * messages). A payload whose topic index is not the subscribed one was misrouted.
 *
 * QoS 1 deliveries are answered with PUBACK [MQTT-4.3.2-2]; QoS 2 with PUBREC, and PUBREL with
 * PUBCOMP [MQTT-4.3.3-2] — one write per received chunk.
 */
import type { Packet, QoS } from '../../../src/codec/index.js';
import { Conn, type PacketSink } from './conn.js';
import type { LoadShape } from './publisher.js';
import { ackBytes, PAYLOAD_HEADER, readU32 } from './wire.js';

/** What one subscribing worker process runs. */
export interface SubTask {
  role: 'sub';
  port: number;
  /** One entry per connection: the topic index it subscribes to and the filter to use. */
  subs: { topicIndex: number; filter: string }[];
  qos: QoS;
  /** Publisher ids in the run are 0 … maxPubs-1. */
  maxPubs: number;
  /** Connections opened at once during setup. */
  setupBatch: number;
  load: LoadShape;
}

/** Counters of one subscribing connection. */
export interface SubStats {
  topicIndex: number;
  received: number;
  duplicates: number;
  /** Messages skipped over (by sequence number) — lost unless they arrive later out of order. */
  gaps: number;
  misrouted: number;
  /** Packets that have no place here (an unknown PUBREL, a SUBACK later on, …). */
  unexpected: number;
}

/**
 * The sequence-number check every subscriber runs on each delivery, whatever client it uses
 * (our raw connection here, MQTT.js in `mqttjs.ts`).
 */
export class DeliveryCheck {
  received = 0;
  duplicates = 0;
  gaps = 0;
  misrouted = 0;
  unexpected = 0;
  /**
   * Messages accounted for: delivered or skipped over (Σ of the next expected sequence numbers).
   * The harness's flow control runs on this, so a dropped QoS 0 message does not stall it.
   */
  accounted = 0;
  readonly #next: Uint32Array;
  /** Optional hook for each delivery (the latency worker uses it). */
  onDelivery: ((pubId: number, seq: number) => void) | undefined;

  constructor(
    readonly topicIndex: number,
    maxPubs: number,
  ) {
    this.#next = new Uint32Array(maxPubs);
  }

  stats(): SubStats {
    const { topicIndex, received, duplicates, gaps, misrouted, unexpected } = this;
    return { topicIndex, received, duplicates, gaps, misrouted, unexpected };
  }

  /** Counts one delivered payload: in order, a duplicate, after a gap, or misrouted. */
  check(payload: Uint8Array): void {
    this.received++;
    if (payload.length < PAYLOAD_HEADER) {
      this.misrouted++;
      return;
    }
    const pub = readU32(payload, 0);
    const seq = readU32(payload, 4);
    if (pub >= this.#next.length || readU32(payload, 8) !== this.topicIndex) {
      this.misrouted++;
      return;
    }
    const expected = this.#next[pub] ?? 0; // pub < length, checked above
    if (seq >= expected) {
      this.gaps += seq - expected;
      this.accounted += seq + 1 - expected;
      this.#next[pub] = seq + 1;
    } else this.duplicates++;
    this.onDelivery?.(pub, seq);
  }
}

/** One subscribing connection over a raw socket. */
export class SubConn extends DeliveryCheck implements PacketSink {
  readonly #qos2 = new Uint8Array(65536); // 1 = PUBREC sent, PUBREL not yet received
  #pubacks: number[] = [];
  #pubrecs: number[] = [];
  #pubcomps: number[] = [];

  constructor(
    readonly conn: Conn,
    topicIndex: number,
    maxPubs: number,
  ) {
    super(topicIndex, maxPubs);
    conn.sink = this;
  }

  onPacket(p: Packet): void {
    if (p.cmd === 'pubrel') {
      if (this.#qos2[p.packetId] === 1) this.#qos2[p.packetId] = 0;
      else this.unexpected++;
      // Answer even an unknown PUBREL so the sender can finish [MQTT-4.3.3-2].
      this.#pubcomps.push(p.packetId);
      return;
    }
    if (p.cmd !== 'publish') {
      this.unexpected++;
      return;
    }
    this.check(p.payload);
    if (p.qos === 1) this.#pubacks.push(p.packetId!);
    else if (p.qos === 2) {
      this.#qos2[p.packetId!] = 1;
      this.#pubrecs.push(p.packetId!);
    }
  }

  onChunkEnd(): void {
    const s = this.conn.socket;
    if (this.#pubacks.length > 0) {
      s.write(ackBytes('puback', this.#pubacks));
      this.#pubacks = [];
    }
    if (this.#pubrecs.length > 0) {
      s.write(ackBytes('pubrec', this.#pubrecs));
      this.#pubrecs = [];
    }
    if (this.#pubcomps.length > 0) {
      s.write(ackBytes('pubcomp', this.#pubcomps));
      this.#pubcomps = [];
    }
  }
}

/** Opens and subscribes the task's connections, `setupBatch` at a time. */
export async function openSubscribers(task: SubTask, clientPrefix: string): Promise<SubConn[]> {
  const out: SubConn[] = [];
  for (let i = 0; i < task.subs.length; i += task.setupBatch) {
    const batch = task.subs.slice(i, i + task.setupBatch);
    const opened = await Promise.all(
      batch.map(async (s, j) => {
        const conn = await Conn.open(task.port, `${clientPrefix}-sub-${i + j}`);
        const sub = new SubConn(conn, s.topicIndex, task.maxPubs);
        await conn.subscribe([s.filter], task.qos);
        return sub;
      }),
    );
    out.push(...opened);
  }
  return out;
}
