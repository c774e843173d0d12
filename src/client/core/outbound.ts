/**
 * The sending side of the client session: the queue of waiting operations, the in-flight
 * window of packets awaiting acknowledgement, and the subscriptions the client holds.
 *
 * Ordering: one FIFO queue holds every operation that cannot go out yet (offline, or the window
 * is full); it drains head first, so messages leave in the order they were published. In-flight
 * packets live in a Map in first-send order, which is the order they are resent in
 * [MQTT-4.6.0-1].
 */
import type {
  Packet,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  UnsubscribePacket,
} from '../../codec/index.js';
import { ClientError } from '../errors.js';
import { Fifo } from './fifo.js';
import { PacketIdAllocator } from './packet-ids.js';
import type { Journal, StoredPublish } from './store.js';
import type { Command, PublishCommand, Sink } from './types.js';

/** [MQTT-4.8.0-1] an acknowledgement of the wrong kind for the packet in flight with its identifier. */
function mismatch(ack: Packet & { packetId: number }, sent: Packet): ClientError {
  const what = `${ack.cmd.toUpperCase()} ${ack.packetId} does not answer the ${sent.cmd.toUpperCase()} in flight with that identifier`;
  return new ClientError('PROTOCOL_ERROR', what, { rule: 'MQTT-4.8.0-1' });
}

const EMPTY = new Uint8Array(0);

/** [MQTT-2.3.1-2] no identifier is free: every one of the 65,535 belongs to an open flow. */
const idsExhausted = () => new ClientError('PACKET_IDS_EXHAUSTED', 'all packet identifiers are in use', { rule: 'MQTT-2.3.1-2' });

/** A packet awaiting its acknowledgement. `op` is undefined for the session's own resubscribe. */
interface Flight {
  op: number | undefined;
  packet: PublishPacket | SubscribePacket | UnsubscribePacket;
  /** `'pubrel'`: a QoS 2 PUBLISH whose PUBREC arrived; the PUBREL awaits PUBCOMP. */
  stage: 'sent' | 'pubrel';
  /** First-send order of a QoS 1/2 PUBLISH, as recorded in the store. */
  seq: number;
}

/**
 * The default in-flight window: 20, mosquitto's default `max_inflight_messages` (also Paho's).
 * It matches the window mosquitto itself uses towards each subscriber, so a publisher cannot
 * outrun a subscriber as fast as itself; a wider one fills mosquitto's per-subscriber queue
 * (`max_queued_messages`, default 1000), which then drops messages (see `ClientOptions.maxInflight`).
 */
export const DEFAULT_WINDOW = 20;

/**
 * The adaptive window (`maxInflight: 'auto'`). An MQTT 3.1.1 server does not say how many
 * unacknowledged messages it accepts, so the window starts at `DEFAULT_WINDOW` and every
 * PUBACK that arrives while the window is full widens it by one, up to `WINDOW_MAX`: a broker
 * that keeps acknowledging a full window gets a wider one (doubling per round trip, as TCP's
 * slow start does). A new connection starts again at 20. QoS 2 stays at 20 in flight whatever
 * the window: mosquitto answers PUBREC to QoS 2 PUBLISHes beyond its limit and then discards
 * them, a loss no acknowledgement reveals.
 */
export const WINDOW_MAX = 1000;

/** Limits of the sending side. */
export interface OutboundLimits {
  /** QoS 1/2 PUBLISH packets awaiting acknowledgement at once, or `'auto'`: the adaptive window. */
  maxInflight: number | 'auto';
  /** Operations waiting to be sent. */
  maxQueued: number;
}

/** Queue, in-flight window and subscription list of one client session. */
export class Outbound {
  readonly #limits: OutboundLimits;
  readonly #ids = new PacketIdAllocator();
  readonly #queue = new Fifo<Command>();
  readonly #inflight = new Map<number, Flight>();
  #publishesInFlight = 0;
  /** QoS 2 PUBLISH flows open (PUBLISH or PUBREL awaiting its answer). */
  #qos2InFlight = 0;
  /** How many QoS 1/2 PUBLISHes may await acknowledgement now (fixed, or adaptive: see `WINDOW_MAX`). */
  #window: number;
  /** Where QoS 1/2 flows are recorded (write-ahead, see store.ts), if the client has a store. */
  readonly #journal: Journal | undefined;
  #nextSeq = 1;
  /**
   * The transport's buffer is full. A QoS 0 PUBLISH needs no acknowledgement, so nothing else
   * bounds how many wait in that buffer: while it is full they queue here instead, where
   * `maxQueued` applies (QUEUE_FULL beyond it).
   */
  #blocked = false;
  /** Filters the server has granted, with the QoS asked for, for resubscribing. */
  readonly subscriptions = new Map<string, QoS>();

