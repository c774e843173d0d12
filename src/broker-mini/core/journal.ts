/**
 * The broker's view of its `BrokerStorage`: every change recorded is committed soon after, even
 * when no acknowledgement waits for it (a delivery's PUBACK from the client, a message queued by
 * `broker.publish`, a session discarded), so nothing recorded stays pending until some later
 * acknowledgement happens to commit it. One commit is scheduled per turn at most; commits that
 * acknowledgements wait for share its transaction (group commit, see `storage.ts`).
 */
import type { BrokerStorage, LoadedState, StoredOutbound, StoredRetained, StoredSession, StoredSubscription } from './storage.js';

/** `storage`, committing by itself at the end of any turn in which something was recorded. */
export class Journal implements BrokerStorage {
  readonly #storage: BrokerStorage;
  readonly #onError: (error: unknown) => void;
  #scheduled = false;
  /** Changes recorded so far, and how many of them a resolved commit has made durable. */
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
    this.#changed();
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
