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
import { protocolVersionOf, type ConnectPacket, type MqttError, type Packet, type ProtocolVersion, type PublishPacket, type SubscribePacket, type UnsubscribePacket, type Will } from '../../codec/index.js';
import { BrokerError } from './errors.js';
import { compactBytes } from './compact-bytes.js';
import type { DeliveryLimits, InflightMessage, OutboundMessage, SessionState } from './session-state.js';

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
  | 'broker-closing'
  /** Over the broker-wide `memoryBudget`, this connection held the most incomplete-packet bytes. */
  | 'memory-budget'
  /** A packet did not complete within `partialPacketTimeout` of its first byte. */
  | 'packet-timeout';

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
export interface SessionOptions extends DeliveryLimits {
  /** Milliseconds a connection may take to send its CONNECT. */
  connectTimeout: number;
}

/** Where a session is in its life (see the diagram in the module comment). */
export type SessionPhase = 'awaiting-connect' | 'connecting' | 'connected' | 'closing' | 'closed';

/**
 * May the client of this connection read a message published to `topic`? Asked once for every
 * message before it is written to the connection (see `Session.accept`).
 */
export type ReadCheck = (topic: string) => boolean;

/** Builds the PUBLISH that carries `m` to the client. */
function publishPacket(m: OutboundMessage, packetId: number | undefined, dup: boolean): PublishPacket {
  const p: PublishPacket = { cmd: 'publish', topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, dup };
  if (packetId !== undefined) p.packetId = packetId;
  return p;
}

const send = (packet: Packet): SessionEffect => ({ type: 'send', packet });

/** [MQTT-3.3.1-3] DUP is the server's own: 0 on a first delivery, whatever the publisher sent. */
const sendNew = (m: InflightMessage): SessionEffect => send(publishPacket(m.message, m.packetId, false));

/** The sans-IO state machine of one connection (see module comment). */
export class Session {
  readonly options: SessionOptions;
  /** When the connection opened (ms, same clock as `tick`). */
  readonly openedAt: number;
  /** When the last whole packet arrived (ms); keep-alive is measured from here. */
  lastReceivedAt: number;
  #phase: SessionPhase = 'awaiting-connect';
  /**
   * The CONNECT while the broker decides on it. Once accepted only the few fields below are kept:
   * the packet itself (its protocol name, password, will views into the chunk it came in) would
   * stay in memory for the whole life of an idle connection.
   */
  #connect: ConnectPacket | undefined;
  /** Set when the CONNECT is accepted: a session with a state is an accepted one. */
  #state: SessionState | undefined;
  #will: Will | undefined;
  #mayRead: ReadCheck | undefined;
  #keepAlive = 0;
  #username: string | undefined;
  #protocolVersion: ProtocolVersion = 4;

  constructor(options: SessionOptions, now: number) {
    this.options = options;
    this.openedAt = now;
    this.lastReceivedAt = now;
  }

  /** Current phase. */
  get phase(): SessionPhase {
    return this.#phase;
  }

  /** The CONNECT being decided (between `receive` of it and `accept` or `refuse`'s close). */
  get connectPacket(): ConnectPacket | undefined {
    return this.#connect;
  }

  /** The accepted CONNECT's keep-alive, seconds (0: none) [MQTT-3.1.2-24]. */
  get keepAlive(): number {
    return this.#keepAlive;
  }

  /** The accepted CONNECT's user name, if any. */
  get username(): string | undefined {
    return this.#username;
  }

