/**
 * What the server keeps for one ClientId (spec 3.1.2.4), in memory, and the only code that
 * changes it.
 *
 * A session outlives its network connection when the client connected with CleanSession=0
 * [MQTT-3.1.2-4]: its subscriptions stay indexed for routing, QoS 1/2 messages that match them
 * are queued while it is offline [MQTT-3.1.2-5], and unacknowledged deliveries are resent when it
 * comes back [MQTT-4.4.0-1]. The ClientId is the key [MQTT-3.1.3-2].
 *
 * Every field is private; the protocol (`session.ts`) and the broker (`broker-core.ts`) change a
 * session only through the methods below, which keep the byte count, the packet ids and the
 * subscription index in step with what they describe.
 */
import type { QoS } from '../../codec/index.js';
import type { BrokerStorage, LoadedSession, StoredOutbound } from './storage.js';

/** A message as it will be sent to one subscriber: the delivery QoS and RETAIN flag are final. */
export interface OutboundMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
}

/**
 * An outbound QoS 1/2 delivery the client has not finished acknowledging (spec 4.3.2, 4.3.3).
 * `phase` is `'publish'` until the PUBACK / PUBREC arrives; a QoS 2 delivery then moves to
 * `'pubrel'` (PUBREL sent, PUBCOMP awaited) and no longer holds its payload.
 */
export interface InflightMessage {
  /** Orders a session's messages, oldest first; the key of the stored copy. */
  readonly seq: number;
  readonly packetId: number;
  readonly phase: 'publish' | 'pubrel';
  readonly message: OutboundMessage;
}

/** The bounds on what one session may hold for its client. */
export interface QueueLimits {
  /** QoS 1/2 messages waiting beyond the inflight window. */
  maxQueuedMessages: number;
  /** Bytes (`messageSize`) held in the queue and the inflight window together. */
  maxQueuedBytes: number;
}

/** `QueueLimits` and the inflight window, as a connected session applies them. */
export interface DeliveryLimits extends QueueLimits {
  /** Outbound QoS 1/2 deliveries awaiting acknowledgement at once. */
  maxInflight: number;
  /** Bytes (`messageSize`) of outbound QoS 1/2 PUBLISHes awaiting acknowledgement at once; 0 = no bound. One message always fits (mosquitto's `max_inflight_bytes`). */
  maxInflightBytes?: number;
}

/** Where subscriptions are indexed for routing (the session store's router). */
export interface SubscriptionIndex {
  add(topicFilter: string, clientId: string, qos: QoS): unknown;
  remove(topicFilter: string, clientId: string): unknown;
}

/**
 * What an acknowledgement of an outbound delivery did: completed or advanced it, matched no
 * delivery, or did not fit the delivery's flow (a protocol violation, see `session.ts`).
 */
export type AckOutcome = 'done' | 'released' | 'unknown' | 'QOS2_ACK_FOR_QOS1' | 'PUBACK_FOR_QOS2' | 'PUBCOMP_BEFORE_PUBREC';

/**
 * The memory a queued message is charged for: its payload bytes plus its topic's length. A
 * message routed to many sessions is one object whose payload they all share, yet each queue is
 * charged in full: that is the bound a user can reason about (and a message shared by every
 * queue costs less, never more, than the sum).
 */
export function messageSize(m: OutboundMessage): number {
  return m.payload.byteLength + m.topic.length;
}

const NO_INDEX: SubscriptionIndex = { add: () => undefined, remove: () => undefined };

/** A message waiting in the queue, with its place in the session's order. */
interface Queued {
  readonly seq: number;
  readonly message: OutboundMessage;
}

/** The stored form of a queued (`packetId` undefined) or inflight message. */
function stored(seq: number, message: OutboundMessage, packetId?: number, phase: 'publish' | 'pubrel' = 'publish'): StoredOutbound {
  const { topic, payload, qos, retain } = message;
  return packetId === undefined ? { seq, topic, payload, qos, retain, phase } : { seq, topic, payload, qos, retain, phase, packetId };
}

/** What a session's table not yet created reads as. */
const NO_ENTRIES: ReadonlyMap<never, never> = new Map<never, never>();

