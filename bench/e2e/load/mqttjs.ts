/**
 * The `mqttjs` load shape: the same publishers and subscribers as `publisher.ts` and
 * `subscriber.ts`, but each one is an MQTT.js client used the way its users use it, so the
 * brokers see the traffic most Node.js applications send them.
 *
 * - Connect with MQTT.js's defaults (keep-alive 60 s, Nagle's algorithm left on, as MQTT.js does)
 *   plus a clean session and no reconnect.
 * - Publish with `client.publish(topic, payload, { qos }, callback)`. MQTT.js encodes each
 *   packet into a corked socket and uncorks on the next tick, so one socket write carries what
 *   was published in one tick.
 *   - QoS 0: one message per event-loop turn per connection (a fresh `setImmediate` between
 *     publishes), so every write holds one packet; when the socket's buffer is full, wait for
 *     'drain'. This is a steady sender, not a burst loop.
 *   - QoS 1/2: `window` messages in flight; each completion callback (PUBACK, or PUBCOMP after
 *     MQTT.js's own PUBREC/PUBREL exchange) publishes the next one.
 * - Subscribe with `subscribeAsync` and check every `'message'` by sequence number
 *   (`DeliveryCheck`); MQTT.js answers QoS 1/2 deliveries itself.
 *
 * The end-to-end credit of the harness (`setLimit`) bounds the total, as for the raw load.
 */
import { performance } from 'node:perf_hooks';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { QoS } from '../../../src/codec/index.js';
import type { PubStats, PubTask } from './publisher.js';
import { DeliveryCheck, type SubTask } from './subscriber.js';
import { PAYLOAD_HEADER, topicNames } from './wire.js';
import { Drain } from './drain.js';

/** A connection's failure reporting and shutdown, as the load worker needs them. */
export class MqttjsConn {
  #failed: Error | undefined;
  #onFail: ((e: Error) => void) | undefined;
  #closing = false;

  constructor(readonly client: MqttClient) {
    client.on('error', (e) => this.fail(e));
    client.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  get failure(): Error | undefined {
    return this.#failed;
  }

  onFailure(cb: (e: Error) => void): void {
    this.#onFail = cb;
  }

  fail(e: Error): void {
    if (this.#failed || this.#closing) return;
    this.#failed = e;
    this.#onFail?.(e);
  }

  /** Ends the session with DISCONNECT (`client.end()`); nothing is reported after this. */
  close(): void {
    this.#closing = true;
    this.client.end();
  }
}

/** Opens one MQTT.js client (MQTT 3.1.1, clean session, no reconnect). */
async function openClient(port: number, clientId: string): Promise<MqttjsConn> {
  const mqtt = await import('mqtt');
  const options: IClientOptions = { protocolVersion: 4, clientId, clean: true, reconnectPeriod: 0, connectTimeout: 20_000 };
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, options);
  return new MqttjsConn(client);
}

/** One publishing MQTT.js client. */
export class MqttjsPub {
  readonly seqs: Uint32Array;
  sent = 0;
  acked = 0;
  unexpected = 0;
  #running = false;
  #inflight = 0;
  #topic = 0;
  #limit = Infinity;
  #starved = false;
  #scheduled = false;
  readonly #drain = new Drain();
  /** When pacing: the time publishing started (ms), and the milliseconds between publishes. */
  #t0 = 0;
  readonly #gapMs: number;

  constructor(
    readonly conn: MqttjsConn,
    readonly pubId: number,
    readonly topics: readonly string[],
    readonly qos: QoS,
    readonly window: number,
    readonly payloadSize: number,
    ratePerConn = 0,
  ) {
    this.#gapMs = ratePerConn > 0 ? 1000 / ratePerConn : 0;
    this.seqs = new Uint32Array(topics.length);
  }

  get inflight(): number {
    return this.#inflight;
  }

  start(limit = Infinity): void {
    this.#running = true;
    this.#t0 = performance.now();
    this.#limit = limit;
    this.#next();
  }

