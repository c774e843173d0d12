/**
 * The client session as a sans-IO state machine.
 *
 * It never touches a socket or a timer. The caller feeds it what happens — a connection opened
 * or closed, a packet arrived, the application asked for something, time passed — and each call
 * returns a `Step`: the packets to write, in order, and the events to act on. `deadline()` says
 * when the next `tick(now)` is due. Everything here is therefore testable with plain objects.
 *
 * ```
 *  offline ──open()──▶ connecting ──CONNACK 0──▶ connected ──disconnect()──▶ disconnecting
 *     ▲                    │                         │                            │
 *     └──connectionClosed()┴─────────────────────────┘          connectionClosed()│
 *                                                                                 ▼
 *  (any state) ──close(error)──────────────────────────────────────────────────▶ closed
 * ```
 * Session state (unacknowledged packets, QoS 2 identifiers awaiting PUBREL, subscriptions)
 * outlives each network connection [MQTT-4.1.0-1]; only `close()` discards it.
 */
import { connectProtocol, type ConnackPacket, type ConnectPacket, type Packet, type ProtocolVersion, type PublishPacket } from '../../codec/index.js';
import { ClientError, ConnackError } from '../errors.js';
import { InboundFlows } from './inbound.js';
import { KeepAlive } from './keepalive.js';
import { DEFAULT_WINDOW, Outbound } from './outbound.js';
import type { ClientStoreState, Journal } from './store.js';
import type { Command, PublishCommand, SessionEvent, Sink, Step } from './types.js';

/** The output of a step that produced nothing: shared, and never written to. */
const NOTHING: never[] = [];
Object.freeze(NOTHING);

/** Settings of a session. Times in milliseconds except `keepAlive` (seconds, as on the wire). */
export interface SessionOptions extends Pick<ConnectPacket, 'clientId' | 'cleanSession' | 'keepAlive' | 'will' | 'username' | 'password'> {
  /** 4 for MQTT 3.1.1 (default), 3 for MQTT 3.1 (CONNECT "MQIsdp" level 3). */
  protocolVersion?: ProtocolVersion;
  /** QoS 1/2 publishes awaiting acknowledgement at once, or `'auto'` (default 20, see `ClientOptions.maxInflight`). */
  maxInflight?: number | 'auto';
  /** Operations waiting to be sent, while offline or behind a full window (default 1000). */
  maxQueued?: number;
  /** How long to wait for CONNACK (default 30 000; 0 waits forever). */
  connectTimeout?: number;
  /** How long to wait for PINGRESP (default: half of min(keepAlive, 30 s), at least 1 s). */
  pingTimeout?: number;
}

/** Where the session is in its life (see the diagram at the top of this file). */
export type SessionState = 'offline' | 'connecting' | 'connected' | 'disconnecting' | 'closed';

