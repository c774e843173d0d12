/**
 * What outlives a connection once it ends: its will, published as if the client had sent it
 * [MQTT-3.1.2-8]; and its persistent session, kept offline within bounds — at most
 * `maxOfflineSessions` of them (the ones offline longest go first), none older than
 * `persistentClientExpiration` (mosquitto's persistent_client_expiration). A server may discard
 * session state for lack of resources (spec 4.1). `BrokerCore` owns the sessions and the routing;
 * this reaches them through `OfflineHost` and `WillHost`.
 */
import type { PublishPacket, Will } from '../../codec/index.js';
import type { SessionAcls } from './acl.js';
import type { ClientInfo, LogType, ResolvedOptions } from '../options.js';
import { after, type Maybe } from './maybe.js';
import type { BrokerStats } from './stats.js';
import type { SessionState } from './session-state.js';
import type { SessionStore } from './session-store.js';

/** What the offline bounds need from the broker core. */
export interface OfflineHost {
  readonly options: ResolvedOptions;
  readonly sessions: SessionStore;
  readonly stats: BrokerStats;
  /** The ACL of each session, which a discarded session's goes with. */
  readonly acls: SessionAcls;
  log(line: string, type: LogType): void;
}

/** Keeps the offline persistent sessions of one broker core within their bounds. */
export class OfflineSessions {
  readonly #host: OfflineHost;

  constructor(host: OfflineHost) {
    this.#host = host;
  }

  /** Forgets a session and its subscriptions, with what was kept about it beside the store. */
  discard(state: SessionState): void {
    const { sessions, acls, stats } = this.#host;
    const current = sessions.get(state.clientId) === state;
    sessions.discard(state);
    if (!current) return;
    acls.forget(state.clientId);
    stats.droppedByEndedSessions += state.dropped;
  }

  /** `state`'s client went away at `now`: the session waits offline, within the bounds. */
  wentOffline(state: SessionState, now: number): void {
    this.#host.sessions.wentOffline(state, now);
    this.bound();
  }

  /** Discards the sessions offline longest while there are more than `maxOfflineSessions`. */
  bound(): void {
    const { sessions, options, stats } = this.#host;
    while (sessions.offlineCount > options.maxOfflineSessions) {
      const oldest = sessions.oldestOffline()!; // offlineCount > 0 in the loop condition
      this.discard(oldest);
      if (stats.offlineSessionsDiscarded++ === 0) this.#host.log(`over maxOfflineSessions: discarding the oldest offline sessions (${oldest.clientId} first)`, 'warning');
    }
  }

  /** mosquitto's persistent_client_expiration: offline sessions older than it are discarded. */
  expire(now: number): void {
    const seconds = this.#host.options.persistentClientExpiration;
    if (seconds === undefined) return;
    for (const state of this.#host.sessions.offlineLongerThan(seconds * 1000, now)) {
      this.discard(state);
      this.#host.stats.sessionsExpired++;
      this.#host.log(`expired the offline session of ${state.clientId} (persistent_client_expiration)`, 'notice');
    }
  }
}

/** What publishing a will needs from the broker core. */
export interface WillHost {
  /** The ACL, then the `authorizePublish` hook (which may throw or reject). */
  mayPublish(client: ClientInfo, packet: PublishPacket): Maybe<boolean>;
  /** Hands a message to its subscribers and the retained store. */
  route(packet: PublishPacket, from: ClientInfo): void;
  log(line: string, type: LogType): void;
}

/** [MQTT-3.1.2-8] publish the will, as a retained message when Will Retain is set [MQTT-3.1.2-16] [MQTT-3.1.2-17]. */
export function publishWill(host: WillHost, client: ClientInfo, will: Will): void {
  const packet: PublishPacket = { cmd: 'publish', topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, dup: false };
  const fail = (e: unknown): void => host.log(`authorizePublish failed for the will of ${client.clientId}: ${String(e)}`, 'error');
  try {
    void after(
      host.mayPublish(client, packet),
      (ok) => (ok ? host.route(packet, client) : host.log(`will of ${client.clientId} not authorised`, 'debug')),
      fail,
    );
  } catch (e) {
    fail(e);
  }
}
