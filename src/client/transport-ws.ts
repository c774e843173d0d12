/**
 * MQTT over WebSocket in Node (`ws:` and `wss:` URLs), on the `ws` package, as a client
 * `Transport` — registered into the same client core as TCP, so there is one client whatever
 * carries its bytes.
 *
 * What spec chapter 6 requires, and where it happens here:
 * - [MQTT-6.0.0-3] the handshake offers the subprotocol `mqtt`;
 * - [MQTT-6.0.0-4] a server that selects anything else (or nothing) is refused;
 * - [MQTT-6.0.0-1] every write goes out as binary frames; a text frame from the server closes
 *   the connection;
 * - [MQTT-6.0.0-2] each received message is one chunk for the client's streaming decoder,
 *   whatever packets or parts of packets it holds.
 *
 * Received chunks are Buffers, so payloads are Buffers as with TCP. For `wss:` the client's TLS
 * options (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`) apply to the TLS connection.
 *
 * The `ws` package is loaded on the first `ws:`/`wss:` connection, so programs that only use TCP
 * do not need it installed.
 */
import type WebSocket from 'ws';
import { ClientError } from './errors.js';
import {
  CLOSE_UNSUPPORTED_DATA,
  MQTT_SUBPROTOCOL,
  TEXT_FRAME_CLOSE_REASON,
  CallbackTransport,
  closeError,
  subprotocolError,
  textFrameError,
  webSocketUrl,
} from './transport-browser.js';
import { registerTransport, type Transport, type TransportFactory, type TransportOptions } from './transport.js';

/** `WebSocket.OPEN` (the standard readyState values). */
const OPEN = 1;

let wsPackage: Promise<typeof WebSocket> | undefined;

/** Loads the `ws` package once; a missing package becomes a typed error. */
function loadWs(): Promise<typeof WebSocket> {
  wsPackage ??= import('ws').then(
    (m) => m.default,
    (cause: unknown) => {
      wsPackage = undefined;
      throw new ClientError('INVALID_OPTIONS', 'ws: and wss: URLs in Node need the "ws" package (npm install ws)', { cause });
    },
  );
  return wsPackage;
}

/** The largest MQTT packet: fixed header byte, four length bytes, 268,435,455 bytes (spec 2.2.3). */
const MAX_MQTT_PACKET = 1 + 4 + 268_435_455;

/** Options of {@link createWsTransport}. */
export interface WsTransportOptions {
  /**
   * `write` returns false once this many written bytes are not yet handed to the socket; the
   * drain callback fires when they have fallen to half. Default 1 MiB.
   */
  highWaterMark?: number;
  /**
   * Largest WebSocket message accepted from the server, in bytes; a bigger one closes the
   * connection (code 1009) before it is buffered. Default: the largest MQTT packet.
   */
  maxFrameSize?: number;
  /** Extra HTTP headers for the handshake request (e.g. a cookie or an authorization token). */
  headers?: Record<string, string>;
}

/** A `Transport` over an open `ws` WebSocket. */
class NodeWebSocketTransport extends CallbackTransport implements Transport {
  readonly #ws: WebSocket;
  readonly #highWaterMark: number;
  /** Bytes given to `ws.send` whose callback has not fired yet. */
  #pending = 0;
  #needDrain = false;
  #error: Error | undefined;

