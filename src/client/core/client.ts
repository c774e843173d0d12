/**
 * `MqttClient`: the promise-based client. It drives the sans-IO `ClientSession` with a real
 * transport and real timers; every protocol decision is the session's. Its own life — offline,
 * connecting, connected, waiting to reconnect, closing, ended — is the state machine of
 * `lifecycle.ts`, held in one field. It imports no `node:` module — the transport is whatever
 * factory it is given.
 */
import type { Packet, Subscription } from '../../codec/index.js';
import { TypedEmitter } from '../../util/emitter.js';
import { ClientError } from '../errors.js';
import type { Transport, TransportFactory } from '../transport.js';
import {
  checkCallOptions,
  invalidArgument,
  preparePublish,
  prepareSubscriptions,
  prepareUnsubscribe,
  surfaceError,
  toGranted,
  type ClientEvents,
  type EndOptions,
  type Granted,
  type PublishOptions,
  type SubscribeOptions,
  type SubscribeRequest,
} from './api.js';
import { Connector } from './connector.js';
import { MessageDispatcher, type MessageHandler } from './dispatch.js';
import { checkEnding, closeAfterDisconnect, waitForWork, workDone, type EndRequest } from './ending.js';
import { ENDED, handshakeOf, linkOf, OFFLINE, transition, type Handshake, type ShellState } from './lifecycle.js';
import { Link } from './link.js';
import { abortedError, openStore } from './open.js';
import { toMessage } from './message.js';
import type { MessageStream, MessagesOptions } from './message-stream.js';
import type { ResolvedOptions } from './options.js';
import { PendingOps, type OpResult } from './pending.js';
import { ClientSession } from './session.js';
import { DeadlineTimer, TurnClock } from './timer.js';
import type { Command, PublishCommand, SessionEvent, Step } from './types.js';
import { WriteAhead } from './write-ahead.js';

const NO_OPTIONS: PublishOptions = {};

const closedError = () => new ClientError('CLIENT_CLOSED', 'the client has ended');

/** A connected MQTT 3.1.1 client. Create one with `connect()`. */
export class MqttClient extends TypedEmitter<ClientEvents> {
  readonly #config: ResolvedOptions;
  readonly #session: ClientSession;
  readonly #dispatcher = new MessageDispatcher();
  readonly #ops = new PendingOps();
  /** With a store: packets wait until the changes they depend on are committed. */
  readonly #writeAhead: WriteAhead<Link> | undefined;
  #nextOp = 1;
  /** Where the client is; changed only by `#enter`. */
  #state: ShellState = OFFLINE;
  /** `end()` in progress (it is not a state: the connection lives on while work finishes). */
  #ending: EndRequest | undefined;
  /** Fires at the session's next deadline (connect timeout, keep-alive). */
  readonly #ticker = new DeadlineTimer(() => this.#apply(this.#session.tick(Date.now())));
  /** The time for packet bookkeeping on busy paths (publish, receive). */
  readonly #clock = new TurnClock();
  readonly #connector: Connector;

