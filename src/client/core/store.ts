/**
 * The client's session store: what a client with `cleanSession: false` must remember across a
 * restart of its process for the QoS 1/2 flows to finish (spec 4.1, [MQTT-4.4.0-1]):
 * - outgoing QoS 1/2 PUBLISHes not yet acknowledged, in the order they were first sent,
 * - QoS 2 PUBLISHes whose PUBREC arrived: the PUBREL awaits PUBCOMP,
 * - incoming QoS 2 packet ids PUBREC'd and not yet released [MQTT-4.3.3-2].
 *
 * Write-ahead: the client records a change here while it handles an event, and the packets that
 * depend on it (the PUBLISH, the PUBREL, the PUBREC, the PUBCOMP) leave only once the change is
 * committed. So a crash at any moment leaves a store that a new process can resume from without
 * losing a message whose `publish()` resolved and without delivering a QoS 2 message twice.
 *
 * Types and the memory store only, no `node:` import; the durable store is
 * `openSqliteClientStore` (src/client/store-sqlite.ts).
 */
import type { QoS } from '../../codec/index.js';
import { GroupCommit } from '../../util/group-commit.js';

/** One outgoing QoS 1/2 flow not yet complete. */
export interface StoredPublish {
  /** First-send order: flows are resent in it [MQTT-4.6.0-1]. */
  readonly seq: number;
  readonly packetId: number;
  readonly topic: string;
  /** Empty once `stage` is `'pubrel'`: the message belongs to the server then. */
  readonly payload: Uint8Array;
  readonly qos: Exclude<QoS, 0>;
  readonly retain: boolean;
  /** `'publish'` until PUBACK / PUBREC; `'pubrel'` from PUBREC to PUBCOMP [MQTT-4.3.3-1]. */
  readonly stage: 'publish' | 'pubrel';
}

/** What a store holds for one clientId. */
export interface ClientStoreState {
  /** In `seq` order. */
  readonly outgoing: readonly StoredPublish[];
  readonly inboundQos2: readonly number[];
}

/**
 * A client's session store. The recording methods are synchronous and only add to the pending
 * batch; `commit()` writes it (one transaction for everything recorded in one event-loop turn)
 * and resolves when it is durable.
 */
export interface ClientStore {
  /**
   * Reads what is stored for `clientId` and binds the store to it; later changes concern that
   * clientId only. Called once, before the client's first connection.
   */
  open(clientId: string): Promise<ClientStoreState>;
  /** Creates or replaces the flow with `publish.packetId`. */
  putOutgoing(publish: StoredPublish): void;
  /** The flow with `packetId` is complete. */
  deleteOutgoing(packetId: number): void;
  putInboundQos2(packetId: number): void;
  deleteInboundQos2(packetId: number): void;
  /** Forgets everything of the clientId: a new session starts [MQTT-3.1.2-6]. */
  clear(): void;
  /** True while changes are recorded that no `commit()` has been asked for yet. */
  readonly pending: boolean;
  commit(): Promise<void>;
  /** Commits what is pending and releases the store's files. */
  close(): Promise<void>;
}

/** The recording methods of a `ClientStore`: what the session's parts write to. */
export type Journal = Pick<ClientStore, 'putOutgoing' | 'deleteOutgoing' | 'putInboundQos2' | 'deleteInboundQos2'>;

/** One recorded change of a `ClientStore`. */
export type ClientStoreOp =
  | { readonly kind: 'putOutgoing'; readonly publish: StoredPublish }
  | { readonly kind: 'deleteOutgoing'; readonly packetId: number }
  | { readonly kind: 'putInboundQos2'; readonly packetId: number }
  | { readonly kind: 'deleteInboundQos2'; readonly packetId: number }
  | { readonly kind: 'clear' };

/** The recording half shared by the client stores; a backend applies batches for `clientId`. */
export abstract class BatchedClientStore implements ClientStore {
  readonly #batches = new GroupCommit<ClientStoreOp>((ops) => this.writeBatch(this.#clientId!, ops)); // batches are written only after open() set the client id
  #clientId: string | undefined;
  #pending = false;

  /** Reads what is stored for `clientId`. */
  protected abstract read(clientId: string): Promise<ClientStoreState>;
  /** Applies `ops` for `clientId`, in order, as one atomic transaction, and makes it durable. */
  protected abstract writeBatch(clientId: string, ops: readonly ClientStoreOp[]): void | Promise<void>;
  /** Releases the backend's resources once everything is committed. */
  protected abstract release(): void | Promise<void>;

  async open(clientId: string): Promise<ClientStoreState> {
    const state = await this.read(clientId);
    this.#clientId = clientId;
    return state;
  }

  putOutgoing(publish: StoredPublish): void {
    this.#record({ kind: 'putOutgoing', publish });
  }
  deleteOutgoing(packetId: number): void {
    this.#record({ kind: 'deleteOutgoing', packetId });
  }
  putInboundQos2(packetId: number): void {
    this.#record({ kind: 'putInboundQos2', packetId });
  }
  deleteInboundQos2(packetId: number): void {
    this.#record({ kind: 'deleteInboundQos2', packetId });
  }
  clear(): void {
    this.#record({ kind: 'clear' });
  }

  get pending(): boolean {
    return this.#pending;
  }

  commit(): Promise<void> {
    this.#pending = false;
    return this.#batches.commit();
  }

  #closing: Promise<void> | undefined;
  close(): Promise<void> {
    this.#closing ??= this.#batches.close().finally(() => this.release());
    return this.#closing;
  }

  #record(op: ClientStoreOp): void {
    this.#batches.record(op);
    this.#pending = true;
  }
}

/**
 * The memory store. Nothing survives the process; the same instance handed to a new client with
 * the same clientId restores what was committed. `close()` commits and keeps it usable.
 */
export class MemoryClientStore extends BatchedClientStore {
  readonly #clients = new Map<string, { outgoing: Map<number, StoredPublish>; inboundQos2: Set<number> }>();

  #client(clientId: string) {
    let c = this.#clients.get(clientId);
    if (!c) this.#clients.set(clientId, (c = { outgoing: new Map(), inboundQos2: new Set() }));
    return c;
  }

  protected read(clientId: string): Promise<ClientStoreState> {
    const c = this.#client(clientId);
    return Promise.resolve({ outgoing: [...c.outgoing.values()].sort((a, b) => a.seq - b.seq), inboundQos2: [...c.inboundQos2] });
  }

  protected writeBatch(clientId: string, ops: readonly ClientStoreOp[]): void {
    const c = this.#client(clientId);
    for (const op of ops) {
      switch (op.kind) {
        case 'putOutgoing':
          c.outgoing.set(op.publish.packetId, op.publish);
          break;
        case 'deleteOutgoing':
          c.outgoing.delete(op.packetId);
          break;
        case 'putInboundQos2':
          c.inboundQos2.add(op.packetId);
          break;
        case 'deleteInboundQos2':
          c.inboundQos2.delete(op.packetId);
          break;
        case 'clear':
          c.outgoing.clear();
          c.inboundQos2.clear();
          break;
      }
    }
  }

  protected release(): void {}

  /** Commits; the store stays usable for the next client (memory has nothing to release). */
  override close(): Promise<void> {
    return this.commit();
  }
}
