/**
 * One connection as the broker sees it: a `Session` (the protocol), a `Link` (the transport) and
 * the small pipeline between them that keeps a client's packets in order while an asynchronous
 * hook (authentication, authorisation) is pending.
 *
 * Packets are processed one at a time, in arrival order. When applying an effect returns a
 * promise, the handle stops reading from the link, queues whatever else was already decoded, and
 * carries on where it stopped once the promise settles. Synchronous hooks never leave the fast path.
 *
 * A PUBLISH whose acknowledgement waits for storage does not stop the pipeline: the broker calls
 * `holdSendsUntil(commit)`, the PUBACK / PUBREC (and every packet after it, so order is kept
 * [MQTT-4.6.0-2]) is held until the commit resolves, and the next PUBLISH is routed meanwhile. So
 * a publisher's messages share commits instead of waiting for one each. Any other packet waits
 * for the held ones to go out first, as if the PUBLISHes had been handled one by one.
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

/**
 * Packets held for storage beyond which the handle stops reading: a publisher that never waits
 * for its PUBACKs cannot make the broker hold an unbounded number of them.
 */
const MAX_HELD = 1024;

/** Packets held until one commit resolves (see `ClientHandle.#flush`). */
interface HeldSegment {
  readonly packets: Packet[];
  /** Its commit resolved; it goes out once every segment before it has. */
  durable: boolean;
  /** Resolves the handle's `#acksOut` when this segment holds acknowledgements. */
  out: (() => void) | undefined;
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
  /** Built the first time it is asked for (see `info`). */
  #info: ClientInfo | undefined;
  /** Set once the connection has ended and the broker has cleaned up after it. */
  ended = false;
  /** Why the broker closed it (when it did). */
  closeReason: CloseReason | undefined;
  readonly #owner: HandleOwner;
  readonly #packetLog: ((line: string) => void) | undefined;
  /** Input that arrived while an effect was pending; created then (an idle connection has none). */
  #inbox: Array<() => SessionEffect[]> | undefined;
  #busy = false;
  /**
   * Packets waiting for storage, in send order: each segment waits for its commit and goes out
   * once every segment before it has. Commits resolve in order, so the acknowledgements of one
   * commit leave as soon as it is durable, while later ones wait for theirs. Created on first use.
   */
  #segments: HeldSegment[] | undefined;
  /** Packets in `#segments`. */
  #heldCount = 0;
  /** Settles once the acknowledgements held by `holdSendsUntil` are out; undefined when none are held. */
  #acksOut: Promise<void> | undefined;
  /** What the next packets sent must wait for, set by `holdSendsUntil`. */
  #hold: Promise<void> | undefined;

  constructor(owner: HandleOwner, link: Link, session: Session, packetLog?: (line: string) => void) {
    this.#owner = owner;
    this.link = link;
    this.session = session;
    this.#packetLog = packetLog;
  }

  /**
   * What the broker's hooks and events are told about this client, once its CONNECT is accepted.
   * Built on first use and then kept, so every hook and event sees the same object: a client that
   * only sits connected (most of a large fleet) never needs one.
   */
  get info(): ClientInfo | undefined {
    if (this.#info !== undefined) return this.#info;
    const { session } = this;
    const state = session.state;
    if (state === undefined) return undefined;
    this.#info = {
      clientId: state.clientId,
      username: session.username,
      cleanSession: !state.persistent,
      keepAlive: session.keepAlive,
      remoteAddress: this.link.remoteAddress,
      protocolVersion: session.protocolVersion,
    };
    return this.#info;
  }

  /** A name for log lines. */
  get label(): string {
    return this.session.state?.clientId ?? this.session.connectPacket?.clientId ?? this.link.remoteAddress ?? 'unknown';
  }