  /** Use `connect()`; this constructor does not connect. */
  constructor(factory: TransportFactory, config: ResolvedOptions) {
    super();
    this.#config = config;
    this.#session = new ClientSession(config.session, config.store);
    this.#connector = new Connector(config, factory, {
      state: () => this.#state,
      enter: (next) => this.#enter(next),
      attach: (transport, handshake) => this.#attach(transport, handshake),
      reconnecting: (attempt) => this.#notify('reconnect', attempt),
      giveUp: (error, surface) => {
        if (surface) surfaceError(this, error);
        this.#finish(error);
      },
    });
    const store = config.store;
    this.#writeAhead = store && new WriteAhead<Link>(store, (link, packet) => link === this.#link && this.#send(link, packet), (error) => this.#finish(error));
  }

  /** The one place the state changes (the allowed moves are listed in `lifecycle.ts`). */
  #enter(next: ShellState): void {
    this.#state = transition(this.#state, next);
  }

  /** The current connection, in the states that have one. */
  get #link(): Link | undefined {
    return linkOf(this.#state);
  }

  /** The server in use (or being tried): one of the `servers` option, else the one URL. */
  get server(): { host: string; port: number; url: string } {
    const server = this.#connector.server;
    return { host: server.host, port: server.port, url: server.url.href };
  }

  /** The client identifier sent in CONNECT. */
  get clientId(): string {
    return this.#config.session.clientId;
  }

  /** True between an accepted CONNACK and the loss of that connection. */
  get connected(): boolean {
    return this.#session.state === 'connected';
  }

  /** Session Present from the last CONNACK: the server had stored state for this clientId. */
  get sessionPresent(): boolean {
    return this.#session.sessionPresent;
  }

  /**
   * Publishes a message. Resolves when its flow completes: QoS 0 once written, QoS 1 at PUBACK,
   * QoS 2 at PUBCOMP. Rejects with the codec's `MqttError` for an invalid topic or QoS before
   * anything is sent, or with a `ClientError` (QUEUE_FULL, CLIENT_CLOSED, ABORTED, ...).
   * QoS 0 publishes written in one batch may share one promise.
   */
  publish(topic: string, payload: string | Uint8Array = '', options: PublishOptions = NO_OPTIONS): Promise<void> {
    let cmd: PublishCommand;
    try {
      cmd = preparePublish(topic, payload, options, this.#nextOp++);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what preparePublish threw: a ClientError or MqttError
      return Promise.reject(error);
    }
    // The fast path, without a `Step`: the session starts the flow at once, the packet is written
    // now. QoS 0 resolves once its bytes are with the transport, QoS 1/2 at the `done` event of
    // its acknowledgement. Sending only moves the keep-alive deadline later: the ticker stays.
    const link = this.#link;
    const packet = link && !options.signal && !this.#ending ? this.#session.publishNow(cmd, this.#clock.now()) : undefined;
    if (!link || !packet) return this.#submit(cmd, options.signal, undefined);
    const acknowledged = cmd.qos === 0 ? undefined : this.#ops.track<void>(cmd.op, undefined, false);
    this.#write(link, packet);
    if (link.needDrain) this.#session.transportBlocked(true, this.#clock.now());
    return acknowledged ?? link.written();
  }

  /**
   * Subscribes. Resolves with one `Granted` per filter, in request order; a filter the server
   * refused (0x80) has `refused: true` — the promise does not reject for that.
   */
  subscribe(request: SubscribeRequest, options: SubscribeOptions = {}): Promise<Granted[]> {
    let subscriptions: Subscription[] = [];
    const prepare = (op: number): Command => ({ kind: 'subscribe', op, subscriptions: (subscriptions = prepareSubscriptions(request, options.qos ?? 0)) });
    return this.#run(prepare, options, 'subscribe', (codes) => toGranted(subscriptions, codes));
  }

  /** Unsubscribes; resolves at UNSUBACK. */
  unsubscribe(filters: string | readonly string[], options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#run((op) => prepareUnsubscribe(filters, op), options, 'unsubscribe', undefined);
  }

  /**
   * Calls `handler` for every message whose topic matches `filter` (in addition to the
   * `'message'` event). Returns a function that removes the handler. Does not subscribe.
   */
  handle(filter: string, handler: MessageHandler): () => void {
    if (typeof handler !== 'function') throw invalidArgument('handle handler', handler);
    return this.#dispatcher.handle(filter, handler);
  }

  /**
   * Received messages matching `filter` (all when omitted) as an async iterator. Does not
   * subscribe. Ends when the client ends; see `MessageStream` for the buffer policy.
   */
  messages(filter?: string, options: MessagesOptions = {}): MessageStream {
    return this.#dispatcher.stream(filter, checkCallOptions(options, 'messages'), this.#state.name === 'ended');
  }

  /**
   * Ends the client: waits (up to `timeout`) for queued and in-flight work unless `force`,
   * sends DISCONNECT, and closes the connection [MQTT-3.14.4-1]. Always resolves, unless
   * `options` is not an object (`INVALID_ARGUMENT`, and the client is not ended).
   */
  end(options: EndOptions = {}): Promise<void> {
    if (options === null || typeof options !== 'object') return Promise.reject(invalidArgument('end options', options));
    if (!this.#ending) {
      const request: EndRequest = { done: Promise.resolve(), waiter: undefined };
      this.#ending = request;
      request.done = this.#end(options, request);
    }
    return this.#ending.done;
  }

  async #end({ force = false, timeout = 10_000 }: EndOptions, request: EndRequest): Promise<void> {
    // Wait for our own work, and for the incoming QoS 2 flows already open now.
    const until = workDone(this.#session);
    if (!force && this.#state.name !== 'ended' && !until()) {
      await waitForWork(request, until, timeout);
      request.waiter = undefined;
    }
    const state = this.#state;
    if (state.name === 'ended') return;
    const link = this.#link;
    this.#enter({ name: 'closing', link, handshake: handshakeOf(state) });
    this.#apply(this.#session.disconnect(Date.now()));
    await this.#writeAhead?.idle();
    if (link && !link.closed) {
      // [MQTT-3.14.4-1] after DISCONNECT the client closes the connection.
      await closeAfterDisconnect(link, new Promise<void>((resolve) => this.once('close', () => resolve())));
    }
    this.#finish(closedError());
  }

  /**
   * Drops the connection at once, without DISCONNECT — as if the network failed, so the server
   * publishes the will (spec 3.1.2.5) — and ends the client. Pending work fails with CLIENT_CLOSED.
   */
  destroy(): void {
    this.#finish(closedError());
  }

  /**
   * Makes the first connection; `connect()` calls it. Creating the client with
   * `new MqttClient(factory, resolveOptions(...))` and calling `start()` yourself lets listeners
   * be attached before CONNECT is sent. Rejects (and ends the client) on failure.
   */
  async start(): Promise<this> {
    const signal = this.#config.signal;
    try {
      if (signal?.aborted) throw abortedError();
      await openStore(this.#config, this.#session);
      await this.#connector.round(signal);
      return this;
    } catch (error) {
      this.#finish(error as Error); // what is caught here is an Error (Node's or ours)
      throw error;
    }
  }

  /** CONNECT on a new transport; `handshake` settles at CONNACK or when the link fails first. */
  #attach(transport: Transport, handshake: Handshake): void {
    const logger = this.#config.logger;
    const prefix = `mqtt311 ${this.clientId} `;
    const link: Link = new Link(
      transport,
      {
        packet: (packet) => {
          if (this.listenerCount('packetreceive') > 0) this.#notify('packetreceive', packet);
          this.#apply(this.#session.receive(packet, this.#clock.now()));
        },
        close: (error) => this.#closed(link, error),
        // The link resolved the QoS 0 publishes that waited for room before calling these.
        drain: () => this.#apply(this.#session.transportBlocked(false, Date.now())),
        full: () => void this.#session.transportBlocked(true, Date.now()),
      },
      logger && ((line) => logger(prefix + line)),
      this.#config.maxPacketSize,
      this.#config.session.protocolVersion,
    );
    this.#enter({ name: 'connecting', link, handshake });
    this.#apply(this.#session.open(Date.now()));
  }

  /** The link closed by itself (the server, the network, or our `end()`). */
  #closed(link: Link, error: Error | undefined): void {
    const state = this.#state;
    if (link !== linkOf(state)) return;
    this.#enter(state.name === 'closing' ? { name: 'closing', link: undefined, handshake: undefined } : OFFLINE);
    this.#linkGone(state, error);
  }

  /**
   * What follows the loss of the link `before` held: the session learns of it, `close` is
   * emitted, a connection attempt fails — and a lost connection goes on to reconnect (a link
   * that never got its CONNACK belongs to an attempt, which handles its own failure).
   */
  #linkGone(before: ShellState, error: Error | undefined): void {
    this.#apply(this.#session.connectionClosed(Date.now()));
    this.#notify('close', error);
    const handshake = handshakeOf(before);
    if (handshake) {
      handshake.reject(error ?? new ClientError('CONNECTION_LOST', 'the connection closed before CONNACK'));
    } else if (before.name === 'connected' && this.#state.name === 'offline') {
      this.#notify('offline');
      this.#connector.lost(error);
    }
  }

  /** The client stops for good: timers off, pending work fails with `error`, streams end. */
  #finish(error: Error): void {
    const before = this.#state;
    if (before.name === 'ended') return;
    this.#enter(ENDED);
    this.#ticker.clear();
    const link = linkOf(before);
    if (link) {
      // Its close report finds the client ended and is ignored: the loss is handled here.
      link.destroy();
      this.#linkGone(before, undefined);
    }
    this.#apply(this.#session.close(error, Date.now()));
    this.#dispatcher.endAll();
    this.#config.store?.close().catch((error: unknown) => surfaceError(this, error as Error)); // what is caught here is an Error (Node's or ours)
    this.#ending?.waiter?.resolve();
    this.#notify('end');
  }

  /**
   * Hands a validated command to the session and tracks its promise, which `result` (or
   * undefined) resolves when the command is done. This is the path of every publish, so it
   * allocates no more than it must: the promise, its pending entry, the command.
   */
  #submit<T>(cmd: Command, signal: AbortSignal | undefined, result: OpResult | undefined): Promise<T> {
    if (this.#ending || this.#state.name === 'ended') return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(abortedError());
    const withdraw = signal && (() => (this.#session.cancel(cmd.op), this.#checkIdle()));
    const promise = this.#ops.track<T>(cmd.op, result, cmd.kind === 'publish' && cmd.qos === 0, signal, withdraw);
    this.#apply(this.#session.command(cmd, this.#clock.now()));
    return promise;
  }

  /** Numbers and validates a command (`prepare` throws for invalid input), then submits it. */
  #run<T>(prepare: (op: number) => Command, options: { signal?: AbortSignal } | undefined, method: string, result: OpResult | undefined): Promise<T> {
    let cmd: Command;
    let signal: AbortSignal | undefined;
    try {
      signal = checkCallOptions(options, method).signal;
      cmd = prepare(this.#nextOp++);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what the checks threw: a ClientError or MqttError
      return Promise.reject(error);
    }
    return this.#submit(cmd, signal, result);
  }

  /** Carries out one session step: write its packets, then act on its events. */
  #apply(step: Step): void {
    for (const packet of step.packets) {
      if (!this.#link) break;
      this.#write(this.#link, packet);
    }
    // The transport is backed up: QoS 0 publishes wait in the bounded queue until it drains
    // (blocking produces no packets or events, so its step needs no applying).
    if (step.packets.length > 0 && this.#link?.needDrain) this.#session.transportBlocked(true, this.#clock.now());
    for (const event of step.events) this.#event(event);
    this.#ticker.set(this.#state.name === 'ended' ? undefined : this.#session.deadline());
    this.#checkIdle();
  }

  #write(link: Link, packet: Packet): void {
    if (!this.#writeAhead?.offer(link, packet)) this.#send(link, packet);
  }

  #send(link: Link, packet: Packet): void {
    link.write(packet);
    if (this.listenerCount('packetsend') > 0) this.#notify('packetsend', packet);
  }

  #event(event: SessionEvent): void {
    switch (event.type) {
      case 'connected': {
        const state = this.#state;
        if (state.name !== 'connecting') return; // only a connecting link's session connects
        this.#enter({ name: 'connected', link: state.link });
        state.handshake.resolve();
        if (this.#connector.accepted()) this.#notify('server', this.server);
        this.#notify('connect', event.connack);
        return;
      }
      case 'message': {
        const { packet } = event;
        this.#notify('message', packet.topic, packet.payload, packet);
        this.#dispatcher.deliver(toMessage(packet), (error) => surfaceError(this, error));
        return;
      }
      case 'done':
      case 'failed':
        this.#ops.settle(event, this.#link);
        return;
      case 'close':
        this.#link?.destroy(event.error);
        return;
    }
  }

  #checkIdle(): void {
    checkEnding(this.#ending);
  }

  /** Emits an event; a listener's exception is reported, not lost. */
  #notify<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    try {
      this.emit(event, ...args);
    } catch (cause) {
      surfaceError(this, new ClientError('HANDLER_ERROR', `a '${String(event)}' listener threw`, { cause }));
    }
  }
}
