/**
 * `resolveOptions`: the options given to `startBroker` with every default filled in, each type
 * checked (check-options.ts) and each number held to its range, so a wrong value is refused when
 * the broker starts, with a `BrokerError` naming it.
 */
import type { ProtocolVersion } from '../codec/index.js';
import { checkBrokerOptions } from './check-options.js';
import { BrokerError } from './core/errors.js';
import type { BrokerOptions, ResolvedOptions } from './options.js';

const MiB = 1024 * 1024;

function positiveInt(name: string, v: number, max: number, min = 1): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new BrokerError('INVALID_OPTIONS', `${name} must be an integer ${min}..${max}, got ${String(v)}`);
  return v;
}

function optionalInt(name: string, v: number | undefined, max: number, min = 1): number | undefined {
  return v === undefined ? undefined : positiveInt(name, v, max, min);
}

function checkVersions(name: string, v: ProtocolVersion[]): ProtocolVersion[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => x === 3 || x === 4)) {
    throw new BrokerError('INVALID_OPTIONS', `${name} must list 3 (MQTT 3.1) and/or 4 (MQTT 3.1.1), got ${JSON.stringify(v)}`);
  }
  return [...new Set(v)];
}

function oneOf<T extends string>(name: string, v: T, allowed: readonly T[]): T {
  if (!allowed.includes(v)) throw new BrokerError('INVALID_OPTIONS', `${name} must be one of ${allowed.join(', ')}, got ${String(v)}`);
  return v;
}

/** Fills in defaults and checks types and ranges (throws `BrokerError` `INVALID_OPTIONS`). */
export function resolveOptions(o: BrokerOptions = {}): ResolvedOptions {
  checkBrokerOptions(o);
  return {
    port: o.port ?? 1883,
    host: o.host ?? '127.0.0.1',
    connectTimeout: positiveInt('connectTimeout', o.connectTimeout ?? 10_000, 24 * 3600_000),
    maxPacketSize: positiveInt('maxPacketSize', o.maxPacketSize ?? 16 * 1024 * 1024, 268_435_460),
    maxQueuedMessages: positiveInt('maxQueuedMessages', o.maxQueuedMessages ?? 1000, 10_000_000),
    maxQueuedBytes: positiveInt('maxQueuedBytes', o.maxQueuedBytes ?? 32 * MiB, Number.MAX_SAFE_INTEGER),
    maxInflight: positiveInt('maxInflight', o.maxInflight ?? 100, 65_535),
    maxSubscriptions: positiveInt('maxSubscriptions', o.maxSubscriptions ?? 10_000, 10_000_000),
    maxConnections: positiveInt('maxConnections', o.maxConnections ?? 100_000, 10_000_000),
    maxRetainedMessages: positiveInt('maxRetainedMessages', o.maxRetainedMessages ?? 100_000, 100_000_000),
    maxRetainedBytes: positiveInt('maxRetainedBytes', o.maxRetainedBytes ?? 256 * MiB, Number.MAX_SAFE_INTEGER),
    maxOfflineSessions: positiveInt('maxOfflineSessions', o.maxOfflineSessions ?? 10_000, 100_000_000),
    memoryBudget: positiveInt('memoryBudget', o.memoryBudget ?? 256 * MiB, Number.MAX_SAFE_INTEGER),
    partialPacketTimeout: positiveInt('partialPacketTimeout', o.partialPacketTimeout ?? 60_000, 24 * 3600_000),
    socketHighWaterMark: positiveInt('socketHighWaterMark', o.socketHighWaterMark ?? 1024 * 1024, 2 ** 31),
    allowAnonymous: o.allowAnonymous ?? true,
    takeoverByOtherUser: oneOf('takeoverByOtherUser', o.takeoverByOtherUser ?? 'allow', ['allow', 'refuse'] as const),
    users: o.users,
    acl: o.acl ?? [],
    authenticate: o.authenticate,
    authorizePublish: o.authorizePublish,
    authorizeSubscribe: o.authorizeSubscribe,
    logger: o.logger,
    logPackets: o.logPackets ?? false,
    ws: o.ws && { ...o.ws, protocolVersions: o.ws.protocolVersions && checkVersions('ws.protocolVersions', o.ws.protocolVersions) },
    protocolVersions: checkVersions('protocolVersions', o.protocolVersions ?? [3, 4]),
    storage: o.storage,
    listeners: o.listeners,
    sysInterval: positiveInt('sysInterval', o.sysInterval ?? 0, 24 * 3600, 0),
    maxKeepalive: optionalInt('maxKeepalive', o.maxKeepalive, 65_535),
    messageSizeLimit: positiveInt('messageSizeLimit', o.messageSizeLimit ?? 0, 268_435_455, 0),
    retainAvailable: o.retainAvailable ?? true,
    allowZeroLengthClientId: o.allowZeroLengthClientId ?? true,
    autoIdPrefix: o.autoIdPrefix ?? 'mqtt311-',
    clientIdPrefixes: o.clientIdPrefixes,
    maxInflightBytes: positiveInt('maxInflightBytes', o.maxInflightBytes ?? 0, Number.MAX_SAFE_INTEGER, 0),
    upgradeOutgoingQos: o.upgradeOutgoingQos ?? false,
    checkRetainSource: o.checkRetainSource ?? true,
    persistentClientExpiration: optionalInt('persistentClientExpiration', o.persistentClientExpiration, Number.MAX_SAFE_INTEGER),
    connectionMessages: o.connectionMessages ?? true,
    persistence: o.persistence ?? false,
    persistenceLocation: o.persistenceLocation,
    autosaveInterval: o.autosaveInterval,
    bridges: o.bridges,
  };
}
