/**
 * Write-ahead for a client with a store: a packet leaves only after the store has committed every
 * change recorded before it (a PUBLISH after its flow is stored, a PUBREL after the flow moved to
 * PUBREL, a PUBREC after the QoS 2 identifier is stored, a PUBCOMP after it is forgotten). Packets
 * keep their order; a packet for a connection that closed meanwhile is dropped (the session
 * resends what needs resending on the next one).
 */
import type { Packet } from '../../codec/index.js';
import type { ClientStore } from './store.js';

/** Holds packets until the store has committed what they depend on. */
export class WriteAhead<L> {
  readonly #store: ClientStore;
  readonly #write: (link: L, packet: Packet) => void;
  readonly #fail: (error: Error) => void;
  #held: Array<[L, Packet]> = [];
  #draining: Promise<void> | undefined;

  /** `write` sends a packet once released; `fail` is told when a commit fails (the client must stop). */
  constructor(store: ClientStore, write: (link: L, packet: Packet) => void, fail: (error: Error) => void) {
    this.#store = store;
    this.#write = write;
    this.#fail = fail;
  }

  /** Holds `packet` when the store has changes not yet committed (or packets are held already); false: send it now. */
  offer(link: L, packet: Packet): boolean {
    if (this.#held.length === 0 && !this.#store.pending) return false;
    this.#held.push([link, packet]);
    this.#draining ??= this.#drain();
    return true;
  }

  /** Resolves when no packet is held. */
  idle(): Promise<void> {
    return this.#draining ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#held.length > 0) {
        // Every change these packets depend on was recorded before they were held.
        const batch = this.#held;
        this.#held = [];
        await this.#store.commit();
        for (const [link, packet] of batch) this.#write(link, packet);
      }
    } catch (error) {
      this.#held = [];
      this.#fail(error as Error); // what is caught here is an Error (Node's or ours)
    } finally {
      this.#draining = undefined;
    }
  }
}
