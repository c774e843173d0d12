/**
 * A bridge: broker-mini as a client of another broker, the way mosquitto bridges work.
 *
 * - Out: every message the local broker routes (its `publish` event) that matches an `out` or
 *   `both` topic is remapped (local prefix off, remote prefix on) and published to the remote
 *   at min(message QoS, topic QoS), keeping its RETAIN flag.
 * - In: the bridge subscribes on the remote to the `in`/`both` topics (remote prefix +
 *   pattern); what arrives is remapped (remote prefix off, local prefix on) and published into
 *   the local broker with its QoS and RETAIN flag.
 *
 * The remote side is our own client (`MqttClient`), so the bridge reconnects with backoff
 * (`restart_timeout`), and with `cleansession false` resends unacknowledged messages in order
 * with DUP set [MQTT-4.4.0-1]. Like any client it follows the client's rules [MQTT-7.0.0-1].
 *
 * Queue bound and overflow: messages waiting for the remote (queued while it is away, or in
 * flight) are bounded by the broker's `maxQueuedMessages` and `maxQueuedBytes`; a message that
 * does not fit is dropped (the newest, as mosquitto drops for a full bridge queue) and counted
 * in `stats.dropped`. QoS 0 messages are not queued while the remote is away (mosquitto's
 * default `queue_qos0_messages false`).
 *
 * No loops: a message that came in over this bridge is not sent back out over it (other
 * bridges still forward it, as in mosquitto). The remote must not send back what we sent:
 * with try_private it knows we are a bridge (mosquitto honours this); when it refuses
 * try_private (CONNACK 1, we retry without it) or try_private is off, an echo guard drops an
 * incoming message equal (topic and payload) to one sent out lately (bridge-echo.ts).
 * Incoming messages that match no in/both topic are dropped (`stats.unexpected`).
 *
 * Retained messages: RETAIN is kept both ways; on every connection the local retained
 * messages of out topics are sent, except those that came from the remote.
 */
import { topicMatches, type PublishPacket, type QoS } from '../codec/index.js';
import { ConnackError } from '../client/errors.js';
import type { TransportFactory } from '../client/transport.js';
import { Backoff, MqttClient, resolveOptions as resolveClientOptions, type ReconnectOptions } from '../client/core/index.js';
import { TypedEmitter } from '../util/emitter.js';
import { resolveBridge, type BridgeOptions, type ResolvedBridge, type ResolvedBridgeTopic } from './bridge-config.js';
import { EchoGuard } from './bridge-echo.js';
import { bridgeProtocol, bridgeTransport } from './bridge-transport.js';
import type { BrokerCore } from './core/broker-core.js';
import type { ClientInfo, LogType } from './options.js';

/** What a bridge has done since it started. */
export interface BridgeStats {
  /** Messages published to the remote (acknowledged as their QoS requires). */
  sent: number;
  /** Messages from the remote published into the local broker. */
  received: number;
  /** Messages for the remote dropped: queue full, QoS 0 while away, or lost with a refused session. */
  dropped: number;
  /** Incoming messages dropped by the echo guard. */
  echoes: number;
  /** Incoming messages dropped because they match no `in`/`both` topic. */
  unexpected: number;
}

/** Events of a `Bridge`. */
export type BridgeEvents = {
  /** Connected to the remote: after every CONNACK, and the first time once the remote answered the SUBSCRIBE. */
  connect: () => void;
  /** The connection to the remote was lost, or an attempt failed; the bridge will try again. */
  offline: () => void;
};

interface Outgoing {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  size: number;
}