  constructor(limits: OutboundLimits, journal?: Journal) {
    this.#limits = limits;
    this.#journal = journal;
    this.#window = limits.maxInflight === 'auto' ? DEFAULT_WINDOW : limits.maxInflight;
  }

  /** The current in-flight window for QoS 1/2 PUBLISHes. */
  get window(): number {
    return this.#window;
  }

  /**
   * Takes back the flows a store kept from an earlier process, in first-send order: they are
   * in flight again, to be resent on the next connection [MQTT-4.4.0-1] (with their own
   * identifiers, so the server recognises them [MQTT-2.3.1-3]). Nobody awaits them now.
   */
  restore(flows: readonly StoredPublish[]): void {
    for (const f of flows) {
      if (!this.#ids.reserve(f.packetId)) continue;
      const packet: PublishPacket = { cmd: 'publish', topic: f.topic, payload: f.payload, qos: f.qos, retain: f.retain, dup: false, packetId: f.packetId };
      this.#inflight.set(f.packetId, { op: undefined, packet, stage: f.stage === 'pubrel' ? 'pubrel' : 'sent', seq: f.seq });
      this.#publishesInFlight++;
      if (f.qos === 2) this.#qos2InFlight++;
      this.#nextSeq = Math.max(this.#nextSeq, f.seq + 1);
    }
  }

  /** Nothing queued and nothing awaiting acknowledgement. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#inflight.size === 0;
  }

  /** Operations waiting to be sent. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Packets awaiting acknowledgement (publishes, subscribes, unsubscribes). */
  get inflight(): number {
    return this.#inflight.size;
  }

  /**
   * Accepts a command: sends it at once when `connected` and nothing waits ahead of it, else
   * queues it. A full queue refuses the command with `QUEUE_FULL` — never a silent drop.
   */
  submit(cmd: Command, connected: boolean, sink: Sink): void {
    if (connected && this.#queue.length === 0 && this.#canSend(cmd)) {
      this.#start(cmd, sink);
      return;
    }
    if (this.#queue.length >= this.#limits.maxQueued) {
      sink.event({ type: 'failed', op: cmd.op, error: new ClientError('QUEUE_FULL', `${this.#limits.maxQueued} operations are already queued`) });
      return;
    }
    this.#queue.push(cmd);
    if (connected) this.pump(sink);
  }

  /**
   * `submit` for a PUBLISH that can go out at once — nothing queued ahead of it, room in the
   * window, an identifier free: starts its flow and returns its packet, to be written now (the
   * caller checks that the session is connected). Otherwise returns undefined and changes
   * nothing; `submit` then queues or refuses the command.
   */
  startPublish(cmd: PublishCommand): PublishPacket | undefined {
    if (this.#queue.length > 0 || !this.#canSend(cmd)) return undefined;
    return this.#publish(cmd);
  }

  /** Records whether the transport's buffer is full; when it has room again, pump. */
  setBlocked(blocked: boolean, connected: boolean, sink: Sink): void {
    this.#blocked = blocked;
    if (!blocked && connected) this.pump(sink);
  }

  /** Removes a still-queued command; false when it was already sent (its flow must finish). */
  withdraw(op: number): boolean {
    return this.#queue.remove((c) => c.op === op);
  }

  /** Sends queued commands, oldest first, while the window has room. */
  pump(sink: Sink): void {
    for (let next = this.#queue.peek(); next !== undefined && this.#canSend(next); next = this.#queue.peek()) {
      this.#queue.shift();
      this.#start(next, sink);
    }
  }

  #canSend(cmd: Command): boolean {
    if (cmd.kind !== 'publish') return true;
    if (cmd.qos === 0) return !this.#blocked;
    if (this.#publishesInFlight >= this.#window) return false;
    return cmd.qos === 1 || this.#limits.maxInflight !== 'auto' || this.#qos2InFlight < DEFAULT_WINDOW;
  }

  /**
   * Starts the flow of a PUBLISH and returns its packet; undefined when every packet identifier
   * is in use.
   */
  #publish(cmd: PublishCommand): PublishPacket | undefined {
    if (cmd.qos === 0) {
      // [MQTT-4.3.1-1] QoS 0: DUP 0, no packet identifier, done once written.
      return { cmd: 'publish', topic: cmd.topic, payload: cmd.payload, qos: 0, retain: cmd.retain, dup: false };
    }
    // [MQTT-2.3.1-2] a fresh identifier not in use by any unacknowledged packet.
    const packetId = this.#ids.allocate();
    if (packetId === undefined) return undefined;
    // [MQTT-4.3.2-1] [MQTT-4.3.3-1] a new message goes out with DUP 0.
    const packet: PublishPacket = { cmd: 'publish', topic: cmd.topic, payload: cmd.payload, qos: cmd.qos, retain: cmd.retain, dup: false, packetId };
    this.#publishesInFlight++;
    if (cmd.qos === 2) this.#qos2InFlight++;
    const seq = this.#nextSeq++;
    this.#inflight.set(packetId, { op: cmd.op, packet, stage: 'sent', seq });
    this.#journal?.putOutgoing({ seq, packetId, topic: cmd.topic, payload: cmd.payload, qos: cmd.qos, retain: cmd.retain, stage: 'publish' });
    return packet;
  }

  #start(cmd: Command, sink: Sink): void {
    if (cmd.kind === 'publish') {
      const packet = this.#publish(cmd);
      if (packet === undefined) sink.event({ type: 'failed', op: cmd.op, error: idsExhausted() });
      else {
        sink.send(packet);
        if (cmd.qos === 0) sink.event({ type: 'done', op: cmd.op });
      }
      return;
    }
    // [MQTT-2.3.1-2] a fresh identifier not in use by any unacknowledged packet.
    const packetId = this.#ids.allocate();
    if (packetId === undefined) {
      sink.event({ type: 'failed', op: cmd.op, error: idsExhausted() });
      return;
    }
    let packet: SubscribePacket | UnsubscribePacket;
    switch (cmd.kind) {
      case 'subscribe':
        packet = { cmd: 'subscribe', packetId, subscriptions: cmd.subscriptions };
        break;
      case 'unsubscribe':
        packet = { cmd: 'unsubscribe', packetId, topicFilters: cmd.topicFilters };
        break;
    }
    this.#inflight.set(packetId, { op: cmd.op, packet, stage: 'sent', seq: 0 });
    sink.send(packet);
  }

