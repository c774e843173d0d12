/**
 * The connection `pub` and `sub` open, with the socket options of mosquitto's tools that the
 * client library does not offer: `--unix` (a Unix domain socket), `-A` (the local address),
 * `--ciphers`, `--tls-version`, `--tls-alpn` and TLS-PSK (`--psk`, Node's `pskCallback`).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import { wrapSocket, type TransportFactory } from '../client/index.js';
import type { ConnectionSettings } from './connection-flags.js';

/** A transport factory opening the connection `settings` describe. */
export function cliTransport(settings: ConnectionSettings): TransportFactory {
  return (options) =>
    new Promise((resolve, reject) => {
      const where = settings.unix !== undefined ? { path: settings.unix } : { host: options.host, port: options.port, ...(settings.bind !== undefined ? { localAddress: settings.bind } : {}) };
      let socket: Socket;
      if (settings.tls) {
        const tls: ConnectionOptions = {
          ...where,
          rejectUnauthorized: settings.rejectUnauthorized,
          // SNI takes a host name, never an IP address (RFC 6066 section 3).
          ...(settings.unix === undefined && !isIP(options.host) ? { servername: options.host } : {}),
        };
        if (settings.ca) tls.ca = settings.ca;
        if (settings.cert) tls.cert = settings.cert;
        if (settings.key) tls.key = settings.key;
        if (settings.ciphers !== undefined) tls.ciphers = settings.ciphers;
        if (settings.tlsVersion !== undefined) [tls.minVersion, tls.maxVersion] = [settings.tlsVersion, settings.tlsVersion];
        if (settings.alpn !== undefined) tls.ALPNProtocols = [settings.alpn];
        const psk = settings.psk;
        if (psk) {
          tls.pskCallback = () => ({ psk: psk.key, identity: psk.identity });
          // PSK cipher suites are not in Node's default list; TLS 1.3 PSK needs a session ticket mode Node lacks.
          tls.ciphers ??= 'PSK';
          tls.maxVersion ??= 'TLSv1.2';
          tls.checkServerIdentity = () => undefined;
        }
        socket = tlsConnect(tls);
      } else {
        socket = netConnect(where);
      }
      socket.setNoDelay(true);
      const ready = settings.tls ? 'secureConnect' : 'connect';
      const onAbort = () => fail(new Error('connecting was aborted'));
      const cleanup = () => {
        socket.off('error', fail);
        socket.off(ready, onReady);
        options.signal?.removeEventListener('abort', onAbort);
      };
      function fail(error: Error) {
        cleanup();
        socket.destroy();
        reject(error);
      }
      function onReady() {
        cleanup();
        resolve(wrapSocket(socket));
      }
      socket.once('error', fail);
      socket.once(ready, onReady);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
}
