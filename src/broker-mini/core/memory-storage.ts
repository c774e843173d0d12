/**
 * The in-memory `BrokerStorage`: the default, and what tests use. Nothing survives the process,
 * but the same instance handed to a new broker in the same process restores what was committed,
 * so restarts can be tested without a disk. Changes become visible to `load()` only when
 * committed, as with the on-disk backend.
 */
import { BatchedStorage, type StorageOp } from './batched-storage.js';
import type { LoadedSession, LoadedState, StoredOutbound, StoredRetained, StoredSession, StoredSubscription } from './storage.js';

/** `map.get(key)`, created with `make()` when absent. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

/** Stored payloads and records are kept by reference: callers hand over compact copies (see `compactBytes`). */
export class MemoryStorage extends BatchedStorage {
  readonly #sessions = new Map<string, StoredSession>();
  readonly #subscriptions = new Map<string, Map<string, StoredSubscription>>();
  readonly #outbound = new Map<string, Map<number, StoredOutbound>>();
  readonly #inboundQos2 = new Map<string, Set<number>>();
  readonly #retained = new Map<string, StoredRetained>();

  load(): Promise<LoadedState> {
    const sessions: LoadedSession[] = [];
    for (const [clientId, session] of this.#sessions) {
      sessions.push({
        ...session,
        subscriptions: [...(this.#subscriptions.get(clientId)?.values() ?? [])],
        outbound: [...(this.#outbound.get(clientId)?.values() ?? [])].sort((a, b) => a.seq - b.seq),
        inboundQos2: [...(this.#inboundQos2.get(clientId) ?? [])],
      });
    }
    return Promise.resolve({ sessions, retained: [...this.#retained.values()] });
  }

  protected writeBatch(ops: readonly StorageOp[]): void {
    for (const op of ops) this.#apply(op);
  }

  protected release(): void {}

  #apply(op: StorageOp): void {
    switch (op.kind) {
      case 'putSession':
        this.#sessions.set(op.session.clientId, op.session);
        return;
      case 'deleteSession':
        this.#sessions.delete(op.clientId);
        this.#subscriptions.delete(op.clientId);
        this.#outbound.delete(op.clientId);
        this.#inboundQos2.delete(op.clientId);
        return;
      case 'putSubscription':
        entry(this.#subscriptions, op.clientId, () => new Map()).set(op.subscription.topicFilter, op.subscription);
        return;
      case 'deleteSubscription':
        this.#subscriptions.get(op.clientId)?.delete(op.topicFilter);
        return;
      case 'putOutbound':
        entry(this.#outbound, op.clientId, () => new Map()).set(op.message.seq, op.message);
        return;
      case 'deleteOutbound':
        this.#outbound.get(op.clientId)?.delete(op.seq);
        return;
      case 'putInboundQos2':
        entry(this.#inboundQos2, op.clientId, () => new Set()).add(op.packetId);
        return;
      case 'deleteInboundQos2':
        this.#inboundQos2.get(op.clientId)?.delete(op.packetId);
        return;
      case 'putRetained':
        this.#retained.set(op.message.topic, op.message);
        return;
      case 'deleteRetained':
        this.#retained.delete(op.topic);
        return;
      default: {
        const never: never = op;
        throw new Error(`unknown storage op ${String(never)}`);
      }
    }
  }
}
