/**
 * Opens the client that `pub` and `sub` use, from {@link ConnectionSettings}.
 *
 * The client is created and given its listeners *before* it sends CONNECT: a resumed session
 * (`-c`) may deliver queued messages in the same TCP segment as the CONNACK, and `-d` must show
 * the CONNECT too, so nothing may be emitted before the listeners exist.
 */
import { MqttClient, netTransport, type ClientOptions } from '../client/index.js';
import { resolveOptions } from '../client/core/index.js';
import type { PublishPacket } from '../codec/index.js';
import type { ConnectionSettings } from './connection-flags.js';
import { debugLines } from './debug.js';
import { toCliError } from './errors.js';
import { writeLine, type CliIo } from './io.js';

/** What to do with received messages, if anything. */
export type MessageListener = (topic: string, payload: Uint8Array, packet: PublishPacket) => void;

/** `host:port` as printed in messages. */
export function targetOf(settings: ConnectionSettings): string {
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `${host}:${settings.port}`;
}

/** The client library's options for these settings (no automatic reconnect: a CLI reports and exits). */
export function clientOptions(settings: ConnectionSettings): ClientOptions {
  const options: ClientOptions = {
    protocol: settings.tls ? 'mqtts' : 'mqtt',
    host: settings.host,
    port: settings.port,
    clientId: settings.clientId,
    cleanSession: settings.cleanSession,
    keepAlive: settings.keepAlive,
    reconnect: false,
    connectTimeout: 15_000,
    rejectUnauthorized: settings.rejectUnauthorized,
  };
  if (settings.username !== undefined) options.username = settings.username;
  if (settings.password !== undefined) options.password = settings.password;
  if (settings.will) options.will = settings.will;
  if (settings.ca) options.ca = settings.ca;
  if (settings.cert) options.cert = settings.cert;
  if (settings.key) options.key = settings.key;
  return options;
}

/**
 * Connects and resolves once the server accepted (CONNACK 0).
 * @throws CliError: CONNACK refusals carry the return code as exit code; network failures say
 * what failed and where.
 */
export async function openClient(settings: ConnectionSettings, io: CliIo, onMessage?: MessageListener): Promise<MqttClient> {
  const where = targetOf(settings);
  let client: MqttClient;
  try {
    client = new MqttClient(netTransport, resolveOptions(clientOptions(settings)));
  } catch (err) {
    throw toCliError(err, where);
  }
  if (settings.debug) {
    // -d goes to stdout, as mosquitto_pub/sub print it.
    const print = (direction: 'sending' | 'received') => (packet: Parameters<typeof debugLines>[2]) => {
      for (const line of debugLines(settings.clientId, direction, packet)) writeLine(io.stdout, line);
    };
    client.on('packetsend', print('sending'));
    client.on('packetreceive', print('received'));
  }
  if (onMessage) client.on('message', onMessage);
  // Errors nobody else hears about (the client's 'error' event) must not go unseen.
  client.on('error', (err) => writeLine(io.stderr, `Warning: ${toCliError(err, where).message}`));
  try {
    await client.start();
  } catch (err) {
    throw toCliError(err, where);
  }
  return client;
}
