/**
 * The broker without I/O: connections come in as `Link`s, and everything shared between clients
 * happens here — accepting CONNECTs (authentication, session takeover, clean or resumed sessions),
 * routing PUBLISHes to subscribers (online, or queued for offline persistent sessions), applying
 * SUBSCRIBE/UNSUBSCRIBE, retained messages, wills and authorisation.
 *
 * `BrokerCore` owns all of that state. The steps of CONNECT before admission (connect-flow.ts),
 * of SUBSCRIBE/UNSUBSCRIBE (subscribe-flow.ts) and the bounds on offline sessions
 * (offline-sessions.ts) live in collaborators that each see only what they need; the PUBLISH path
 * stays here, with no indirection per message.
 *
 * Time comes in through `tick(now)`; `broker.ts` calls it from one coarse interval.
 */
import { validateTopicName } from '../../codec/index.js';
import type { ConnectPacket, MqttError, PublishPacket, QoS } from '../../codec/index.js';
import { SessionAcls, type AclSubject } from './acl.js';
import type { BrokerError } from './errors.js';
import { publishRefusal } from './admission.js';
import { ClientHandle, type HandleOwner, type Link } from './handle.js';
import type { ConnectionPolicy } from '../listener-options.js';
import type { BrokerEvents, BrokerOptions, ClientInfo, LogType, ResolvedOptions } from '../options.js';
import { resolveOptions } from '../resolve-options.js';
import { emptyStats, type BrokerStats } from './stats.js';
import { RetainedStore } from './retained.js';
import { Session, type CloseReason, type SessionEffect, type SessionOptions } from './session.js';
import { compactBytes } from './compact-bytes.js';
import { Journal } from './journal.js';
import { SessionStore } from './session-store.js';
import { TypedEmitter } from '../../util/emitter.js';
import { isPromise, type Maybe } from './maybe.js';
import { ConnectFlow, readCheck } from './connect-flow.js';
import { SubscribeFlow } from './subscribe-flow.js';
import { OfflineSessions, publishWill, type WillHost } from './session-end.js';

/** The server-wide state and logic, fed by `Link`s (see module comment). */
export class BrokerCore extends TypedEmitter<BrokerEvents> implements HandleOwner {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedOptions;
  /** Retained messages by topic, within `maxRetainedMessages` and `maxRetainedBytes`. */
  readonly retained: RetainedStore;
  /** Session state by ClientId, for online and offline clients, and their subscriptions indexed for routing. */
  readonly sessions: SessionStore;
  /** Traffic counters, and what the server-wide bounds have discarded so far. */
  readonly stats: BrokerStats = emptyStats();
  /** The ACL of each session: the broker's, or its listener's (per_listener_settings). */
  readonly #acls: SessionAcls;
  /** Who published each retained message (for `checkRetainSource`). */
  readonly #retainSource = new Map<string, AclSubject>();
  readonly #clients = new Map<string, ClientHandle>();
  readonly #handles = new Set<ClientHandle>();
  /** Clients that connected as bridges (protocol level | 0x80, mosquitto's try_private): see `#route`. */
  readonly #bridges = new WeakSet<ClientInfo>();
  readonly #clock: () => number;
  #restored = false;
  readonly #journal: Journal | undefined;
  /** The limits every session gets: one object shared by all of them. */
  readonly #sessionOptions: SessionOptions;
  /** CONNECT decisions and takeover (connect-flow.ts). */
  readonly #connect: ConnectFlow;
  /** SUBSCRIBE / UNSUBSCRIBE (subscribe-flow.ts). */
  readonly #subscribe: SubscribeFlow;
  /** The bounds on offline persistent sessions, and what publishing a will needs (session-end.ts). */
  readonly #offline: OfflineSessions;
  readonly #willHost: WillHost;

