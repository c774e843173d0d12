/**
 * The CONNECT decisions before a session is attached: the protocol versions a listener serves,
 * the configured admission checks (admission.ts), a generated ClientId, authentication, and the
 * takeover of a session held by another user. `BrokerCore` owns the state and admits the client
 * (`ConnectHost.admit`); this reaches it only through `ConnectHost`.
 */
import { protocolVersionOf, topicMatches } from '../../codec/index.js';
import type { ConnectPacket, QoS } from '../../codec/index.js';
import type { Acl } from './acl.js';
import { authenticateConnect } from '../auth.js';
import { admitConnect } from './admission.js';
import type { ClientHandle } from './handle.js';
import type { ConnectionPolicy } from '../listener-options.js';
import type { ClientInfo, LogType, ResolvedOptions } from '../options.js';
import type { BrokerStats } from './stats.js';
import type { ReadCheck } from './session.js';
import type { SessionState } from './session-state.js';
import type { SessionStore } from './session-store.js';
import { after, allOf, isPromise, type Maybe } from './maybe.js';

/** What CONNECT handling needs from the broker core. */
export interface ConnectHost {
  readonly options: ResolvedOptions;
  readonly sessions: SessionStore;
  readonly stats: BrokerStats;
  /** Whether a client with this ClientId is connected. */
  isConnected(clientId: string): boolean;
  /** The return code one subscription filter would get now (subscribe-flow.ts). */
  grant(client: ClientInfo, topicFilter: string, qos: QoS): Maybe<QoS | 0x80>;
  /** Accepts the CONNECT: attaches the session and sends CONNACK 0. */
  admit(handle: ClientHandle, clientId: string, packet: ConnectPacket, policy: ConnectionPolicy | undefined): void;
  log(line: string, type: LogType): void;
}

/** CONNECT handling for the clients of one broker core. */
export class ConnectFlow {
  readonly #host: ConnectHost;
  #nextGeneratedId = 1;

  constructor(host: ConnectHost) {
    this.#host = host;
  }

