/**
 * mqtt311/client — a promise-based MQTT 3.1.1 client for Node.
 *
 * ```ts
 * import { connect } from 'mqtt311/client';
 * const client = await connect('mqtt://localhost:1883', { keepAlive: 60 });
 * client.handle('good', (msg) => console.log(msg.topic, msg.text));
 * await client.subscribe('good');
 * await client.publish('hello', 'world');
 * await client.end();
 * ```
 * `connect` uses TCP (`mqtt://`), TLS (`mqtts://`), WebSocket (`ws://`, `wss://`), or any transport registered with
 * `registerTransport` or passed as the `transport` option. `NODE_DEBUG=mqtt311` logs every
 * packet sent and received to stderr (passwords redacted).
 *
 * Runtimes without `node:net` use `createClient` from `./core/index.js` with their own transport.
 */
import { createClient } from './core/index.js';
import type { MqttClient } from './core/client.js';
import type { ClientOptions } from './core/options.js';
import { oneShots } from './oneshot.js';
import { registerNetTransports } from './transport-net.js';
import { registerWsTransport } from './transport-ws.js';

/** Is `mqtt311` listed in NODE_DEBUG (comma- or space-separated, like node:util's debuglog)? */
function debugEnabled(): boolean {
  const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NODE_DEBUG ?? ''; // probes for an optional global
  return value.split(/[\s,]+/).some((name) => name.toLowerCase() === 'mqtt311');
}

/**
 * Connects to an MQTT broker and resolves once the server accepted the connection (CONNACK 0).
 * `target` is a URL (`mqtt://user:pass@host:1883`, `mqtts://host`) or an options object;
 * `options` override what the URL says.
 */
export async function connect(target?: string | URL | ClientOptions, options?: ClientOptions): Promise<MqttClient> {
  registerNetTransports();
  registerWsTransport();
  // Arguments of the wrong type are left for resolveOptions to refuse (INVALID_OPTIONS).
  const hasLogger = options?.logger !== undefined || (typeof target === 'object' && target !== null && !(target instanceof URL) && target.logger !== undefined);
  if (!hasLogger && debugEnabled() && (options === undefined || (typeof options === 'object' && options !== null))) options = { ...options, logger: true };
  return createClient(target, options);
}

export const { publishSingle, subscribeSimple } = oneShots(connect);

export * from './common.js';
export { createClient, Backoff } from './core/index.js';
export { CONNACK_REASONS, type ClientErrorOptions } from './errors.js';
export { registerTransport, getTransport, type Transport, type TransportFactory, type TransportOptions, type TlsOptions } from './transport.js';
export { netTransport, wrapSocket } from './transport-net.js';
export { wsTransport, createWsTransport, registerWsTransport, type WsTransportOptions } from './transport-ws.js';
export { openSqliteClientStore, SqliteClientStore, type SqliteClientStoreOptions } from './store-sqlite.js';
export type { SyncPolicy } from '../broker-mini/core/storage.js';