  /** The accepted CONNECT's protocol version (4 for MQTT 3.1.1, 3 for MQTT 3.1). */
  get protocolVersion(): ProtocolVersion {
    return this.#protocolVersion;
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
    const state = this.#state!; // state 'connected' implies a session state
    switch (packet.cmd) {
      case 'connect':
        // [MQTT-3.1.0-2] a second CONNECT is a protocol violation; the will is published.
        return this.#close('protocol-error', new BrokerError('DUPLICATE_CONNECT', 'second CONNECT on one connection'));
      case 'publish':
        return this.#receivePublish(packet, state);
      case 'puback':
      case 'pubcomp':
      case 'pubrec':
        return this.#receiveAck(packet.cmd, packet.packetId, state);
      case 'pubrel':
        // [MQTT-4.3.3-2] free the id: a later PUBLISH with it is a new message. PUBCOMP even for an
        // unknown id, so a client that lost track still completes the flow.
        state.releasedQos2(packet.packetId);
        return [send({ cmd: 'pubcomp', packetId: packet.packetId })];
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

  /**
   * An acknowledgement of an outbound delivery (spec 4.3.2, 4.3.3). PUBACK and PUBCOMP end one and
   * free a window slot; PUBREC is answered with PUBREL with the same id [MQTT-2.3.1-6], again when
   * repeated, and — as mosquitto 2.0.11 does — also for an unknown id, so a client that lost track
   * still completes the flow; an unknown PUBACK or PUBCOMP is ignored (it may answer a delivery
   * discarded meanwhile). An ack that does not fit its delivery's flow closes the connection
   * [MQTT-4.8.0-1].
   */
  #receiveAck(cmd: 'puback' | 'pubrec' | 'pubcomp', packetId: number, state: SessionState): SessionEffect[] {
    const outcome = state.acknowledge(packetId, cmd);
    switch (outcome) {
      case 'done':
        return this.#drain();
      case 'released':
        return [send({ cmd: 'pubrel', packetId })];
      case 'unknown':
        return cmd === 'pubrec' ? [send({ cmd: 'pubrel', packetId })] : [];
      default: {
        const what = { PUBACK_FOR_QOS2: 'PUBACK for a QoS 2', QOS2_ACK_FOR_QOS1: 'QoS 2 acknowledgement for a QoS 1', PUBCOMP_BEFORE_PUBREC: 'PUBCOMP before PUBREC for a' }[outcome];
        return this.#close('protocol-error', new BrokerError(outcome, `${what} delivery (packet id ${packetId})`));
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
        const id = packet.packetId!; // QoS 2: the decoder guarantees a packet id
        const pubrec = send({ cmd: 'pubrec', packetId: id });
        // [MQTT-4.3.3-2] until PUBREL, the same id is the same message: acknowledge, don't deliver again.
        if (!state.receivedQos2(id)) return [pubrec];
        return [{ type: 'publish', packet }, pubrec];
      }
    }
  }

  /** A decoder error: close, or for a CONNECT the codec wants answered, CONNACK then close. */
  fail(error: MqttError): SessionEffect[] {
    if (this.#phase === 'closing' || this.#phase === 'closed') return [];
    if (this.#phase === 'awaiting-connect' && error.action === 'connack' && error.returnCode !== undefined) {
      // [MQTT-3.1.2-2] e.g. "MQTT" level 5: CONNACK 0x01; an MQTT 3.1 client id of 24 bytes: 0x02; then close.
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
   *
   * `mayRead` (none: everything may be read) is the authorisation of this connection: what the
   * session kept was routed under whoever held it before, so the queued and in-flight messages
   * it refuses are discarded here, and every later delivery is checked before it is queued or
   * written. Nothing reaches this connection that it may not read.
   *
   * `accepted` is the CONNECT as the broker accepted it, when that differs from the one received:
   * a listener may give the client another user name (its certificate's subject, say).
   */
  accept(state: SessionState, sessionPresent: boolean, mayRead?: ReadCheck, accepted?: ConnectPacket): SessionEffect[] {
    const connect = accepted ?? this.#connect;
    if (this.#phase !== 'connecting' || connect === undefined) return [];
    this.#phase = 'connected';
    this.#connect = undefined;
    this.#keepAlive = connect.keepAlive;
    this.#username = connect.username;
    this.#protocolVersion = protocolVersionOf(connect) ?? 4;
    this.#state = state;
    this.#mayRead = mayRead;
    if (mayRead) state.discardMessages(mayRead);
    // [MQTT-3.1.2-8] keep the will until the connection ends; with Will Flag 0 there is none [MQTT-3.1.2-12].
    const will = connect.will;
    // The will may wait for the whole connection: it must not pin the chunk its CONNECT came in.
    this.#will = will && { ...will, payload: compactBytes(will.payload) };
    // MQTT 3.1 has no Session Present flag (3.1 section 3.2: the byte is reserved).
    const present = sessionPresent && this.#protocolVersion !== 3;
    const out: SessionEffect[] = [send({ cmd: 'connack', sessionPresent: present, returnCode: 0 })];
    for (const m of state.inflight.values()) {
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
    if (this.#mayRead && !this.#mayRead(message.topic)) return [];
    if (message.qos === 0) return [send(publishPacket(message, undefined, false))];
    const taken = this.#state!.offer(message, this.options); // phase 'connected' (checked above): the session has its state
    // A message that does not fit is not kept: what the session holds stays within its bounds,
    // so a persistent session survives the disconnection intact and bounded.
    if (taken === 'full') return onFull === 'drop' ? [] : this.#close('queue-full');
    return taken === 'queued' ? [] : [sendNew(taken)];
  }

  /** Moves queued messages into the inflight window while it has room. */
  #drain(): SessionEffect[] {
    const out: SessionEffect[] = [];
    for (let m = this.#state!.nextToSend(this.options); m; m = this.#state!.nextToSend(this.options)) out.push(sendNew(m)); // called only for a connected session, which has a state
    return out;
  }

  /**
   * The passage of time. Closes a connection that sent no CONNECT within `connectTimeout`, or,
   * with a non-zero keepAlive, that sent nothing for 1.5 × keepAlive [MQTT-3.1.2-24].
   */
  tick(now: number): SessionEffect[] {
    if (!this.isDue(now)) return [];
    return this.#close(this.#phase === 'connected' ? 'keepalive-timeout' : 'connect-timeout');
  }

  /**
   * Whether `tick(now)` would close the connection: no CONNECT within `connectTimeout`, or nothing
   * received for 1.5 × keepAlive [MQTT-3.1.2-24]. The broker asks every connection on every tick,
   * so this allocates nothing: idle connections cost no garbage.
   */
  isDue(now: number): boolean {
    switch (this.#phase) {
      case 'awaiting-connect':
      case 'connecting':
        return now - this.openedAt >= this.options.connectTimeout;
      case 'connected': {
        const keepAlive = this.#keepAlive;
        return keepAlive > 0 && now - this.lastReceivedAt > keepAlive * 1500;
      }
      default:
        return false;
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
    const will = this.#state !== undefined && reason !== 'disconnect' && reason !== 'broker-closing' ? this.#will : undefined;
    this.#will = undefined;
    return will;
  }
}