  /**
   * A new connection was accepted: brings the server up to date.
   *
   * When the server does not have our session (`resumed` false: cleanSession, or it lost
   * it), first one SUBSCRIBE for every filter held, so replies to what follows are not missed.
   *
   * Then everything unacknowledged is resent, in original order, with original packet
   * identifiers [MQTT-4.4.0-1] [MQTT-4.6.0-1] [MQTT-2.3.1-3] — all at once, without waiting for
   * each ack. With the session resumed a PUBLISH is a redelivery and carries DUP 1
   * [MQTT-3.3.1-1]. With a new session it goes out again as a new message with DUP 0: the
   * publisher was never told it arrived, so "at least once" means sending it again (and QoS 2's
   * "exactly once" holds only within a persistent session). A PUBREL goes out either way: after
   * PUBREC the server owns the message, and a server that never saw the identifier still answers
   * PUBCOMP [MQTT-4.3.3-2], which completes the flow.
   */
  reconnected(resumed: boolean, sink: Sink): void {
    this.#window = this.#limits.maxInflight === 'auto' ? DEFAULT_WINDOW : this.#limits.maxInflight;
    const unacknowledged = [...this.#inflight];
    if (!resumed) this.#resubscribe(sink);
    for (const [packetId, flight] of unacknowledged) {
      if (flight.stage === 'pubrel') sink.send({ cmd: 'pubrel', packetId });
      else if (flight.packet.cmd === 'publish') sink.send({ ...flight.packet, dup: resumed });
      else sink.send(flight.packet);
    }
  }

  #resubscribe(sink: Sink): void {
    if (this.subscriptions.size === 0) return;
    const packetId = this.#ids.allocate();
    if (packetId === undefined) return;
    const subscriptions = [...this.subscriptions].map(([topicFilter, qos]) => ({ topicFilter, qos }));
    const packet: SubscribePacket = { cmd: 'subscribe', packetId, subscriptions };
    this.#inflight.set(packetId, { op: undefined, packet, stage: 'sent', seq: 0 });
    sink.send(packet);
  }

