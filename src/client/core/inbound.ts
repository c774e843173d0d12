/**
 * The receiving side of the QoS flows (spec 4.3): which acknowledgement answers an incoming
 * PUBLISH or PUBREL, and whether the message goes to the application.
 */
import type { PubackPacket, PubcompPacket, PublishPacket, PubrecPacket } from '../../codec/index.js';
import type { Journal } from './store.js';

/** What to do with one incoming PUBLISH. */
export interface InboundDecision {
  /** Hand the message to the application? */
  deliver: boolean;
  /** The acknowledgement to send, if the QoS needs one. */
  ack: PubackPacket | PubrecPacket | undefined;
}

/**
 * Receiver state for QoS 2: the identifiers PUBREC'd and not yet released.
 *
 * This client delivers a QoS 2 message when its PUBLISH first arrives and remembers the packet
 * identifier until PUBREL (the spec's "Method B", figure 4.3). A resent PUBLISH with a
 * remembered identifier is acknowledged again but not delivered again [MQTT-4.3.3-2].
 * The set is session state: it survives a reconnect that resumes the session, and is
 * cleared when the server starts a new one.
 */
export class InboundFlows {
  #awaitingRelease = new Set<number>();
  /** Where held identifiers are recorded (write-ahead, see store.ts), if the client has a store. */
  readonly #journal: Journal | undefined;

  constructor(journal?: Journal) {
    this.#journal = journal;
  }

  /** Takes back the identifiers a store kept from an earlier process. */
  restore(packetIds: readonly number[]): void {
    for (const id of packetIds) this.#awaitingRelease.add(id);
  }

  /**
   * Decides delivery and acknowledgement for `packet`. Every PUBLISH is acknowledged per its
   * QoS, whatever the application later does with it [MQTT-4.5.0-2] [MQTT-3.3.4-1]; the ack
   * echoes the PUBLISH's packet identifier [MQTT-2.3.1-6]. Acks are produced as packets arrive,
   * so they leave in arrival order [MQTT-4.6.0-2] [MQTT-4.6.0-3].
   */
  publish(packet: PublishPacket): InboundDecision {
    const packetId = packet.packetId ?? 0;
    switch (packet.qos) {
      case 0:
        return { deliver: true, ack: undefined };
      case 1:
        // [MQTT-4.3.2-2] PUBACK after taking ownership; a later PUBLISH with this id is a new message.
        return { deliver: true, ack: { cmd: 'puback', packetId } };
      case 2: {
        // [MQTT-4.3.3-2] until PUBREL, a PUBLISH with the same id is PUBREC'd, not redelivered.
        const duplicate = this.#awaitingRelease.has(packetId);
        if (!duplicate) {
          this.#awaitingRelease.add(packetId);
          this.#journal?.putInboundQos2(packetId);
        }
        return { deliver: !duplicate, ack: { cmd: 'pubrec', packetId } };
      }
    }
  }

  /**
   * Answers a PUBREL: always a PUBCOMP with the same identifier [MQTT-4.3.3-2], even for an
   * identifier not held (a PUBREL resent after our PUBCOMP was lost). From now on the
   * identifier means a new message.
   */
  pubrel(packetId: number): PubcompPacket {
    if (this.#awaitingRelease.delete(packetId)) this.#journal?.deleteInboundQos2(packetId);
    return { cmd: 'pubcomp', packetId };
  }

  /** The server started a new session: forget every held identifier [MQTT-3.1.2-6]. */
  clear(): void {
    for (const id of this.#awaitingRelease) this.#journal?.deleteInboundQos2(id);
    this.#awaitingRelease.clear();
  }

  /** The identifiers waiting for PUBREL. */
  held(): number[] {
    return [...this.#awaitingRelease];
  }

  /** Is `packetId` waiting for PUBREL? */
  holds(packetId: number): boolean {
    return this.#awaitingRelease.has(packetId);
  }

  /** How many QoS 2 identifiers wait for PUBREL. */
  get size(): number {
    return this.#awaitingRelease.size;
  }
}
