/**
 * The broker you start: the core plus a TCP listener, the keep-alive clock, and
 * `handleConnection` for any other byte stream (WebSocket).
 */
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Bridge } from './bridge.js';
import { attachStream, listenTcp } from './connection.js';
import { BrokerCore } from './core.js';
import type { BrokerOptions } from './options.js';
import type { WsListener } from './ws-listener.js';

/** What `broker.sessionInfo` reports about one ClientId. */
export interface SessionInfo {
  clientId: string;
  connected: boolean;
  /** CleanSession=0: survives disconnection. */
  persistent: boolean;
  subscriptions: Array<{ topicFilter: string; qos: 0 | 1 | 2 }>;
  /** QoS 1/2 messages waiting for an inflight slot or for the client to return. */
  queued: number;
  /** Outbound QoS 1/2 messages awaiting acknowledgement. */
  inflight: number;
  /** Bytes (payload plus topic) of the queued and inflight messages, bounded by `maxQueuedBytes`. */
  queuedBytes: number;
  /** Messages dropped: the queue was full, or (QoS 0) the client was not reading. */
  dropped: number;
}

/** A running broker (see `startBroker`). */
export class Broker extends BrokerCore {
  #server: Server | undefined;
  #ws: WsListener | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  /** The bridges of `options.bridges`, in order; they connect once `listen()` has run. */
  readonly bridges: readonly Bridge[];

  constructor(options: BrokerOptions = {}) {
    super(options);
    this.bridges = (this.options.bridges ?? []).map((b) => new Bridge(this, b));
    // One coarse clock for every connection: connect timeouts and keep-alive need no per-packet timers.
    const every = Math.min(500, Math.max(25, Math.floor(this.options.connectTimeout / 4)));
    this.#timer = setInterval(() => this.tick(), every);
    this.#timer.unref();
  }

  /** Where the TCP listener is (`port` is the real one when 0 was asked for). */
  get address(): { host: string; port: number } {
    const a = this.#server?.address();
    if (a && typeof a === 'object') return { host: a.address, port: a.port };
    return { host: this.options.host, port: this.options.port };
  }

  /** Starts the TCP listener (done by `startBroker`). */
  async listen(): Promise<void> {
    if (this.#server) return;
    this.#server = await listenTcp(this.options.host, this.options.port, (socket: Socket) => this.handleConnection(socket));
    this.#server.on('error', (e) => this.options.logger?.(`listener error: ${String(e)}`));
    const ws = this.options.ws;
    if (ws && !this.#ws) {
      // Loaded only when asked for: the WebSocket listener needs the `ws` package.
      const { startWsListener } = await import('./ws-listener.js');
      this.#ws = await startWsListener(this, { host: this.options.host, maxFrameSize: this.options.maxPacketSize, ...ws });
    }
    for (const bridge of this.bridges) bridge.start();
  }

  /** Where the WebSocket listener is, when `options.ws` asked for one. */
  get wsAddress(): { host: string; port: number; path?: string } | undefined {
    return this.#ws?.address;
  }

  /**
   * Serves MQTT over any duplex byte stream with Node stream semantics: a net.Socket, a TLS socket,
   * or a WebSocket stream from `ws`'s createWebSocketStream (which must carry binary frames).
   */
  handleConnection(stream: Duplex): void {
    if (this.#closing) {
      stream.destroy();
      return;
    }
    if (this.connectionCount >= this.options.maxConnections) {
      // No CONNECT has been read, so there is nothing to answer: close, as mosquitto does.
      if (this.stats.connectionsRefused++ === 0) this.options.logger?.(`over maxConnections (${this.options.maxConnections}): refusing new connections`);
      stream.destroy();
      return;
    }
    attachStream(this, stream, { maxPacketSize: this.options.maxPacketSize, highWaterMark: this.options.socketHighWaterMark });
  }

  /** A snapshot of the session held for `clientId`, if any. */
  sessionInfo(clientId: string): SessionInfo | undefined {
    const s = this.sessions.get(clientId);
    if (!s) return undefined;
    return {
      clientId,
      connected: this.connectedClient(clientId) !== undefined,
      persistent: s.persistent,
      subscriptions: [...s.subscriptions].map(([topicFilter, qos]) => ({ topicFilter, qos })),
      queued: s.queue.length,
      inflight: s.inflight.size,
      queuedBytes: s.queuedBytes,
      dropped: s.dropped,
    };
  }

  /** Closes every client (without publishing wills), stops listening and clears timers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      await Promise.all(this.bridges.map((b) => b.stop()));
      await this.#ws?.close();
      this.closeAll();
      const server = this.#server;
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return this.#closing;
  }
}

/** Starts a broker listening on `options.host`:`options.port` (default 127.0.0.1:1883). */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const broker = new Broker(options);
  try {
    await broker.listen();
  } catch (e) {
    await broker.close();
    throw e;
  }
  return broker;
}
