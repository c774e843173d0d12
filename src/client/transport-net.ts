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
    let reader: Reader | undefined;
    if (secure) {
      const tls = options.tls ?? {};
      socket = tlsConnect({
        host,
        port,
        ca: tls.ca as string | Buffer | Array<string | Buffer> | undefined, // PEM text or bytes, as Node's TLS options take them
        cert: tls.cert as string | Buffer | undefined, // PEM text or bytes, as Node's TLS options take them
        key: tls.key as string | Buffer | undefined, // PEM text or bytes, as Node's TLS options take them
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
        // SNI takes a host name, never an IP address (RFC 6066 section 3).
        servername: tls.servername ?? (isIP(host) ? undefined : host),
      });
    } else {
      reader = new Reader();
      socket = netConnect({ host, port, onread: { buffer: readBuffer, callback: reader.read } });
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
      resolve(wrap(socket, reader));
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

/**
 * Where plain TCP sockets read to (Node's `onread` option): straight into this buffer and then
 * to the decoder, without a `Buffer` allocated per read and without the readable-stream
 * machinery — a client that publishes at QoS 1 reads a few PUBACKs at a time, very often. One
 * buffer serves every socket: a read is copied out before the next one can start.
 */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/** Hands what a socket read to the data callback, holding it until there is one. */
class Reader {
  #callback: ((chunk: Uint8Array) => void) | undefined;
  #held: Uint8Array[] = [];

  /** The `onread` callback: copies `buf[0, n)` out of the shared buffer. */
  readonly read = (n: number, buf: Uint8Array): boolean => {
    const chunk = Buffer.allocUnsafe(n);
    chunk.set(n === buf.length ? buf : buf.subarray(0, n));
    if (this.#callback) this.#callback(chunk);
    else this.#held.push(chunk);
    return true; // keep reading
  };

  /** Sets the data callback and hands it what arrived before. */
  onData(callback: (chunk: Uint8Array) => void): void {
    this.#callback = callback;
    for (const chunk of this.#held.splice(0)) callback(chunk);
  }
}

/** Presents a connected socket as a `Transport`. */
export function wrapSocket(socket: Socket): Transport {
  return wrap(socket, undefined);
}

/** `wrapSocket`, for a socket that reads through `reader` (`onread`) rather than 'data' events. */
function wrap(socket: Socket, reader: Reader | undefined): Transport {
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
    // Nothing is lost before this: a socket stays paused until a 'data' listener is added, and a
    // reader holds what arrives until it has a callback.
    onData: (callback) => void (reader ? reader.onData(callback) : socket.on('data', callback)),
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
