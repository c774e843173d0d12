/**
 * Opens the client that `pub` and `sub` use, from {@link ConnectionSettings}.
 *
 * The client is created and given its listeners *before* it sends CONNECT: a resumed session
 * (`-c`) may deliver queued messages in the same TCP segment as the CONNACK, and `-d` must show
 * the CONNECT too, so nothing may be emitted before the listeners exist.
 */
import { MqttClient, type ClientOptions, type ReconnectOptions } from '../client/index.js';
import { resolveOptions } from '../client/core/index.js';
import type { PublishPacket } from '../codec/index.js';
import type { ConnectionSettings } from './connection-flags.js';
import { DebugPrinter } from './debug.js';
import { toCliError } from './errors.js';
import { writeLine, type CliIo } from './io.js';
import { cliTransport } from './transport.js';

/** What to do with received messages, if anything. */
export type MessageListener = (topic: string, payload: Uint8Array, packet: PublishPacket) => void;

/** `host:port` as printed in messages. */
export function targetOf(settings: ConnectionSettings): string {
  if (settings.unix !== undefined) return settings.unix;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `${host}:${settings.port}`;
}

/**
 * How a long-running command (`sub`, `pub -l`/`-s`) reconnects: as mosquitto's tools do, soon
 * (1 s) and never giving up, backing off to 30 s while the broker stays away.
 */
export const CLI_RECONNECT: ReconnectOptions = { initialDelay: 1000, maxDelay: 30_000 };

/** The client library's options for these settings; `reconnect` off unless the command survives a lost broker. */
export function clientOptions(settings: ConnectionSettings, reconnect: ReconnectOptions | false = false): ClientOptions {
  const options: ClientOptions = {
    protocol: settings.tls ? 'mqtts' : 'mqtt',
    host: settings.host,
    port: settings.port,
    clientId: settings.clientId,
    cleanSession: settings.cleanSession,
    keepAlive: settings.keepAlive,
    reconnect,
    connectTimeout: 15_000,
    rejectUnauthorized: settings.rejectUnauthorized,
    protocolVersion: settings.protocolVersion,
    transport: cliTransport(settings),
  };
  if (settings.username !== undefined) options.username = settings.username;
  if (settings.password !== undefined) options.password = settings.password;
  if (settings.will) options.will = settings.will;
  if (settings.maxInflight !== undefined) options.maxInflight = settings.maxInflight;
  return options;
}

/**
 * Connects and resolves once the server accepted (CONNACK 0).
 * @throws CliError: CONNACK refusals carry the return code as exit code; network failures say
 * what failed and where.
 */
export async function openClient(
  settings: ConnectionSettings,
  io: CliIo,
  onMessage?: MessageListener,
  reconnect: ReconnectOptions | false = false,
): Promise<MqttClient> {
  const where = targetOf(settings);
  let client: MqttClient;
  try {
    const options = clientOptions(settings, reconnect);
    client = new MqttClient(options.transport!, resolveOptions(options)); // clientOptions always sets the CLI's transport
  } catch (err) {
    throw toCliError(err, where);
  }
  if (settings.debug) {
    // -d goes to stdout, as mosquitto_pub/sub print it.
    const printer = new DebugPrinter(settings.clientId);
    client.on('packetsend', (packet) => printer.lines('sending', packet).forEach((line) => writeLine(io.stdout, line)));
    client.on('packetreceive', (packet) => printer.lines('received', packet).forEach((line) => writeLine(io.stdout, line)));
  }
  if (onMessage) client.on('message', onMessage);
  // Errors nobody else hears about (the client's 'error' event) must not go unseen.
  // A refused reconnect ends the client, and the command reports it as its own error.
  client.on('error', (err) => {
    if (!settings.quiet && (err as { code?: string }).code !== 'CONNACK_REFUSED') writeLine(io.stderr, `Warning: ${toCliError(err, where).message}`); // reads the optional `code` Node's errors carry
  });
  try {
    await client.start();
  } catch (err) {
    throw toCliError(err, where);
  }
  return client;
}
