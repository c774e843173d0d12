/**
 * The broker without I/O: connections come in as `Link`s, and everything shared between clients
 * happens here — accepting CONNECTs (authentication, session takeover, clean or resumed sessions),
 * routing PUBLISHes to subscribers (online, or queued for offline persistent sessions), applying
 * SUBSCRIBE/UNSUBSCRIBE, retained messages, wills and authorisation.
 *
 * Time comes in through `tick(now)`; `broker.ts` calls it from one coarse interval.
 */
import { protocolVersionOf, topicMatches, validateTopicName } from '../../codec/index.js';
import type { ConnectPacket, MqttError, PublishPacket, QoS, SubscribePacket, UnsubscribePacket, Will } from '../../codec/index.js';
import { Acl, type AclSubject } from './acl.js';
import { authenticateConnect } from '../auth.js';
import type { BrokerError } from './errors.js';
import { admitConnect, publishRefusal } from './admission.js';
import { ClientHandle, type HandleOwner, type Link } from './handle.js';
import type { ConnectionPolicy } from '../listener-options.js';
import { resolveOptions, type BrokerEvents, type BrokerOptions, type ClientInfo, type LogType, type ResolvedOptions } from '../options.js';
import { emptyStats, type BrokerStats } from './stats.js';
import { RetainedStore } from './retained.js';
import { sendRetained } from './retained-delivery.js';
import { Session, type CloseReason, type ReadCheck, type SessionEffect, type SessionOptions } from './session.js';
import { compactBytes, type SessionState } from './session-state.js';
import { Journal } from './journal.js';
import { SessionStore } from './session-store.js';
import { TypedEmitter } from '../../util/emitter.js';
import { after, allOf, callHook, isPromise, type Maybe } from './maybe.js';

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
  readonly #acl: Acl;
  /** ACLs of listeners with their own (per_listener_settings), by ClientId of the session they apply to. */
  readonly #listenerAcl = new Map<string, Acl>();
  /** Who published each retained message (for `checkRetainSource`). */
  readonly #retainSource = new Map<string, AclSubject>();
  readonly #clients = new Map<string, ClientHandle>();
  readonly #handles = new Set<ClientHandle>();
  /** Clients that connected as bridges (protocol level | 0x80, mosquitto's try_private): see `#route`. */
  readonly #bridges = new WeakSet<ClientInfo>();
  readonly #clock: () => number;
  #nextGeneratedId = 1;
  #restored = false;
  readonly #journal: Journal | undefined;
  /** The limits every session gets: one object shared by all of them. */
  readonly #sessionOptions: SessionOptions;

  constructor(options: BrokerOptions = {}, clock: () => number = Date.now) {
    super();
    this.options = resolveOptions(options);
    this.retained = new RetainedStore({ maxMessages: this.options.maxRetainedMessages, maxBytes: this.options.maxRetainedBytes });
    const storage = this.options.storage;
    this.#journal = storage && new Journal(storage, (e) => this.#log(`storage commit failed: ${String(e)}`, 'error'));
    this.sessions = new SessionStore(this.#journal);
    this.#acl = new Acl(this.options.acl);
    this.#clock = clock;
    const { maxInflight, maxQueuedMessages, maxQueuedBytes, connectTimeout, maxInflightBytes } = this.options;
    this.#sessionOptions = { maxInflight, maxQueuedMessages, maxQueuedBytes, connectTimeout, maxInflightBytes };
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
    this.#expireSessions(now);
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
    this.#boundOffline();
    for (const { topic, payload, qos } of loaded.retained) {
      if (this.retained.set(topic, payload, qos) !== 'stored') this.#journal.deleteRetained(topic);
    }
    this.#log(`restored ${loaded.sessions.length} session(s) and ${loaded.retained.length} retained message(s)`, 'information');
  }

  /**
   * What an acknowledgement must wait for: the storage's commit of every change recorded so far
   * (group-committed with other clients' in the same turn), or nothing without storage.
   */
  #committed(): Promise<void> | undefined {
    return this.#journal?.commit();
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
        return this.#onConnect(handle, effect.packet);
      case 'publish':
        return this.#onPublish(handle, effect.packet);
      case 'subscribe':
        return this.#onSubscribe(handle, effect.packet);
      case 'unsubscribe':
        return this.#onUnsubscribe(handle, effect.packet);
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

  #onConnect(handle: ClientHandle, packet: ConnectPacket): void | Promise<void> {
    const refuse = (rc: 1 | 2 | 3 | 4 | 5, why: string): void => {
      this.#log(`refused ${handle.label} (CONNACK ${rc}): ${why}`, 'notice');
      handle.run(handle.session.refuse(rc));
    };
    // The codec decoded only "MQTT" level 4 and "MQIsdp" level 3 (bit 7 marks a bridge).
    const protocolVersion = protocolVersionOf(packet) ?? 4;
    const accepted = handle.link.protocolVersions ?? this.options.protocolVersions;
    // [MQTT-3.1.2-2] a version this listener does not serve: CONNACK 1, as mosquitto's accept_protocol_versions.
    if (!accepted.includes(protocolVersion)) return refuse(1, `protocol version ${protocolVersion} is not accepted here`);
    const policy = handle.link.policy;
    const admitted = admitConnect(packet, policy, this.options, (prefix) => this.#generateClientId(prefix));
    if ('refuse' in admitted) return refuse(admitted.refuse, admitted.why);
    const { clientId, username } = admitted;
    // [MQTT-3.1.3-5] any ClientId the codec decoded is acceptable: 1-23 alphanumerics and longer ones.
    const creds = { clientId, username, password: packet.password, remoteAddress: handle.link.remoteAddress };
    const verdict = authenticateConnect(creds, admitted.auth);
    const connect = username === packet.username ? packet : withUsername(packet, username);
    const decide = ({ returnCode, why }: { returnCode: 0 | 1 | 2 | 3 | 4 | 5; why: string }): void | Promise<void> => {
      if (handle.ended) return;
      if (returnCode !== 0) return refuse(returnCode, why);
      const held = this.sessions.get(clientId);
      if (!held || held.username === username) return this.#admit(handle, clientId, connect, policy);
      // The ClientId is held by a session of another user (see README "Session takeover").
      if (this.options.takeoverByOtherUser === 'refuse') return refuse(5, `ClientId ${clientId} is held by a session of another user`);
      return this.#takeOver(handle, clientId, connect, held, policy);
    };
    return isPromise(verdict) ? verdict.then(decide) : decide(verdict);
  }

  #generateClientId(prefix: string): string {
    let id: string;
    do id = `${prefix}${(this.#nextGeneratedId++).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    while (this.sessions.get(id) || this.#clients.has(id));
    return id;
  }

  /**
   * A CONNECT resumes (or, with CleanSession=1, discards) `held`, the session of another user.
   * Resumed, it keeps only the subscriptions the new user is granted — by the ACL and the
   * `authorizeSubscribe` hook, as if subscribing now — and only the queued and in-flight messages
   * those still match; `Session.accept` then applies the new user's ACL to each message left.
   */
  #takeOver(handle: ClientHandle, clientId: string, packet: ConnectPacket, held: SessionState, policy: ConnectionPolicy | undefined): void | Promise<void> {
    if (packet.cleanSession) return this.#admit(handle, clientId, packet, policy);
    const client = this.#clientInfo(handle, clientId, packet);
    const filters = [...held.subscriptions];
    const codes = filters.map(([f, qos]) => this.#grant(client, f, qos));
    const all = allOf(codes);
    const apply = (granted: Array<QoS | 0x80>): void | Promise<void> => {
      if (handle.ended) return;
      // The session changed hands while a hook ran: decide again on what it is now.
      if (this.sessions.get(clientId) !== held) return this.#onConnect(handle, { ...packet, clientId });
      const kept = new Map<string, QoS>();
      filters.forEach(([f], i) => granted[i] !== 0x80 && kept.set(f, granted[i] as QoS)); // not 0x80, checked in the same expression
      // A filter added while the hook ran was not granted to this user: it goes too.
      let dropped = 0;
      for (const f of [...held.subscriptions.keys()]) if (!kept.has(f) && held.unsubscribe(f)) dropped++;
      for (const [f, qos] of kept) held.subscribe(f, qos);
      const keptFilters = [...kept.keys()];
      const unmatched = held.discardMessages((topic) => keptFilters.some((f) => topicMatches(f, topic)));
      this.stats.subscriptionsDroppedOnTakeover += dropped;
      this.stats.deniedOnDelivery += unmatched;
      const previousUser = held.username;
      const deniedBefore = this.stats.deniedOnDelivery;
      // `accept` discards (and counts) the messages left that the new user's ACL refuses.
      this.#admit(handle, clientId, packet, policy);
      const discarded = unmatched + this.stats.deniedOnDelivery - deniedBefore;
      const who = (u: string | undefined) => (u === undefined ? 'no user name' : `user "${u}"`);
      this.#log(
        `session ${clientId} of ${who(previousUser)} taken over by ${who(packet.username)}: ` +
          `${dropped} subscription(s) dropped, ${discarded} queued or in-flight message(s) discarded`,
        'notice',
      );
    };
    return after(all, apply, () => apply(filters.map(() => 0x80)));
  }

  #clientInfo(handle: ClientHandle, clientId: string, packet: ConnectPacket): ClientInfo {
    return {
      clientId,
      username: packet.username,
      cleanSession: packet.cleanSession,
      keepAlive: packet.keepAlive,
      remoteAddress: handle.link.remoteAddress,
      protocolVersion: protocolVersionOf(packet) ?? 4,
    };
  }

  /** What the connection of `client` may read, counting refusals (undefined: no ACL, all of it). */
  #readCheck(client: ClientInfo): ReadCheck | undefined {
    const acl = this.#aclOf(client.clientId);
    if (acl.open) return undefined;
    return (topic) => {
      if (acl.canRead(client, topic)) return true;
      this.stats.deniedOnDelivery++;
      return false;
    };
  }

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
    if (policy?.auth?.acl) this.#listenerAcl.set(clientId, new Acl(policy.auth.acl));
    else this.#listenerAcl.delete(clientId);
    handle.info = this.#clientInfo(handle, clientId, packet);
    if ((packet.protocolLevel & 0x80) !== 0) this.#bridges.add(handle.info);
    this.#clients.set(clientId, handle);
    this.stats.connectsAccepted++;
    if (this.#clients.size > this.stats.clientsMaximum) this.stats.clientsMaximum = this.#clients.size;
    handle.run(handle.session.accept(state, sessionPresent, this.#readCheck(handle.info)));
    if (this.options.connectionMessages) {
      const user = packet.username === undefined ? '' : ` (user ${packet.username})`;
      this.#log(`connected ${clientId}${user}${sessionPresent ? ' (session resumed)' : ''}${policy ? ` on ${policy.listener}` : ''}`, 'notice');
    }
    this.#emit('connect', handle.info);
  }

  /** Forgets a session and its subscriptions, with what was kept about it beside the store. */
  #discardSession(state: SessionState): void {
    const current = this.sessions.get(state.clientId) === state;
    this.sessions.discard(state);
    if (!current) return;
    this.#listenerAcl.delete(state.clientId);
    this.stats.droppedByEndedSessions += state.dropped;
  }

  /** The ACL that applies to `clientId`'s session: its listener's, or the broker's. */
  #aclOf(clientId: string): Acl {
    return this.#listenerAcl.get(clientId) ?? this.#acl;
  }

  // --- PUBLISH ----------------------------------------------------------------------------------

  /** The ACL, then the hook (which may throw or reject: the caller decides what that means). */
  #mayPublish(client: ClientInfo, packet: PublishPacket): Maybe<boolean> {
    if (!this.#aclOf(client.clientId).canPublish(client, packet.topic)) return false;
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
      if (from !== undefined && handle?.info === from && this.#bridges.has(from)) continue;
      // [MQTT-3.3.1-9] RETAIN=0 on messages to existing subscriptions; [MQTT-3.3.1-3] DUP is not copied.
      // [MQTT-3.8.4-6] min(message QoS, granted QoS), unless upgrade_outgoing_qos asks otherwise.
      const message = { topic, payload, qos: (upgrade ? granted : Math.min(packet.qos, granted)) as QoS, retain: false };
      // The session checks what its connection may read (see `Session.accept`).
      if (handle && handle.session.phase === 'connected') handle.run(handle.session.deliver(message));
      // [MQTT-3.1.2-5] offline persistent session: queue QoS 1/2 (bounded) that its last user may read.
      else {
        const acl = this.#aclOf(clientId);
        if (acl.open || acl.canRead({ clientId, username: state.username }, topic)) state.enqueue(message, this.options);
      }
    }
    // Most brokers have no 'publish' listener: skip building the call for nobody.
    if (this.listenerCount('publish') > 0) this.#emit('publish', topic, packet, from);
  }

  // --- SUBSCRIBE / UNSUBSCRIBE ------------------------------------------------------------------

  #grant(client: ClientInfo, topicFilter: string, qos: QoS): Maybe<QoS | 0x80> {
    if (!this.#aclOf(client.clientId).canSubscribe(client, topicFilter)) return 0x80;
    const hook = this.options.authorizeSubscribe;
    if (!hook) return qos;
    const toCode = (v: boolean | QoS): QoS | 0x80 => (v === true ? qos : v === false ? 0x80 : (Math.min(v, qos) as QoS)); // the smaller of two QoS values is a QoS
    const v = callHook<boolean | QoS>(() => hook(client, topicFilter, qos), () => false);
    return isPromise(v) ? v.then(toCode, () => 0x80 as const) : toCode(v);
  }

  #onSubscribe(handle: ClientHandle, packet: SubscribePacket): void | Promise<void> {
    const client = handle.info!; // handle.info is set once CONNECT is accepted, before this
    // [MQTT-3.8.4-4] each filter is handled as if in its own SUBSCRIBE; one SUBACK answers them all.
    // A listener's max_qos bounds what is granted.
    const maxQos = handle.link.policy?.maxQos ?? 2;
    const codes = packet.subscriptions.map((s) => this.#grant(client, s.topicFilter, Math.min(s.qos, maxQos) as QoS)); // the smaller of two QoS values is a QoS
    const all = allOf(codes);
    return after(all, (c) => this.#applySubscribe(handle, packet, c), () => this.#applySubscribe(handle, packet, codes.map(() => 0x80 as const)));
  }

  #applySubscribe(handle: ClientHandle, packet: SubscribePacket, codes: Array<QoS | 0x80>): void | Promise<void> {
    if (handle.ended) return;
    const state = handle.session.state!; // a connected handle's session has its state
    packet.subscriptions.forEach((s, i) => {
      // [MQTT-3.9.3-2] 0x80 for a new filter beyond `maxSubscriptions`: a few bytes of SUBSCRIBE
      // must not make the broker index millions of filters.
      const full = state.subscriptions.size >= this.options.maxSubscriptions && !state.subscriptions.has(s.topicFilter);
      const code = full ? (codes[i] = 0x80) : codes[i]!; // one code per filter
      if (code === 0x80) return;
      // [MQTT-3.8.4-3] an identical filter replaces the old subscription.
      state.subscribe(s.topicFilter, code);
    });
    // With storage, a persistent session's SUBACK goes out once its subscriptions are committed.
    const committed = state.persistent ? this.#committed() : undefined;
    return committed ? committed.then(() => this.#subscribed(handle, packet, codes)) : this.#subscribed(handle, packet, codes);
  }

  #subscribed(handle: ClientHandle, packet: SubscribePacket, codes: Array<QoS | 0x80>): void | Promise<void> {
    if (handle.ended) return;
    const client = handle.info!; // handle.info is set once CONNECT is accepted, before this
    // [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-2.3.1-7] SUBACK with the same packet id;
    // [MQTT-3.8.4-5] [MQTT-3.9.3-1] one return code per filter, in order.
    // MQTT 3.1 has no failure code: like mosquitto (handle_subscribe.c), a refused filter is
    // answered with the QoS asked for, and no subscription is made. (`codes` has one code per filter.)
    const returnCodes = client.protocolVersion === 3 ? codes.map((c, i) => (c === 0x80 ? packet.subscriptions[i]!.qos : c)) : codes;
    handle.run([{ type: 'send', packet: { cmd: 'suback', packetId: packet.packetId, returnCodes } }]);
    // mosquitto's `subscribe` lines: "CLIENTID QOS FILTER", one per filter (128 when refused).
    if (this.options.logger) packet.subscriptions.forEach((s, i) => this.#log(`${client.clientId} ${codes[i]} ${s.topicFilter}`, 'subscribe'));
    this.#emit('subscribe', packet.subscriptions.map((s, i) => ({ topicFilter: s.topicFilter, qos: codes[i]! })), client); // one code per filter
    // [MQTT-3.3.1-6] retained messages of matching topics, also on a re-subscription [MQTT-3.8.4-3]:
    // in slices, up to the first one the client cannot take (see retained-delivery.ts).
    // `codes[i] as QoS`: one code per filter, and 0x80 is ruled out just before.
    const grants = packet.subscriptions.flatMap((s, i) => (codes[i] === 0x80 ? [] : [{ topicFilter: s.topicFilter, qos: codes[i] as QoS }]));
    return sendRetained(handle, grants, this.retained, (topic) => this.#retainSourceMayPublish(topic));
  }

  /** `checkRetainSource`: may the retained message's publisher still publish to its topic? */
  #retainSourceMayPublish(topic: string): boolean {
    const source = this.#retainSource.get(topic);
    return source === undefined || this.#aclOf(source.clientId).canPublish(source, topic);
  }

  #onUnsubscribe(handle: ClientHandle, packet: UnsubscribePacket): void {
    const client = handle.info!; // handle.info is set once CONNECT is accepted, before this
    const state = handle.session.state!; // a connected handle's session has its state
    // [MQTT-3.10.4-1] exact string match; [MQTT-3.10.4-2] no new messages for it afterwards;
    // [MQTT-3.10.4-3] deliveries already inflight carry on (they stay in the session's inflight map).
    for (const filter of packet.topicFilters) {
      state.unsubscribe(filter);
    }
    // [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6] one UNSUBACK, always, with the same packet id.
    handle.run([{ type: 'send', packet: { cmd: 'unsuback', packetId: packet.packetId } }]);
    // mosquitto's `unsubscribe` lines: "CLIENTID FILTER".
    if (this.options.logger) for (const filter of packet.topicFilters) this.#log(`${client.clientId} ${filter}`, 'unsubscribe');
    this.#emit('unsubscribe', packet.topicFilters, client);
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
    const client = handle.info;
    if (!client) return;
    if (this.#clients.get(client.clientId) === handle) {
      this.#clients.delete(client.clientId);
      // [MQTT-3.1.2-6] a CleanSession=1 session ends with its connection; [MQTT-3.1.2-4] others stay.
      const state = handle.session.state;
      if (state && !state.persistent) this.#discardSession(state);
      // A takeover's new connection resumes (or discards) the session at once: not offline.
      else if (state && reason !== 'takeover') this.#wentOffline(state);
    }
    if (this.options.connectionMessages) this.#log(`disconnected ${client.clientId} (${reason})`, 'notice');
    if (will) this.#publishWill(client, will);
    this.#emit('disconnect', client, reason);
  }

  /** [MQTT-3.1.2-8] publish the will, as a retained message when Will Retain is set [MQTT-3.1.2-16] [MQTT-3.1.2-17]. */
  #publishWill(client: ClientInfo, will: Will): void {
    const packet: PublishPacket = { cmd: 'publish', topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, dup: false };
    const fail = (e: unknown): void => this.#log(`authorizePublish failed for the will of ${client.clientId}: ${String(e)}`, 'error');
    try {
      void after(
        this.#mayPublish(client, packet),
        (ok) => (ok ? this.#route(packet, client) : this.#log(`will of ${client.clientId} not authorised`, 'debug')),
        fail,
      );
    } catch (e) {
      fail(e);
    }
  }

  /**
   * Keeps the offline persistent sessions within `maxOfflineSessions` by discarding the ones
   * offline longest: a server may discard session state for lack of resources (spec 4.1).
   */
  #wentOffline(state: SessionState): void {
    this.sessions.wentOffline(state, this.#clock());
    this.#boundOffline();
  }

  #boundOffline(): void {
    while (this.sessions.offlineCount > this.options.maxOfflineSessions) {
      const oldest = this.sessions.oldestOffline()!; // offlineCount > 0 in the loop condition
      this.#discardSession(oldest);
      if (this.stats.offlineSessionsDiscarded++ === 0) this.#log(`over maxOfflineSessions: discarding the oldest offline sessions (${oldest.clientId} first)`, 'warning');
    }
  }

  /** mosquitto's persistent_client_expiration: offline sessions older than it are discarded. */
  #expireSessions(now: number): void {
    const seconds = this.options.persistentClientExpiration;
    if (seconds === undefined) return;
    for (const state of this.sessions.offlineLongerThan(seconds * 1000, now)) {
      this.#discardSession(state);
      this.stats.sessionsExpired++;
      this.#log(`expired the offline session of ${state.clientId} (persistent_client_expiration)`, 'notice');
    }
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

/** `packet` with another user name; with none, the field is left out (an absent optional field). */
function withUsername(packet: ConnectPacket, username: string | undefined): ConnectPacket {
  if (username !== undefined) return { ...packet, username };
  const { username: _replaced, ...rest } = packet;
  return rest;
}
