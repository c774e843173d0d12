/**
 * Session state the server keeps per ClientId (spec 3.1.2.4), in memory.
 *
 * A session outlives its network connection when the client connected with CleanSession=0
 * [MQTT-3.1.2-4]: its subscriptions stay in the router, QoS 1/2 messages that match them are
 * queued while it is offline [MQTT-3.1.2-5], and unacknowledged deliveries are resent when it comes
 * back [MQTT-4.4.0-1]. The ClientId is the key [MQTT-3.1.3-2]. Nothing here survives a restart.
 */
import type { QoS } from '../../codec/index.js';

/** A message as it will be sent to one subscriber: the delivery QoS and RETAIN flag are final. */
export interface OutboundMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
}

/**
 * An outbound QoS 1/2 delivery the client has not finished acknowledging (spec 4.3.2, 4.3.3).
 * `phase` is `'publish'` until the PUBACK / PUBREC arrives; a QoS 2 delivery then moves to
 * `'pubrel'` (PUBREL sent, PUBCOMP awaited) and no longer needs its payload.
 */
export interface InflightMessage {
  packetId: number;
  phase: 'publish' | 'pubrel';
  message: OutboundMessage;
}

/** Everything the server remembers about one ClientId's session. */
export interface SessionState {
  readonly clientId: string;
  /** The user name of the latest connection (ACL checks for offline delivery use it). */
  username: string | undefined;
  /** Topic filter → granted QoS. The same subscriptions are indexed in the router. */
  readonly subscriptions: Map<string, QoS>;
  /** Outbound QoS 1/2 deliveries awaiting acknowledgement, in the order they were first sent (a Map keeps insertion order). */
  readonly inflight: Map<number, InflightMessage>;
  /** QoS 1/2 messages waiting for an inflight slot or for the client to come back, oldest first. */
  readonly queue: OutboundMessage[];
  /** Packet ids of inbound QoS 2 PUBLISHes already delivered onwards and awaiting PUBREL [MQTT-4.3.3-2]. */
  readonly inboundQos2: Set<number>;
  /** Where the search for the next free outbound packet id starts. */
  nextPacketId: number;
  /** Whether this state outlives the connection (CleanSession=0). */
  persistent: boolean;
  /**
   * What the messages in `queue` and `inflight` hold, as counted by `messageSize`; bounded by the
   * broker's `maxQueuedBytes`. A QoS 2 delivery stops counting once its PUBREC has arrived.
   */
  queuedBytes: number;
  /** Messages dropped for this session: its queue was full, or (QoS 0) it was not reading. */
  dropped: number;
}

/** The bounds on what one session may hold for its client (see `hasRoom`). */
export interface QueueLimits {
  /** QoS 1/2 messages waiting beyond the inflight window. */
  maxQueuedMessages: number;
  /** Bytes (`messageSize`) held in the queue and the inflight window together. */
  maxQueuedBytes: number;
}

/**
 * The memory a queued message is charged for: its payload bytes plus its topic's length. A
 * message routed to many sessions is one object whose payload they all share, yet each queue is
 * charged in full: that is the bound a user can reason about (and a message shared by every
 * queue costs less, never more, than the sum).
 */
export function messageSize(m: OutboundMessage): number {
  return m.payload.byteLength + m.topic.length;
}

/**
 * Whether `state` may take one more QoS 1/2 message of `size` bytes into its queue (`queued`)
 * or straight into its inflight window. An empty session takes any message, so one larger than
 * the whole byte bound can still be delivered: the bound is then that one message.
 */
export function hasRoom(state: SessionState, size: number, limits: QueueLimits, queued: boolean): boolean {
  if (queued && state.queue.length >= limits.maxQueuedMessages) return false;
  return state.queuedBytes === 0 || state.queuedBytes + size <= limits.maxQueuedBytes;
}

/**
 * `bytes`, or a compact copy of them when they are a view into a larger buffer. Decoded payloads
 * are views into the chunk they arrived in; a message kept for later (queued, inflight, retained, a
 * will) is copied once so it does not pin the whole chunk in memory.
 */
