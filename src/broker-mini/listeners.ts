/**
 * The broker's listeners, as mosquitto 2.0 has them: any number of TCP, TLS, WebSocket and
 * secure WebSocket servers feeding one broker. Each listener has its own bind address, limits,
 * mount point and (per_listener_settings) authentication; all share sessions, subscriptions and
 * retained messages. TLS uses node:tls, secure WebSocket node:https (through `ws-listener.ts`).
 */
import { lookup } from 'node:dns/promises';
import { createServer as createTcpServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import type { ConnectionPolicy, ListenerOptions, ListenerTlsOptions } from './listener-options.js';

/** What a listener hands each accepted connection to (the broker). */
export interface ConnectionSink {
  handleConnection(stream: Duplex, attach?: { policy?: ConnectionPolicy; mountPoint?: string | undefined }): void;
}

/** A running listener. */
export interface RunningListener {
  /** `mqtt`, `mqtts`, `ws` or `wss`. */
  readonly scheme: 'mqtt' | 'mqtts' | 'ws' | 'wss';
  /** The bound address (`::` or `0.0.0.0` for every interface) and the real port. */
  readonly address: { host: string; port: number };
  /** True when no address was configured, so it listens on every interface. */
  readonly everyInterface: boolean;
  /** For humans: `mqtts://0.0.0.0:8883` (every interface shown as `*`). */
  readonly url: string;
  /** Open connections on this listener. */
  readonly connectionCount: number;
  close(): Promise<void>;
}

/**
 * Where a listener binds: its address, or every interface of its socket domain. As mosquitto
 * resolves a listener's host name only in its `socket_domain`, a name (`localhost`) is looked up
 * in that family: `localhost` with `socket_domain ipv6` binds ::1.
 */
async function bindHost(o: ListenerOptions): Promise<{ host: string | undefined; ipv6Only: boolean }> {
  if (o.host !== undefined) {
    if (o.socketDomain === undefined || isIP(o.host) !== 0) return { host: o.host, ipv6Only: false };
    return { host: (await lookup(o.host, { family: o.socketDomain === 'ipv4' ? 4 : 6 })).address, ipv6Only: o.socketDomain === 'ipv6' };
  }
  if (o.socketDomain === 'ipv4') return { host: '0.0.0.0', ipv6Only: false };
  if (o.socketDomain === 'ipv6') return { host: '::', ipv6Only: true };
  return { host: undefined, ipv6Only: false }; // Node picks '::' (dual stack) or '0.0.0.0'
}

/** node:tls server options for a listener's TLS settings. */
export function tlsServerOptions(t: ListenerTlsOptions): TlsOptions {
  const o: TlsOptions = { cert: t.cert as string, key: t.key as string }; // PEM text or bytes, as Node's TLS options take them
  if (t.ca) o.ca = t.ca as string[]; // PEM text or bytes, as Node's TLS options take them
  if (t.crl) o.crl = t.crl as string; // PEM text or bytes, as Node's TLS options take them
  if (t.dhparam) o.dhparam = t.dhparam as string; // PEM text or bytes, as Node's TLS options take them
  if (t.ciphers) o.ciphers = t.ciphers;
  if (t.minVersion) o.minVersion = t.minVersion;
  if (t.requireCertificate) {
    // mosquitto's require_certificate: the handshake fails without a certificate signed by the CA.
    o.requestCert = true;
    o.rejectUnauthorized = true;
  }
  return o;
}

/** The user name a client certificate gives, when the listener uses it (else `undefined`). */
function certificateIdentity(socket: TLSSocket, o: ListenerOptions): string | undefined {
  if (!o.useIdentityAsUsername && !o.useSubjectAsUsername) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  if (o.useIdentityAsUsername) return typeof cert.subject.CN === 'string' ? cert.subject.CN : undefined;
  return Object.entries(cert.subject)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(',');
}

function listen(server: Server, port: number, host: string | undefined, ipv6Only: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only }, () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve();
    });
  });
}