  connect(handle: ClientHandle, packet: ConnectPacket): void | Promise<void> {
    const host = this.#host;
    const refuse = (rc: 1 | 2 | 3 | 4 | 5, why: string): void => {
      host.log(`refused ${handle.label} (CONNACK ${rc}): ${why}`, 'notice');
      handle.run(handle.session.refuse(rc));
    };
    // The codec decoded only "MQTT" level 4 and "MQIsdp" level 3 (bit 7 marks a bridge).
    const protocolVersion = protocolVersionOf(packet) ?? 4;
    const accepted = handle.link.protocolVersions ?? host.options.protocolVersions;
    // [MQTT-3.1.2-2] a version this listener does not serve: CONNACK 1, as mosquitto's accept_protocol_versions.
    if (!accepted.includes(protocolVersion)) return refuse(1, `protocol version ${protocolVersion} is not accepted here`);
    const policy = handle.link.policy;
    const admitted = admitConnect(packet, policy, host.options, (prefix) => this.#generateClientId(prefix));
    if ('refuse' in admitted) return refuse(admitted.refuse, admitted.why);
    const { clientId, username } = admitted;
    // [MQTT-3.1.3-5] any ClientId the codec decoded is acceptable: 1-23 alphanumerics and longer ones.
    const creds = { clientId, username, password: packet.password, remoteAddress: handle.link.remoteAddress };
    const verdict = authenticateConnect(creds, admitted.auth);
    const connect = username === packet.username ? packet : withUsername(packet, username);
    const decide = ({ returnCode, why }: { returnCode: 0 | 1 | 2 | 3 | 4 | 5; why: string }): void | Promise<void> => {
      if (handle.ended) return;
      if (returnCode !== 0) return refuse(returnCode, why);
      const held = host.sessions.get(clientId);
      if (!held || held.username === username) return host.admit(handle, clientId, connect, policy);
      // The ClientId is held by a session of another user (see README "Session takeover").
      if (host.options.takeoverByOtherUser === 'refuse') return refuse(5, `ClientId ${clientId} is held by a session of another user`);
      return this.#takeOver(handle, clientId, connect, held, policy);
    };
    return isPromise(verdict) ? verdict.then(decide) : decide(verdict);
  }

  #generateClientId(prefix: string): string {
    let id: string;
    do id = `${prefix}${(this.#nextGeneratedId++).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    while (this.#host.sessions.get(id) || this.#host.isConnected(id));
    return id;
  }

  /**
   * A CONNECT resumes (or, with CleanSession=1, discards) `held`, the session of another user.
   * Resumed, it keeps only the subscriptions the new user is granted — by the ACL and the
   * `authorizeSubscribe` hook, as if subscribing now — and only the queued and in-flight messages
   * those still match; `Session.accept` then applies the new user's ACL to each message left.
   */
  #takeOver(handle: ClientHandle, clientId: string, packet: ConnectPacket, held: SessionState, policy: ConnectionPolicy | undefined): void | Promise<void> {
    const host = this.#host;
    if (packet.cleanSession) return host.admit(handle, clientId, packet, policy);
    const client = clientInfo(handle, clientId, packet);
    const filters = [...held.subscriptions];
    const codes = filters.map(([f, qos]) => host.grant(client, f, qos));
    const all = allOf(codes);
    const apply = (granted: Array<QoS | 0x80>): void | Promise<void> => {
      if (handle.ended) return;
      // The session changed hands while a hook ran: decide again on what it is now.
      if (host.sessions.get(clientId) !== held) return this.connect(handle, { ...packet, clientId });
      const kept = new Map<string, QoS>();
      filters.forEach(([f], i) => granted[i] !== 0x80 && kept.set(f, granted[i] as QoS)); // not 0x80, checked in the same expression
      // A filter added while the hook ran was not granted to this user: it goes too.
      let dropped = 0;
      for (const f of [...held.subscriptions.keys()]) if (!kept.has(f) && held.unsubscribe(f)) dropped++;
      for (const [f, qos] of kept) held.subscribe(f, qos);
      const keptFilters = [...kept.keys()];
      const unmatched = held.discardMessages((topic) => keptFilters.some((f) => topicMatches(f, topic)));
      host.stats.subscriptionsDroppedOnTakeover += dropped;
      host.stats.deniedOnDelivery += unmatched;
      const previousUser = held.username;
      const deniedBefore = host.stats.deniedOnDelivery;
      // `accept` discards (and counts) the messages left that the new user's ACL refuses.
      host.admit(handle, clientId, packet, policy);
      const discarded = unmatched + host.stats.deniedOnDelivery - deniedBefore;
      const who = (u: string | undefined) => (u === undefined ? 'no user name' : `user "${u}"`);
      host.log(
        `session ${clientId} of ${who(previousUser)} taken over by ${who(packet.username)}: ` +
          `${dropped} subscription(s) dropped, ${discarded} queued or in-flight message(s) discarded`,
        'notice',
      );
    };
    return after(all, apply, () => apply(filters.map(() => 0x80)));
  }
}

/** What the broker's hooks and events are told about the client of an accepted CONNECT. */
export function clientInfo(handle: ClientHandle, clientId: string, packet: ConnectPacket): ClientInfo {
  return {
    clientId,
    username: packet.username,
    cleanSession: packet.cleanSession,
    keepAlive: packet.keepAlive,
    remoteAddress: handle.link.remoteAddress,
    protocolVersion: protocolVersionOf(packet) ?? 4,
  };
}

/** What the connection of `handle` may read under `acl`, counting refusals (undefined: no ACL, all of it). */
export function readCheck(acl: Acl, handle: ClientHandle, stats: BrokerStats): ReadCheck | undefined {
  if (acl.open) return undefined;
  return (topic) => {
    // Asked only once the CONNECT is accepted, when the handle has its client info.
    const client = handle.info;
    if (client !== undefined && acl.canRead(client, topic)) return true;
    stats.deniedOnDelivery++;
    return false;
  };
}

/** `packet` with another user name; with none, the field is left out (an absent optional field). */
function withUsername(packet: ConnectPacket, username: string | undefined): ConnectPacket {
  if (username !== undefined) return { ...packet, username };
  const { username: _replaced, ...rest } = packet;
  return rest;
}