  constructor(ws: WebSocket, highWaterMark: number) {
    super();
    this.#ws = ws;
    this.#highWaterMark = highWaterMark;
    ws.on('message', (data, isBinary) => this.#message(data as Buffer, isBinary)); // ws's default binaryType, 'nodebuffer': data is a Buffer
    // 'error' is always followed by 'close', which reports it.
    ws.on('error', (error) => {
      this.#error ??= new ClientError('CONNECTION_LOST', `WebSocket error: ${error.message}`, { cause: error });
    });
    ws.on('close', (code, reason) => this.callbacks.finish(this.#error ?? closeError(code, reason.toString())));
  }

  #message(data: Buffer, isBinary: boolean): void {
    if (this.callbacks.closed) return;
    if (!isBinary) {
      // [MQTT-6.0.0-1] "If any other type of data frame is received the recipient MUST close the
      // Network Connection." The text is dropped, never decoded as MQTT.
      this.#ws.close(CLOSE_UNSUPPORTED_DATA, TEXT_FRAME_CLOSE_REASON);
      this.callbacks.finish(textFrameError());
      return;
    }
    // [MQTT-6.0.0-2] one message is one chunk for the decoder.
    this.callbacks.data(data);
  }

  write(data: Uint8Array | readonly Uint8Array[]): boolean {
    if (this.callbacks.closed || this.#ws.readyState !== OPEN) return true;
    const parts = data instanceof Uint8Array ? [data] : data;
    // [MQTT-6.0.0-1] binary frames. Several buffers (a PUBLISH header and its payload) are sent
    // as the fragments of one binary message, so a large payload is not copied to join them.
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!; // i < length
      this.#pending += part.length;
      this.#ws.send(part, { binary: true, fin: i === parts.length - 1 }, () => this.#sent(part.length));
    }
    if (this.#pending < this.#highWaterMark) return true;
    this.#needDrain = true;
    return false;
  }

  #sent(bytes: number): void {
    this.#pending -= bytes;
    if (this.#needDrain && this.#pending <= this.#highWaterMark / 2) {
      this.#needDrain = false;
      this.callbacks.drain();
    }
  }

  end(): void {
    // The close frame is queued behind the data already written, so nothing written is lost.
    if (this.#ws.readyState === OPEN) this.#ws.close(1000);
  }

  destroy(): void {
    this.#ws.terminate();
    this.callbacks.finish(undefined);
  }
}

/**
 * A transport factory for `ws:` and `wss:` URLs in Node. It resolves once the handshake has
 * selected `mqtt` and rejects when the connection or handshake fails, or when `signal` fires.
 */
export function createWsTransport(options: WsTransportOptions = {}): TransportFactory {
  const highWaterMark = options.highWaterMark ?? 1024 * 1024;
  return async (transportOptions: TransportOptions) => {
    const WebSocketImpl = await loadWs();
    return new Promise<Transport>((resolve, reject) => {
      const { signal, tls } = transportOptions;
      if (signal?.aborted) {
        reject(new ClientError('ABORTED', 'the connection attempt was aborted'));
        return;
      }
      // [MQTT-6.0.0-3] offer the "mqtt" subprotocol.
      const ws = new WebSocketImpl(webSocketUrl(transportOptions), [MQTT_SUBPROTOCOL], {
        ...tls,
        headers: options.headers,
        maxPayload: options.maxFrameSize ?? MAX_MQTT_PACKET,
        // Compression would let a small frame inflate into a large buffer; MQTT does not use it.
        perMessageDeflate: false,
        followRedirects: false,
      });
      let settled = false;
      const settle = (error: Error | undefined): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        ws.removeAllListeners();
        if (error) {
          // Keep an error listener: a late socket error must not become an uncaught exception.
          ws.on('error', () => {});
          ws.terminate();
          reject(error);
        } else resolve(new NodeWebSocketTransport(ws, highWaterMark));
      };
      const onAbort = (): void => settle(new ClientError('ABORTED', 'the connection attempt was aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });

      // The handshake response, seen before `ws` validates it.
      ws.once('upgrade', (res) => {
        // [MQTT-6.0.0-4] the subprotocol selected and returned by the server MUST be "mqtt".
        const selected = res.headers['sec-websocket-protocol'];
        if (selected !== MQTT_SUBPROTOCOL) settle(subprotocolError(Array.isArray(selected) ? selected.join(', ') : selected));
      });
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        settle(new ClientError('CONNECT_FAILED', `the server answered the WebSocket handshake with HTTP ${res.statusCode}`));
      });
      ws.once('open', () => settle(undefined));
      ws.once('error', (error) => settle(error));
      ws.once('close', () => settle(new ClientError('CONNECT_FAILED', 'the WebSocket closed during the handshake')));
    });
  };
}

/** The Node WebSocket transport factory with default options. */
export const wsTransport: TransportFactory = createWsTransport();

/**
 * Registers {@link wsTransport} for `ws:` (default port 80) and `wss:` (443) URLs, so
 * `connect('ws://host:port/path')` uses it. The client's Node entry calls this once.
 */
export function registerWsTransport(): void {
  registerTransport('ws:', wsTransport, 80);
  registerTransport('wss:', wsTransport, 443);
}
