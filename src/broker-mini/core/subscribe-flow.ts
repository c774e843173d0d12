/**
 * SUBSCRIBE and UNSUBSCRIBE: what each filter is granted (the ACL, then the `authorizeSubscribe`
 * hook), the session's subscriptions, the SUBACK or UNSUBACK, and the retained messages a
 * subscription brings. `BrokerCore` owns the state; this reaches it only through `SubscribeHost`.
 */
import type { QoS, SubscribePacket, UnsubscribePacket } from '../../codec/index.js';
import type { Acl } from './acl.js';
import type { ClientHandle } from './handle.js';
import type { BrokerEvents, ClientInfo, LogType, ResolvedOptions } from '../options.js';
import type { RetainedStore } from './retained.js';
import { sendRetained } from './retained-delivery.js';
import { after, allOf, callHook, isPromise, type Maybe } from './maybe.js';

/** What subscribing needs from the broker core. */
export interface SubscribeHost {
  readonly options: ResolvedOptions;
  readonly retained: RetainedStore;
  /** The ACL that applies to `clientId`'s session. */
  aclOf(clientId: string): Acl;
  /** The storage's commit of every change recorded so far, or nothing without storage. */
  committed(): Promise<void> | undefined;
  /** `checkRetainSource`: may the retained message's publisher still publish to its topic? */
  retainSourceMayPublish(topic: string): boolean;
  log(line: string, type: LogType): void;
  emit<E extends 'subscribe' | 'unsubscribe'>(event: E, ...args: Parameters<BrokerEvents[E]>): void;
}

/** SUBSCRIBE / UNSUBSCRIBE handling for the clients of one broker core. */
export class SubscribeFlow {
  readonly #host: SubscribeHost;

  constructor(host: SubscribeHost) {
    this.#host = host;
  }

  /** The return code for one filter: the ACL, then the hook (a failing hook refuses it). */
  grant(client: ClientInfo, topicFilter: string, qos: QoS): Maybe<QoS | 0x80> {
    if (!this.#host.aclOf(client.clientId).canSubscribe(client, topicFilter)) return 0x80;
    const hook = this.#host.options.authorizeSubscribe;
    if (!hook) return qos;
    const toCode = (v: boolean | QoS): QoS | 0x80 => (v === true ? qos : v === false ? 0x80 : (Math.min(v, qos) as QoS)); // the smaller of two QoS values is a QoS
    const v = callHook<boolean | QoS>(() => hook(client, topicFilter, qos), () => false);
    return isPromise(v) ? v.then(toCode, () => 0x80 as const) : toCode(v);
  }

  subscribe(handle: ClientHandle, packet: SubscribePacket): void | Promise<void> {
    const client = handle.info!; // handle.info is set once CONNECT is accepted, before this
    // [MQTT-3.8.4-4] each filter is handled as if in its own SUBSCRIBE; one SUBACK answers them all.
    // A listener's max_qos bounds what is granted.
    const maxQos = handle.link.policy?.maxQos ?? 2;
    const codes = packet.subscriptions.map((s) => this.grant(client, s.topicFilter, Math.min(s.qos, maxQos) as QoS)); // the smaller of two QoS values is a QoS
    const all = allOf(codes);
    return after(all, (c) => this.#apply(handle, packet, c), () => this.#apply(handle, packet, codes.map(() => 0x80 as const)));
  }

  #apply(handle: ClientHandle, packet: SubscribePacket, codes: Array<QoS | 0x80>): void | Promise<void> {
    if (handle.ended) return;
    const state = handle.session.state!; // a connected handle's session has its state
    packet.subscriptions.forEach((s, i) => {
      // [MQTT-3.9.3-2] 0x80 for a new filter beyond `maxSubscriptions`: a few bytes of SUBSCRIBE
      // must not make the broker index millions of filters.
      const full = state.subscriptions.size >= this.#host.options.maxSubscriptions && !state.subscriptions.has(s.topicFilter);
      const code = full ? (codes[i] = 0x80) : codes[i]!; // one code per filter
      if (code === 0x80) return;
      // [MQTT-3.8.4-3] an identical filter replaces the old subscription.
      state.subscribe(s.topicFilter, code);
    });
    // With storage, a persistent session's SUBACK goes out once its subscriptions are committed.
    const committed = state.persistent ? this.#host.committed() : undefined;
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
    if (this.#host.options.logger) packet.subscriptions.forEach((s, i) => this.#host.log(`${client.clientId} ${codes[i]} ${s.topicFilter}`, 'subscribe'));
    this.#host.emit('subscribe', packet.subscriptions.map((s, i) => ({ topicFilter: s.topicFilter, qos: codes[i]! })), client); // one code per filter
    // [MQTT-3.3.1-6] retained messages of matching topics, also on a re-subscription [MQTT-3.8.4-3]:
    // in slices, up to the first one the client cannot take (see retained-delivery.ts).
    // `codes[i] as QoS`: one code per filter, and 0x80 is ruled out just before.
    const grants = packet.subscriptions.flatMap((s, i) => (codes[i] === 0x80 ? [] : [{ topicFilter: s.topicFilter, qos: codes[i] as QoS }]));
    return sendRetained(handle, grants, this.#host.retained, (topic) => this.#host.retainSourceMayPublish(topic));
  }

  unsubscribe(handle: ClientHandle, packet: UnsubscribePacket): void {
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
    if (this.#host.options.logger) for (const filter of packet.topicFilters) this.#host.log(`${client.clientId} ${filter}`, 'unsubscribe');
    this.#host.emit('unsubscribe', packet.topicFilters, client);
  }
}
