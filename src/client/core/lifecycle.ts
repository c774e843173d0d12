/**
 * The life of an `MqttClient` around its network connections, as one state machine.
 *
 * The `ClientSession` below it decides what MQTT requires (CONNECT first, keep-alive, which
 * packets to resend); this machine decides what the shell around it does with connections:
 * open one, wait for its CONNACK, wait before reconnecting, close for good. Each state carries
 * only the data that exists in it — the link exists only while there is a connection, the
 * handshake only until CONNACK, the reconnect timer only while waiting — so "connected but with
 * a reconnect timer pending" cannot even be written down.
 *
 * ```
 *                 ┌──────────── link closed before CONNACK ─────────────┐
 *                 ▼             (the round tries the next server)       │
 *   start() ─▶ offline ──transport open, CONNECT sent──▶ connecting ────┘
 *               ▲  │                                         │
 *   delay over  │  │ round failed                  CONNACK 0 │
 *               │  ▼                                         ▼
 *             waiting ◀────────── link lost ─────────── connected
 *
 *   end()  : offline | connecting | connected | waiting ──▶ closing ──link closed──▶ ended
 *   destroy(), a failed start(), a fatal error: any state ─────────────────────────▶ ended
 * ```
 * `end()` first waits for queued and in-flight work to finish (bounded by its timeout); the
 * connection keeps living meanwhile — it may even be lost and reconnected — so that wait is not
 * a state here but an `EndRequest` (ending.ts) held beside the state. Once the work is done (or the time is
 * up), `end()` moves the machine to `closing`: DISCONNECT is sent, and no reconnect follows.
 */
import type { Link } from './link.js';

/** A connection attempt waiting for its CONNACK: settles the attempt's promise. */
export interface Handshake {
  resolve(): void;
  reject(error: Error): void;
}

/** Where the client is (see the diagram at the top of this file). */
export type ShellState =
  /** No connection and no timer: before `start()`, or a connection round is opening a transport. */
  | { readonly name: 'offline' }
  /** CONNECT sent on `link`; `handshake` settles when CONNACK arrives or the link fails. */
  | { readonly name: 'connecting'; readonly link: Link; readonly handshake: Handshake }
  /** CONNACK 0 received on `link`. */
  | { readonly name: 'connected'; readonly link: Link }
  /** The connection was lost; `timer` starts the next connection round. */
  | { readonly name: 'waiting'; readonly timer: ReturnType<typeof setTimeout> }
  /** `end()` is closing `link` (if there still is one); nothing reconnects any more. */
  | { readonly name: 'closing'; readonly link: Link | undefined; readonly handshake: Handshake | undefined }
  /** For good: pending work has failed, streams have ended. */
  | { readonly name: 'ended' };

export type ShellStateName = ShellState['name'];

/** Every transition the client makes; anything else is a bug in the client. */
const NEXT: { readonly [S in ShellStateName]: readonly ShellStateName[] } = {
  offline: ['connecting', 'waiting', 'closing', 'ended'],
  connecting: ['connected', 'offline', 'closing', 'ended'],
  connected: ['offline', 'closing', 'ended'],
  waiting: ['offline', 'closing', 'ended'],
  // `closing` → `closing`: the link of a closing client has gone.
  closing: ['closing', 'ended'],
  ended: [],
};

export const OFFLINE: ShellState = { name: 'offline' };
export const ENDED: ShellState = { name: 'ended' };

/**
 * Checks the move from `from` to `to` and releases what `from` held that `to` does not: a
 * pending reconnect timer. Returns `to`. Throws for a move not in the table.
 */
export function transition(from: ShellState, to: ShellState): ShellState {
  if (!NEXT[from.name].includes(to.name)) throw new Error(`mqtt311 client: no transition from ${from.name} to ${to.name}`);
  if (from.name === 'waiting') clearTimeout(from.timer);
  return to;
}

/** The link of a state that has one. */
export function linkOf(state: ShellState): Link | undefined {
  return state.name === 'connecting' || state.name === 'connected' || state.name === 'closing' ? state.link : undefined;
}

/** The handshake of a state that has one. */
export function handshakeOf(state: ShellState): Handshake | undefined {
  return state.name === 'connecting' || state.name === 'closing' ? state.handshake : undefined;
}

/** True once `end()`, `destroy()` or a fatal error stopped the client: nothing reconnects. */
export function isStopped(state: ShellState): boolean {
  return state.name === 'closing' || state.name === 'ended';
}
