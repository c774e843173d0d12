/**
 * The broker's view of its `BrokerStorage`: every change recorded is committed soon after, even
 * when no acknowledgement waits for it (a delivery's PUBACK from the client, a message queued by
 * `broker.publish`, a session discarded), so nothing recorded stays pending until some later
 * acknowledgement happens to commit it. One commit is scheduled per turn at most; commits that
 * acknowledgements wait for share its transaction (group commit, see `storage.ts`).
 *
 * One change is lazy: forgetting a delivered message (`deleteOutbound`, after the client's PUBACK
 * or PUBCOMP, or a drop). No packet reports it, so nothing waits for it and it asks for no commit
 * of its own: it rides in the next transaction something else asks for, or is committed
 * `LAZY_COMMIT_MS` later when nothing does. A crash can take it back, and that is allowed: the
 * message is then sent again after the restart — a QoS 1 PUBLISH with DUP=1, which QoS 1 permits
 * [MQTT-4.3.2-1], or a QoS 2 PUBREL, which the client answers with PUBCOMP without delivering
 * anything (spec 4.3.3), so exactly-once holds. Changes are committed in the order recorded, so a
 * stored packet id given to a later message is never committed before the delete that freed it.
 */
import type { BrokerStorage, LoadedState, StoredOutbound, StoredRetained, StoredSession, StoredSubscription } from './storage.js';

/** How long a lazy change may wait for a transaction to ride in (see the module comment). */
export const LAZY_COMMIT_MS = 200;

/** `storage`, committing by itself at the end of any turn in which something was recorded. */
export class Journal implements BrokerStorage {
  readonly #storage: BrokerStorage;
  readonly #onError: (error: unknown) => void;
  #scheduled = false;
  #lazyTimer: ReturnType<typeof setTimeout> | undefined;
  /** Changes recorded so far (lazy ones aside), and how many of them a resolved commit has made durable. */
  #recorded = 0;
  #durable = 0;

  /** `onError` hears of a commit no acknowledgement waited for that failed. */
  constructor(storage: BrokerStorage, onError: (error: unknown) => void) {
    this.#storage = storage;
    this.#onError = onError;
  }

  #changed(): void {
    this.#recorded++;
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.commit().catch(this.#onError);
    });
  }

  /** Commits a lazy change within `LAZY_COMMIT_MS`, unless another commit takes it first. */
  #changedLazily(): void {
    if (this.#lazyTimer !== undefined) return;
    this.#lazyTimer = setTimeout(() => {
      this.#lazyTimer = undefined;
      // With nothing pending (a commit took it along) this writes no transaction.
      this.#storage.commit().catch(this.#onError);
    }, LAZY_COMMIT_MS);
    // Whoever stops the broker closes the storage, which commits what is pending: this timer
    // must not keep a process alive by itself (Node's timers have `unref`, others need not, so
    // the cast only says what may be there).
    (this.#lazyTimer as { unref?: () => void }).unref?.();
  }

  /**
   * Resolves once every change recorded so far is durable, or `undefined` when they already are:
   * what a packet that reports those changes to a client must wait for (see `ClientHandle`).
   */
  settled(): Promise<void> | undefined {
    return this.#durable >= this.#recorded ? undefined : this.commit();
  }

  load(): Promise<LoadedState> {
    return this.#storage.load();
  }
  commit(): Promise<void> {
    // Every change recorded before this call is in the transaction it waits for (storage.ts, 3).
    const upTo = this.#recorded;
    return this.#storage.commit().then(() => {
      if (upTo > this.#durable) this.#durable = upTo;
    });
  }
  close(): Promise<void> {
    clearTimeout(this.#lazyTimer);
    this.#lazyTimer = undefined;
    // Closing commits whatever is pending, lazy changes included.
    return this.#storage.close();
  }
  putSession(session: StoredSession): void {
    this.#storage.putSession(session);
    this.#changed();
  }
  deleteSession(clientId: string): void {
    this.#storage.deleteSession(clientId);
    this.#changed();
  }
  putSubscription(clientId: string, subscription: StoredSubscription): void {
    this.#storage.putSubscription(clientId, subscription);
    this.#changed();
  }
  deleteSubscription(clientId: string, topicFilter: string): void {
    this.#storage.deleteSubscription(clientId, topicFilter);
    this.#changed();
  }
  putOutbound(clientId: string, message: StoredOutbound): void {
    this.#storage.putOutbound(clientId, message);
    this.#changed();
  }
  deleteOutbound(clientId: string, seq: number): void {
    this.#storage.deleteOutbound(clientId, seq);
    this.#changedLazily();
  }
  putInboundQos2(clientId: string, packetId: number): void {
    this.#storage.putInboundQos2(clientId, packetId);
    this.#changed();
  }
  deleteInboundQos2(clientId: string, packetId: number): void {
    this.#storage.deleteInboundQos2(clientId, packetId);
    this.#changed();
  }
  putRetained(message: StoredRetained): void {
    this.#storage.putRetained(message);
    this.#changed();
  }
  deleteRetained(topic: string): void {
    this.#storage.deleteRetained(topic);
    this.#changed();
  }
}