/** One bridge of a broker (see module comment). Started and stopped by the broker. */
export class Bridge extends TypedEmitter<BridgeEvents> {
  /** The settled options. */
  readonly options: ResolvedBridge;
  readonly stats: BridgeStats = { sent: 0, received: 0, dropped: 0, echoes: 0, unexpected: 0 };
  readonly #broker: BrokerCore;
  /** mosquitto logs a bridge's connecting and losing its connection as `notice`. */
  readonly #log: (line: string, type?: LogType) => void;
  readonly #outTopics: ResolvedBridgeTopic[];
  readonly #inTopics: ResolvedBridgeTopic[];
  /** `restart_timeout` as the client's backoff: for its own reconnections and for new clients. */
  readonly #reconnect: ReconnectOptions;
  readonly #transport: TransportFactory;
  #client: MqttClient | undefined;
  /** The client being started or running, for `stop`. */
  #current: MqttClient | undefined;
  #connected = false;
  #tryPrivate: boolean;
  #echo: EchoGuard | undefined;
  /** Messages waiting while there is no client to hand them to (before the first connection). */
  #pending: Outgoing[] = [];
  #queued = 0;
  #queuedBytes = 0;
  /** Local topics whose retained message came in over this bridge (see `#sendRetained`). */
  readonly #retainedFromRemote = new Set<string>();
  /** Set while this bridge publishes into the local broker: what it routes then came from here. */
  #publishingLocally = false;
  #stopped = false;
  #wake: (() => void) | undefined;
  #running = false;

