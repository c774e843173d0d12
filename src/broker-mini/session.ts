/**
 * The server side of one MQTT connection, as a state machine with no I/O.
 *
 * Feed it what happened — a decoded packet (`receive`), a decoder error (`fail`), the passing of
 * time (`tick`), a message routed to this client (`deliver`), the broker's verdict on the CONNECT
 * (`accept` / `refuse`) — and it answers with a list of effects: packets to send, and requests the
 * broker carries out (authenticate a CONNECT, route a PUBLISH, apply a SUBSCRIBE, close).
 * Everything shared between clients (the router, the session store, authorisation) stays in the
 * broker; everything that belongs to one conversation (QoS flows, packet ids, the inflight window,
 * keep-alive) lives here.
 *
 * ```
 *  awaiting-connect --CONNECT--> connecting --accept--> connected --close effect--> closing --end--> closed
 *                                      \--refuse--> closing
 * ```
 */
import type {
  ConnectPacket,
  MqttError,
  Packet,
  PublishPacket,
  SubscribePacket,
  UnsubscribePacket,
  Will,
} from '../codec/index.js';
import { BrokerError } from './errors.js';
import { allocatePacketId, compactBytes, hasRoom, messageSize, type OutboundMessage, type QueueLimits, type SessionState } from './store.js';

/** Why a connection ended (the broker's `disconnect` event reports it). */
export type CloseReason =
  /** The client sent DISCONNECT: its will is discarded [MQTT-3.14.4-3]. */
  | 'disconnect'
  /** The network connection closed or failed without DISCONNECT. */
  | 'connection-lost'
  /** Malformed packet or protocol violation [MQTT-4.8.0-1]. */
  | 'protocol-error'
  /** Nothing received for 1.5 × keepAlive [MQTT-3.1.2-24]. */
  | 'keepalive-timeout'
  /** No CONNECT within `connectTimeout`. */
  | 'connect-timeout'
  /** The CONNECT was refused with a non-zero CONNACK [MQTT-3.2.2-5]. */
  | 'refused'
  /** Another connection took over this ClientId [MQTT-3.1.4-2]. */
  | 'takeover'
  /** A hook failed (or the broker hit a bug) while handling this client's packet [MQTT-4.8.0-2]. */
  | 'server-error'
  /** The client did not keep up: what it had not acknowledged hit `maxQueuedMessages` or `maxQueuedBytes`. */
  | 'queue-full'
  /** The broker is shutting down. */
  | 'broker-closing';

/** What the session asks its owner (the broker) to do, in order. */
export type SessionEffect =
  | { type: 'send'; packet: Packet }
  /** Authenticate this CONNECT and answer with `accept` or `refuse`. */
  | { type: 'connect'; packet: ConnectPacket }
  /** An application message from this client: authorise and route it (the ack follows as a `send`). */
  | { type: 'publish'; packet: PublishPacket }
  /** Authorise and apply the subscriptions, then send SUBACK and retained messages. */
  | { type: 'subscribe'; packet: SubscribePacket }
  /** Remove the subscriptions, then send UNSUBACK. */
  | { type: 'unsubscribe'; packet: UnsubscribePacket }
  /** Close the network connection; then call `end(reason)`. */
  | { type: 'close'; reason: CloseReason; error?: MqttError | BrokerError };

/** Limits of one session. */
export interface SessionOptions extends QueueLimits {
  /** Outbound QoS 1/2 deliveries awaiting acknowledgement at once (1..65535). */
  maxInflight: number;
  /** Milliseconds a connection may take to send its CONNECT. */
  connectTimeout: number;
  /** Payload-plus-topic bytes of QoS 1/2 deliveries in flight at once; 0 = no bound. One message always fits. */
  maxInflightBytes?: number;
}

/** Where a session is in its life (see the diagram in the module comment). */
export type SessionPhase = 'awaiting-connect' | 'connecting' | 'connected' | 'closing' | 'closed';

/** Builds the PUBLISH that carries `m` to the client. */
function publishPacket(m: OutboundMessage, packetId: number | undefined, dup: boolean): PublishPacket {
  const p: PublishPacket = { cmd: 'publish', topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, dup };
  if (packetId !== undefined) p.packetId = packetId;
  return p;
}

const send = (packet: Packet): SessionEffect => ({ type: 'send', packet });

