/**
 * What the Node entry (index.ts) and the browser entry (browser.ts) both export; each entry adds
 * its own `connect` and transports. Reachable from the browser bundle: no `node:` imports here.
 */
export { MqttClient, MessageStream } from './core/index.js';
export type {
  ClientEvents,
  ClientOptions,
  EndOptions,
  Granted,
  Message,
  MessageHandler,
  MessagesOptions,
  PublishOptions,
  ReconnectOptions,
  SubscribeOptions,
  SubscribeRequest,
  WillOptions,
  ServerOption,
} from './core/index.js';
export type { PublishSingleOptions, SubscribeSimpleOptions } from './oneshot.js';
export { ClientError, ConnackError, isClientError, CLIENT_ERROR_CODES } from './errors.js';
export type { ClientErrorCode } from './errors.js';