  constructor(options: BrokerOptions = {}, clock: () => number = Date.now) {
    super();
    this.options = resolveOptions(options);
    this.retained = new RetainedStore({ maxMessages: this.options.maxRetainedMessages, maxBytes: this.options.maxRetainedBytes });
    const storage = this.options.storage;
    this.#journal = storage && new Journal(storage, (e) => this.#log(`storage commit failed: ${String(e)}`, 'error'));
    this.sessions = new SessionStore(this.#journal);
    this.#acls = new SessionAcls(this.options.acl);
    this.#clock = clock;
    const { maxInflight, maxQueuedMessages, maxQueuedBytes, connectTimeout, maxInflightBytes } = this.options;
    this.#sessionOptions = { maxInflight, maxQueuedMessages, maxQueuedBytes, connectTimeout, maxInflightBytes };
    // Each collaborator sees only the state and steps it needs; the core keeps owning all of it.
    const { options: opts, sessions, stats, retained } = this;
    const log = (line: string, type: LogType): void => this.#log(line, type);
    this.#subscribe = new SubscribeFlow({
      options: opts, retained, log, aclOf: (clientId) => this.#acls.of(clientId), committed: () => this.#journal?.commit(),
      retainSourceMayPublish: (topic) => this.#retainSourceMayPublish(topic),
      emit: <E extends 'subscribe' | 'unsubscribe'>(event: E, ...args: Parameters<BrokerEvents[E]>) => this.#emit(event, ...args),
    });
    this.#connect = new ConnectFlow({
      options: opts, sessions, stats, log, isConnected: (clientId) => this.#clients.has(clientId),
      grant: (client, topicFilter, qos) => this.#subscribe.grant(client, topicFilter, qos),
      admit: (handle, clientId, packet, policy) => this.#admit(handle, clientId, packet, policy),
    });
    this.#offline = new OfflineSessions({ options: opts, sessions, stats, log, acls: this.#acls });
    this.#willHost = { log, mayPublish: (client, packet) => this.#mayPublish(client, packet), route: (packet, from) => this.#route(packet, from) };
  }

  /** The broker's clock (ms). */
  now(): number {
    return this.#clock();
  }

  /** Number of open connections (including ones that have not sent CONNECT yet). */
  get connectionCount(): number {
    return this.#handles.size;
  }

  /** The handle of the connected client `clientId`, if it is online. */
  connectedClient(clientId: string): ClientHandle | undefined {
    return this.#clients.get(clientId);
  }

  /** Attaches a new transport. Feed its packets to the returned handle. */
  attach(link: Link): ClientHandle {
    const session = new Session(this.#sessionOptions, this.#clock());
    const handle = new ClientHandle(this, link, session, this.options.logPackets ? this.#packetLog : undefined);
    this.#handles.add(handle);
    return handle;
  }

  /** The passage of time: connect timeouts and keep-alive [MQTT-3.1.2-24]. */
  tick(now: number = this.#clock()): void {
    // Most connections are not due: find the few that are without allocating (a tick of 50,000
    // idle connections makes no garbage), then close them.
    let due: ClientHandle[] | undefined;
    for (const h of this.#handles) if (h.session.isDue(now)) (due ??= []).push(h);
    if (due) for (const h of due) h.run(h.session.tick(now));
    this.#offline.expire(now);
  }

  /** Number of clients with an accepted CONNECT. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /**
   * Publishes a message from inside the process, as if a client had sent it. Throws `MqttError` for
   * a bad topic. A `Uint8Array` payload is not copied: do not modify it afterwards.
   */
  publish(topic: string, payload: Uint8Array | string, options: { qos?: QoS; retain?: boolean } = {}): void {
    validateTopicName(topic);
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    const packet: PublishPacket = { cmd: 'publish', topic, payload: bytes, qos: options.qos ?? 0, retain: options.retain ?? false, dup: false };
    this.#route(packet, undefined);
  }

  /**
   * Rebuilds the persistent sessions and retained messages `options.storage` holds (once, before
   * the first connection; `Broker.listen` calls it). Without storage there is nothing to do.
   */
  async restore(): Promise<void> {
    if (!this.#journal || this.#restored) return;
    this.#restored = true;
    const loaded = await this.#journal.load();
    for (const session of loaded.sessions) this.sessions.restore(session);
    // The bounds in force now apply to what was stored under other ones.
    this.#offline.bound();
    for (const { topic, payload, qos } of loaded.retained) {
      if (this.retained.set(topic, payload, qos) !== 'stored') this.#journal.deleteRetained(topic);
    }
    this.#log(`restored ${loaded.sessions.length} session(s) and ${loaded.retained.length} retained message(s)`, 'information');
  }

  /** Closes every connection (no wills are published). */
  closeAll(): void {
    for (const h of [...this.#handles]) this.#closeClient(h, 'broker-closing');
  }

  // --- HandleOwner ------------------------------------------------------------------------------

  /** @internal Applies one session effect for `handle`. */
  apply(handle: ClientHandle, effect: Exclude<SessionEffect, { type: 'send' }>): void | Promise<void> {
    switch (effect.type) {
      case 'connect':
        return this.#connect.connect(handle, effect.packet);
      case 'publish':
        return this.#onPublish(handle, effect.packet);
      case 'subscribe':
        return this.#subscribe.subscribe(handle, effect.packet);
      case 'unsubscribe':
        return this.#subscribe.unsubscribe(handle, effect.packet);
      case 'close':
        return this.#closeClient(handle, effect.reason, effect.error);
    }
  }

  /** @internal Packets to a persistent session wait until the changes they report are committed. */
  beforeSend(handle: ClientHandle): Promise<void> | undefined {
    return handle.session.state?.persistent ? this.#journal?.settled() : undefined;
  }

  /** @internal */
  linkClosed(handle: ClientHandle): void {
    this.#end(handle, handle.closeReason ?? 'connection-lost');
  }

  /** @internal */
  internalError(handle: ClientHandle, error: unknown): void {
    this.#log(`internal error on ${handle.label}: ${String(error)}`, 'error');
    this.#closeClient(handle, 'server-error');
  }

  // --- CONNECT ----------------------------------------------------------------------------------

  /** The CONNECT is accepted: takeover, clean or resumed session, CONNACK 0 [MQTT-3.1.4-3] [MQTT-3.1.4-4]. */
  #admit(handle: ClientHandle, clientId: string, packet: ConnectPacket, policy: ConnectionPolicy | undefined): void {
    // [MQTT-3.1.4-2] the ClientId is already connected: close that connection first (its will is published).
    const existing = this.#clients.get(clientId);
    if (existing) this.#closeClient(existing, 'takeover');
    let state = this.sessions.get(clientId);
    const sessionPresent = !packet.cleanSession && state !== undefined;
    if (state && sessionPresent) {
      // [MQTT-3.1.2-4] resume it [MQTT-3.2.2-2].
      this.sessions.resumed(state);
    } else {
      // [MQTT-3.1.2-6] a clean session replaces any previous one and ends with the connection;
      // [MQTT-3.2.2-3] or a new persistent session.
      state = this.sessions.create(clientId, !packet.cleanSession);
    }
    state.connectedAs(packet.username);
    // per_listener_settings: a session follows the ACL of the listener its client last came through.
    this.#acls.follow(clientId, policy?.auth?.acl);
    this.#clients.set(clientId, handle);
    this.stats.connectsAccepted++;
    if (this.#clients.size > this.stats.clientsMaximum) this.stats.clientsMaximum = this.#clients.size;
    handle.run(handle.session.accept(state, sessionPresent, readCheck(this.#acls.of(clientId), handle, this.stats), packet));
    // `handle.info` is built on first use (most idle clients never need one); a bridge's now, to mark it.
    const bridge = (packet.protocolLevel & 0x80) !== 0 ? handle.info : undefined;
    if (bridge) this.#bridges.add(bridge);
    if (this.options.connectionMessages) {
      const user = packet.username === undefined ? '' : ` (user ${packet.username})`;
      this.#log(`connected ${clientId}${user}${sessionPresent ? ' (session resumed)' : ''}${policy ? ` on ${policy.listener}` : ''}`, 'notice');
    }
    if (this.listenerCount('connect') > 0 && handle.info) this.#emit('connect', handle.info);
  }


  // --- PUBLISH ----------------------------------------------------------------------------------

  /** The ACL, then the hook (which may throw or reject: the caller decides what that means). */
  #mayPublish(client: ClientInfo, packet: PublishPacket): Maybe<boolean> {
    if (!this.#acls.of(client.clientId).canPublish(client, packet.topic)) return false;
    const hook = this.options.authorizePublish;
    return hook ? hook(client, packet.topic, packet) : true;
  }

  #onPublish(handle: ClientHandle, packet: PublishPacket): void | Promise<void> {
    const client = handle.info!; // handle.info is set once CONNECT is accepted, before this
    if (this.#refusePublish(handle, packet)) return;
    let verdict: Maybe<boolean>;
    try {
      verdict = this.#mayPublish(client, packet);
    } catch (e) {
      return this.#publishHookFailed(handle, client, e);
    }
    // A synchronous verdict (no hook, or one that answers at once) is the common case: no closures.
    if (!isPromise(verdict)) return this.#published(handle, client, packet, verdict);
    return verdict.then(
      (ok) => this.#published(handle, client, packet, ok),
      (e: unknown) => this.#publishHookFailed(handle, client, e),
    );
  }

  /** Routes an authorised PUBLISH; for QoS 1/2 with storage, holds its acknowledgement until durable. */
  #published(handle: ClientHandle, client: ClientInfo, packet: PublishPacket, ok: boolean): void {
    if (handle.ended) return;
    // [MQTT-3.3.5-2] a refused PUBLISH is still acknowledged (the session does that) but goes nowhere.
    if (ok === true) this.#route(packet, client);
    else this.#log(`publish to "${packet.topic}" by ${client.clientId} not authorised`, 'debug');
    // [MQTT-4.3.2-2] [MQTT-4.3.3-2] with storage, the PUBACK / PUBREC (the next effects) go out
    // once what this message changed — queues, retained store, the inbound QoS 2 id — is
    // committed. The handle holds them and reads the next PUBLISH meanwhile, so the messages
    // that arrive while a commit is being written share the next one.
    const durable = packet.qos > 0 ? this.#journal?.settled() : undefined;
    if (durable !== undefined) handle.holdSendsUntil(durable);
  }

  /**
   * [MQTT-4.8.0-2] a failure while handling the PUBLISH closes the connection before the ack goes
   * out: the client will send it again, so nothing acknowledged is lost.
   */
  #publishHookFailed(handle: ClientHandle, client: ClientInfo, e: unknown): void {
    this.#log(`authorizePublish failed for ${client.clientId}: ${String(e)}`, 'error');
    this.#closeClient(handle, 'server-error');
  }

  /** The configured limits on a client's PUBLISH (admission.ts): true when it stops here. */
  #refusePublish(handle: ClientHandle, packet: PublishPacket): boolean {
    const refusal = publishRefusal(packet, handle.link.policy, this.options, handle.info !== undefined && this.#bridges.has(handle.info));
    if (refusal === undefined) return false;
    if ('close' in refusal) this.#closeClient(handle, 'protocol-error', refusal.close);
    else this.#log(`publish to "${packet.topic}" by ${handle.info!.clientId} refused: ${refusal.drop}`, 'notice'); // handle.info is set once CONNECT is accepted, before this
    return true;
  }

  /**
   * Hands a message to every matching subscription [MQTT-4.5.0-1]: one copy per client at the
   * highest granted QoS [MQTT-3.3.5-1], delivered at min(message QoS, granted QoS) [MQTT-3.8.4-6].
   */
  #route(packet: PublishPacket, from: ClientInfo | undefined): void {
    const { topic } = packet;
    // QoS 0 goes out at once; anything that may be kept (queued, inflight, retained) owns its bytes.
    const payload = packet.qos > 0 || packet.retain ? compactBytes(packet.payload) : packet.payload;
    // [MQTT-3.3.1-5] store (or, with an empty payload, clear [MQTT-3.3.1-10]) the retained message;
    // [MQTT-3.3.1-12] a RETAIN=0 publish leaves the store alone.
    const retained = packet.retain ? this.retained.set(topic, payload, packet.qos) : undefined;
    if (retained === 'stored' && from && this.options.checkRetainSource) this.#retainSource.set(topic, { clientId: from.clientId, username: from.username });
    else if (retained !== undefined) this.#retainSource.delete(topic);
    if (retained === 'refused' && this.stats.retainedRefused++ === 0) {
      // (spec 3.3.1.3, 4.1) a server may discard a retained message; it is still forwarded below.
      this.#log(`retained store full (maxRetainedMessages / maxRetainedBytes): "${topic}" and later ones are forwarded, not retained`, 'warning');
    }
    if (retained === 'stored') this.#journal?.putRetained({ topic, payload, qos: packet.qos });
    else if (retained !== undefined) this.#journal?.deleteRetained(topic);
    const upgrade = this.options.upgradeOutgoingQos;
    for (const { clientId, qos: granted } of this.sessions.routes(topic)) {
      const handle = this.#clients.get(clientId);
      const state = handle?.session.state ?? this.sessions.get(clientId);
      if (!state) continue;
      // A bridge never gets its own messages back: the broker behind it has them already.
      if (from !== undefined && this.#bridges.has(from) && handle?.info === from) continue;
      // [MQTT-3.3.1-9] RETAIN=0 on messages to existing subscriptions; [MQTT-3.3.1-3] DUP is not copied.
      // [MQTT-3.8.4-6] min(message QoS, granted QoS), unless upgrade_outgoing_qos asks otherwise.
      const message = { topic, payload, qos: (upgrade ? granted : Math.min(packet.qos, granted)) as QoS, retain: false };
      // The session checks what its connection may read (see `Session.accept`).
      if (handle && handle.session.phase === 'connected') handle.run(handle.session.deliver(message));
      // [MQTT-3.1.2-5] offline persistent session: queue QoS 1/2 (bounded) that its last user may read.
      else {
        const acl = this.#acls.of(clientId);
        if (acl.open || acl.canRead({ clientId, username: state.username }, topic)) state.enqueue(message, this.options);
      }
    }
    // Most brokers have no 'publish' listener: skip building the call for nobody.
    if (this.listenerCount('publish') > 0) this.#emit('publish', topic, packet, from);
  }

  /** `checkRetainSource`: may the retained message's publisher still publish to its topic? */
  #retainSourceMayPublish(topic: string): boolean {
    const source = this.#retainSource.get(topic);
    return source === undefined || this.#acls.of(source.clientId).canPublish(source, topic);
  }

  // --- closing ----------------------------------------------------------------------------------

  #closeClient(handle: ClientHandle, reason: CloseReason, error?: MqttError | BrokerError): void {
    if (handle.ended) return;
    handle.closeReason = reason;
    if (error) {
      this.#log(`closing ${handle.label}: ${error.message}`, 'notice');
      this.#emit('clientError', handle.info, error);
    }
    handle.session.close(reason);
    handle.link.close(reason === 'queue-full' || reason === 'broker-closing' || reason === 'takeover' ? 'destroy' : 'flush');
    this.#end(handle, reason);
  }

  /** The connection is over: forget it, end a clean session, publish the will. Runs once. */
  #end(handle: ClientHandle, reason: CloseReason): void {
    if (handle.ended) return;
    handle.ended = true;
    this.#handles.delete(handle);
    const will = handle.session.end(reason);
    // A session state is set when the CONNECT is accepted: without one there is nothing to end.
    const state = handle.session.state;
    if (!state) return;
    const { clientId } = state;
    if (this.#clients.get(clientId) === handle) {
      this.#clients.delete(clientId);
      // [MQTT-3.1.2-6] a CleanSession=1 session ends with its connection; [MQTT-3.1.2-4] others stay.
      if (!state.persistent) this.#offline.discard(state);
      // A takeover's new connection resumes (or discards) the session at once: not offline.
      else if (reason !== 'takeover') this.#offline.wentOffline(state, this.#clock());
    }
    if (this.options.connectionMessages) this.#log(`disconnected ${clientId} (${reason})`, 'notice');
    const client = will || this.listenerCount('disconnect') > 0 ? handle.info : undefined;
    if (client === undefined) return;
    if (will) publishWill(this.#willHost, client, will);
    this.#emit('disconnect', client, reason);
  }

  // --- helpers ----------------------------------------------------------------------------------

  #log(line: string, type: LogType): void {
    this.options.logger?.(line, type);
  }

  /** Packet traces are mosquitto's `debug` lines ("Received PUBLISH from …"). */
  readonly #packetLog = (line: string): void => this.#log(line, 'debug');

  /**
   * Emits an event. A listener that throws must not leave the broker half-way through an update,
   * so the exception is rethrown on a fresh stack (it surfaces as an uncaught exception, never swallowed).
   */
  #emit<E extends keyof BrokerEvents>(event: E, ...args: Parameters<BrokerEvents[E]>): void {
    try {
      this.emit(event, ...args);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}