  constructor(broker: BrokerCore, options: BridgeOptions) {
    super();
    this.options = resolveBridge(options);
    this.#broker = broker;
    this.#tryPrivate = this.options.tryPrivate;
    const logger = broker.options.logger;
    this.#log = (line, type = 'notice') => logger?.(`bridge ${this.options.name}: ${line}`, type);
    const { base, cap, constant } = this.options.restart;
    this.#reconnect = { initialDelay: base, maxDelay: cap, factor: constant ? 1 : 2, jitter: constant ? 0 : 0.5 };
    // One factory for every client the bridge makes: it remembers which address is next.
    this.#transport = bridgeTransport({
      addresses: this.options.addresses,
      roundRobin: this.options.roundRobin,
      tls: this.options.tls,
      protocol: () => bridgeProtocol(this.options.protocolVersion, this.#tryPrivate),
    });
    this.#outTopics = this.options.topics.filter((t) => t.direction !== 'in');
    this.#inTopics = this.options.topics.filter((t) => t.direction !== 'out');
  }

  /** True while connected to the remote. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Is the echo guard on (the remote is not known to hold back our own messages)? */
  get echoGuard(): boolean {
    return this.#echo !== undefined;
  }

  /** Starts forwarding and connecting (the broker calls it). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#broker.on('publish', this.#onLocalPublish);
    this.#notifyLocally('0');
    this.#run().catch((e: unknown) => this.#log(`stopped: ${String(e)}`, 'error'));
  }

  /**
   * Stops: tells the remote the bridge is down, disconnects (waiting up to 1 s for messages in
   * flight), stops forwarding. Idempotent. A connection attempt still under way is dropped when
   * it completes.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#broker.off('publish', this.#onLocalPublish);
    this.#wake?.();
    const client = this.#current;
    if (client && this.#connected && this.options.notifications && !this.options.notificationsLocalOnly) {
      void client.publish(this.options.notificationTopic, '0', { qos: 1, retain: true }).catch(() => {});
    }
    await client?.end({ timeout: 1000 });
  }

  /** Connects, and connects again whenever the client gives up (refused, or never reached). */
  async #run(): Promise<void> {
    const backoff = new Backoff(this.#reconnect);
    while (!this.#stopped) {
      const client = (this.#current = this.#createClient(backoff));
      try {
        await client.start();
      } catch (e) {
        if (this.#stopped) break;
        if (e instanceof ConnackError && e.returnCode === 1 && this.#tryPrivate) {
          // mosquitto does the same: a remote that refuses the bridge flag gets a plain CONNECT.
          this.#log('remote refused try_private (CONNACK 1): connecting again without it');
          this.#tryPrivate = false;
          continue;
        }
        this.#log(`cannot connect: ${(e as Error).message}`); // what is caught here is an Error (Node's or ours)
        this.emit('offline');
        await this.#sleep(backoff.next()!); // a bridge's backoff has no maxAttempts: next() always has a delay
        continue;
      }
      backoff.reset();
      this.#client = client;
      for (const m of this.#pending.splice(0)) this.#send(client, m);
      await new Promise<void>((resolve) => client.once('end', resolve));
      this.#client = undefined;
      if (!this.#stopped) await this.#sleep(backoff.next()!); // a bridge's backoff has no maxAttempts: next() always has a delay
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => (clearTimeout(timer), resolve());
    });
  }

  #createClient(backoff: Backoff): MqttClient {
    const o = this.options;
    const notify = o.notifications;
    const main = o.addresses[0];
    if (main === undefined) throw new RangeError(`bridge ${o.name} has no address`);
    const config = resolveClientOptions({
      host: main.host,
      port: main.port,
      clientId: o.remoteClientId,
      cleanSession: o.cleanSession,
      keepAlive: o.keepAlive,
      ...(o.remoteUsername !== undefined ? { username: o.remoteUsername } : {}),
      ...(o.remotePassword !== undefined ? { password: o.remotePassword } : {}),
      // The remote publishes "0" for us if the connection dies (mosquitto's notification will).
      ...(notify ? { will: { topic: o.notificationTopic, payload: '0', qos: 1, retain: true } } : {}),
      reconnect: this.#reconnect,
      // Room for the bridge's own SUBSCRIBE/UNSUBSCRIBE and notifications beyond the message bound.
      maxQueued: this.#broker.options.maxQueuedMessages + 16,
      // What the remote may send us is bounded like what local clients may send.
      maxPacketSize: this.#broker.options.maxPacketSize,
      transport: this.#transport,
    });
    const client = new MqttClient(this.#transport, config);
    // The client subscribes again by itself after a reconnection that did not resume the session.
    let first = true;
    client.on('connect', () => {
      this.#onConnect(client, backoff, first);
      first = false;
    });
    client.on('offline', () => this.#onOffline());
    client.on('end', () => this.#onOffline());
    client.on('message', (topic, payload, packet) => this.#onRemoteMessage(topic, payload, packet));
    client.on('packetsend', (packet) => {
      if (packet.cmd === 'publish') this.#echo?.sent(packet.topic, packet.payload, Date.now());
    });
    client.on('error', (e) => this.#log(`client error: ${e.message}`, 'warning'));
    return client;
  }

  #onConnect(client: MqttClient, backoff: Backoff, first: boolean): void {
    this.#connected = true;
    backoff.reset();
    // With try_private accepted, the remote knows we are a bridge and keeps our messages from us.
    this.#echo = this.#tryPrivate ? undefined : (this.#echo ?? new EchoGuard());
    const o = this.options;
    this.#log(`connected (${o.protocolVersion}${this.#tryPrivate ? ', try_private' : ''})`);
    if (o.notifications) {
      if (!o.notificationsLocalOnly) void client.publish(o.notificationTopic, '1', { qos: 1, retain: true }).catch(() => {});
      this.#notifyLocally('1');
    }
    this.#sendRetained();
    if (!first) return void this.emit('connect');
    const subscribe = this.#inTopics.map((t) => ({ topicFilter: t.remoteTopic, qos: t.qos }));
    // Like mosquitto's bridge_attempt_unsubscribe: a persistent remote session may still hold
    // subscriptions of topics that are out-only now.
    const unsubscribe = o.attemptUnsubscribe ? this.#outTopics.filter((t) => t.direction === 'out' && !subscribe.some((s) => s.topicFilter === t.remoteTopic)).map((t) => t.remoteTopic) : [];
    if (unsubscribe.length > 0) void client.unsubscribe(unsubscribe).catch(() => {});
    if (subscribe.length === 0) return void this.emit('connect');
    // 'connect' once the remote has answered: from then on, what is published there reaches us.
    client.subscribe(subscribe).then(
      (granted) => {
        for (const g of granted) if (g.refused) this.#log(`remote refused the subscription to "${g.topicFilter}"`);
        this.emit('connect');
      },
      () => {},
    );
  }

  #onOffline(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#log('connection lost');
    if (this.options.notifications) this.#notifyLocally('0');
    this.emit('offline');
  }

  #notifyLocally(state: '0' | '1'): void {
    if (!this.options.notifications) return;
    this.#publishLocally(this.options.notificationTopic, state, 1, true);
  }

  #publishLocally(topic: string, payload: Uint8Array | string, qos: QoS, retain: boolean): void {
    this.#publishingLocally = true;
    try {
      this.#broker.publish(topic, payload, { qos, retain });
    } catch (e) {
      this.#log(`cannot publish "${topic}" locally: ${(e as Error).message}`); // what is caught here is an Error (Node's or ours)
    } finally {
      this.#publishingLocally = false;
    }
  }

  // --- in: remote to local --------------------------------------------------------------------

  #onRemoteMessage(topic: string, payload: Uint8Array, packet: PublishPacket): void {
    if (this.#echo?.take(topic, payload, Date.now())) {
      this.stats.echoes++;
      return;
    }
    // mosquitto's bridge__remap_topic_in: the first in/both topic whose remote filter matches.
    const t = this.#inTopics.find((x) => topicMatches(x.remoteTopic, topic));
    if (!t) {
      // Not asked for (e.g. a subscription an old persistent session still holds): mosquitto would
      // publish it unmapped; it stays out, so the remote writes only where the config lets it.
      this.stats.unexpected++;
      return;
    }
    const local = t.localPrefix + (topic.startsWith(t.remotePrefix) ? topic.slice(t.remotePrefix.length) : topic);
    this.stats.received++;
    if (packet.retain && payload.length > 0) this.#retainedFromRemote.add(local);
    else if (packet.retain) this.#retainedFromRemote.delete(local);
    this.#publishLocally(local, payload, packet.qos, packet.retain);
  }

  // --- out: local to remote -------------------------------------------------------------------

  readonly #onLocalPublish = (topic: string, packet: PublishPacket, _from: ClientInfo | undefined): void => {
    // It came in over this bridge: never back out over it.
    if (this.#publishingLocally) return;
    // A local publisher owns this retained topic now: it goes out on the next connection.
    if (packet.retain) this.#retainedFromRemote.delete(topic);
    this.#forward(topic, packet.payload, packet.qos, packet.retain);
  };

  /**
   * The local retained messages, sent on every connection as mosquitto does (its bridge
   * subscribes locally anew) — except those that came from the remote: ours may be older by now.
   */
  #sendRetained(): void {
    for (const m of this.#broker.retained.values()) {
      if (!this.#retainedFromRemote.has(m.topic)) this.#forward(m.topic, m.payload, m.qos, true);
    }
  }

  /** Remaps a local message of an out/both topic and queues it for the remote, within the bounds. */
  #forward(topic: string, payload: Uint8Array, messageQos: QoS, messageRetain: boolean): void {
    const t = this.#outTopics.find((x) => topicMatches(x.localTopic, topic));
    if (!t) return;
    const remote = t.remotePrefix + (topic.startsWith(t.localPrefix) ? topic.slice(t.localPrefix.length) : topic);
    const qos = Math.min(messageQos, t.qos) as QoS; // the smaller of two QoS values is a QoS
    const retain = messageRetain && this.options.outgoingRetain;
    if (qos === 0 && !this.#connected) {
      this.stats.dropped++;
      return;
    }
    const size = payload.byteLength + Buffer.byteLength(remote);
    const { maxQueuedMessages, maxQueuedBytes } = this.#broker.options;
    // An empty queue always takes one message, as a broker session does.
    if (this.#queued >= maxQueuedMessages || (this.#queued > 0 && this.#queuedBytes + size > maxQueuedBytes)) {
      if (this.stats.dropped++ === 0) this.#log('queue for the remote is full (maxQueuedMessages / maxQueuedBytes): dropping new messages', 'warning');
      return;
    }
    this.#queued++;
    this.#queuedBytes += size;
    // A QoS 1/2 message may wait: it owns its bytes rather than pinning the socket chunk they sit in.
    const m: Outgoing = { topic: remote, payload: qos > 0 ? payload.slice() : payload, qos, retain, size };
    if (this.#client) this.#send(this.#client, m);
    else this.#pending.push(m);
  }

  #send(client: MqttClient, m: Outgoing): void {
    const settled = (ok: boolean) => {
      this.#queued--;
      this.#queuedBytes -= m.size;
      if (ok) this.stats.sent++;
      else this.stats.dropped++;
    };
    client.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain }).then(
      () => settled(true),
      () => settled(false),
    );
  }
}
