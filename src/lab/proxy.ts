/**
 * The man-in-the-middle behind `mqtt311 proxy`: accepts MQTT connections (TCP, TLS or
 * WebSocket), opens one to the real server for each (TCP, TLS or WebSocket), forwards the bytes
 * unchanged, and hands every packet to a {@link ProtocolTracker} whose records go to `onRecord`.
 *
 * Forwarding never waits for the tracker: a chunk is written on as it arrived, so the proxy
 * changes neither bytes nor their grouping. Only when a fault is asked for (`drop`, `cutAfter`)
 * does it forward whole packets instead, so it can leave one out or stop after one.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
import type { PacketCmd } from '../codec/index.js';
import { ProtocolTracker, type Direction, type SessionFlows, type TraceRecord } from './tracker.js';

/** Where the proxy listens. */
export interface ListenOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve TLS with this certificate and key (PEM). */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** Serve MQTT over WebSocket (subprotocol "mqtt") instead of plain TCP. */
  ws?: boolean;
}

/** The server the proxy connects to for each accepted client. */
export interface TargetOptions {
  host: string;
  port: number;
  /** Connect with TLS; `ca` (PEM) to verify, `rejectUnauthorized: false` not to. */
  tls?: { ca?: Buffer | string; rejectUnauthorized?: boolean };
  /** Connect over WebSocket to this path (e.g. `/mqtt`). */
  wsPath?: string;
}

/** Faults to inject, for learning and testing; none by default. */
export interface FaultOptions {
  /** Packet types never forwarded (either direction). */
  drop?: readonly PacketCmd[];
  /** Every chunk is forwarded this many ms late (order kept). */
  delayMs?: number;
  /** Close both sides after this many packets were forwarded on a connection. */
  cutAfter?: number;
}

/** What the proxy reports for each record: the connection number, and the fault applied to it, if any. */
export type RecordListener = (record: TraceRecord, connection: number, fault?: string) => void;

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  listen: ListenOptions;
  target: TargetOptions;
  faults?: FaultOptions;
  onRecord: RecordListener;
  /** Called when the proxy cannot reach the target for a client (the client is then closed). */
  onError?: (connection: number, error: Error) => void;
  /** How often keep-alive is judged, in ms (default 250). */
  tickMs?: number;
}

