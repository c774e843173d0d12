/**
 * The vocabulary of the sans-IO client session: commands in, packets and events out.
 */
import type { ConnackPacket, Packet, PublishPacket, QoS, SubackReturnCode, Subscription } from '../../codec/index.js';

/**
 * An operation the application asks for. `op` is the caller's handle: the session reports the
 * outcome as a `done` or `failed` event carrying the same number.
 */
export type Command =
  | { kind: 'publish'; op: number; topic: string; payload: Uint8Array; qos: QoS; retain: boolean }
  | { kind: 'subscribe'; op: number; subscriptions: Subscription[] }
  | { kind: 'unsubscribe'; op: number; topicFilters: string[] };

/** A publish command. */
export type PublishCommand = Extract<Command, { kind: 'publish' }>;

/** Something the session reports to its caller. */
export type SessionEvent =
  /** CONNACK with return code 0: the connection is usable. */
  | { type: 'connected'; connack: ConnackPacket }
  /** An application message to hand to the application (already acknowledged as needed). */
  | { type: 'message'; packet: PublishPacket }
  /** Operation `op` completed; a subscribe reports the SUBACK return codes. */
  | { type: 'done'; op: number; returnCodes?: SubackReturnCode[] }
  /** Operation `op` failed and will not be retried. */
  | { type: 'failed'; op: number; error: Error }
  /**
   * The caller must close the network connection: a refused CONNACK (`ConnackError`), a
   * protocol violation, or a timeout. The session already considers it gone.
   */
  | { type: 'close'; error: Error };

/** The result of one call into the session: packets to write, in order, then events. */
export interface Step {
  packets: Packet[];
  events: SessionEvent[];
}

/** Where the session's parts put their output during one step. */
export interface Sink {
  send(packet: Packet): void;
  event(event: SessionEvent): void;
}
