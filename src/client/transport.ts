/**
 * The byte-stream seam between the client and the network.
 *
 * The client core speaks only to a `Transport`: an open, ordered, lossless, two-way byte stream
 * [MQTT-7.1.2-1]. TCP and TLS (`transport-net.ts`) implement it for Node; a WebSocket
 * transport (Node's `ws` or the browser's `WebSocket`) can implement it too, and plugs in by
 * registering a factory for `'ws:'`/`'wss:'` — the core does not change. Packet and chunk
 * boundaries need not line up [MQTT-6.0.0-2]: the client's decoder reassembles packets.
 *
 * This module imports no `node:` module.
 */

/** TLS settings passed to transports that support TLS (`mqtts:`, `wss:`). */
export interface TlsOptions {
  /** Trusted CA certificate(s), PEM. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** Client certificate, PEM. */
  cert?: string | Uint8Array;
  /** Client private key, PEM. */
  key?: string | Uint8Array;
  /** Verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Server name for SNI and certificate checks (default: the host, unless it is an IP address). */
  servername?: string;
}

/** What a transport factory is given. */
export interface TransportOptions {
  /** The broker URL (protocol, host, port and path already settled). */
  url: URL;
  host: string;
  port: number;
  tls?: TlsOptions;
  /** Fires when connecting should stop; the factory then rejects. */
  signal?: AbortSignal;
}

/**
 * An open connection. Callbacks are registered once, right after the factory resolves; data
 * that arrives before a data callback is registered must be held, not dropped.
 */
export interface Transport {
  /**
   * Queues bytes for sending, in order; several buffers are one logical write (e.g. a PUBLISH
   * header and its payload, so the payload is never copied). Returns false when the transport's
   * buffer is full: the caller should wait for `onDrain` before writing much more.
   */
  write(data: Uint8Array | readonly Uint8Array[]): boolean;
  /** Closes gracefully once queued bytes are sent. */
  end(): void;
  /** Closes at once, discarding queued bytes. */
  destroy(): void;
  /** Bytes arrived. */
  onData(callback: (chunk: Uint8Array) => void): void;
  /** The connection closed, exactly once; `error` when it failed rather than ended. */
  onClose(callback: (error?: Error) => void): void;
  /** The write buffer emptied after `write` returned false. */
  onDrain(callback: () => void): void;
}

/** Opens a transport; rejects when the connection cannot be made. */
export type TransportFactory = (options: TransportOptions) => Promise<Transport>;

/** Default port for each registered URL protocol. */
const defaultPorts = new Map<string, number>();
const registry = new Map<string, TransportFactory>();

/**
 * Registers `factory` for a URL protocol, e.g. `registerTransport('ws:', wsFactory, 80)`.
 * `protocol` includes the colon, as in `URL.protocol`. A later registration replaces an earlier one.
 */
export function registerTransport(protocol: string, factory: TransportFactory, defaultPort?: number): void {
  registry.set(protocol, factory);
  if (defaultPort !== undefined) defaultPorts.set(protocol, defaultPort);
}

/** The factory registered for `protocol` (e.g. `'mqtt:'`), if any. */
export function getTransport(protocol: string): TransportFactory | undefined {
  return registry.get(protocol);
}

/** The default port registered for `protocol`, if any. */
export function getDefaultPort(protocol: string): number | undefined {
  return defaultPorts.get(protocol);
}
