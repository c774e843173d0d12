/**
 * MQTT over WebSocket for the broker (spec chapter 6): an HTTP(S) server that upgrades requests
 * offering the `mqtt` subprotocol, and hands each connection to the broker as a plain Node
 * `Duplex` of MQTT bytes — the same entry point TCP sockets use, so sessions, subscriptions and
 * retained messages are shared between WebSocket and TCP clients.
 *
 * WebSocket framing is left to the `ws` package; this module adds only what MQTT requires of it:
 * - [MQTT-6.0.0-4] the handshake selects the subprotocol `mqtt`; a handshake that does not offer
 *   it is refused with HTTP 400 (an MQTT client must offer it, [MQTT-6.0.0-3]).
 * - [MQTT-6.0.0-1] packets travel in binary frames only; a text frame closes the connection.
 * - [MQTT-6.0.0-2] frame and packet boundaries need not line up: frames are pushed into the byte
 *   stream as they come and the broker's streaming decoder reassembles packets.
 * - "The WebSocket URI used to connect the client and server has no impact on the MQTT protocol"
 *   (spec 6.0): any request path is accepted unless `path` restricts it (e.g. `/mqtt`).
 *
 * `ws` holds a frame until it is complete, so a client announcing a large frame and trickling it
 * would make the broker hold it unseen by the decoder: the adapter reports those bytes
 * (`framedBytes`, a `FramedStream`) so they count in the broker's memory budget and its
 * partial-packet timeout, as an incomplete packet on TCP does.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { FRAMED_BYTES_EVENT, type FramedStream } from './budget.js';

/** The WebSocket subprotocol name registered for MQTT (spec 6.1). */
export const MQTT_WS_SUBPROTOCOL = 'mqtt';

/** The WebSocket close code sent when a text frame arrives: 1003 "unsupported data" (RFC 6455 7.4.1). */
export const WS_CLOSE_UNSUPPORTED_DATA = 1003;

/** Anything that can serve an MQTT connection given its byte stream (the broker does). */
export interface StreamAcceptor {
  handleConnection(stream: Duplex): void;
}

/** Options of {@link startWsListener}. */
export interface WsListenerOptions {
  /** TCP port; 0 picks a free one (read it back from `address.port`). Default 8080. */
  port?: number;
  /** Interface to bind; `null` binds every interface. Default `'127.0.0.1'`. */
  host?: string | null;
  /** Accept upgrades only on this path (e.g. `'/mqtt'`); default: any path. */
  path?: string | undefined;
  /**
   * Largest WebSocket message accepted, in bytes. A bigger one closes the connection with 1009
   * before it is buffered. Default 16 MiB; keep it at least the broker's `maxPacketSize`, since
   * clients usually send each MQTT packet in one frame.
   */
  maxFrameSize?: number;
  /** Milliseconds to wait for the peer's close frame before dropping the TCP connection. Default 5000. */
  closeTimeout?: number;
  /** Serve `wss://`: key and certificate (and any other node:https server options). */
  tls?: HttpsServerOptions | undefined;
}

/** A running WebSocket listener. */
export interface WsListener {
  /** Where it listens; `path` is the required request path, if any. */
  readonly address: { host: string; port: number; path?: string };
  /** `'ws'` or `'wss'`. */
  readonly scheme: 'ws' | 'wss';
  /** The URL clients connect to, e.g. `ws://127.0.0.1:8080/mqtt`. */
  readonly url: string;
  /** Number of open WebSocket connections. */
  readonly connectionCount: number;
  /** Stops listening and drops every open WebSocket connection. Idempotent. */
  close(): Promise<void>;
}

/** Error codes raised by the WebSocket adapter. */
export type WsStreamErrorCode = 'WS_TEXT_FRAME' | 'WS_CONNECTION_ERROR';

/**
 * An error on a WebSocket connection's byte stream. `code` is stable; `rule` names the
 * normative statement enforced, if any (`'MQTT-6.0.0-1'` for a text frame).
 */
export class WsStreamError extends Error {
  override readonly name = 'WsStreamError';
  /** What went wrong, for matching in code. */
  readonly code: WsStreamErrorCode;
  /** Spec id without brackets, e.g. `'MQTT-6.0.0-1'`. */
  readonly rule: string | undefined;
  /** What the broker must do with the connection: it is already being closed. */
  readonly action = 'close' as const;