// A listener's bookkeeping of its connections, through listeners shared by all of them (found
// on the stream), not closures per connection: an idle connection should cost as little as it can.
interface OpenCount {
  open: number;
}
const COUNTED = Symbol('mqtt311.listener.count');
type CountedStream = Duplex & { [COUNTED]?: OpenCount | undefined };
function uncount(this: CountedStream): void {
  const count = this[COUNTED];
  if (count) count.open--;
  this[COUNTED] = undefined;
}
const TRACKED = Symbol('mqtt311.listener.sockets');
type TrackedSocket = Socket & { [TRACKED]?: Set<Socket> };
function untrack(this: TrackedSocket): void {
  this[TRACKED]?.delete(this);
}

/** What a listener takes from the broker besides its own options. */
export interface ListenerContext {
  /** Milliseconds a TLS handshake may take (the broker's connect timeout): a peer that never finishes it cannot hold a socket. */
  handshakeTimeout: number;
  log?: (line: string) => void;
}

/** Starts one listener feeding `sink`. Rejects when it cannot listen (port in use, say). */
export async function startListener(sink: ConnectionSink, o: ListenerOptions, context: ListenerContext): Promise<RunningListener> {
  const { log, handshakeTimeout } = context;
  const ws = o.protocol === 'websockets';
  const scheme = ws ? (o.tls ? 'wss' : 'ws') : o.tls ? 'mqtts' : 'mqtt';
  const { host, ipv6Only } = await bindHost(o);
  const name = `${scheme}://${host ?? '*'}:${o.port}`;
  const policyBase = { listener: name, auth: o.auth, useUsernameAsClientId: o.useUsernameAsClientId, maxQos: o.maxQos };
  const count: OpenCount = { open: 0 };

  // Per-listener max_connections: a connection beyond it is closed before it is read.
  const accept = (stream: Duplex, identity?: string): void => {
    if (o.maxConnections !== undefined && count.open >= o.maxConnections) {
      log?.(`${name}: max_connections (${o.maxConnections}) reached, closing a new connection`);
      stream.destroy();
      return;
    }
    count.open++;
    (stream as CountedStream)[COUNTED] = count;
    stream.on('close', uncount);
    const policy: ConnectionPolicy = identity === undefined ? policyBase : { ...policyBase, identity };
    sink.handleConnection(stream, { policy, mountPoint: o.mountPoint });
  };

  if (ws) {
    // Loaded only when asked for: the WebSocket listener needs the `ws` package.
    const { startWsListener } = await import('./ws-listener.js');
    const tls = o.tls && { ...tlsServerOptions(o.tls), handshakeTimeout };
    const wsl = await startWsListener({ handleConnection: (stream) => accept(stream) }, { port: o.port, host: host ?? null, path: o.path, tls });
    const port = wsl.address.port;
    return {
      scheme,
      address: wsl.address,
      everyInterface: o.host === undefined,
      url: `${scheme}://${host ?? '*'}:${port}${o.path ?? '/'}`,
      get connectionCount() {
        return count.open;
      },
      close: () => wsl.close(),
    };
  }

  let server: Server;
  if (o.tls) {
    const tlsServer = createTlsServer({ ...tlsServerOptions(o.tls), handshakeTimeout }, (socket) => accept(socket, certificateIdentity(socket, o)));
    // A failed handshake (no or bad client certificate) costs only that connection.
    // Also a handshake that outlives `handshakeTimeout`: a peer that never finishes it cannot hold the socket.
    tlsServer.on('tlsClientError', (err, socket) => {
      log?.(`${name}: TLS handshake failed: ${err.message}`);
      socket.destroy();
    });
    server = tlsServer;
  } else {
    server = createTcpServer({ noDelay: true }, (socket: Socket) => accept(socket));
  }
  await listen(server, o.port, host, ipv6Only);
  const a = server.address() as AddressInfo; // a listening TCP server's address is an AddressInfo
  const sockets = new Set<Socket>();
  server.on('connection', (s: TrackedSocket) => {
    sockets.add(s);
    s[TRACKED] = sockets;
    s.on('close', untrack);
  });
  let closing: Promise<void> | undefined;
  return {
    scheme,
    address: { host: a.address, port: a.port },
    everyInterface: o.host === undefined,
    url: `${scheme}://${host ?? '*'}:${a.port}`,
    get connectionCount() {
      return count.open;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // TLS handshakes in progress are not yet the broker's: drop them with the server.
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
