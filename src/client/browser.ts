/**
 * mqtt311 for browsers: the same client as in Node, over the browser's own `WebSocket`.
 *
 * ```ts
 * import { connect } from './mqtt311.js'; // dist/browser/mqtt311.js, built by scripts/build-browser.ts
 * const client = await connect('ws://127.0.0.1:8080/mqtt');
 * client.on('message', (topic, payload) => console.log(topic, new TextDecoder().decode(payload)));
 * await client.subscribe('sensors/#', { qos: 1 });
 * await client.publish('sensors/kitchen', '21.5', { qos: 1 });
 * await client.end();
 * ```
 *
 * Only `ws:` and `wss:` URLs work here (browsers cannot open TCP connections); spec chapter 6
 * describes MQTT over WebSocket. Payloads arrive as `Uint8Array`s. TLS for `wss:` is the
 * browser's: certificate options are not used. Nothing reachable from this module imports a
 * `node:` module or a package, so it bundles for browsers as is.
 */
import { createClient } from './core/index.js';
import type { MqttClient } from './core/client.js';
import type { ClientOptions } from './core/options.js';
import { oneShots } from './oneshot.js';
import { browserTransport } from './transport-browser.js';
import { registerTransport } from './transport.js';

/** Registers the browser WebSocket transport for `ws:` (default port 80) and `wss:` (443). */
export function registerBrowserTransport(): void {
  registerTransport('ws:', browserTransport, 80);
  registerTransport('wss:', browserTransport, 443);
}

/**
 * Connects to an MQTT broker over WebSocket and resolves once the server accepted the
 * connection (CONNACK 0). `target` is a `ws://` or `wss://` URL, or an options object with
 * `protocol: 'ws'`; `options` override what the URL says.
 */
export async function connect(target?: string | URL | ClientOptions, options?: ClientOptions): Promise<MqttClient> {
  registerBrowserTransport();
  return createClient(target, options);
}

export const { publishSingle, subscribeSimple } = oneShots(connect);

export * from './common.js';
export { MqttError, isMqttError } from '../codec/index.js';
export type { QoS, Packet, PublishPacket } from '../codec/index.js';
export { createBrowserTransport, browserTransport, type BrowserTransportOptions } from './transport-browser.js';
export type { Transport, TransportFactory, TransportOptions } from './transport.js';