/** The sans-IO client session. */
export class ClientSession {
  readonly options: Readonly<SessionOptions>;
  #state: SessionState = 'offline';
  #sessionPresent = false;
  #connectDeadline: number | undefined;
  readonly #keepAlive: KeepAlive;
  readonly #inbound: InboundFlows;
  readonly #outbound: Outbound;
  // Output of the step in progress.
  #now = 0;
  // Output of the step in progress; a step that produces nothing allocates nothing.
  #packets: Packet[] = NOTHING;
  #events: SessionEvent[] = NOTHING;
  readonly #sink: Sink = {
    send: (packet) => this.#send(packet),
    event: (event) => this.#event(event),
  };

  /** `journal` records the QoS flows for a store (see store.ts); without it nothing is recorded. */
  constructor(options: SessionOptions, journal?: Journal) {
    if (options.clientId === '' && !options.cleanSession) {
      throw new ClientError('INVALID_OPTIONS', 'an empty clientId needs cleanSession true', { rule: 'MQTT-3.1.3-7' });
    }
    this.options = options;
    this.#keepAlive = new KeepAlive(options.keepAlive, options.pingTimeout);
    this.#inbound = new InboundFlows(journal);
    this.#outbound = new Outbound({ maxInflight: options.maxInflight ?? DEFAULT_WINDOW, maxQueued: options.maxQueued ?? 1000 }, journal);
  }

  /**
   * Resumes the flows a store kept from an earlier process with this clientId: unacknowledged
   * publishes (resent in order on the next connection) and incoming QoS 2 identifiers awaiting
   * PUBREL. Call it before the first `open()`.
   */
  restore(state: ClientStoreState): void {
    this.#outbound.restore(state.outgoing);
    this.#inbound.restore(state.inboundQos2);
  }

  /** The current state. */
  get state(): SessionState {
    return this.#state;
  }

  /** The last CONNACK's Session Present flag. */
  get sessionPresent(): boolean {
    return this.#sessionPresent;
  }

  /** True when nothing we send is queued or awaiting acknowledgement. */
  get idle(): boolean {
    return this.#outbound.idle;
  }

  /** Identifiers of incoming QoS 2 messages awaiting PUBREL. */
  awaitingRelease(): number[] {
    return this.#inbound.held();
  }

  /** Is the incoming QoS 2 message `packetId` awaiting PUBREL? */
  isAwaitingRelease(packetId: number): boolean {
    return this.#inbound.holds(packetId);
  }

  /** Counts for monitoring: queued operations, packets in flight, QoS 2 ids awaiting PUBREL. */
  get counts(): { queued: number; inflight: number; awaitingRelease: number } {
    return { queued: this.#outbound.queued, inflight: this.#outbound.inflight, awaitingRelease: this.#inbound.size };
  }

  /** How many QoS 1/2 publishes may await acknowledgement now (see `maxInflight`). */
  get window(): number {
    return this.#outbound.window;
  }

  /** Filters currently held, with the QoS requested for each. */
  get subscriptions(): ReadonlyMap<string, number> {
    return this.#outbound.subscriptions;
  }

  /** A network connection opened: the first packet on it is CONNECT [MQTT-3.1.0-1]. */
  open(now: number): Step {
    this.#begin(now);
    if (this.#state !== 'offline') return this.#finish();
    this.#state = 'connecting';
    this.#keepAlive.reset(now);
    this.#connectDeadline = this.options.connectTimeout === 0 ? undefined : now + (this.options.connectTimeout ?? 30_000);
    this.#send(this.#connectPacket());
    return this.#finish();
  }

  #connectPacket(): ConnectPacket {
    const o = this.options;
    const packet: ConnectPacket = {
      cmd: 'connect',
      ...connectProtocol(o.protocolVersion ?? 4),
      clientId: o.clientId,
      cleanSession: o.cleanSession,
      keepAlive: o.keepAlive,
    };
    if (o.will) packet.will = o.will;
    if (o.username !== undefined) packet.username = o.username;
    if (o.password !== undefined) packet.password = o.password;
    return packet;
  }

  /** A packet arrived from the server. */
  receive(packet: Packet, now: number): Step {
    this.#begin(now);
    if (this.#state === 'connecting' || this.#state === 'connected') {
      this.#keepAlive.received(now, packet.cmd === 'pingresp');
      const error = this.#state === 'connecting' ? this.#handshake(packet) : this.#dispatch(packet);
      if (error) this.#drop(error);
    }
    // In other states the connection is going away: [MQTT-3.14.4-2] nothing more is sent.
    return this.#finish();
  }

  #handshake(packet: Packet): Error | undefined {
    // [MQTT-3.2.0-1] the server's first packet must be CONNACK.
    if (packet.cmd !== 'connack') {
      return new ClientError('PROTOCOL_ERROR', `expected CONNACK, got ${packet.cmd.toUpperCase()}`, { rule: 'MQTT-3.2.0-1' });
    }
    if (packet.returnCode !== 0) return new ConnackError(packet.returnCode);
    this.#connected(packet);
    return undefined;
  }

  #connected(connack: ConnackPacket): void {
    this.#state = 'connected';
    this.#connectDeadline = undefined;
    // With cleanSession the server always starts afresh [MQTT-3.2.2-1]; without it, Session
    // Present 0 means the server has no state for us, whatever we expected (spec 3.2.2.2).
    const resumed = !this.options.cleanSession && connack.sessionPresent;
    this.#sessionPresent = connack.sessionPresent;
    this.#event({ type: 'connected', connack });
    // [MQTT-3.1.2-6] a new session: identifiers held from the old one mean nothing now.
    if (!resumed) this.#inbound.clear();
    this.#outbound.reconnected(resumed, this.#sink);
    this.#outbound.pump(this.#sink);
  }

  #dispatch(packet: Packet): Error | undefined {
    switch (packet.cmd) {
      case 'publish': {
        const { deliver, ack } = this.#inbound.publish(packet);
        if (ack) this.#send(ack);
        if (deliver) this.#event({ type: 'message', packet });
        return undefined;
      }
      case 'pubrel':
        this.#send(this.#inbound.pubrel(packet.packetId));
        return undefined;
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
      case 'suback':
      case 'unsuback': {
        const error = this.#outbound.acknowledge(packet, this.#sink);
        if (!error) this.#outbound.pump(this.#sink);
        return error;
      }
      case 'pingresp':
        return undefined;
      case 'connack':
      case 'connect':
      case 'subscribe':
      case 'unsubscribe':
      case 'pingreq':
      case 'disconnect':
        // [MQTT-4.8.0-1] a packet a server never sends to a client (or a second CONNACK).
        return new ClientError('PROTOCOL_ERROR', `unexpected ${packet.cmd.toUpperCase()} from the server`, { rule: 'MQTT-4.8.0-1' });
      default: {
        const never: never = packet;
        return new ClientError('PROTOCOL_ERROR', `unknown packet ${String(never)}`);
      }
    }
  }

  /** The session gives up on the current connection: the caller must close it. */
  #drop(error: Error): void {
    this.#state = 'offline';
    this.#connectDeadline = undefined;
    this.#event({ type: 'close', error });
  }

  /** The network connection closed (for any reason). Unacknowledged work stays for the next one. */
  connectionClosed(now: number): Step {
    this.#begin(now);
    if (this.#state === 'disconnecting') {
      this.#state = 'closed';
      this.#outbound.abandon(new ClientError('CLIENT_CLOSED', 'the client has ended'), this.#sink);
    } else if (this.#state !== 'closed') {
      this.#state = 'offline';
      this.#connectDeadline = undefined;
    }
    // The next connection starts with an empty buffer.
    this.#outbound.setBlocked(false, false, this.#sink);
    return this.#finish();
  }

  /** The application asks for a publish, subscribe or unsubscribe. */
  command(cmd: Command, now: number): Step {
    this.#begin(now);
    if (this.#state === 'closed' || this.#state === 'disconnecting') {
      this.#event({ type: 'failed', op: cmd.op, error: new ClientError('CLIENT_CLOSED', 'the client has ended') });
    } else {
      this.#outbound.submit(cmd, this.#state === 'connected', this.#sink);
    }
    return this.#finish();
  }

  /**
   * The transport's write buffer filled up (`blocked` true) or drained. While it is full, QoS 0
   * publishes wait in the bounded queue rather than in the transport (see `Outbound`).
   */
  transportBlocked(blocked: boolean, now: number): Step {
    this.#begin(now);
    this.#outbound.setBlocked(blocked, this.#state === 'connected', this.#sink);
    return this.#finish();
  }

  /**
   * The fast path of `command` for a PUBLISH: when it can go out at once (connected, nothing
   * queued ahead of it, room in the window), starts its flow and returns the packet to write
   * now. A QoS 0 publish is then done (no `done` event follows); a QoS 1/2 one reports `done` as
   * usual when acknowledged. Otherwise returns undefined and changes nothing: call `command`,
   * which queues or refuses it. Saves a `Step` per publish on the busiest path.
   */
  publishNow(cmd: PublishCommand, now: number): PublishPacket | undefined {
    if (this.#state !== 'connected') return undefined;
    const packet = this.#outbound.startPublish(cmd);
    if (packet !== undefined) this.#keepAlive.sent(now);
    return packet;
  }

  /**
   * Withdraws operation `op` if it has not been sent yet; returns whether it was. Once sent, a
   * QoS flow runs to its end regardless (the caller may stop waiting for it).
   */
  cancel(op: number): boolean {
    return this.#outbound.withdraw(op);
  }

  /** Time passed: connect timeout, keep-alive PINGREQ, PINGRESP timeout. */
  tick(now: number): Step {
    this.#begin(now);
    if (this.#state === 'connecting' && this.#connectDeadline !== undefined && now >= this.#connectDeadline) {
      this.#drop(new ClientError('CONNECT_TIMEOUT', `no CONNACK within ${this.options.connectTimeout ?? 30_000} ms`));
    } else if (this.#state === 'connected') {
      const action = this.#keepAlive.check(now);
      // [MQTT-3.1.2-23] nothing sent for Keep Alive: PINGREQ.
      if (action === 'ping') this.#packets = [{ cmd: 'pingreq' }];
      else if (action === 'dead') this.#drop(new ClientError('PING_TIMEOUT', 'no PINGRESP from the server in time'));
    }
    return this.#finish();
  }

  /** When `tick` is next needed, or undefined when no timer is needed. */
  deadline(): number | undefined {
    if (this.#state === 'connecting') return this.#connectDeadline;
    if (this.#state === 'connected') return this.#keepAlive.deadline();
    return undefined;
  }

  /**
   * Ends the session gracefully: DISCONNECT, after which nothing more is sent
   * [MQTT-3.14.4-2]; the caller closes the connection [MQTT-3.14.4-1]. Work still queued or in
   * flight fails with CLIENT_CLOSED (wait for `idle` first to avoid that).
   */
  disconnect(now: number): Step {
    this.#begin(now);
    if (this.#state === 'connected') {
      this.#send({ cmd: 'disconnect' });
      this.#state = 'disconnecting';
    } else if (this.#state !== 'closed') {
      this.#state = this.#state === 'disconnecting' ? 'disconnecting' : 'closed';
    }
    this.#outbound.abandon(new ClientError('CLIENT_CLOSED', 'the client has ended'), this.#sink);
    return this.#finish();
  }

  /** The client is finished: every pending operation fails with `error`. */
  close(error: Error, now: number): Step {
    this.#begin(now);
    this.#state = 'closed';
    this.#connectDeadline = undefined;
    this.#outbound.abandon(error, this.#sink);
    return this.#finish();
  }

  #begin(now: number): void {
    this.#now = now;
    this.#packets = NOTHING;
    this.#events = NOTHING;
  }

  #send(packet: Packet): void {
    if (this.#packets === NOTHING) this.#packets = [packet];
    else this.#packets.push(packet);
    this.#keepAlive.sent(this.#now);
  }

  #event(event: SessionEvent): void {
    if (this.#events === NOTHING) this.#events = [event];
    else this.#events.push(event);
  }

  #finish(): Step {
    return { packets: this.#packets, events: this.#events };
  }
}
