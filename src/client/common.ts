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
export { MemoryClientStore, BatchedClientStore, type ClientStore, type ClientStoreState, type ClientStoreOp, type StoredPublish } from './core/store.js';
export { StorageError, isStorageError, STORAGE_ERROR_CODES, type StorageErrorCode } from '../util/storage-error.js';
