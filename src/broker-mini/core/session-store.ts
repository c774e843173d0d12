/**
 * The sessions of every ClientId [MQTT-3.1.3-2], and the routing index of their subscriptions.
 *
 * The store creates each `SessionState` with its own router as the state's subscription index, so
 * a session's subscriptions and the router cannot drift apart: `SessionState.subscribe` and
 * `unsubscribe` change both, and `discard` removes both. With a `BrokerStorage`, persistent sessions
 * record every change in it (see `SessionState`), and `restore` rebuilds them after a restart.
 */
import { SubscriptionTree, type Route } from './router.js';
import { SessionState } from './session-state.js';
import type { BrokerStorage, LoadedSession } from './storage.js';

/**
 * The session states of every ClientId, keyed by ClientId [MQTT-3.1.3-2], and which of them are
 * offline, in the order their clients left (so the owner can bound them, oldest first).
 */
export class SessionStore {
  readonly #sessions = new Map<string, SessionState>();
  readonly #router = new SubscriptionTree();
  readonly #storage: BrokerStorage | undefined;
  /** Offline persistent sessions, in the order they went offline (a Map keeps insertion order). */
  /** Offline persistent sessions, longest offline first, with when they went offline (ms; none for one restored from storage). */
  readonly #offline = new Map<string, { state: SessionState; since: number | undefined }>();

  constructor(storage?: BrokerStorage) {
    this.#storage = storage;
  }

  /** The stored session of `clientId`, if any. */
  get(clientId: string): SessionState | undefined {
    return this.#sessions.get(clientId);
  }

  /**
   * A fresh, empty session for `clientId`, stored (for a client that is online) in place of any
   * earlier one, which is discarded.
   */
  create(clientId: string, persistent: boolean): SessionState {
    const old = this.#sessions.get(clientId);
    if (old) this.discard(old);
    const state = new SessionState(clientId, persistent, this.#router, this.#storage);
    this.#sessions.set(clientId, state);
    if (persistent) this.#storage?.putSession({ clientId, username: undefined });
    return state;
  }

  /** Rebuilds a persistent session loaded from storage; it is offline until its client returns. */
  restore(loaded: LoadedSession): SessionState {
    const state = new SessionState(loaded.clientId, true, this.#router, this.#storage);
    state.restore(loaded);
    this.#sessions.set(loaded.clientId, state);
    this.#offline.set(loaded.clientId, { state, since: undefined });
    return state;
  }

  /** The client of the stored session `state` is back online. */
  resumed(state: SessionState): void {
    this.#offline.delete(state.clientId);
  }

  /** Forgets `state` and its subscriptions (if it is still the stored session of its ClientId). */
  discard(state: SessionState): void {
    state.unsubscribeAll();
    if (this.#sessions.get(state.clientId) !== state) return;
    this.#sessions.delete(state.clientId);
    this.#offline.delete(state.clientId);
    if (state.persistent) this.#storage?.deleteSession(state.clientId);
  }

  /** The subscriptions matching `topic`, one route per client at its highest granted QoS. */
  routes(topic: string): readonly Route[] {
    return this.#router.routes(topic);
  }

  /** Number of subscriptions held, over all sessions. */
  get subscriptionCount(): number {
    return this.#router.size;
  }

  /** Records that the client of the stored persistent session `state` went offline. */
  wentOffline(state: SessionState, now: number): void {
    if (this.#sessions.get(state.clientId) === state) this.#offline.set(state.clientId, { state, since: now });
  }

  /** The session that has been offline longest, if any. */
  oldestOffline(): SessionState | undefined {
    return this.#offline.values().next().value?.state;
  }

  /**
   * The sessions offline for `maxAgeMs` or longer at `now`, oldest first (mosquitto's
   * `persistent_client_expiration`); sessions restored from storage have no time and never expire
   * before their client returns once. Discarding the one yielded is safe while iterating.
   */
  *offlineLongerThan(maxAgeMs: number, now: number): Generator<SessionState> {
    for (const { state, since } of this.#offline.values()) {
      if (since === undefined) continue;
      if (now - since < maxAgeMs) return; // oldest first: the rest are younger
      yield state;
    }
  }

  /** Number of sessions held (online and offline). */
  get size(): number {
    return this.#sessions.size;
  }

  /** Number of offline persistent sessions held. */
  get offlineCount(): number {
    return this.#offline.size;
  }

  /** Every stored session. */
  values(): IterableIterator<SessionState> {
    return this.#sessions.values();
  }
}
