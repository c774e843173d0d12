/**
 * The recording half shared by the broker's storage backends: each `put…` / `delete…` of
 * `BrokerStorage` becomes one `StorageOp` in a group-committed batch; a backend only says how to
 * apply a batch atomically (`writeBatch`) and how to read everything back (`load`).
 */
import { GroupCommit } from '../../util/group-commit.js';
import type { BrokerStorage, LoadedState, StoredOutbound, StoredRetained, StoredSession, StoredSubscription } from './storage.js';

/** One recorded change, in the order it was recorded. */
export type StorageOp =
  | { readonly kind: 'putSession'; readonly session: StoredSession }
  | { readonly kind: 'deleteSession'; readonly clientId: string }
  | { readonly kind: 'putSubscription'; readonly clientId: string; readonly subscription: StoredSubscription }
  | { readonly kind: 'deleteSubscription'; readonly clientId: string; readonly topicFilter: string }
  | { readonly kind: 'putOutbound'; readonly clientId: string; readonly message: StoredOutbound }
  | { readonly kind: 'deleteOutbound'; readonly clientId: string; readonly seq: number }
  | { readonly kind: 'putInboundQos2'; readonly clientId: string; readonly packetId: number }
  | { readonly kind: 'deleteInboundQos2'; readonly clientId: string; readonly packetId: number }
  | { readonly kind: 'putRetained'; readonly message: StoredRetained }
  | { readonly kind: 'deleteRetained'; readonly topic: string };

/** A `BrokerStorage` whose changes are batched by `GroupCommit` and applied by `writeBatch`. */
export abstract class BatchedStorage implements BrokerStorage {
  readonly #batches = new GroupCommit<StorageOp>((ops) => this.writeBatch(ops));

  abstract load(): Promise<LoadedState>;
  /** Applies `ops`, in order, as one atomic transaction, durable by the backend's sync policy. */
  protected abstract writeBatch(ops: readonly StorageOp[]): void | Promise<void>;
  /** Releases the backend's resources once everything is committed. */
  protected abstract release(): void | Promise<void>;

  putSession(session: StoredSession): void {
    this.#batches.record({ kind: 'putSession', session });
  }
  deleteSession(clientId: string): void {
    this.#batches.record({ kind: 'deleteSession', clientId });
  }
  putSubscription(clientId: string, subscription: StoredSubscription): void {
    this.#batches.record({ kind: 'putSubscription', clientId, subscription });
  }
  deleteSubscription(clientId: string, topicFilter: string): void {
    this.#batches.record({ kind: 'deleteSubscription', clientId, topicFilter });
  }
  putOutbound(clientId: string, message: StoredOutbound): void {
    this.#batches.record({ kind: 'putOutbound', clientId, message });
  }
  deleteOutbound(clientId: string, seq: number): void {
    this.#batches.record({ kind: 'deleteOutbound', clientId, seq });
  }
  putInboundQos2(clientId: string, packetId: number): void {
    this.#batches.record({ kind: 'putInboundQos2', clientId, packetId });
  }
  deleteInboundQos2(clientId: string, packetId: number): void {
    this.#batches.record({ kind: 'deleteInboundQos2', clientId, packetId });
  }
  putRetained(message: StoredRetained): void {
    this.#batches.record({ kind: 'putRetained', message });
  }
  deleteRetained(topic: string): void {
    this.#batches.record({ kind: 'deleteRetained', topic });
  }

  commit(): Promise<void> {
    return this.#batches.commit();
  }

  #closing: Promise<void> | undefined;
  close(): Promise<void> {
    this.#closing ??= this.#batches.close().finally(() => this.release());
    return this.#closing;
  }
}