  /**
   * Handles an acknowledgement from the server. Returns a protocol error to close the
   * connection with, or undefined. An ack for an identifier not in flight is ignored: it can be
   * a late answer to a packet already completed before a reconnect.
   */
  acknowledge(packet: Packet, sink: Sink): ClientError | undefined {
    if (!('packetId' in packet) || packet.packetId === undefined) return undefined;
    const flight = this.#inflight.get(packet.packetId);
    if (!flight) return undefined;
    const sent = flight.packet;
    switch (packet.cmd) {
      case 'puback': // [MQTT-4.3.2-1] QoS 1 is complete
        if (sent.cmd !== 'publish' || sent.qos !== 1) return mismatch(packet, sent);
        // The adaptive window widens while the server keeps up with a full one.
        if (this.#limits.maxInflight === 'auto' && this.#publishesInFlight >= this.#window && this.#window < WINDOW_MAX) this.#window++;
        this.#complete(packet.packetId, flight, sink);
        return undefined;
      case 'pubrec': // [MQTT-4.3.3-1] QoS 2: PUBREC → PUBREL with the same id; never resend the PUBLISH now
        if (sent.cmd !== 'publish' || sent.qos !== 2) return mismatch(packet, sent);
        if (flight.stage !== 'pubrel') {
          // From now on only the identifier matters: the server owns the message.
          this.#journal?.putOutgoing({ seq: flight.seq, packetId: packet.packetId, topic: sent.topic, payload: EMPTY, qos: 2, retain: sent.retain, stage: 'pubrel' });
        }
        flight.stage = 'pubrel';
        // A PUBREC repeated by the server is answered again; PUBRELs follow PUBREC order [MQTT-4.6.0-4].
        sink.send({ cmd: 'pubrel', packetId: packet.packetId });
        return undefined;
      case 'pubcomp':
        if (sent.cmd !== 'publish' || flight.stage !== 'pubrel') return mismatch(packet, sent);
        this.#complete(packet.packetId, flight, sink);
        return undefined;
      case 'suback':
        if (sent.cmd !== 'subscribe') return mismatch(packet, sent);
        return this.#suback(packet, sent, flight, sink);
      case 'unsuback':
        if (sent.cmd !== 'unsubscribe') return mismatch(packet, sent);
        for (const f of sent.topicFilters) this.subscriptions.delete(f);
        this.#complete(packet.packetId, flight, sink);
        return undefined;
      default:
        return undefined;
    }
  }

  #suback(packet: SubackPacket, sent: SubscribePacket, flight: Flight, sink: Sink): ClientError | undefined {
    if (packet.returnCodes.length !== sent.subscriptions.length) {
      // [MQTT-3.9.3-1] one return code per requested filter, in order.
      return new ClientError('PROTOCOL_ERROR', `SUBACK ${packet.packetId} has ${packet.returnCodes.length} return codes for ${sent.subscriptions.length} filters`, { rule: 'MQTT-3.9.3-1' });
    }
    sent.subscriptions.forEach((s, i) => {
      if (packet.returnCodes[i] === 0x80) this.subscriptions.delete(s.topicFilter);
      else this.subscriptions.set(s.topicFilter, s.qos);
    });
    this.#inflight.delete(packet.packetId);
    this.#ids.release(packet.packetId);
    if (flight.op !== undefined) sink.event({ type: 'done', op: flight.op, returnCodes: packet.returnCodes });
    return undefined;
  }

  /** [MQTT-2.3.1-3] the identifier is free only once the final acknowledgement is processed. */
  #complete(packetId: number, flight: Flight, sink: Sink): void {
    this.#inflight.delete(packetId);
    this.#ids.release(packetId);
    if (flight.packet.cmd === 'publish') {
      this.#publishesInFlight--;
      if (flight.packet.qos === 2) this.#qos2InFlight--;
      this.#journal?.deleteOutgoing(packetId);
    }
    if (flight.op !== undefined) sink.event({ type: 'done', op: flight.op });
  }

  /**
   * Fails every queued and in-flight operation with `error` and forgets them all. A store keeps
   * the unacknowledged flows: a later process with the same store and clientId resumes them.
   */
  abandon(error: Error, sink: Sink): void {
    const ops: number[] = [];
    for (const [packetId, flight] of this.#inflight) {
      this.#ids.release(packetId);
      if (flight.op !== undefined) ops.push(flight.op);
    }
    for (const cmd of this.#queue.clear()) ops.push(cmd.op);
    this.#inflight.clear();
    this.#publishesInFlight = 0;
    this.#qos2InFlight = 0;
    for (const op of ops) sink.event({ type: 'failed', op, error });
  }
}