  constructor(code: WsStreamErrorCode, message: string, rule?: string, cause?: unknown) {
    super(rule ? `${message} [${rule}]` : message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.rule = rule;
  }
}

/** Does an upgrade request offer the `mqtt` subprotocol? (Header values are comma-separated tokens.) */
function offersMqtt(req: IncomingMessage): boolean {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) return false;
  return header.split(',').some((token) => token.trim() === MQTT_WS_SUBPROTOCOL);
}

/** Turns whatever `ws` delivered into one Buffer (default binaryType 'nodebuffer' gives a Buffer). */
function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** The fields of `ws`'s frame parser (its `Receiver`, not public API) that say what it holds. */
interface ReceiverView {
  /** Bytes received and not yet parsed into a whole frame. */
  _bufferedBytes: number;
  /** Whole frames of a fragmented message not yet complete. */
  _fragments: Buffer[];
}

/** The frame parser of a connection, if its fields are the ones this module knows. */
function receiverOf(ws: WebSocket): ReceiverView | undefined {
  const r = (ws as unknown as { _receiver?: Partial<ReceiverView> })._receiver; // ws keeps its receiver private; read only to measure buffered bytes, checked below
  return r && typeof r._bufferedBytes === 'number' && Array.isArray(r._fragments) ? (r as ReceiverView) : undefined; // the fields used are checked in the same expression
}

/**
 * A WebSocket connection seen as a byte stream of MQTT packets.
 *
 * Reading: each binary message is pushed as is (a frame may hold part of a packet or several
 * packets, [MQTT-6.0.0-2]); when the reader falls behind, the socket is paused so a fast sender
 * cannot grow the buffer without bound. Writing: each write is one binary frame; writes queued
 * together (e.g. a PUBLISH header and its payload) go out as one frame. Pausing the stream pauses
 * the socket, so a paused connection's incomplete frame stops growing.
 */
export class WebSocketDuplex extends Duplex implements FramedStream {
  readonly #ws: WebSocket;
  /** Bytes received since the last message: the count used if `ws`'s parser cannot be read. */
  #sinceMessage = 0;
  /** Set once a text frame arrived: nothing after it is delivered [MQTT-6.0.0-1]. */
  #rejected = false;
  /** Remote address of the underlying TCP connection, like `net.Socket#remoteAddress`. */
  readonly remoteAddress: string | undefined;
  /** Remote port of the underlying TCP connection. */
  readonly remotePort: number | undefined;

  constructor(ws: WebSocket, req?: IncomingMessage) {
    // allowHalfOpen false: when the peer's side ends, ours ends too, as with an MQTT TCP socket.
    super({ allowHalfOpen: false });
    this.#ws = ws;
    this.remoteAddress = req?.socket.remoteAddress;
    this.remotePort = req?.socket.remotePort;
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    // Added after `ws`'s own listener (set before the 'connection' event), so it runs once `ws`
    // has parsed the chunk and delivered any message it completed.
    req?.socket.on('data', (chunk: Buffer) => {
      this.#sinceMessage += chunk.length;
      this.emit(FRAMED_BYTES_EVENT);
    });
    ws.on('close', () => {
      if (!this.destroyed) this.push(null);
    });
    ws.on('error', (err) => {
      this.destroy(new WsStreamError('WS_CONNECTION_ERROR', `WebSocket error: ${err.message}`, undefined, err));
    });
  }

  /**
   * Bytes received that `ws` holds for an incomplete frame or fragmented message: what it has not
   * delivered yet. Without a readable parser, the bytes received since the last message (more
   * than it holds, never less).
   */
  get framedBytes(): number {
    return this.destroyed ? 0 : this.#held();
  }

  #held(): number {
    const r = receiverOf(this.#ws);
    if (r === undefined) return this.#sinceMessage;
    let n = r._bufferedBytes;
    for (const f of r._fragments) n += f.length;
    return n;
  }

  override pause(): this {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.pause();
    return super.pause();
  }

