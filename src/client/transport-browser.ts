/**
 * MQTT over the standard (WHATWG) `WebSocket` — the one browsers have — as a client `Transport`.
 *
 * Spec chapter 6 asks four things of a WebSocket connection, and this is where the client
 * meets them:
 * - [MQTT-6.0.0-3] the client offers the subprotocol `mqtt`;
 * - [MQTT-6.0.0-4] the server must select `mqtt`: a handshake that ends with another (or no)
 *   subprotocol is refused;
 * - [MQTT-6.0.0-1] packets travel in binary frames only, and a text frame from the server closes
 *   the connection;
 * - [MQTT-6.0.0-2] frame and packet boundaries need not line up: each frame's bytes are handed to
 *   the client's streaming decoder as one chunk, which reassembles packets.
 *
 * This module imports no `node:` module and no package, so it bundles for browsers as is. It also
 * serves any runtime with a standard `WebSocket` (pass the constructor to use another one).
 */
import { ClientError } from './errors.js';
import type { Transport, TransportFactory, TransportOptions } from './transport.js';

/** The WebSocket subprotocol registered for MQTT (spec 6.1). */
export const MQTT_SUBPROTOCOL = 'mqtt';

/**
 * Close code the Node transport sends after a text frame: 1003 "unsupported data" (RFC 6455
 * section 7.4.1). The browser's `WebSocket.close()` accepts only 1000 and 3000-4999, so there the
 * close is a 1000 with a reason.
 */
export const CLOSE_UNSUPPORTED_DATA = 1003;

/** The reason sent with the close after a text frame. */
export const TEXT_FRAME_CLOSE_REASON = 'MQTT uses binary frames only';

const ignore = (): void => {};

/** Close codes that mean the connection ended normally rather than failed (RFC 6455 7.4.1). */
const NORMAL_CLOSE_CODES = new Set([1000, 1001, 1005]);

/** The parts of the standard `WebSocket` constructor this transport uses. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/** Options of {@link createBrowserTransport}. */
export interface BrowserTransportOptions {
  /** The `WebSocket` constructor; default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /**
   * `write` returns false once this many bytes wait in the browser's send buffer
   * (`bufferedAmount`); the drain callback fires when it has fallen to half. Default 1 MiB.
   */
  highWaterMark?: number;
}

/**
 * The URL a WebSocket transport connects to: the broker URL with its host and port settled.
 * The path and query are kept as given (spec 6.0: the URI "has no impact on the MQTT protocol";
 * many brokers serve `/mqtt`, this project's listener serves any path).
 */
export function webSocketUrl(options: TransportOptions): string {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const scheme = options.url.protocol === 'wss:' ? 'wss:' : 'ws:';
  return `${scheme}//${host}:${options.port}${options.url.pathname || '/'}${options.url.search}`;
}

/** The error a transport reports when the server sends a text frame [MQTT-6.0.0-1]. */
export function textFrameError(): ClientError {
  return new ClientError('PROTOCOL_ERROR', 'the server sent a WebSocket text frame; MQTT uses binary frames only', {
    rule: 'MQTT-6.0.0-1',
  });
}

/** The error for a handshake in which the server did not select `mqtt` [MQTT-6.0.0-4]. */
export function subprotocolError(selected: string | undefined): ClientError {
  const what = selected ? `"${selected}"` : 'no subprotocol';
  return new ClientError('PROTOCOL_ERROR', `the server selected ${what} instead of "mqtt"`, { rule: 'MQTT-6.0.0-4' });
}

/** The error for a WebSocket that closed abnormally (`code` not 1000, 1001 or 1005). */
export function closeError(code: number, reason: string): ClientError | undefined {
  if (NORMAL_CLOSE_CODES.has(code)) return undefined;
  return new ClientError('CONNECTION_LOST', `the WebSocket closed with code ${code}${reason ? ` (${reason})` : ''}`);
}

