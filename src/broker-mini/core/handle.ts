/**
 * One connection as the broker sees it: a `Session` (the protocol), a `Link` (the transport) and
 * the small pipeline between them that keeps a client's packets in order while an asynchronous
 * hook (authentication, authorisation) is pending.
 *
 * Packets are processed one at a time, in arrival order. When applying an effect returns a
 * promise, the handle stops reading from the link, queues whatever else was already decoded, and
 * carries on where it stopped once the promise settles. Synchronous hooks never leave the fast path.
 */
import { describePacket } from '../../codec/index.js';
import type { MqttError, Packet, ProtocolVersion } from '../../codec/index.js';
import type { ClientInfo } from '../options.js';
import type { ConnectionPolicy } from '../listener-options.js';
import type { CloseReason, Session, SessionEffect } from './session.js';

/**
 * A byte transport, from the broker's side. `connection.ts` implements it over a Node Duplex
 * (a TCP socket, or a WebSocket stream); tests can implement it in memory.
 */
export interface Link {
  /** Encodes and writes `packets` in order. */
  send(packets: readonly Packet[]): void;
  /** Closes the transport: `'flush'` lets written bytes go out first, `'destroy'` drops them. */
  close(mode: 'flush' | 'destroy'): void;
  /** Stops delivering input (backpressure while a hook is pending). */
  pause(): void;
  /** Delivers input again. */
  resume(): void;
  /** The peer's address, when known. */
  readonly remoteAddress: string | undefined;
  /** The protocol versions its listener accepts (default: the broker's `protocolVersions`). */
  readonly protocolVersions?: readonly ProtocolVersion[] | undefined;
  /** The listener's rules for this connection (authentication, QoS bound, certificate identity), if it has any. */
  readonly policy?: ConnectionPolicy | undefined;
}

/** The broker side a handle reports to. */
export interface HandleOwner {
  /** Applies an effect other than `send`; a returned promise makes the handle wait for it. */
  apply(handle: ClientHandle, effect: Exclude<SessionEffect, { type: 'send' }>): void | Promise<void>;
  /** The transport closed (for any reason). */
  linkClosed(handle: ClientHandle): void;
  /** An effect's promise rejected: a broker bug or a hook that threw past its guard. */
  internalError(handle: ClientHandle, error: unknown): void;
  /**
   * What packets to `handle` must wait for before they are written: the commit of the session
   * changes they report (a packet id given to a delivery, a PUBREC received, an inbound QoS 2 id
   * released), or `undefined` when there is nothing to wait for.
   */
  beforeSend?(handle: ClientHandle): Promise<void> | undefined;
}

/** A connection attached to the broker: feed it packets, errors and the transport's close. */
export class ClientHandle {
  readonly session: Session;
  readonly link: Link;
  /** Set when the CONNECT is accepted. */
  info: ClientInfo | undefined;
  /** Set once the connection has ended and the broker has cleaned up after it. */
  ended = false;
  /** Why the broker closed it (when it did). */
  closeReason: CloseReason | undefined;
  readonly #owner: HandleOwner;
  readonly #packetLog: ((line: string) => void) | undefined;
  #inbox: Array<() => SessionEffect[]> = [];
  #busy = false;
  /** Packets waiting for `beforeSend`'s promise, in order; later packets queue behind them. */
  #held: Packet[] | undefined;
  /** Counts the promises waited for: only the latest one releases `#held`. */
  #holds = 0;

  constructor(owner: HandleOwner, link: Link, session: Session, packetLog?: (line: string) => void) {
    this.#owner = owner;
    this.link = link;
    this.session = session;
    this.#packetLog = packetLog;
  }

  /** A name for log lines. */
  get label(): string {
    return this.info?.clientId ?? this.session.connectPacket?.clientId ?? this.link.remoteAddress ?? 'unknown';
  }

  /** A decoded packet arrived. */
  receive(packet: Packet, now: number): void {
    if (this.ended) return;
    this.#packetLog?.(`${this.label} <- ${describePacket(packet)}`);
    this.#input(() => this.session.receive(packet, now));
  }

  /** The decoder refused the input. */
  fail(error: MqttError): void {
    if (this.ended) return;
    this.#input(() => this.session.fail(error));
  }

  /** The transport closed. */
  linkClosed(): void {
    this.#owner.linkClosed(this);
  }

  /**
   * Runs effects produced outside the input pipeline: deliveries routed from other clients,
   * timer ticks, the CONNECT verdict. These are synchronous (sends and closes).
   */
  run(effects: SessionEffect[]): void {
    this.#run(effects, 0);
  }

  #input(step: () => SessionEffect[]): void {
    if (this.#busy) this.#inbox.push(step);
    else this.#run(step(), 0);
  }

  /** Runs `effects` from index `from`; returns false when it stopped to wait for a promise. */
  #run(effects: SessionEffect[], from: number): boolean {
    let batch: Packet[] = [];
    for (let i = from; i < effects.length; i++) {
      const effect = effects[i]!; // i < length
      if (effect.type === 'send') {
        batch.push(effect.packet);
        continue;
      }
      // Earlier packets go out before anything the next effect causes, so order is kept.
      if (batch.length > 0) this.#flush(batch);
      batch = [];
      // eslint-disable-next-line prefer-spread -- HandleOwner's own apply(), not Function#apply
      const pending = this.#owner.apply(this, effect);
      if (pending !== undefined) {
        this.#busy = true;
        this.link.pause();
        pending.then(
          () => this.#continue(effects, i + 1),
          (e: unknown) => {
            this.#owner.internalError(this, e);
            this.#continue(effects, i + 1);
          },
        );
        return false;
      }
    }
    if (batch.length > 0) this.#flush(batch);
    return true;
  }

  #continue(effects: SessionEffect[], from: number): void {
    this.#busy = false;
    if (!this.#run(effects, from)) return;
    while (!this.#busy && this.#inbox.length > 0) {
      if (this.ended) {
        this.#inbox = [];
        break;
      }
      this.#run(this.#inbox.shift()!(), 0); // not empty: checked just before
    }
    if (!this.#busy && !this.ended) this.link.resume();
  }

  /**
   * Writes `packets`, or holds them (and everything after them, so order is kept) until what
   * they report is durable. A client must never see a packet id, a PUBREL or a PUBCOMP that a
   * crash could take back: after a restart the broker would send the same message under
   * another id, and a QoS 2 receiver would deliver it twice [MQTT-4.3.3-2]. Commits resolve in
   * order, so the latest promise settling means every earlier one has.
   */
  #flush(packets: Packet[]): void {
    if (this.ended) return;
    const barrier = this.#owner.beforeSend?.(this);
    if (barrier === undefined && this.#held === undefined) return this.#write(packets);
    (this.#held ??= []).push(...packets);
    if (barrier === undefined) return;
    const hold = ++this.#holds;
    barrier.then(
      () => {
        const held = this.#held;
        if (hold !== this.#holds || held === undefined) return;
        this.#held = undefined;
        this.#write(held);
      },
      (e: unknown) => this.#owner.internalError(this, e),
    );
  }

  #write(packets: Packet[]): void {
    if (this.ended) return;
    if (this.#packetLog) for (const p of packets) this.#packetLog(`${this.label} -> ${describePacket(p)}`);
    this.link.send(packets);
  }
}
