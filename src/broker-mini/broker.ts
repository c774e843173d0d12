/**
 * The broker you start: the core plus its listeners (one TCP listener by default, or any number
 * of TCP, TLS and WebSocket ones, see listeners.ts), the keep-alive clock, the `$SYS` publisher,
 * and `handleConnection` for any other byte stream.
 */
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { MqttError, type QoS } from '../codec/index.js';
import { MemoryBudget, type MemoryBudgetStats } from './budget.js';
import { checkPublishArguments } from './check-options.js';
import { Bridge } from './bridge.js';
import { attachStream, listenTcp, type StreamOptions } from './connection.js';
import { BrokerCore } from './core/broker-core.js';
import type { ProtocolVersion } from '../codec/index.js';
import type { ConnectionPolicy } from './listener-options.js';
import { startListener, type RunningListener } from './listeners.js';
import type { BrokerOptions } from './options.js';
import { snapshot, SysPublisher, type Snapshot } from './sys.js';
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
  #listeners: RunningListener[] = [];
  #sys: SysPublisher | undefined;
  readonly #startedAt: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  readonly #budget: MemoryBudget;
  #lastStreamOptions: StreamOptions | undefined;
  /** The bridges of `options.bridges`, in order; they connect once `listen()` has run. */
  readonly bridges: readonly Bridge[];

  constructor(options: BrokerOptions = {}) {
    super(options);
    this.#budget = new MemoryBudget(this.options.memoryBudget, this.options.partialPacketTimeout);
    this.bridges = (this.options.bridges ?? []).map((b) => new Bridge(this, b));
    // One coarse clock for every connection: connect timeouts and keep-alive need no per-packet timers.
    const every = Math.min(500, Math.max(25, Math.floor(this.options.connectTimeout / 4)));
    this.#timer = setInterval(() => this.tick(), every);
    this.#timer.unref();
    this.#startedAt = this.now();
  }

  /** Where the TCP listener is (`port` is the real one when 0 was asked for); with `listeners`, the first one. */
  get address(): { host: string; port: number } {
    const first = this.#listeners[0];
    if (first !== undefined) return first.address;
    const a = this.#server?.address();
    if (a && typeof a === 'object') return { host: a.address, port: a.port };
    return { host: this.options.host, port: this.options.port };
  }

  /** The listeners started from `options.listeners`, in order. */
  get listeners(): readonly RunningListener[] {
    return this.#listeners;
  }

  /** What `$SYS/broker/...` reports now: clients, traffic counters, store and heap. */
  sysSnapshot(): Snapshot {
    return snapshot(this, this.#startedAt);
  }

  /** Starts the listeners and the `$SYS` publisher (done by `startBroker`). */
  async listen(): Promise<void> {
    // What storage holds is rebuilt before any listener accepts a connection, whichever kind.
    await this.restore();
    if (this.options.sysInterval > 0) this.#sys ??= new SysPublisher(this, this.options.sysInterval);
    if (this.options.listeners) {
      if (this.#listeners.length > 0) return;
      // A listener logs refused sockets (max_connections, failed TLS handshakes): mosquitto's `notice` lines.
      const context = { log: (line: string) => this.options.logger?.(line, 'notice'), handshakeTimeout: this.options.connectTimeout };
      for (const l of this.options.listeners) {
        try {
          this.#listeners.push(await startListener(this, l, context));
        } catch (e) {
          // Say which listener could not start (port in use, say): there may be several.
          throw Object.assign(e as Error, { listener: l });
        }
      }
      return;
    }
    if (this.#server) return;
    this.#server = await listenTcp(this.options.host, this.options.port, (socket: Socket) => this.handleConnection(socket));
    this.#server.on('error', (e) => this.options.logger?.(`listener error: ${String(e)}`, 'error'));
    const ws = this.options.ws;
    if (ws && !this.#ws) {
      // Loaded only when asked for: the WebSocket listener needs the `ws` package.
      const { startWsListener } = await import('./ws-listener.js');
      const versions = ws.protocolVersions;
      const acceptor = versions ? { handleConnection: (stream: Duplex) => this.handleConnection(stream, { protocolVersions: versions }) } : this;
      this.#ws = await startWsListener(acceptor, { host: this.options.host, maxFrameSize: this.options.maxPacketSize, ...ws });
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
   * `listener.protocolVersions` restricts the versions accepted on it (default `options.protocolVersions`).
   */
  handleConnection(stream: Duplex, attach: { policy?: ConnectionPolicy; mountPoint?: string | undefined; protocolVersions?: readonly ProtocolVersion[] | undefined } = {}): void {
    if (this.#closing) {
      stream.destroy();
      return;
    }
    if (this.connectionCount >= this.options.maxConnections) {
      // No CONNECT has been read, so there is nothing to answer: close, as mosquitto does.
      if (this.stats.connectionsRefused++ === 0) this.options.logger?.(`over maxConnections (${this.options.maxConnections}): refusing new connections`, 'notice');
      stream.destroy();
      return;
    }
    attachStream(this, stream, this.#streamOptions(attach));
  }

  /**
   * The limits for a stream attached with `attach`: the connections of one listener share one
   * object (an idle connection should cost as little as it can), built again when `attach` differs.
   */
  #streamOptions(attach: Pick<StreamOptions, 'policy' | 'mountPoint' | 'protocolVersions'>): StreamOptions {
    const last = this.#lastStreamOptions;
    if (last && last.policy === attach.policy && last.mountPoint === attach.mountPoint && last.protocolVersions === attach.protocolVersions) return last;
    const o: StreamOptions = { maxPacketSize: this.options.maxPacketSize, highWaterMark: this.options.socketHighWaterMark, budget: this.#budget, ...attach };
    this.#lastStreamOptions = o;
    return o;
  }

  /**
   * Publishes a message from inside the process (see `BrokerCore.publish`). Throws the codec's
   * `MqttError` for a bad topic or QoS, `BrokerError` `INVALID_ARGUMENT` for a payload or
   * options of the wrong type.
   */
  override publish(topic: string, payload: Uint8Array | string, options: { qos?: QoS; retain?: boolean } = {}): void {
    checkPublishArguments(payload, options);
    if (options.qos !== undefined && options.qos !== 0 && options.qos !== 1 && options.qos !== 2) {
      throw new MqttError('INVALID_QOS', `QoS must be 0, 1 or 2, got ${String(options.qos)}`, { rule: 'MQTT-3.3.1-4' });
    }
    super.publish(topic, payload, options);
  }

  /** The broker-wide memory budget: bytes held for incomplete packets and queued messages, and what it closed. */
  get memory(): MemoryBudgetStats {
    return this.#budget.stats;
  }

  /** Connect timeouts and keep-alive, then the memory budget with the sessions' queued bytes. */
  override tick(now: number = this.now()): void {
    super.tick(now);
    let queued = 0;
    for (const s of this.sessions.values()) queued += s.queuedBytes;
    this.#budget.tick(now, queued);
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
      this.#sys?.stop();
      await Promise.all(this.bridges.map((b) => b.stop()));
      await this.#ws?.close();
      this.closeAll();
      for (const l of this.#listeners) await l.close();
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
