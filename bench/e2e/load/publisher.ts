/**
 * Publishing connections of the load generator.
 *
 * Every write carries `batch` packets: 1 is how devices and MQTT.js send (one packet per write, so
 * the broker wakes up for few packets at a time), 64 lets the broker read many packets per wake-up.
 *
 * QoS 0: write pre-encoded PUBLISH packets as fast as the socket takes them. When the
 * socket's buffer is full (the broker reads slower than we write), wait for 'drain' — so TCP
 * flow control, not this process, sets the pace, and a slow broker is not buried in bytes.
 *
 * QoS 1 and 2: keep `window` messages in flight. A PUBACK (QoS 1, spec 4.3.2) or a PUBCOMP
 * (QoS 2, spec 4.3.3) frees a slot; a PUBREC is answered with PUBREL. Unknown or repeated acks
 * are counted, not ignored.
 *
 * On top of that, end-to-end credit (`setLimit`): a connection never sends more than the harness
 * allows, and the harness only allows so many messages beyond what the subscribers have
 * accounted for. A broker may acknowledge or accept faster than it delivers; without the credit
 * its queues — and the memory of the machine — would grow for as long as a run lasts.
 */
import type { Packet, QoS } from '../../../src/codec/index.js';
import { Conn, type PacketSink } from './conn.js';
import { ackBytes, publishRing, topicNames, type PublishRing } from './wire.js';
import { Drain } from './drain.js';

/** What one publishing worker process runs. */
export interface PubTask {
  role: 'pub';
  port: number;
  /** Publishing connections in this process. */
  conns: number;
  /** Publisher id of the first connection; the others follow. */
  pubIdBase: number;
  topicPrefix: string;
  topicCount: number;
  qos: QoS;
  /** Messages in flight per connection (QoS 1/2). */
  window: number;
  payloadSize: number;
  /** Packets per socket write (every QoS; PUBREL too). Raw load only. */
  batch: number;
  /** `'raw'`: our codec's bytes on a socket (this file); `'mqttjs'`: MQTT.js clients (`mqttjs.ts`). */
  load: LoadShape;
  /** MQTT.js load only: publishes per second for each connection of this task; 0: unpaced. */
  ratePerConn: number;
}

/** Who drives the load: our raw connections, or MQTT.js clients. */
export type LoadShape = 'raw' | 'mqttjs';

/** Counters of one publishing connection. */
export interface PubStats {
  pubId: number;
  sent: number;
  acked: number;
  /** Acks for packet ids that were not in flight (should stay 0). */
  unexpected: number;
  /** Messages sent to each topic index (the subscribers' expected counts). */
  sentPerTopic: number[];
}

/** QoS 0 packets written per event-loop turn before yielding. */
const PACKETS_PER_TURN = 512;

/** Packet id states of a publisher (spec 4.3). */
const FREE = 0;
const AWAIT_ACK = 1; // PUBACK (QoS 1) or PUBREC (QoS 2) expected
const AWAIT_COMP = 2; // PUBREL sent, PUBCOMP expected

/** One publishing connection. */
export class PubConn implements PacketSink {
  readonly seqs: Uint32Array;
  sent = 0;
  acked = 0;
  unexpected = 0;
  #running = false;
  #ringPos = 0;
  #inflight = 0;
  #nextId = 1;
  readonly #ids = new Uint8Array(65536);
  #pubrels: number[] = [];
  readonly #drain = new Drain();
  #limit = Infinity;
  #starved = false;

  constructor(
    readonly conn: Conn,
    readonly pubId: number,
    readonly ring: PublishRing,
    readonly qos: QoS,
    readonly window: number,
    readonly batch: number,
  ) {
    this.seqs = new Uint32Array(ring.topicCount);
    conn.sink = this;
  }

  /** Begins publishing, with credit for `limit` messages in total. */
  start(limit = Infinity): void {
    this.#running = true;
    this.#limit = limit;
    this.#resume();
  }

  /** Raises the credit to `limit` messages in total (sent so far included). */
  setLimit(limit: number): void {
    if (limit <= this.#limit) return;
    this.#limit = limit;
    if (this.#starved) {
      this.#starved = false;
      this.#resume();
    }
  }

  #resume(): void {
    if (this.qos === 0) this.#pump();
    else this.#refill();
  }