export function compactBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** A fresh, empty session for `clientId`. */
export function createSessionState(clientId: string, persistent: boolean): SessionState {
  return {
    clientId,
    username: undefined,
    subscriptions: new Map(),
    inflight: new Map(),
    queue: [],
    inboundQos2: new Set(),
    nextPacketId: 1,
    persistent,
    queuedBytes: 0,
    dropped: 0,
  };
}

/**
 * A packet id not used by any inflight delivery of `state` [MQTT-2.3.1-4], searched from
 * `state.nextPacketId` round the ring 1..65535. Returns 0 when all 65,535 are in use (only
 * possible with a `maxInflight` above that, which the broker does not allow).
 */
export function allocatePacketId(state: SessionState): number {
  for (let tries = 0; tries < 65_535; tries++) {
    const id = state.nextPacketId;
    state.nextPacketId = id === 65_535 ? 1 : id + 1;
    if (!state.inflight.has(id)) return id;
  }
  return 0;
}

/**
 * Queues a QoS 1/2 message for an offline persistent session [MQTT-3.1.2-5]. Returns `false`
 * (and counts it in `state.dropped`) when the queue is full by `limits`: memory stays bounded,
 * and the newest message is the one lost. QoS 0 is not queued for offline clients.
 */
export function enqueueOffline(state: SessionState, message: OutboundMessage, limits: QueueLimits): boolean {
  if (message.qos === 0) return false;
  const size = messageSize(message);
  if (!hasRoom(state, size, limits, true)) {
    state.dropped++;
    return false;
  }
  state.queue.push(message);
  state.queuedBytes += size;
  return true;
}

/**
 * Discards the queued and in-flight messages of `state` whose topic `keep` refuses, and returns
 * how many. A QoS 2 delivery past its PUBREC holds no message (only its PUBREL is left to
 * send) and stays.
 */
export function discardMessages(state: SessionState, keep: (topic: string) => boolean): number {
  let discarded = 0;
  for (const [id, m] of state.inflight) {
    if (m.phase !== 'publish' || keep(m.message.topic)) continue;
    state.inflight.delete(id);
    state.queuedBytes -= messageSize(m.message);
    discarded++;
  }
  let w = 0;
  for (const m of state.queue) {
    if (keep(m.topic)) state.queue[w++] = m;
    else state.queuedBytes -= messageSize(m);
  }
  discarded += state.queue.length - w;
  state.queue.length = w;
  return discarded;
}

/**
 * The session states of every ClientId, keyed by ClientId [MQTT-3.1.3-2], and which of them are
 * offline, in the order their clients left (so the owner can bound them, oldest first).
 */
export class SessionStore {
  readonly #sessions = new Map<string, SessionState>();
  /** Offline persistent sessions, in the order they went offline (a Map keeps insertion order). */
  readonly #offline = new Map<string, SessionState>();

  /** The stored session of `clientId`, if any. */
  get(clientId: string): SessionState | undefined {
    return this.#sessions.get(clientId);
  }

  /** Stores (or replaces) `state` under its ClientId, for a client that is online. */
  set(state: SessionState): void {
    this.#sessions.set(state.clientId, state);
    this.#offline.delete(state.clientId);
  }

  /** Forgets `clientId`'s session; returns it if there was one. */
  delete(clientId: string): SessionState | undefined {
    const s = this.#sessions.get(clientId);
    this.#sessions.delete(clientId);
    this.#offline.delete(clientId);
    return s;
  }

  /** Records that the client of the stored persistent session `state` went offline. */
  wentOffline(state: SessionState): void {
    if (this.#sessions.get(state.clientId) === state) this.#offline.set(state.clientId, state);
  }

  /** The session that has been offline longest, if any. */
  oldestOffline(): SessionState | undefined {
    return this.#offline.values().next().value;
  }

  /** Number of sessions held (online and offline). */
  get size(): number {
    return this.#sessions.size;
  }

  /** Number of offline persistent sessions held. */
  get offlineCount(): number {
    return this.#offline.size;
  }

  /** Every stored session. */
  values(): IterableIterator<SessionState> {
    return this.#sessions.values();
  }
}