/** Everything the server remembers about one ClientId's session (see module comment). */
export class SessionState {
  readonly clientId: string;
  /** Whether this state outlives the connection (CleanSession=0). */
  readonly persistent: boolean;
  readonly #index: SubscriptionIndex;
  /** Where every change is recorded, for a persistent session of a broker with storage. */
  readonly #journal: BrokerStorage | undefined;
  #username: string | undefined;
  // The tables below are created on first use (an empty Map costs about 200 bytes, and most
  // connected clients of a busy broker sit idle): reads of one not yet created see `NO_ENTRIES`.
  #subscriptionTable: Map<string, QoS> | undefined;
  get #subscriptions(): Map<string, QoS> {
    return (this.#subscriptionTable ??= new Map());
  }
  /** In the order first sent (a Map keeps insertion order). */
  #inflightTable: Map<number, InflightMessage> | undefined;
  get #inflight(): Map<number, InflightMessage> {
    return (this.#inflightTable ??= new Map());
  }
  /** Oldest first; created on first use like the tables above. */
  #queueList: Queued[] | undefined;
  get #queue(): Queued[] {
    return (this.#queueList ??= []);
  }
  /** Messages in the queue (without creating it). */
  get #queueLength(): number {
    return this.#queueList?.length ?? 0;
  }
  #nextSeq = 1;
  #inboundQos2Ids: Set<number> | undefined;
  get #inboundQos2(): Set<number> {
    return (this.#inboundQos2Ids ??= new Set());
  }
  #nextPacketId = 1;
  #queuedBytes = 0;
  #dropped = 0;

  /**
   * Use `SessionStore.create`, which indexes the subscriptions for routing (`index`) and, for a
   * persistent session, records every change in `journal` (the broker's storage).
   */
  constructor(clientId: string, persistent: boolean, index: SubscriptionIndex = NO_INDEX, journal?: BrokerStorage) {
    this.clientId = clientId;
    this.persistent = persistent;
    this.#index = index;
    this.#journal = persistent ? journal : undefined;
  }

  /**
   * Rebuilds the session from what storage loaded: subscriptions (indexed again), the inflight
   * window with its packet ids and phases, the queue and the inbound QoS 2 ids. Records nothing.
   */
  restore(loaded: LoadedSession): void {
    this.#username = loaded.username;
    for (const { topicFilter, qos } of loaded.subscriptions) {
      this.#subscriptions.set(topicFilter, qos);
      this.#index.add(topicFilter, this.clientId, qos);
    }
    for (const { seq, topic, payload, qos, retain, packetId, phase } of loaded.outbound) {
      const message = { topic, payload, qos, retain };
      if (packetId === undefined) this.#queue.push({ seq, message });
      else this.#inflight.set(packetId, { seq, packetId, phase, message });
      if (phase === 'publish') this.#queuedBytes += messageSize(message);
      this.#nextSeq = Math.max(this.#nextSeq, seq + 1);
      if (packetId !== undefined) this.#nextPacketId = packetId === 65_535 ? 1 : packetId + 1;
    }
    for (const id of loaded.inboundQos2) this.#inboundQos2.add(id);
  }

  /** The user name of the latest connection (ACL checks for offline delivery use it). */
  get username(): string | undefined {
    return this.#username;
  }

  /** Topic filter → granted QoS. */
  get subscriptions(): ReadonlyMap<string, QoS> {
    return this.#subscriptionTable ?? NO_ENTRIES;
  }

  /** Outbound QoS 1/2 deliveries awaiting acknowledgement, in the order they were first sent. */
  get inflight(): ReadonlyMap<number, InflightMessage> {
    return this.#inflightTable ?? NO_ENTRIES;
  }

  /** QoS 1/2 messages waiting for an inflight slot or for the client to come back, oldest first. */
  get queue(): readonly OutboundMessage[] {
    return this.#queueList?.map((q) => q.message) ?? [];
  }

  /**
   * What the messages in the queue and the inflight window hold, as `messageSize` counts it;
   * bounded by `maxQueuedBytes`. A QoS 2 delivery stops counting once its PUBREC has arrived.
   */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Messages dropped for this session: its queue was full, or (QoS 0) it was not reading. */
  get dropped(): number {
    return this.#dropped;
  }

  /** A connection of `username` took this session (new or resumed). */
  connectedAs(username: string | undefined): void {
    if (this.#journal && username !== this.#username) this.#journal.putSession({ clientId: this.clientId, username });
    this.#username = username;
  }

  /** Adds or replaces [MQTT-3.8.4-3] a subscription, here and in the routing index. */
  subscribe(topicFilter: string, qos: QoS): void {
    this.#subscriptions.set(topicFilter, qos);
    this.#index.add(topicFilter, this.clientId, qos);
    this.#journal?.putSubscription(this.clientId, { topicFilter, qos });
  }

  /** Removes a subscription by exact filter [MQTT-3.10.4-1]; returns whether there was one. */
  unsubscribe(topicFilter: string): boolean {
    if (!this.#subscriptions.delete(topicFilter)) return false;
    this.#index.remove(topicFilter, this.clientId);
    this.#journal?.deleteSubscription(this.clientId, topicFilter);
    return true;
  }

  /** Removes every subscription (the session is being discarded). */
  unsubscribeAll(): void {
    for (const f of [...this.#subscriptions.keys()]) this.unsubscribe(f);
  }

  /** Counts a message given up for this client (see `dropped`). */
  countDropped(): void {
    this.#dropped++;
  }

  /**
   * Whether one more QoS 1/2 message of `size` bytes fits, into the queue (`queued`) or straight
   * into the inflight window. An empty session takes any message, so one larger than the whole
   * byte bound can still be delivered: the bound is then that one message.
   */
  #hasRoom(size: number, limits: QueueLimits, queued: boolean): boolean {
    if (queued && this.#queueLength >= limits.maxQueuedMessages) return false;
    return this.#queuedBytes === 0 || this.#queuedBytes + size <= limits.maxQueuedBytes;
  }

  /**
   * Takes a QoS 1/2 message for a connected client: into the inflight window with a fresh packet
   * id when the window has room and nothing waits before it (returned, to be sent), else into the
   * queue so order is kept [MQTT-4.6.0-6]. Returns `'full'` (and counts the drop) when it does not
   * fit `limits`: the message is not kept, so the session stays within its bounds.
   */
  offer(message: OutboundMessage, limits: DeliveryLimits): InflightMessage | 'queued' | 'full' {
    const size = messageSize(message);
    const direct = this.#queueLength === 0 && this.#windowHasRoom(size, limits);
    if (!this.#hasRoom(size, limits, !direct)) {
      this.#dropped++;
      return 'full';
    }
    this.#queuedBytes += size;
    const seq = this.#nextSeq++;
    if (direct) return this.#send(seq, message);
    this.#queue.push({ seq, message });
    this.#journal?.putOutbound(this.clientId, stored(seq, message));
    return 'queued';
  }

  /**
   * Queues a QoS 1/2 message for an offline persistent session [MQTT-3.1.2-5]. Returns `false`
   * (and counts the drop) when the queue is full by `limits`: memory stays bounded, and the newest
   * message is the one lost. QoS 0 is not queued for offline clients.
   */
  enqueue(message: OutboundMessage, limits: QueueLimits): boolean {
    if (message.qos === 0) return false;
    const size = messageSize(message);
    if (!this.#hasRoom(size, limits, true)) {
      this.#dropped++;
      return false;
    }
    const seq = this.#nextSeq++;
    this.#queue.push({ seq, message });
    this.#queuedBytes += size;
    this.#journal?.putOutbound(this.clientId, stored(seq, message));
    return true;
  }

  /** The next queued message, moved into the inflight window if it has room (to be sent). */
  nextToSend(limits: DeliveryLimits): InflightMessage | undefined {
    const queue = this.#queueList;
    const first = queue?.[0];
    if (queue === undefined || first === undefined || !this.#windowHasRoom(messageSize(first.message), limits)) return undefined;
    queue.shift();
    const { seq, message } = first;
    return this.#send(seq, message);
  }

  /** May one more delivery of `size` bytes enter the inflight window (`maxInflight`, `maxInflightBytes`)? */
  #windowHasRoom(size: number, limits: DeliveryLimits): boolean {
    if (this.#inflight.size >= limits.maxInflight) return false;
    const maxBytes = limits.maxInflightBytes ?? 0;
    if (maxBytes === 0) return true;
    // Only with the bound set: the window is small, so summing it beats keeping a count in step.
    let held = 0;
    for (const m of this.#inflight.values()) if (m.phase === 'publish') held += messageSize(m.message);
    return held === 0 || held + size <= maxBytes;
  }

  /** Gives `message` (already counted in `queuedBytes`) a packet id in the inflight window. */
  #send(seq: number, message: OutboundMessage): InflightMessage {
    const m: InflightMessage = { seq, packetId: this.#allocatePacketId(), phase: 'publish', message };
    this.#inflight.set(m.packetId, m);
    this.#journal?.putOutbound(this.clientId, stored(seq, message, m.packetId));
    return m;
  }

  /**
   * A packet id not used by any inflight delivery [MQTT-2.3.1-4], searched round the ring
   * 1..65535 from where the last search stopped. The inflight window (at most 65,535) always
   * leaves one free when a message is moved into it.
   */
  #allocatePacketId(): number {
    for (;;) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === 65_535 ? 1 : id + 1;
      if (!this.#inflight.has(id)) return id;
    }
  }

  /**
   * The client acknowledged delivery `packetId` with `cmd` (spec 4.3.2, 4.3.3). PUBACK ends a QoS
   * 1 delivery and PUBCOMP a QoS 2 one (`'done'`); PUBREC moves a QoS 2 delivery to `'pubrel'`,
   * where its payload is the client's and stops counting (`'released'`, also when repeated).
   */
  acknowledge(packetId: number, cmd: 'puback' | 'pubrec' | 'pubcomp'): AckOutcome {
    const m = this.#inflight.get(packetId);
    if (!m) return 'unknown';
    const { qos } = m.message;
    if (cmd === 'puback' && qos !== 1) return 'PUBACK_FOR_QOS2';
    if (cmd !== 'puback' && qos === 1) return 'QOS2_ACK_FOR_QOS1';
    if (cmd === 'pubrec') {
      if (m.phase === 'publish') {
        this.#queuedBytes -= messageSize(m.message);
        const released: InflightMessage = { seq: m.seq, packetId, phase: 'pubrel', message: { ...m.message, topic: '', payload: new Uint8Array(0) } };
        this.#inflight.set(packetId, released);
        this.#journal?.putOutbound(this.clientId, stored(m.seq, released.message, packetId, 'pubrel'));
      }
      return 'released';
    }
    if (cmd === 'pubcomp' && m.phase !== 'pubrel') return 'PUBCOMP_BEFORE_PUBREC';
    this.#inflight.delete(packetId);
    if (m.phase === 'publish') this.#queuedBytes -= messageSize(m.message);
    this.#journal?.deleteOutbound(this.clientId, m.seq);
    return 'done';
  }

  /**
   * An inbound QoS 2 PUBLISH `packetId` arrived: true the first time, false while it awaits its
   * PUBREL, when it is the same message and must not be delivered again [MQTT-4.3.3-2].
   */
  receivedQos2(packetId: number): boolean {
    if (this.#inboundQos2.has(packetId)) return false;
    this.#inboundQos2.add(packetId);
    this.#journal?.putInboundQos2(this.clientId, packetId);
    return true;
  }

  /** Its PUBREL arrived: the id is free, a later PUBLISH with it is a new message [MQTT-4.3.3-2]. */
  releasedQos2(packetId: number): void {
    if (this.#inboundQos2.delete(packetId)) this.#journal?.deleteInboundQos2(this.clientId, packetId);
  }

  /**
   * Discards the queued and in-flight messages whose topic `keep` refuses, and returns how many.
   * A QoS 2 delivery past its PUBREC holds no message (only its PUBREL is left to send) and stays.
   */
  discardMessages(keep: (topic: string) => boolean): number {
    let discarded = 0;
    for (const [id, m] of this.#inflight) {
      if (m.phase !== 'publish' || keep(m.message.topic)) continue;
      this.#inflight.delete(id);
      this.#queuedBytes -= messageSize(m.message);
      this.#journal?.deleteOutbound(this.clientId, m.seq);
      discarded++;
    }
    const kept: Queued[] = [];
    const queue = this.#queueList ?? [];
    for (const q of queue) {
      if (keep(q.message.topic)) {
        kept.push(q);
        continue;
      }
      this.#queuedBytes -= messageSize(q.message);
      this.#journal?.deleteOutbound(this.clientId, q.seq);
    }
    discarded += queue.length - kept.length;
    this.#queueList = kept.length > 0 ? kept : undefined;
    return discarded;
  }
}

/** A fresh session for `clientId` that no routing index knows of (for tests and tools). */
export function createSessionState(clientId: string, persistent: boolean): SessionState {
  return new SessionState(clientId, persistent);
}