  /** A decoded packet arrived. */
  receive(packet: Packet, now: number): void {
    if (this.ended) return;
    this.#packetLog?.(`${this.label} <- ${describePacket(packet)}`);
    // The common case, nothing pending: straight in, without a closure per packet.
    if (!this.#busy) this.#run(this.session.receive(packet, now), 0);
    else (this.#inbox ??= []).push(() => this.session.receive(packet, now));
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

  /**
   * The packets sent from now on (the acknowledgement of the PUBLISH being applied, and all after
   * it) go out only once `durable` resolves; input keeps flowing meanwhile (see module comment).
   */
  holdSendsUntil(durable: Promise<void>): void {
    // A failure reaches the owner through the packets' barrier (`#flush`); this only keeps a
    // hold that no packet used from being an unhandled rejection.
    durable.catch(() => undefined);
    this.#hold = durable;
  }

  #input(step: () => SessionEffect[]): void {
    if (this.#busy) (this.#inbox ??= []).push(step);
    else this.#run(step(), 0);
  }

  /** Runs `effects` from index `from`; returns false when it stopped to wait for a promise. */
  #run(effects: SessionEffect[], from: number): boolean {
    // Sends are gathered into one batch until another effect comes; the batch array is only made
    // when there is something to send (a QoS 0 PUBLISH in, say, produces no send at all).
    let batch: Packet[] | undefined;
    for (let i = from; i < effects.length; i++) {
      const effect = effects[i]!; // i < length
      if (effect.type === 'send') {
        if (batch === undefined) batch = [effect.packet];
        else batch.push(effect.packet);
        continue;
      }
      // Earlier packets go out before anything the next effect causes, so order is kept.
      if (batch !== undefined) this.#flush(batch);
      batch = undefined;
      // Only a PUBLISH may overtake acknowledgements still held for storage; anything else (a
      // SUBSCRIBE, a DISCONNECT) is applied once they are out, as if the pipeline had waited.
      const acksOut = effect.type === 'publish' ? undefined : this.#acksOut;
      // eslint-disable-next-line prefer-spread -- HandleOwner's own apply(), not Function#apply
      const pending = acksOut ?? this.#owner.apply(this, effect);
      const next = acksOut === undefined ? i + 1 : i;
      if (pending !== undefined) {
        this.#busy = true;
        this.link.pause();
        pending.then(
          () => this.#continue(effects, next),
          (e: unknown) => {
            this.#owner.internalError(this, e);
            this.#continue(effects, next);
          },
        );
        return false;
      }
    }
    if (batch !== undefined) this.#flush(batch);
    if (this.#heldCount >= MAX_HELD) this.link.pause();
    return true;
  }

  #continue(effects: SessionEffect[], from: number): void {
    this.#busy = false;
    if (!this.#run(effects, from)) return;
    while (!this.#busy && this.#inbox !== undefined && this.#inbox.length > 0) {
      if (this.ended) {
        this.#inbox = undefined;
        break;
      }
      this.#run(this.#inbox.shift()!(), 0); // not empty: checked just before
    }
    // Emptied: the connection goes back to costing no array.
    if (this.#inbox?.length === 0) this.#inbox = undefined;
    this.#resumeInput();
  }

  /** Reads input again unless an effect is pending or too many packets are held. */
  #resumeInput(): void {
    if (!this.#busy && !this.ended && this.#heldCount < MAX_HELD) this.link.resume();
  }

  /**
   * Writes `packets`, or holds them (and everything after them, so order is kept) until what
   * they report is durable. A client must never see a packet id, a PUBREL or a PUBCOMP that a
   * crash could take back: after a restart the broker would send the same message under
   * another id, and a QoS 2 receiver would deliver it twice [MQTT-4.3.3-2].
   */
  #flush(packets: Packet[]): void {
    if (this.ended) return;
    // beforeSend's commit, when there is one, was asked for later, so it covers `#hold`'s too.
    const acks = this.#hold !== undefined;
    const barrier = this.#owner.beforeSend?.(this) ?? this.#hold;
    this.#hold = undefined;
    const segments = this.#segments;
    const last = segments?.[segments.length - 1];
    if (barrier === undefined && last === undefined) return this.#write(packets);
    this.#heldCount += packets.length;
    // Nothing new to wait for: they leave with the packets held before them.
    if (barrier === undefined) return void last?.packets.push(...packets);
    const segment: HeldSegment = { packets: [...packets], durable: false, out: undefined };
    (this.#segments ??= []).push(segment);
    if (acks) {
      const acksOut = new Promise<void>((resolve) => (segment.out = resolve)).then(() => {
        if (this.#acksOut === acksOut) this.#acksOut = undefined;
      });
      this.#acksOut = acksOut;
    }
    barrier.then(
      () => {
        segment.durable = true;
        this.#release();
      },
      (e: unknown) => {
        // The connection is closed without these packets; whatever waits for them goes on.
        this.#owner.internalError(this, e);
        segment.out?.();
      },
    );
  }

  /** Writes the held segments whose commits resolved, oldest first, up to the first still waiting. */
  #release(): void {
    const out: Packet[] = [];
    const written: HeldSegment[] = [];
    while (this.#segments?.[0]?.durable === true) {
      const segment = this.#segments.shift();
      if (segment === undefined) break;
      out.push(...segment.packets);
      written.push(segment);
    }
    if (out.length === 0) return;
    this.#heldCount -= out.length;
    this.#write(out);
    for (const segment of written) segment.out?.();
    this.#resumeInput();
  }

  #write(packets: Packet[]): void {
    if (this.ended) return;
    if (this.#packetLog) for (const p of packets) this.#packetLog(`${this.label} -> ${describePacket(p)}`);
    this.link.send(packets);
  }
}
