/**
 * Packet identifiers for the packets a client originates: SUBSCRIBE, UNSUBSCRIBE and
 * PUBLISH with QoS > 0 (spec 2.3.1).
 */

/** The largest packet identifier (a two-byte integer; 0 is not allowed). */
export const MAX_PACKET_ID = 65535;

/**
 * Hands out identifiers that are not currently in use [MQTT-2.3.1-2] and takes them back only
 * when the caller says the flow is complete [MQTT-2.3.1-3]. Allocation walks forward from the
 * last identifier given out, so a freed identifier is not reused at once: that keeps logs
 * readable and makes a late duplicate acknowledgement from a slow server harmless.
 */
export class PacketIdAllocator {
  /** Bit `id` set: identifier `id` is in use. A bitset: no hashing on the per-message path. */
  readonly #inUse = new Uint32Array((MAX_PACKET_ID + 1 + 31) >>> 5);
  #size = 0;
  #last = 0;

  /** A currently unused identifier, now marked in use; `undefined` when all 65,535 are taken. */
  allocate(): number | undefined {
    if (this.#size >= MAX_PACKET_ID) return undefined;
    let id = this.#last;
    do {
      id = id >= MAX_PACKET_ID ? 1 : id + 1;
    } while (this.has(id));
    this.#inUse[id >>> 5]! |= 1 << (id & 31); // id <= MAX_PACKET_ID: its word is in the bitset
    this.#size++;
    this.#last = id;
    return id;
  }

  /** Marks `id` in use (a flow restored from a store); false when it already was. */
  reserve(id: number): boolean {
    if (this.has(id) || id !== (id | 0) || id < 1 || id > MAX_PACKET_ID) return false;
    this.#inUse[id >>> 5]! |= 1 << (id & 31); // id checked in range above
    this.#size++;
    return true;
  }

  /** Makes `id` available again; call only after the flow's final acknowledgement. */
  release(id: number): void {
    if (!this.has(id)) return;
    this.#inUse[id >>> 5]! &= ~(1 << (id & 31)); // has(id): id is in range
    this.#size--;
  }

  /** Is `id` in use? */
  has(id: number): boolean {
    return id === (id | 0) && id >= 1 && id <= MAX_PACKET_ID && (this.#inUse[id >>> 5]! & (1 << (id & 31))) !== 0; // range checked first
  }

  /** How many identifiers are in use. */
  get size(): number {
    return this.#size;
  }
}
