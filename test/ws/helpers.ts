/**
 * Helpers for the WebSocket tests: a stream acceptor that records what a connection delivers,
 * raw `ws` sockets for handshake and frame-level checks, and a throw-away TLS certificate.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
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
  async connection(i = 0, timeoutMs = 5000): Promise<RecordedConnection> {
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
    return this.connections[i];
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
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
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