  setLimit(limit: number): void {
    if (limit <= this.#limit) return;
    this.#limit = limit;
    if (this.#starved) {
      this.#starved = false;
      this.#next();
    }
  }

  stop(timeoutMs: number): Promise<void> {
    this.#running = false;
    if (this.#inflight === 0) return Promise.resolve();
    return this.#drain.wait(timeoutMs);
  }

  stats(): PubStats {
    return { pubId: this.pubId, sent: this.sent, acked: this.acked, unexpected: this.unexpected, sentPerTopic: [...this.seqs] };
  }

  /**
   * Publishes what the credit and the window (QoS 1/2) allow, one per event-loop turn for QoS 0
   * (and for every QoS when paced: then no sooner than `#gapMs` after the previous one).
   */
  #next = (): void => {
    this.#scheduled = false;
    if (!this.#running || this.conn.failure) return;
    const paced = this.#gapMs > 0;
    if (this.qos === 0 || paced) {
      if (this.sent >= this.#limit) {
        this.#starved = true;
        return;
      }
      if (this.qos > 0 && this.#inflight >= this.window) return; // a completion calls again
      const wait = paced ? this.#t0 + this.sent * this.#gapMs - performance.now() : 0;
      if (wait <= 0) {
        if (this.qos > 0) this.#inflight++;
        this.#publish();
      }
      this.#scheduled = true;
      const stream = this.conn.client.stream as { writableNeedDrain?: boolean; once(e: 'drain', cb: () => void): unknown };
      if (stream.writableNeedDrain) stream.once('drain', this.#next);
      else if (wait > 0) setTimeout(this.#next, wait);
      else setImmediate(this.#next);
      return;
    }
    while (this.#inflight < this.window) {
      if (this.sent >= this.#limit) {
        this.#starved = true;
        return;
      }
      this.#inflight++;
      this.#publish();
    }
  };

  #publish(): void {
    const topic = this.#topic;
    const name = this.topics[topic];
    if (name === undefined) throw new RangeError(`topic index ${topic} outside the run's ${this.topics.length} topics`);
    // A fresh buffer per message: MQTT.js keeps QoS 1/2 payloads in its outgoing store.
    const payload = Buffer.alloc(this.payloadSize);
    const seq = this.seqs[topic] ?? 0; // same length as topics
    this.seqs[topic] = seq + 1;
    payload.writeUInt32BE(this.pubId, 0);
    payload.writeUInt32BE(seq, 4);
    payload.writeUInt32BE(topic, 8);
    this.sent++;
    if (++this.#topic === this.topics.length) this.#topic = 0;
    if (this.qos === 0) this.conn.client.publish(name, payload, { qos: 0 });
    else this.conn.client.publish(name, payload, { qos: this.qos }, this.#done);
  }

  /** Completion of a QoS 1/2 publish: PUBACK or PUBCOMP received (or an error). */
  #done = (err?: Error): void => {
    if (err) {
      this.unexpected++;
      this.conn.fail(err);
      return;
    }
    this.#inflight--;
    this.acked++;
    if (this.#inflight === 0) this.#drain.settled();
    if (!this.#scheduled) this.#next();
  };
}

/** One subscribing MQTT.js client. */
export class MqttjsSub extends DeliveryCheck {
  constructor(
    readonly conn: MqttjsConn,
    topicIndex: number,
    maxPubs: number,
  ) {
    super(topicIndex, maxPubs);
    conn.client.on('message', (_topic, payload) => this.check(payload));
  }
}

/** Opens the task's publishing clients (not yet publishing). */
export async function openMqttjsPublishers(task: PubTask, clientPrefix: string): Promise<MqttjsPub[]> {
  if (task.payloadSize < PAYLOAD_HEADER) throw new RangeError(`payload must be ≥ ${PAYLOAD_HEADER} bytes`);
  const topics = topicNames(task.topicPrefix, task.topicCount);
  return Promise.all(
    Array.from({ length: task.conns }, async (_, i) => {
      const pubId = task.pubIdBase + i;
      const conn = await openClient(task.port, `${clientPrefix}-pub-${pubId}`);
      return new MqttjsPub(conn, pubId, topics, task.qos, task.window, task.payloadSize, task.ratePerConn);
    }),
  );
}

/** Opens and subscribes the task's clients, `setupBatch` at a time. */
export async function openMqttjsSubscribers(task: SubTask, clientPrefix: string): Promise<MqttjsSub[]> {
  const out: MqttjsSub[] = [];
  for (let i = 0; i < task.subs.length; i += task.setupBatch) {
    const batch = task.subs.slice(i, i + task.setupBatch);
    const opened = await Promise.all(
      batch.map(async (s, j) => {
        const conn = await openClient(task.port, `${clientPrefix}-sub-${i + j}`);
        const sub = new MqttjsSub(conn, s.topicIndex, task.maxPubs);
        const granted = await conn.client.subscribeAsync(s.filter, { qos: task.qos });
        if (granted.length !== 1 || granted[0]?.qos !== task.qos) {
          throw new Error(`SUBACK did not grant QoS ${task.qos}: ${JSON.stringify(granted)}`);
        }
        return sub;
      }),
    );
    out.push(...opened);
  }
  return out;
}
