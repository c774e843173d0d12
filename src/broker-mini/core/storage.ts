/**
 * The broker's storage interface: what broker-mini keeps so that a PUBACK / PUBREC it sent, a
 * subscription it granted and a retained message it accepted survive a crash of the process.
 *
 * Types only, no I/O and no `node:` import: the sans-IO core calls it, and a backend lives beside
 * it (`memory-storage.ts`, in memory, the default) or outside the core (the on-disk backend, loaded
 * by a dynamic import only when persistence is turned on).
 *
 * The contract, from the core's side:
 * 1. **Load once at start.** `load()` returns everything stored; the core rebuilds its sessions,
 *    router and retained store from it before it accepts a connection.
 * 2. **Write synchronously, commit asynchronously.** While it handles a packet the core records
 *    each change with the `put…` / `delete…` methods (they only append to the pending batch and
 *    never throw for I/O). Then it calls `commit()` and sends the acknowledgement that depends on
 *    the change only when the promise resolves: PUBACK / PUBREC after the message and the inbound
 *    QoS 2 id are committed [MQTT-4.3.2-2] [MQTT-4.3.3-2], SUBACK after the subscription is.
 * 3. **Group commit.** Every change recorded before a `commit()` call is in the transaction that
 *    call's promise waits for. All `commit()` calls made in the same event-loop turn share one
 *    transaction and one fsync; changes recorded while a transaction is being written (by an
 *    asynchronous backend, over any number of turns) all go into the next one. Transactions are
 *    applied in the order they were committed, and each one is atomic: after a crash a store
 *    holds a prefix of the committed transactions, never part of one.
 * 4. **Last write wins.** Within and across batches, a `put` replaces the record with the same key
 *    and a `delete` of a key that is absent is not an error. `deleteSession` removes the session
 *    and everything keyed by its ClientId (subscriptions, outbound messages, inbound QoS 2 ids).
 *    `load()` returns the records of ClientIds that have a session record (`putSession` first).
 * 5. **Failures are loud.** A commit that cannot be made durable rejects with a `StorageError`,
 *    and so does every later call: the store stays failed (the broker must then stop
 *    acknowledging). A file that is corrupt or truncated beyond its last torn write makes `load()`
 *    reject with a `StorageError` whose `file` names it, never an empty state.
 */
import type { QoS } from '../../codec/index.js';

/** A persistent session (CleanSession=0 [MQTT-3.1.2-4]) without the parts stored on their own. */
export interface StoredSession {
  /** The key [MQTT-3.1.3-2]. */
  readonly clientId: string;
  /** The user name of the latest connection (ACL checks for offline delivery use it). */
  readonly username: string | undefined;
}

/** One subscription of a stored session: topic filter and granted QoS. */
export interface StoredSubscription {
  readonly topicFilter: string;
  readonly qos: QoS;
}

/**
 * A QoS 1/2 message on its way to one client: queued, or inflight once it has a packet id.
 *
 * `seq` orders a client's messages (oldest first) and is the key with the ClientId: the core
 * assigns it, increasing per client, when the message is queued, and keeps it when the message
 * moves into the inflight window (a `putOutbound` with the same `seq` and a `packetId`).
 * `phase: 'pubrel'` is a QoS 2 delivery whose PUBREC has arrived: only the packet id matters
 * now and the payload may be stored empty [MQTT-4.3.3-1].
 */
export interface StoredOutbound {
  readonly seq: number;
  readonly topic: string;
  readonly payload: Uint8Array;
  /** The delivery QoS (already the minimum of publish and subscription QoS): 1 or 2. */
  readonly qos: QoS;
  readonly retain: boolean;
  /** Set once the message has been sent (it is inflight); absent while queued. */
  readonly packetId?: number;
  /** `'publish'` until the PUBACK / PUBREC; `'pubrel'` while the PUBCOMP is awaited. */
  readonly phase: 'publish' | 'pubrel';
}

/** A retained message (spec 3.3.1.3), one per topic; an empty payload is never stored [MQTT-3.3.1-10]. */
export interface StoredRetained {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
}

/** Everything stored about one session, as `load()` returns it. */
export interface LoadedSession extends StoredSession {
  readonly subscriptions: readonly StoredSubscription[];
  /** In `seq` order, oldest first: inflight ones (with `packetId`) are resent with DUP=1 [MQTT-4.4.0-1]. */
  readonly outbound: readonly StoredOutbound[];
  /** Inbound QoS 2 packet ids whose PUBREC was sent and whose PUBREL has not arrived [MQTT-4.3.3-2]. */
  readonly inboundQos2: readonly number[];
}

/** The whole stored state, as `load()` returns it. */
export interface LoadedState {
  readonly sessions: readonly LoadedSession[];
  readonly retained: readonly StoredRetained[];
}

/**
 * When a committed transaction is flushed to stable storage.
 * - `'always'`: `commit()` resolves after the fsync. Survives a crash of the process and of the
 *   machine.
 * - `{ intervalMs }`: `commit()` resolves once the transaction is written to the operating
 *   system (it survives a crash of the process, e.g. SIGKILL); an fsync follows within
 *   `intervalMs`, so a crash of the machine loses at most that window (like mosquitto's
 *   `autosave_interval`, but for every write, not a periodic snapshot).
 */
export type SyncPolicy = 'always' | { readonly intervalMs: number };

export type { StorageErrorCode } from '../../util/storage-error.js';
export { StorageError, isStorageError } from '../../util/storage-error.js';

/**
 * A broker storage backend. Implementations: `MemoryStorage` (in `memory-storage.ts`) and the
 * on-disk one. See the module comment for the contract.
 */
export interface BrokerStorage {
  /** Reads everything stored. Called once, before any write. */
  load(): Promise<LoadedState>;

  /** Creates or replaces a persistent session's record. */
  putSession(session: StoredSession): void;
  /** Removes a session and everything keyed by its ClientId (clean start, or the session was discarded). */
  deleteSession(clientId: string): void;

  /** Creates or replaces one subscription of `clientId` [MQTT-3.8.4-3]. */
  putSubscription(clientId: string, subscription: StoredSubscription): void;
  deleteSubscription(clientId: string, topicFilter: string): void;

  /** Stores a message for `clientId`, or updates it (same `seq`) when it becomes inflight or moves to PUBREL. */
  putOutbound(clientId: string, message: StoredOutbound): void;
  /** Forgets a message for `clientId`: acknowledged (PUBACK / PUBCOMP) or dropped. */
  deleteOutbound(clientId: string, seq: number): void;

  /** Records an inbound QoS 2 packet id whose PUBREC is about to be sent [MQTT-4.3.3-2]. */
  putInboundQos2(clientId: string, packetId: number): void;
  /** Forgets it: its PUBREL arrived. */
  deleteInboundQos2(clientId: string, packetId: number): void;

  /** Stores (replaces) the retained message of `message.topic` [MQTT-3.3.1-5]. */
  putRetained(message: StoredRetained): void;
  /** Clears the retained message of `topic` [MQTT-3.3.1-10]. */
  deleteRetained(topic: string): void;

  /**
   * Commits every change recorded so far in one transaction (shared with every other `commit()`
   * of the same turn) and resolves when it is durable by the `SyncPolicy`. Resolves at once
   * when nothing is pending and nothing is in flight.
   */
  commit(): Promise<void>;

  /** Commits what is pending, flushes it to stable storage and releases the files. Idempotent. */
  close(): Promise<void>;
}