  /** Stops publishing; for QoS 1/2 resolves once every message in flight is acknowledged. */
  stop(timeoutMs: number): Promise<void> {
    this.#running = false;
    if (this.#inflight === 0) return Promise.resolve();
    return this.#drain.wait(timeoutMs);
  }

  get inflight(): number {
    return this.#inflight;
  }

  stats(): PubStats {
    return { pubId: this.pubId, sent: this.sent, acked: this.acked, unexpected: this.unexpected, sentPerTopic: [...this.seqs] };
  }

  onPacket(p: Packet): void {
    switch (p.cmd) {
      case 'puback':
        if (this.qos === 1 && this.#ids[p.packetId] === AWAIT_ACK) this.#release(p.packetId);
        else this.unexpected++;
        return;
      case 'pubrec':
        // [MQTT-4.3.3-1] answer PUBREC with PUBREL; a repeated PUBREC gets the PUBREL again.
        if (this.qos === 2 && this.#ids[p.packetId] !== FREE) {
          this.#ids[p.packetId] = AWAIT_COMP;
          this.#pubrels.push(p.packetId);
        } else this.unexpected++;
        return;
      case 'pubcomp':
        if (this.#ids[p.packetId] === AWAIT_COMP) this.#release(p.packetId);
        else this.unexpected++;
        return;
      default:
        this.unexpected++;
    }
  }

  onChunkEnd(): void {
    if (this.#pubrels.length > 0) {
      const ids = this.#pubrels;
      for (let i = 0; i < ids.length; i += this.batch) this.conn.socket.write(ackBytes('pubrel', ids.slice(i, i + this.batch)));
      this.#pubrels = [];
    }
    if (this.qos > 0) this.#refill();
  }

  #release(id: number): void {
    this.#ids[id] = FREE;
    this.#inflight--;
    this.acked++;
    if (this.#inflight === 0) this.#drain.settled();
  }

  /**
   * QoS 0: write batches until the socket pushes back, yielding to the event loop after
   * `PACKETS_PER_TURN` packets (so acks and credit are read in between).
   */
  #pump = (): void => {
    if (!this.#running || this.conn.failure) return;
    for (let i = 0; i < PACKETS_PER_TURN; i += this.batch) {
      const n = Math.min(this.batch, this.#limit - this.sent);
      if (n <= 0) {
        this.#starved = true;
        return;
      }
      if (!this.conn.socket.write(this.#makeBatch(n))) {
        this.conn.socket.once('drain', this.#pump);
        return;
      }
    }
    setImmediate(this.#pump);
  };

  /** QoS 1/2: top the window up with one write. */
  #refill(): void {
    if (!this.#running || this.conn.failure) return;
    const credit = this.#limit - this.sent;
    if (credit <= 0) this.#starved = true;
    let n = Math.min(this.window - this.#inflight, credit);
    this.#inflight += Math.max(n, 0);
    for (; n > 0; n -= this.batch) this.conn.socket.write(this.#makeBatch(Math.min(n, this.batch)));
  }

  /** Copies `n` packets out of the ring and patches their payload fields and packet ids. */
  #makeBatch(n: number): Buffer {
    const { bytes, packetSize: P, packets, payloadOffset, packetIdOffset, topicCount } = this.ring;
    const out = Buffer.allocUnsafe(n * P);
    let pos = this.#ringPos;
    for (let filled = 0; filled < n; ) {
      const take = Math.min(n - filled, packets - pos);
      bytes.copy(out, filled * P, pos * P, (pos + take) * P);
      filled += take;
      pos = (pos + take) % packets;
    }
    let topic = this.#ringPos % topicCount;
    for (let j = 0, o = payloadOffset; j < n; j++, o += P) {
      out.writeUInt32BE(this.pubId, o);
      out.writeUInt32BE(this.seqs[topic]!++, o + 4);
      out.writeUInt32BE(topic, o + 8);
      if (packetIdOffset >= 0) out.writeUInt16BE(this.#takeId(), j * P + packetIdOffset);
      if (++topic === topicCount) topic = 0;
    }
    this.#ringPos = pos;
    this.sent += n;
    return out;
  }

  /** The next free packet id, 1..65535 [MQTT-2.3.1-1]; ids still in flight are skipped. */
  #takeId(): number {
    let id = this.#nextId;
    while (this.#ids[id] !== FREE) id = id === 65535 ? 1 : id + 1;
    this.#ids[id] = AWAIT_ACK;
    this.#nextId = id === 65535 ? 1 : id + 1;
    return id;
  }
}

/** Opens the task's connections (not yet publishing). */
export async function openPublishers(task: PubTask, clientPrefix: string): Promise<PubConn[]> {
  const ring = publishRing(topicNames(task.topicPrefix, task.topicCount), task.qos, task.payloadSize, task.batch);
  return Promise.all(
    Array.from({ length: task.conns }, async (_, i) => {
      const pubId = task.pubIdBase + i;
      const conn = await Conn.open(task.port, `${clientPrefix}-pub-${pubId}`);
      return new PubConn(conn, pubId, ring, task.qos, task.window, task.batch);
    }),
  );
}