/** The sans-IO state machine of one connection (see module comment). */
export class Session {
  readonly options: SessionOptions;
  /** When the connection opened (ms, same clock as `tick`). */
  readonly openedAt: number;
  /** When the last whole packet arrived (ms); keep-alive is measured from here. */
  lastReceivedAt: number;
  #phase: SessionPhase = 'awaiting-connect';
  #connect: ConnectPacket | undefined;
  #state: SessionState | undefined;
  #will: Will | undefined;
  #accepted = false;
  /** `messageSize` of the inflight PUBLISHes not yet acknowledged (for `maxInflightBytes`). */
  #inflightBytes = 0;

  constructor(options: SessionOptions, now: number) {
    this.options = options;
    this.openedAt = now;
    this.lastReceivedAt = now;
  }

  /** Current phase. */
  get phase(): SessionPhase {
    return this.#phase;
  }

  /** The CONNECT this session was opened with (once received). */
  get connectPacket(): ConnectPacket | undefined {
    return this.#connect;
  }

  /** The session state in use (once accepted). */
  get state(): SessionState | undefined {
    return this.#state;
  }

  /** The will that would be published if the connection ended now without DISCONNECT. */
  get will(): Will | undefined {
    return this.#will;
  }

  #close(reason: CloseReason, error?: MqttError | BrokerError): SessionEffect[] {
    this.#phase = 'closing';
    return [error ? { type: 'close', reason, error } : { type: 'close', reason }];
  }

  /** Handles one decoded packet from the client. */
  receive(packet: Packet, now: number): SessionEffect[] {
    this.lastReceivedAt = now;
    switch (this.#phase) {
      case 'closing':
      case 'closed':
        // [MQTT-3.1.4-5] after a refused CONNECT (or any close) the rest of the input is ignored.
        return [];
      case 'connecting':
        // The broker holds further packets until it has answered the CONNECT.
        throw new Error('Session.receive called while the CONNECT is being decided');
      case 'awaiting-connect':
        if (packet.cmd !== 'connect') {
          return this.#close('protocol-error', new BrokerError('CONNECT_EXPECTED', `first packet was ${packet.cmd.toUpperCase()}, not CONNECT`));
        }
        this.#phase = 'connecting';
        this.#connect = packet;
        return [{ type: 'connect', packet }];
      case 'connected':
        return this.#receiveConnected(packet);
    }
  }

  #receiveConnected(packet: Packet): SessionEffect[] {
    const state = this.#state!;
    switch (packet.cmd) {
      case 'connect':
        // [MQTT-3.1.0-2] a second CONNECT is a protocol violation; the will is published.
        return this.#close('protocol-error', new BrokerError('DUPLICATE_CONNECT', 'second CONNECT on one connection'));
      case 'publish':
        return this.#receivePublish(packet, state);
      case 'puback': {
        // QoS 1 delivery done (spec 4.3.2); an ack for an unknown id is ignored.
        const m = state.inflight.get(packet.packetId);
        if (!m || m.message.qos !== 1) return [];
        state.inflight.delete(packet.packetId);
        state.queuedBytes -= messageSize(m.message);
        this.#inflightBytes -= messageSize(m.message);
        return this.#drain();
      }
      case 'pubrec': {
        // QoS 2 step 2 (spec 4.3.3): discard the message, keep the id, answer PUBREL with the
        // same id [MQTT-2.3.1-6]. A repeated PUBREC gets the PUBREL again.
        const m = state.inflight.get(packet.packetId);
        if (!m || m.message.qos !== 2) return [];
        if (m.phase === 'publish') {
          // The message is the client's now: only its packet id is kept, and it stops counting.
          state.queuedBytes -= messageSize(m.message);
          this.#inflightBytes -= messageSize(m.message);
          m.phase = 'pubrel';
          m.message = { ...m.message, topic: '', payload: new Uint8Array(0) };
        }
        return [send({ cmd: 'pubrel', packetId: packet.packetId })];
      }
      case 'pubrel':
        // [MQTT-4.3.3-2] free the id: a later PUBLISH with it is a new message. PUBCOMP even for an
        // unknown id, so a client that lost track still completes the flow.
        state.inboundQos2.delete(packet.packetId);
        return [send({ cmd: 'pubcomp', packetId: packet.packetId })];
      case 'pubcomp': {
        const m = state.inflight.get(packet.packetId);
        if (!m || m.phase !== 'pubrel') return [];
        state.inflight.delete(packet.packetId);
        return this.#drain();
      }
      case 'subscribe':
        return [{ type: 'subscribe', packet }];
      case 'unsubscribe':
        return [{ type: 'unsubscribe', packet }];
      case 'pingreq':
        // [MQTT-3.12.4-1]
        return [send({ cmd: 'pingresp' })];
      case 'disconnect':
        // [MQTT-3.14.4-3] a DISCONNECT discards the will.
        this.#will = undefined;
        return this.#close('disconnect');
      case 'connack':
      case 'suback':
      case 'unsuback':
      case 'pingresp':
        // [MQTT-4.8.0-1] only a server sends these.
        return this.#close('protocol-error', new BrokerError('UNEXPECTED_PACKET', `${packet.cmd.toUpperCase()} from a client`));
      default: {
        const unreachable: never = packet;
        return unreachable;
      }
    }
  }

  #receivePublish(packet: PublishPacket, state: SessionState): SessionEffect[] {
    // [MQTT-3.3.4-1] answer as the QoS requires. The message is routed before it is acknowledged,
    // so nothing acknowledged can be lost in between.
    switch (packet.qos) {
      case 0:
        return [{ type: 'publish', packet }];
      case 1:
        // [MQTT-4.3.2-2] PUBACK with the same id [MQTT-2.3.1-6]; a later PUBLISH reusing it is new.
        return [{ type: 'publish', packet }, send({ cmd: 'puback', packetId: packet.packetId! })];
      case 2: {
        const id = packet.packetId!;
        const pubrec = send({ cmd: 'pubrec', packetId: id });
        // [MQTT-4.3.3-2] until PUBREL, the same id is the same message: acknowledge, don't deliver again.
        if (state.inboundQos2.has(id)) return [pubrec];
        state.inboundQos2.add(id);
        return [{ type: 'publish', packet }, pubrec];
      }
    }
  }

  /** A decoder error: close, or for a CONNECT the codec wants answered, CONNACK then close. */
  fail(error: MqttError): SessionEffect[] {
    if (this.#phase === 'closing' || this.#phase === 'closed') return [];
    if (this.#phase === 'awaiting-connect' && error.action === 'connack' && error.returnCode !== undefined) {
      // [MQTT-3.1.2-2] e.g. protocol level 3: CONNACK 0x01, then close [MQTT-3.2.2-4/5].
      const connack: Packet = { cmd: 'connack', sessionPresent: false, returnCode: error.returnCode as 1 };
      return [send(connack), ...this.#close('refused', error)];
    }
    // [MQTT-3.1.4-1] an invalid CONNECT is closed without CONNACK; any other malformed packet too.
    return this.#close('protocol-error', error);
  }

  /**
   * The broker accepted the CONNECT with `state` (fresh or resumed) [MQTT-3.1.4-3] [MQTT-3.1.4-4].
   * Sends CONNACK 0 — the first packet the server sends [MQTT-3.2.0-1] — then, for a resumed
   * session, every unacknowledged PUBLISH (DUP=1) and PUBREL with its original packet id, in the
   * original order [MQTT-4.4.0-1] [MQTT-4.6.0-1], then whatever was queued.
   */
  accept(state: SessionState, sessionPresent: boolean): SessionEffect[] {
    if (this.#phase !== 'connecting') return [];
    this.#phase = 'connected';
    this.#accepted = true;
    this.#state = state;
    // [MQTT-3.1.2-8] keep the will until the connection ends; with Will Flag 0 there is none [MQTT-3.1.2-12].
    const will = this.#connect!.will;
    // The will may wait for the whole connection: it must not pin the chunk its CONNECT came in.
    this.#will = will && { ...will, payload: compactBytes(will.payload) };
    const out: SessionEffect[] = [send({ cmd: 'connack', sessionPresent, returnCode: 0 })];
    this.#inflightBytes = 0;
    for (const m of state.inflight.values()) {
      if (m.phase === 'publish') this.#inflightBytes += messageSize(m.message);
      // [MQTT-3.3.1-1] a re-delivered PUBLISH carries DUP=1.
      out.push(send(m.phase === 'publish' ? publishPacket(m.message, m.packetId, true) : { cmd: 'pubrel', packetId: m.packetId }));
    }
    out.push(...this.#drain());
    return out;
  }

  /**
   * The broker refused the CONNECT: CONNACK with `returnCode` and Session Present 0
   * [MQTT-3.2.2-4], then close [MQTT-3.2.2-5]; nothing after it is processed [MQTT-3.1.4-5].
   */
  refuse(returnCode: 1 | 2 | 3 | 4 | 5): SessionEffect[] {
    if (this.#phase !== 'connecting') return [];
    return [send({ cmd: 'connack', sessionPresent: false, returnCode }), ...this.#close('refused')];
  }

  /**
   * Delivers a routed message to this client. QoS 0 goes straight out. QoS 1/2 take a fresh packet
   * id [MQTT-2.3.1-4] [MQTT-4.3.2-1] [MQTT-4.3.3-1] while the inflight window has room, else wait in
   * the queue behind earlier ones, so order is kept [MQTT-4.6.0-6]. A full queue — `maxQueuedMessages`
   * waiting, or `maxQueuedBytes` held in the queue and the window together — means the client is
   * not keeping up: it is disconnected rather than letting memory grow — except with
   * `onFull: 'drop'`, used for the retained messages a SUBSCRIBE brings: there may be more of them
   * than any queue holds, and a client must not be cut off just for subscribing, so the ones
   * that do not fit are dropped (and counted in `state.dropped`).
   */
  deliver(message: OutboundMessage, onFull: 'close' | 'drop' = 'close'): SessionEffect[] {
    if (this.#phase !== 'connected') return [];
    if (message.qos === 0) return [send(publishPacket(message, undefined, false))];
    const state = this.#state!;
    const size = messageSize(message);
    const direct = state.queue.length === 0 && this.#windowHasRoom(state, size);
    if (!hasRoom(state, size, this.options, !direct)) {
      // The message is not kept: what the session holds stays within its bounds, so a persistent
      // session survives the disconnection intact and bounded.
      state.dropped++;
      return onFull === 'drop' ? [] : this.#close('queue-full');
    }
    state.queuedBytes += size;
    if (direct) return [this.#sendNew(message, state)];
    state.queue.push(message);
    return [];
  }

  /** May one more delivery of `size` bytes enter the inflight window (`maxInflight`, `maxInflightBytes`)? */
  #windowHasRoom(state: SessionState, size: number): boolean {
    if (state.inflight.size >= this.options.maxInflight) return false;
    const maxBytes = this.options.maxInflightBytes ?? 0;
    return maxBytes === 0 || this.#inflightBytes === 0 || this.#inflightBytes + size <= maxBytes;
  }

  /** Moves `message` (already counted in `queuedBytes`) into the inflight window and sends it. */
  #sendNew(message: OutboundMessage, state: SessionState): SessionEffect {
    this.#inflightBytes += messageSize(message);
    const packetId = allocatePacketId(state);
    state.inflight.set(packetId, { packetId, phase: 'publish', message });
    // [MQTT-3.3.1-3] DUP is the server's own: 0 on a first delivery, whatever the publisher sent.
    return send(publishPacket(message, packetId, false));
  }

  /** Moves queued messages into the inflight window while it has room. */
  #drain(): SessionEffect[] {
    const state = this.#state!;
    const out: SessionEffect[] = [];
    while (state.queue.length > 0 && this.#windowHasRoom(state, messageSize(state.queue[0]))) {
      out.push(this.#sendNew(state.queue.shift()!, state));
    }
    return out;
  }

  /**
   * The passage of time. Closes a connection that sent no CONNECT within `connectTimeout`, or,
   * with a non-zero keepAlive, that sent nothing for 1.5 × keepAlive [MQTT-3.1.2-24].
   */
  tick(now: number): SessionEffect[] {
    switch (this.#phase) {
      case 'awaiting-connect':
      case 'connecting':
        return now - this.openedAt >= this.options.connectTimeout ? this.#close('connect-timeout') : [];
      case 'connected': {
        const keepAlive = this.#connect!.keepAlive;
        if (keepAlive > 0 && now - this.lastReceivedAt > keepAlive * 1500) return this.#close('keepalive-timeout');
        return [];
      }
      default:
        return [];
    }
  }

  /** Asks to close for a reason found outside the session (takeover, broker shutdown). */
  close(reason: CloseReason): SessionEffect[] {
    if (this.#phase === 'closing' || this.#phase === 'closed') return [];
    return this.#close(reason);
  }

  /**
   * The connection is gone. Returns the will to publish: there is one when an accepted connection
   * ends any way but DISCONNECT [MQTT-3.1.2-8]; it is handed out once, then forgotten [MQTT-3.1.2-10].
   * A broker shutdown publishes no wills.
   */
  end(reason: CloseReason): Will | undefined {
    this.#phase = 'closed';
    const will = this.#accepted && reason !== 'disconnect' && reason !== 'broker-closing' ? this.#will : undefined;
    this.#will = undefined;
    return will;
  }
}