/** A running proxy. */
export interface Proxy {
  readonly address: { host: string; port: number };
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** With --delay, at most this many bytes per direction wait before the sender is paused. */
const MAX_DELAYED = 1024 * 1024;

/** Starts the proxy; resolves once it listens. */
export async function startProxy(options: ProxyOptions): Promise<Proxy> {
  const host = options.listen.host ?? '127.0.0.1';
  const open = new Set<() => void>();
  const sessions: SessionFlows = new Map();
  let count = 0;
  const accept = (client: Duplex) => {
    const stop = pipeConnection(++count, client, options, sessions);
    open.add(stop);
    client.once('close', () => open.delete(stop));
  };
  let server: Server | HttpServer;
  let wss: WebSocketServer | undefined;
  if (options.listen.ws) {
    const http = options.listen.tls ? createHttpsServer(options.listen.tls) : createHttpServer();
    server = http;
    // [MQTT-6.0.0-4] answer with the subprotocol "mqtt".
    wss = new WebSocketServer({ server: http, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false) });
    wss.on('connection', (ws) => accept(createWebSocketStream(ws)));
  } else if (options.listen.tls) {
    server = createTlsServer(options.listen.tls, accept);
  } else {
    server = createServer(accept);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port; // a listening TCP server's address is an AddressInfo
  return {
    address: { host, port },
    async close() {
      for (const stop of open) stop();
      wss?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a connection to the target as a byte stream (TCP, TLS or WebSocket). */
export function connectTarget(target: TargetOptions): Duplex {
  if (target.wsPath !== undefined) {
    const scheme = target.tls ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${target.host}:${target.port}${target.wsPath}`, 'mqtt', tlsOptions(target));
    return createWebSocketStream(ws);
  }
  if (target.tls) return tlsConnect({ host: target.host, port: target.port, ...tlsOptions(target) });
  return createConnection({ host: target.host, port: target.port });
}

function tlsOptions(target: TargetOptions): ConnectionOptions {
  const o: ConnectionOptions = {};
  if (target.tls?.ca !== undefined) o.ca = target.tls.ca;
  if (target.tls?.rejectUnauthorized === false) o.rejectUnauthorized = false;
  return o;
}

/**
 * Joins one accepted client to a fresh connection to the target and tracks both directions.
 * Returns a function that closes both.
 */
function pipeConnection(n: number, client: Duplex, options: ProxyOptions, sessions: SessionFlows): () => void {
  const tracker = new ProtocolTracker(sessions);
  const faults = options.faults ?? {};
  const drop = new Set(faults.drop ?? []);
  const packetWise = drop.size > 0 || faults.cutAfter !== undefined;
  const server = connectTarget(options.target);
  let forwarded = 0;
  let closedBy: 'client' | 'server' | undefined;
  let cut = false;
  let done = false;
  const report = (records: TraceRecord[], fault?: (r: TraceRecord) => string | undefined) => {
    for (const r of records) options.onRecord(r, n, fault?.(r));
  };
  const stop = () => {
    client.destroy();
    server.destroy();
  };
  const finish = () => {
    if (done) return;
    done = true;
    clearInterval(timer);
    report(tracker.close(Date.now(), cut ? undefined : closedBy));
  };
  const timer = setInterval(() => report(tracker.tick(Date.now())), options.tickMs ?? 250);
  timer.unref();

  // Backpressure: the sender is paused while the receiver's buffer is full, or while more than
  // MAX_DELAYED bytes wait out --delay, so memory stays bounded whatever the peers do.
  const delayed = new Map<Duplex, number>();
  const draining = new Set<Duplex>();
  const maybeResume = (from: Duplex, to: Duplex) => {
    if (!draining.has(to) && (delayed.get(from) ?? 0) <= MAX_DELAYED) from.resume();
  };
  const write = (to: Duplex, from: Duplex, bytes: Uint8Array) => {
    const send = () => {
      if (faults.delayMs) delayed.set(from, (delayed.get(from) ?? 0) - bytes.length);
      if (to.destroyed) return;
      if (!to.write(bytes) && !draining.has(to)) {
        draining.add(to);
        from.pause();
        to.once('drain', () => {
          draining.delete(to);
          maybeResume(from, to);
        });
      }
      if (faults.delayMs) maybeResume(from, to);
    };
    if (!faults.delayMs) return send();
    const waiting = (delayed.get(from) ?? 0) + bytes.length;
    delayed.set(from, waiting);
    if (waiting > MAX_DELAYED) from.pause();
    setTimeout(send, faults.delayMs).unref();
  };

  const forward = (dir: Direction, from: Duplex, to: Duplex) => {
    from.on('data', (chunk: Buffer) => {
      const records = tracker.feed(dir, chunk, Date.now());
      if (!packetWise || tracker.failed(dir)) {
        report(records);
        write(to, from, chunk);
        return;
      }
      for (const r of records) {
        if (r.kind === 'packet' && r.packet && drop.has(r.packet.cmd)) {
          report([r], () => 'dropped (--drop)');
          continue;
        }
        report([r]);
        write(to, from, r.bytes);
        if (r.kind === 'packet' && ++forwarded === faults.cutAfter) {
          options.onRecord({ time: Date.now(), dir, kind: 'event', bytes: new Uint8Array(0), text: `cut after ${forwarded} packets`, violations: [] }, n, 'cut (--cut-after)');
          cut = true;
          stop();
          return;
        }
      }
    });
    from.once('end', () => {
      closedBy ??= dir === 'c2s' ? 'client' : 'server';
      to.end();
    });
    from.once('close', () => {
      closedBy ??= dir === 'c2s' ? 'client' : 'server';
      to.destroy();
      finish();
    });
    from.on('error', () => {
      /* shows up as close */
    });
  };

  // Node (and ws's stream) hold writes made while the target connects: no bytes wait here.
  server.once('error', (err: Error) => {
    if (!done) options.onError?.(n, err);
    stop();
  });
  forward('c2s', client, server);
  forward('s2c', server, client);
  return stop;
}