  override resume(): this {
    super.resume();
    // Below the high-water mark no _read may come (one may be pending already): resume here.
    if (this.#ws.isPaused && this.readableLength < this.readableHighWaterMark) this.#ws.resume();
    return this;
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    this.#sinceMessage = 0;
    if (this.#rejected || this.destroyed) return;
    if (!isBinary) {
      // [MQTT-6.0.0-1] "If any other type of data frame is received the recipient MUST close the
      // Network Connection." The text is dropped, never parsed as MQTT.
      this.#rejected = true;
      this.#ws.close(WS_CLOSE_UNSUPPORTED_DATA, 'MQTT uses binary frames only');
      this.destroy(new WsStreamError('WS_TEXT_FRAME', 'received a WebSocket text frame', 'MQTT-6.0.0-1'));
      return;
    }
    // [MQTT-6.0.0-2] no assumption about packet boundaries: the bytes go to the streaming decoder.
    if (!this.push(toBuffer(data))) this.#ws.pause();
  }

  override _read(): void {
    if (this.#ws.isPaused) this.#ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.#send(chunks.length === 1 && chunks[0] ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  #send(bytes: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#ws.readyState !== WebSocket.OPEN) {
      callback(new WsStreamError('WS_CONNECTION_ERROR', 'WebSocket is not open'));
      return;
    }
    // [MQTT-6.0.0-1] MQTT control packets are sent in binary data frames.
    this.#ws.send(bytes, { binary: true }, (err) => callback(err ?? null));
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Our side is done (e.g. the broker closes after DISCONNECT): start the close handshake.
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const state = this.#ws.readyState;
    // A peer in the middle of a frame cannot answer a close frame before finishing it (a trickler
    // may never): drop the connection, with what `ws` holds, at once, even if closing had begun.
    if ((state === WebSocket.OPEN || state === WebSocket.CLOSING) && this.#held() > 0) this.#ws.terminate();
    else if (state === WebSocket.OPEN) this.#ws.close(error ? 1011 : 1000);
    else if (state === WebSocket.CONNECTING) this.#ws.terminate();
    callback(error);
  }
}

/**
 * Starts a WebSocket listener that feeds every accepted connection to `acceptor.handleConnection`
 * (a broker from `startBroker`, or anything with that method).
 *
 * ```ts
 * const broker = await startBroker({ port: 1883 });
 * const ws = await startWsListener(broker, { port: 8080, path: '/mqtt' });
 * // … ws://127.0.0.1:8080/mqtt
 * await ws.close();
 * ```
 */
export async function startWsListener(acceptor: StreamAcceptor, options: WsListenerOptions = {}): Promise<WsListener> {
  const host = options.host === null ? undefined : (options.host ?? '127.0.0.1');
  const scheme = options.tls ? 'wss' : 'ws';
  const server: HttpServer = options.tls ? createHttpsServer(options.tls) : createHttpServer();

  // A plain HTTP request (no upgrade) gets 426 Upgrade Required.
  server.on('request', (_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
    res.end('This is an MQTT over WebSocket endpoint (subprotocol "mqtt").\n');
  });

  const wss = new WebSocketServer({
    server,
    path: options.path,
    maxPayload: options.maxFrameSize ?? 16 * 1024 * 1024,
    // Compression would let a small frame inflate into a large buffer; MQTT payloads are the
    // application's business, so frames travel as they are.
    perMessageDeflate: false,
    clientTracking: true,
    // [MQTT-6.0.0-3]/[MQTT-6.0.0-4] refuse a handshake that does not offer "mqtt".
    verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      if (offersMqtt(info.req)) done(true);
      else done(false, 400, 'Sec-WebSocket-Protocol must offer "mqtt"');
    },
    // [MQTT-6.0.0-4] the subprotocol selected and returned is "mqtt".
    handleProtocols: (protocols: Set<string>) => (protocols.has(MQTT_WS_SUBPROTOCOL) ? MQTT_WS_SUBPROTOCOL : false),
    // ws 8.18+ option, missing from @types/ws: how long a close handshake may take.
    ...({ closeTimeout: options.closeTimeout ?? 5000 } as object),
  });

  wss.on('connection', (ws, req) => {
    acceptor.handleConnection(new WebSocketDuplex(ws, req));
  });
  // Errors of the HTTP server are reported by listen(); ws re-emits them here too.
  wss.on('error', () => {});

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ port: options.port ?? 8080, host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {});

  const { port, address: bound } = server.address() as AddressInfo; // a listening TCP server's address is an AddressInfo
  const address = options.path === undefined ? { host: host ?? bound, port } : { host: host ?? bound, port, path: options.path };
  const urlHost = address.host.includes(':') ? `[${address.host}]` : address.host;
  let closing: Promise<void> | undefined;

  return {
    address,
    scheme,
    url: `${scheme}://${urlHost}:${port}${options.path ?? '/'}`,
    get connectionCount() {
      return wss.clients.size;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      });
      return closing;
    },
  };
}
