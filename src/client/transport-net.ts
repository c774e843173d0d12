/**
 * TCP and TLS transports for Node: the only client module that imports `node:net`/`node:tls`.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ClientError } from './errors.js';
import { registerTransport, type Transport, type TransportFactory, type TransportOptions } from './transport.js';

const SECURE = new Set(['mqtts:', 'tls:', 'ssl:']);

/**
 * Opens TCP (`mqtt:`, `tcp:`) or TLS (`mqtts:`, `tls:`, `ssl:`) to `host:port`. Nagle's
 * algorithm is off (TCP_NODELAY): MQTT packets are small and an acknowledgement held back by
 * Nagle plus delayed ACK costs ~40 ms per round trip.
 */
export const netTransport: TransportFactory = (options: TransportOptions) =>
  new Promise<Transport>((resolve, reject) => {
    const { host, port, signal } = options;
    const secure = SECURE.has(options.url.protocol);
    let socket: Socket;
    if (secure) {
      const tls = options.tls ?? {};
      socket = tlsConnect({
        host,
        port,
        ca: tls.ca as string | Buffer | Array<string | Buffer> | undefined,
        cert: tls.cert as string | Buffer | undefined,
        key: tls.key as string | Buffer | undefined,
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
        // SNI takes a host name, never an IP address (RFC 6066 section 3).
        servername: tls.servername ?? (isIP(host) ? undefined : host),
      });
    } else {
      socket = netConnect({ host, port });
    }
    socket.setNoDelay(true);
    const fail = (error: Error) => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onAbort = () => fail(new ClientError('ABORTED', 'connecting was aborted'));
    const onReady = () => {
      cleanup();
      resolve(wrapSocket(socket));
    };
    const cleanup = () => {
      socket.off('error', fail);
      socket.off(secure ? 'secureConnect' : 'connect', onReady);
      signal?.removeEventListener('abort', onAbort);
    };
    socket.once('error', fail);
    socket.once(secure ? 'secureConnect' : 'connect', onReady);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Presents a connected socket as a `Transport`. */
export function wrapSocket(socket: Socket): Transport {
  let closeError: Error | undefined;
  let onClose: ((error?: Error) => void) | undefined;
  let closed = false;
  // 'error' is always followed by 'close'; report them as one event.
  socket.on('error', (error) => {
    closeError ??= error;
  });
  socket.once('close', () => {
    closed = true;
    onClose?.(closeError);
  });
  return {
    write(data) {
      if (socket.destroyed) return true;
      if (data instanceof Uint8Array) return socket.write(data);
      // One logical write: cork so header and payload leave in one segment, uncopied.
      socket.cork();
      let ok = true;
      for (const part of data) ok = socket.write(part);
      socket.uncork();
      return ok;
    },
    end: () => void socket.end(),
    destroy: () => void socket.destroy(),
    // A socket stays paused until a 'data' listener is added, so nothing is lost before this.
    onData: (callback) => void socket.on('data', callback),
    onClose(callback) {
      onClose = callback;
      if (closed) callback(closeError);
    },
    onDrain: (callback) => void socket.on('drain', callback),
  };
}

let registered = false;

/** Registers the TCP/TLS transports for `mqtt:`/`tcp:` (1883) and `mqtts:`/`tls:`/`ssl:` (8883). */
export function registerNetTransports(): void {
  if (registered) return;
  registered = true;
  registerTransport('mqtt:', netTransport, 1883);
  registerTransport('tcp:', netTransport, 1883);
  for (const p of SECURE) registerTransport(p, netTransport, 8883);
}