/** One buffer from a logical write (a PUBLISH header and payload become one binary frame). */
export function joinChunks(data: Uint8Array | readonly Uint8Array[]): Uint8Array {
  if (data instanceof Uint8Array) return data;
  const only = data.length === 1 ? data[0] : undefined;
  if (only !== undefined) return only;
  let size = 0;
  for (const chunk of data) size += chunk.length;
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of data) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}

/**
 * The callback side of a `Transport`: holds data (and a close) that arrive before the owner has
 * registered its callbacks, delivers them in order, and reports the close exactly once.
 */
export class TransportCallbacks {
  #onData: ((chunk: Uint8Array) => void) | undefined;
  #onClose: ((error?: Error) => void) | undefined;
  #onDrain: (() => void) | undefined;
  #held: Uint8Array[] = [];
  #close: 'open' | 'pending' | 'reported' = 'open';
  #closeError: Error | undefined;

  /** True once the close has been recorded (reported or waiting to be). */
  get closed(): boolean {
    return this.#close !== 'open';
  }

  /** `Transport.onData`. */
  setData(callback: (chunk: Uint8Array) => void): void {
    this.#onData = callback;
    queueMicrotask(() => this.#flush());
  }

  /** `Transport.onClose`. */
  setClose(callback: (error?: Error) => void): void {
    this.#onClose = callback;
    queueMicrotask(() => this.#flush());
  }

  /** `Transport.onDrain`. */
  setDrain(callback: () => void): void {
    this.#onDrain = callback;
  }

  /** Bytes arrived; nothing is delivered after the close. */
  data(chunk: Uint8Array): void {
    if (this.#close !== 'open') return;
    if (this.#onData && this.#held.length === 0) this.#onData(chunk);
    else this.#held.push(chunk);
  }

  /** The connection closed (first call wins). */
  finish(error?: Error): void {
    if (this.#close !== 'open') return;
    this.#close = 'pending';
    this.#closeError = error;
    this.#flush();
  }

  /** The send buffer drained. */
  drain(): void {
    if (this.#close === 'open') this.#onDrain?.();
  }

  #flush(): void {
    if (this.#onData) {
      while (this.#held.length > 0) this.#onData(this.#held.shift()!); // not empty: checked just before
    }
    if (this.#close === 'pending' && this.#onClose && this.#held.length === 0) {
      this.#close = 'reported';
      this.#onClose(this.#closeError);
    }
  }
}

/** The callback side of a WebSocket `Transport`, kept in a `TransportCallbacks`; subclasses send. */
export abstract class CallbackTransport {
  protected readonly callbacks = new TransportCallbacks();

  onData(callback: (chunk: Uint8Array) => void): void {
    this.callbacks.setData(callback);
  }

  onClose(callback: (error?: Error) => void): void {
    this.callbacks.setClose(callback);
  }

  onDrain(callback: () => void): void {
    this.callbacks.setDrain(callback);
  }
}

/** A `Transport` over an open standard `WebSocket`. */
class BrowserWebSocketTransport extends CallbackTransport implements Transport {
  readonly #ws: WebSocket;
  readonly #highWaterMark: number;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ws: WebSocket, highWaterMark: number) {
    super();
    this.#ws = ws;
    this.#highWaterMark = highWaterMark;
    ws.onmessage = (event: MessageEvent) => this.#message(event.data);
    ws.onclose = (event: CloseEvent) => this.#finish(closeError(event.code, event.reason));
    // An 'error' event is always followed by 'close', which reports it. (A listener, not null:
    // some non-browser implementations throw an 'error' nobody listens to.)
    ws.onerror = ignore;
  }

  #message(data: unknown): void {
    if (this.callbacks.closed) return;
    if (typeof data === 'string') {
      // [MQTT-6.0.0-1] "If any other type of data frame is received the recipient MUST close the
      // Network Connection."
      this.#ws.close(1000, TEXT_FRAME_CLOSE_REASON);
      this.#finish(textFrameError());
      return;
    }
    // binaryType is 'arraybuffer'. [MQTT-6.0.0-2] one frame is one chunk for the decoder,
    // whatever packets or parts of packets it holds.
    if (data instanceof ArrayBuffer) this.callbacks.data(new Uint8Array(data));
  }

  #finish(error: Error | undefined): void {
    clearTimeout(this.#drainTimer);
    this.#ws.onmessage = null;
    this.#ws.onclose = null;
    this.callbacks.finish(error);
  }

  write(data: Uint8Array | readonly Uint8Array[]): boolean {
    if (this.callbacks.closed || this.#ws.readyState !== 1 /* OPEN */) return true;
    // [MQTT-6.0.0-1] a Uint8Array is sent as a binary frame.
    this.#ws.send(joinChunks(data));
    if (this.#ws.bufferedAmount < this.#highWaterMark) return true;
    this.#watchDrain();
    return false;
  }

  /** The standard WebSocket has no drain event: poll `bufferedAmount` while it is high. */
  #watchDrain(): void {
    if (this.#drainTimer !== undefined) return;
    const check = (): void => {
      this.#drainTimer = undefined;
      if (this.callbacks.closed) return;
      if (this.#ws.bufferedAmount <= this.#highWaterMark / 2) this.callbacks.drain();
      else this.#drainTimer = setTimeout(check, 10);
    };
    this.#drainTimer = setTimeout(check, 10);
  }

  end(): void {
    // The close frame follows the data already queued, so nothing written is lost.
    if (this.#ws.readyState <= 1) this.#ws.close(1000);
  }

  destroy(): void {
    // The standard API has no abort: close() is the quickest way out. The owner hears the close
    // now; whatever the browser still sends or receives is ignored.
    if (this.#ws.readyState <= 1) this.#ws.close(1000);
    this.#finish(undefined);
  }
}

/**
 * A transport factory for `ws:`/`wss:` URLs over the standard `WebSocket`. It resolves once the
 * handshake has selected `mqtt`, and rejects when the connection fails, the server selects
 * another subprotocol, or `signal` fires. In browsers, TLS settings are the browser's own:
 * `TransportOptions.tls` is not used.
 */
export function createBrowserTransport(options: BrowserTransportOptions = {}): TransportFactory {
  const highWaterMark = options.highWaterMark ?? 1024 * 1024;
  return (transportOptions) =>
    new Promise<Transport>((resolve, reject) => {
      const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket; // probes for an optional global
      if (!WebSocketImpl) {
        reject(new ClientError('INVALID_OPTIONS', 'no WebSocket implementation in this runtime'));
        return;
      }
      const { signal } = transportOptions;
      if (signal?.aborted) {
        reject(new ClientError('ABORTED', 'the connection attempt was aborted'));
        return;
      }
      // [MQTT-6.0.0-3] offer the "mqtt" subprotocol.
      const ws = new WebSocketImpl(webSocketUrl(transportOptions), [MQTT_SUBPROTOCOL]);
      ws.binaryType = 'arraybuffer';
      const fail = (error: Error): void => {
        ws.onopen = ws.onclose = null;
        signal?.removeEventListener('abort', onAbort);
        if (ws.readyState <= 1) ws.close(1000);
        reject(error);
      };
      const onAbort = (): void => fail(new ClientError('ABORTED', 'the connection attempt was aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      // Browsers do not say why a WebSocket failed to open; the close code is all there is.
      ws.onerror = ignore;
      ws.onclose = (event) => fail(new ClientError('CONNECT_FAILED', `the WebSocket handshake failed (close code ${event.code})`));
      ws.onopen = () => {
        // [MQTT-6.0.0-4] the subprotocol selected and returned by the server MUST be "mqtt".
        if (ws.protocol !== MQTT_SUBPROTOCOL) {
          fail(subprotocolError(ws.protocol || undefined));
          return;
        }
        ws.onopen = ws.onclose = null;
        signal?.removeEventListener('abort', onAbort);
        resolve(new BrowserWebSocketTransport(ws, highWaterMark));
      };
    });
}

/** The standard-WebSocket transport factory with default options. */
export const browserTransport: TransportFactory = createBrowserTransport();
