/**
 * Helpers for the WebSocket tests: a stream acceptor that records what a connection delivers,
 * raw `ws` sockets for handshake and frame-level checks, and a throw-away TLS certificate.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { Decoder, encode, type Packet } from '../../src/codec/index.js';
import { makeTempDir } from '../helpers/peers.js';

/** Everything one connection handed to the acceptor did. */
export interface RecordedConnection {
  stream: Duplex;
  /** Bytes read so far (only while reading). */
  chunks: Buffer[];
  /** The stream's error, if any. */
  error: (Error & { code?: string; rule?: string }) | undefined;
  /** Resolves when the stream emitted 'close'. */
  closed: Promise<void>;
  bytes(): Buffer;
}

/**
 * A stand-in for the broker's `handleConnection`: it records each stream. With `read: false` it
 * never reads, to play a slow consumer.
 */
export class RecordingAcceptor {
  readonly connections: RecordedConnection[] = [];
  #waiters: Array<(c: RecordedConnection) => void> = [];

  constructor(private readonly read = true) {}

  handleConnection(stream: Duplex): void {
    const rec: RecordedConnection = {
      stream,
      chunks: [],
      error: undefined,
      closed: new Promise((resolve) => stream.once('close', () => resolve())),
      bytes: () => Buffer.concat(rec.chunks),
    };
    stream.on('error', (err) => {
      rec.error = err;
    });
    if (this.read) stream.on('data', (c: Buffer) => rec.chunks.push(c));
    this.connections.push(rec);
    for (const w of this.#waiters.splice(0)) w(rec);
  }

  /** The `i`-th connection, waiting for it if needed. */
  async connection(i = 0, timeoutMs = 15_000): Promise<RecordedConnection> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.length <= i) {
      if (Date.now() > deadline) throw new Error(`no connection #${i} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.connections[i]!;
  }
}

/** The result of a WebSocket handshake attempt. */
export type HandshakeResult = { ok: true; ws: WebSocket } | { ok: false; status: number | undefined; error?: Error };

/** Opens a raw `ws` WebSocket; resolves with it once open, or with the refusal's HTTP status. */
export function openRaw(url: string, protocols?: string | string[]): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    const ws = protocols === undefined ? new WebSocket(url) : new WebSocket(url, protocols);
    ws.once('open', () => resolve({ ok: true, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ ok: false, status: res.statusCode });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (error) => resolve({ ok: false, status: undefined, error }));
  });
}

/** Opens a raw WebSocket offering `mqtt`, failing the test if the handshake is refused. */
export async function openMqttWs(url: string): Promise<WebSocket> {
  const r = await openRaw(url, 'mqtt');
  if (!r.ok) throw new Error(`handshake refused: ${r.status ?? r.error?.message}`);
  return r.ws;
}

/** Resolves with the close code when `ws` closes. */
export function closeCode(ws: WebSocket): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

/** Polls `cond` every 10 ms until it holds; throws after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A self-signed certificate for 127.0.0.1 made with openssl at test time. */
export interface TestCertificate {
  key: Buffer;
  cert: Buffer;
}

/** Generates a throw-away key and certificate for `127.0.0.1` (openssl, a few hundred ms). */
export function makeCertificate(): TestCertificate {
  const dir = makeTempDir('mqtt311-ws-tls-');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath,
      '-out', certPath, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore', timeout: 20_000 },
  );
  return { key: readFileSync(keyPath), cert: readFileSync(certPath) };
}

/** One connection to a {@link ScriptedWsServer}: what the client sent, and a way to answer. */
export interface ScriptedConnection {
  ws: WebSocket;
  /** The `Sec-WebSocket-Protocol` header of the handshake request. */
  offered: string | undefined;
  /** All headers of the handshake request. */
  headers: IncomingHttpHeaders;
  /** Every received message with its frame type. */
  frames: Array<{ data: Buffer; isBinary: boolean }>;
  /** Packets decoded from the binary frames, in order. */
  packets: Packet[];
  /** Set when the binary frames stopped decoding as MQTT (tests that send raw bytes). */
  decodeError: unknown;
  /** Resolves with the close code once the WebSocket closed. */
  closed: Promise<number>;
  /** Sends `bytes` as one binary frame. */
  sendBinary(bytes: Uint8Array): void;
  /** Waits until a packet with `cmd` has arrived (scanning from the start). */
  waitFor<C extends Packet['cmd']>(cmd: C, timeoutMs?: number): Promise<Extract<Packet, { cmd: C }>>;
}

/** Options of {@link startScriptedWsServer}. */
export interface ScriptedWsServerOptions {
  /** Chooses the subprotocol to return; default: `mqtt` when offered. `false` returns none. */
  handleProtocols?: (offered: Set<string>) => string | false;
  /** Answers every CONNECT with CONNACK 0 (default true). */
  autoConnack?: boolean;
}

/** A WebSocket server on 127.0.0.1 playing an MQTT server by hand, for client-side frame tests. */
export interface ScriptedWsServer {
  url: string;
  connections: ScriptedConnection[];
  /** The `i`-th connection, waiting for it. */
  connection(i?: number): Promise<ScriptedConnection>;
  close(): Promise<void>;
}

/** Starts a {@link ScriptedWsServer}. */
export async function startScriptedWsServer(options: ScriptedWsServerOptions = {}): Promise<ScriptedWsServer> {
  const server = createHttpServer();
  const wss = new WebSocketServer({
    server,
    handleProtocols: (offered: Set<string>) => (options.handleProtocols ? options.handleProtocols(offered) : offered.has('mqtt') ? 'mqtt' : false),
  });
  const connections: ScriptedConnection[] = [];
  wss.on('connection', (ws, req) => {
    const decoder = new Decoder();
    const conn: ScriptedConnection = {
      ws,
      offered: req.headers['sec-websocket-protocol'],
      headers: req.headers,
      frames: [],
      packets: [],
      decodeError: undefined,
      closed: new Promise((resolve) => ws.once('close', (code) => resolve(code))),
      sendBinary: (bytes) => ws.send(bytes, { binary: true }),
      waitFor: async (cmd, timeoutMs = 15_000) => {
        await until(() => conn.packets.some((p) => p.cmd === cmd), timeoutMs, `a ${cmd} packet`);
        return conn.packets.find((p) => p.cmd === cmd) as never;
      },
    };
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      conn.frames.push({ data: buf, isBinary });
      if (!isBinary || conn.decodeError) return;
      let packets: Packet[];
      try {
        packets = decoder.feed(buf);
      } catch (error) {
        conn.decodeError = error;
        return;
      }
      for (const packet of packets) {
        conn.packets.push(packet);
        if (packet.cmd === 'connect' && options.autoConnack !== false) {
          ws.send(encode({ cmd: 'connack', sessionPresent: false, returnCode: 0 }));
        }
      }
    });
    ws.on('error', () => {});
    connections.push(conn);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    connections,
    connection: async (i = 0) => {
      await until(() => connections.length > i, 5000, `connection #${i}`);
      return connections[i]!;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A raw MQTT client over a `ws` WebSocket, with no protocol logic: it sends exactly the packets,
 * bytes or frames a test wants and decodes what comes back.
 */
export class RawWsClient {
  readonly ws: WebSocket;
  readonly packets: Packet[] = [];
  /** Resolves with the close code once the WebSocket closed. */
  readonly closed: Promise<number>;
  readonly #decoder = new Decoder();
  #read = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = closeCode(ws);
    ws.on('message', (data) => {
      for (const p of this.#decoder.feed(data as Buffer)) this.packets.push(p);
    });
    ws.on('error', () => {});
  }

  /** Opens a WebSocket offering `mqtt` to `url`. */
  static async open(url: string): Promise<RawWsClient> {
    return new RawWsClient(await openMqttWs(url));
  }

  /** Sends one packet in one binary frame. */
  send(packet: Packet): void {
    this.ws.send(encode(packet));
  }

  /** The next packet not yet returned, waiting for it. */
  async next(timeoutMs = 5000): Promise<Packet> {
    await until(() => this.packets.length > this.#read, timeoutMs, 'a packet');
    return this.packets[this.#read++]!;
  }
}
