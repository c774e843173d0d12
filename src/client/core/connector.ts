/**
 * Which server to connect to, and when to try again: the connection rounds of `MqttClient`.
 *
 * A round tries the servers in order until one accepts; after a lost connection the next round
 * starts when the backoff says (`waiting` in `lifecycle.ts`). The connector moves the client's
 * state through its host, which owns it, and asks the host to put CONNECT on a new transport.
 */
import { ClientError, ConnackError } from '../errors.js';
import type { Transport, TransportFactory } from '../transport.js';
import { Backoff } from './backoff.js';
import { isStopped, linkOf, OFFLINE, type Handshake, type ShellState } from './lifecycle.js';
import { abortedError, factoryFor, openTransport } from './open.js';
import type { ResolvedOptions, ServerAddress } from './options.js';

/** What the connector needs from the client. */
export interface ConnectorHost {
  state(): ShellState;
  enter(next: ShellState): void;
  /** Sends CONNECT on `transport`; `handshake` settles at CONNACK or when the link fails first. */
  attach(transport: Transport, handshake: Handshake): void;
  /** A reconnect round starts. */
  reconnecting(attempt: number): void;
  /** Reconnecting is over for good: `error` ends the client (`surface`: also emit it as `'error'`). */
  giveUp(error: Error, surface: boolean): void;
}

const closedError = () => new ClientError('CLIENT_CLOSED', 'the client has ended');

/** The connection rounds of one client. */
export class Connector {
  readonly #config: ResolvedOptions;
  readonly #factory: TransportFactory;
  readonly #host: ConnectorHost;
  readonly #backoff: Backoff;
  /** The server of the current (or last) connection attempt, and the last one that accepted us. */
  #server: ServerAddress;
  #accepted: ServerAddress | undefined;

  constructor(config: ResolvedOptions, factory: TransportFactory, host: ConnectorHost) {
    this.#config = config;
    this.#factory = factory;
    this.#host = host;
    this.#backoff = new Backoff(config.reconnect || {});
    this.#server = config.servers[0] ?? config;
  }

  /** The server in use or being tried. */
  get server(): ServerAddress {
    return this.#server;
  }

  /**
   * The current server accepted us: the backoff starts over. Returns true when it is not the
   * server that accepted us last time (failover happened).
   */
  accepted(): boolean {
    this.#backoff.reset();
    const switched = this.#accepted !== undefined && this.#accepted !== this.#server;
    this.#accepted = this.#server;
    return switched;
  }

  /**
   * One round over the servers, in order, until one accepts. A server that cannot be reached,
   * times out or answers "server unavailable" (CONNACK 3) passes the turn to the next; any other
   * refusal will not change by asking elsewhere with the same credentials, so it ends the round.
   * Rejects with the last failure when every server failed.
   */
  async round(signal?: AbortSignal): Promise<void> {
    let failure: unknown;
    for (const server of this.#config.servers) {
      if (isStopped(this.#host.state()) && failure !== undefined) break;
      try {
        await this.#connect(server, signal);
        return;
      } catch (error) {
        failure = error;
        if (signal?.aborted || isStopped(this.#host.state()) || (error instanceof ConnackError && error.returnCode !== 3)) break;
      }
    }
    throw failure;
  }

  /** The connection was lost: wait (the backoff's delay), then start a new round — or give up. */
  lost(cause: Error | undefined): void {
    if (isStopped(this.#host.state())) return;
    const delay = this.#config.reconnect === false ? undefined : this.#backoff.next();
    if (delay === undefined) {
      const why = this.#config.reconnect === false ? 'reconnect is off' : `gave up after ${this.#backoff.attempts} attempts`;
      this.#host.giveUp(new ClientError('CONNECTION_LOST', `the connection was lost and ${why}`, { cause }), false);
      return;
    }
    this.#host.enter({ name: 'waiting', timer: setTimeout(() => void this.#reconnect(), delay) });
  }

  async #reconnect(): Promise<void> {
    if (this.#host.state().name !== 'waiting') return;
    this.#host.enter(OFFLINE);
    this.#host.reconnecting(this.#backoff.attempts);
    try {
      await this.round();
    } catch (error) {
      if (isStopped(this.#host.state())) return;
      // A refusal other than "server unavailable" will not change by retrying.
      if (error instanceof ConnackError && error.returnCode !== 3) return this.#host.giveUp(error, true);
      this.lost(error as Error); // what is caught here is an Error (Node's or ours)
    }
  }

  /**
   * One connection attempt: open the transport, CONNECT, resolve at CONNACK 0. A refused
   * CONNACK, a timeout or a closed connection reject it.
   */
  async #connect(server: ServerAddress, signal?: AbortSignal): Promise<void> {
    this.#server = server;
    this.#config.logger?.(`mqtt311 ${this.#config.session.clientId} connecting to ${server.url.href}`);
    const transport = await openTransport(factoryFor(this.#config, this.#factory, server), { ...this.#config, ...server }, signal);
    if (isStopped(this.#host.state())) {
      transport.destroy();
      throw closedError();
    }
    const onAbort = () => linkOf(this.#host.state())?.destroy(abortedError());
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => this.#host.attach(transport, { resolve, reject }));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
