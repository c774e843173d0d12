/**
 * The runtime-neutral client: everything except the Node transports. A browser or other
 * runtime entry imports this, registers its transport (e.g. WebSocket for `'ws:'`), and calls
 * `createClient`. Nothing here imports a `node:` module.
 */
import { ClientError } from '../errors.js';
import { getTransport } from '../transport.js';
import { MqttClient } from './client.js';
import { resolveOptions, type ClientOptions } from './options.js';

/**
 * Creates a client and makes its first connection. The transport is `options.transport`, else
 * the one registered for the URL's protocol. Resolves after CONNACK 0; rejects with
 * `ClientError` (`CONNACK_REFUSED` as `ConnackError`, `CONNECT_FAILED`, `CONNECT_TIMEOUT`,
 * `ABORTED`, `INVALID_OPTIONS`) or the codec's `MqttError` for an invalid will.
 */
export async function createClient(target?: string | URL | ClientOptions, options?: ClientOptions): Promise<MqttClient> {
  const config = resolveOptions(target, options);
  for (const { url } of config.transport ? [] : config.servers) {
    if (!getTransport(url.protocol)) throw new ClientError('INVALID_OPTIONS', `no transport registered for ${url.protocol} (pass the transport option)`);
  }
  const factory = config.transport ?? getTransport(config.url.protocol)!; // checked for every server just above
  return new MqttClient(factory, config).start();
}

export { MqttClient } from './client.js';
export { ClientSession, type SessionOptions, type SessionState } from './session.js';
export type { Command, SessionEvent, Step } from './types.js';
export type {
  ClientEvents,
  EndOptions,
  Granted,
  PublishOptions,
  SubscribeOptions,
  SubscribeRequest,
} from './api.js';
export type { MessageHandler } from './dispatch.js';
export type { Message } from './message.js';
export { MessageStream, type MessagesOptions } from './message-stream.js';
export { resolveOptions, generateClientId, type ClientOptions, type WillOptions, type ResolvedOptions, type ServerOption, type ServerAddress } from './options.js';
export { Backoff, type ReconnectOptions } from './backoff.js';
export { KeepAlive, defaultPingTimeout } from './keepalive.js';
export { PacketIdAllocator } from './packet-ids.js';
