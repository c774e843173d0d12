/**
 * Bridges: their options (`BrokerOptions.bridges`), the topic remapping rules, and the
 * mosquitto.conf directives that configure them. A config file hands every line from the first
 * `connection NAME` onward to `parseBridgeConfig`:
 *
 * ```
 * connection cloud                     # starts a bridge; NAME is part of the default remote ClientId
 * address 10.0.0.5:1883 10.0.0.6       # tried in turn; port 1883 when left out
 * topic sensors/# out 1 lab/ site7/    # PATTERN [out|in|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]
 * topic cmd/# in 2 "" site7/           # "" is an empty prefix (or an empty pattern)
 * remote_clientid lab-gw               # default HOSTNAME.NAME, like mosquitto
 * remote_username gw                   # remote_password needs it
 * remote_password secret
 * cleansession false                   # default false: the remote keeps subscriptions and messages
 * keepalive_interval 60                # seconds, at least 5
 * restart_timeout 5 30                 # seconds: BASE CAP (backoff with jitter) or one constant
 * bridge_protocol_version mqttv311     # or mqttv31
 * try_private true                     # announce a bridge: protocol level | 0x80
 * notifications true                   # "1"/"0" retained on $SYS/broker/connection/REMOTE_CLIENTID/state
 * notifications_local_only false
 * notification_topic lab/bridge/state
 * round_robin false                    # false: always try the first address first
 * bridge_attempt_unsubscribe true      # unsubscribe remote topics of out-only patterns
 * bridge_outgoing_retain true          # false: clear RETAIN on messages sent to the remote
 * bridge_cafile ca.crt                 # TLS to the remote (the CA is what turns TLS on)
 * bridge_certfile client.crt
 * bridge_keyfile client.key
 * bridge_insecure false                # true: skip the host name check (not the chain)
 * ```
 * General directives must come before the first `connection`. `local_clientid`,
 * `local_username`, `local_password`, `local_cleansession`, `start_type`, `threshold`,
 * `idle_timeout` and `bridge_max_packet_size` are not supported (the bridge lives inside the
 * broker: it has no local connection) and are refused as unknown.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { isValidTopicFilter, isValidTopicName, type QoS } from '../codec/index.js';
import { ConfigError } from './config-syntax.js';

export type { BridgeDirection, BridgeOptions, BridgeTls, BridgeTopic } from './bridge-options.js';
import type { BridgeDirection, BridgeOptions, BridgeTls, BridgeTopic } from './bridge-options.js';

/** A topic line with its full local and remote filters (see `resolveBridgeTopic`). */
export interface ResolvedBridgeTopic {
  direction: BridgeDirection;
  qos: QoS;
  localPrefix: string;
  remotePrefix: string;
  /** localPrefix + pattern: what is subscribed to locally (out) and produced locally (in). */
  localTopic: string;
  /** remotePrefix + pattern: what is subscribed to remotely (in) and produced remotely (out). */
  remoteTopic: string;
}

/** `BridgeOptions` checked, with every default filled in. */
export interface ResolvedBridge extends Required<Omit<BridgeOptions, 'topics' | 'addresses' | 'remoteUsername' | 'remotePassword' | 'restartTimeout' | 'tls'>> {
  addresses: Array<{ host: string; port: number }>;
  topics: ResolvedBridgeTopic[];
  remoteUsername: string | undefined;
  remotePassword: string | undefined;
  /** Milliseconds. */
  restart: { base: number; cap: number; constant: boolean };
  tls: BridgeTls | undefined;
}

/**
 * Checks one topic line as mosquitto does (`bridge__add_topic`): prefixes are topic names (no
 * wildcards); prefix + pattern is a topic filter; an empty pattern needs both prefixes. Throws
 * `RangeError` with the reason.
 */
export function resolveBridgeTopic(t: BridgeTopic): ResolvedBridgeTopic {
  const { pattern, localPrefix = '', remotePrefix = '' } = t;
  const direction = t.direction ?? 'out';
  const qos = t.qos ?? 0;
  if (!['out', 'in', 'both'].includes(direction)) throw new RangeError(`bridge topic direction must be out, in or both, got "${direction}"`);
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`bridge topic QoS must be 0, 1 or 2, got ${String(qos)}`);
  for (const [side, prefix] of [['local', localPrefix], ['remote', remotePrefix]] as const) {
    if (prefix !== '' && !isValidTopicName(prefix)) throw new RangeError(`invalid bridge topic ${side} prefix "${prefix}" (no wildcards)`);
  }
  if (pattern === '') {
    if (localPrefix === '' || remotePrefix === '') throw new RangeError('an empty bridge topic pattern needs a local and a remote prefix');
  } else if (!isValidTopicFilter(pattern)) throw new RangeError(`invalid bridge topic pattern "${pattern}"`);
  const localTopic = localPrefix + pattern;
  const remoteTopic = remotePrefix + pattern;
  for (const [side, full] of [['local', localTopic], ['remote', remoteTopic]] as const) {
    if (!isValidTopicFilter(full)) throw new RangeError(`invalid bridge topic ${side} prefix and pattern combination "${full}"`);
  }
  return { direction, qos, localPrefix, remotePrefix, localTopic, remoteTopic };
}

function seconds(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min || v > 65_535) throw new RangeError(`${name} must be an integer ${min}..65535, got ${String(v)}`);
  return v;
}

/** Parses `host`, `host:port` or `[v6]:port` (port 1883 when left out). */
export function parseAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(text);
  const port = m?.[3] === undefined ? 1883 : Number(m[3]);
  const host = m?.[1] ?? m?.[2];
  if (host === undefined || port < 1 || port > 65_535) throw new RangeError(`invalid bridge address "${text}" (expected HOST[:PORT])`);
  return { host, port };
}

/** Fills in the defaults of one bridge and checks it (throws `RangeError`). */
export function resolveBridge(o: BridgeOptions): ResolvedBridge {
  if (!o.name || /\s/.test(o.name)) throw new RangeError(`a bridge needs a name without spaces, got "${o.name}"`);
  if (o.addresses.length === 0) throw new RangeError(`bridge ${o.name} has no address`);
  if (o.topics.length === 0) throw new RangeError(`bridge ${o.name} has no topic`);
  if (o.remotePassword !== undefined && o.remoteUsername === undefined) throw new RangeError(`bridge ${o.name}: remote_password needs remote_username [MQTT-3.1.2-22]`);
  const remoteClientId = o.remoteClientId ?? `${hostname()}.${o.name}`;
  // [MQTT-3.1.3-7] only a clean session may go without a ClientId; a bridge always names itself.
  if (remoteClientId === '') throw new RangeError(`bridge ${o.name}: remote_clientid must not be empty`);
  const notificationTopic = o.notificationTopic ?? `$SYS/broker/connection/${remoteClientId}/state`;
  if (!isValidTopicName(notificationTopic)) throw new RangeError(`bridge ${o.name}: invalid notification topic "${notificationTopic}"`);
  const rt = o.restartTimeout ?? [5, 30];
  const [base, cap] = typeof rt === 'number' ? [rt, rt] : rt;
  if (seconds('restart_timeout', cap, 1) < seconds('restart_timeout', base, 1)) throw new RangeError('restart_timeout: the cap is lower than the base');
  const protocolVersion = o.protocolVersion ?? 'mqttv311';
  if (protocolVersion !== 'mqttv311' && protocolVersion !== 'mqttv31') throw new RangeError(`bridge_protocol_version must be mqttv311 or mqttv31, got "${String(protocolVersion)}"`);
  return {
    name: o.name,
    addresses: o.addresses.map(parseAddress),
    topics: o.topics.map(resolveBridgeTopic),
    remoteClientId,
    remoteUsername: o.remoteUsername,
    remotePassword: o.remotePassword,
    cleanSession: o.cleanSession ?? false,
    keepAlive: seconds('keepalive_interval', o.keepAlive ?? 60, 5),
    restart: { base: base * 1000, cap: cap * 1000, constant: typeof rt === 'number' },
    protocolVersion,
    tryPrivate: o.tryPrivate ?? true,
    notifications: o.notifications ?? true,
    notificationsLocalOnly: o.notificationsLocalOnly ?? false,
    notificationTopic,
    roundRobin: o.roundRobin ?? false,
    attemptUnsubscribe: o.attemptUnsubscribe ?? true,
    outgoingRetain: o.outgoingRetain ?? true,
    tls: o.tls,
  };
}

// --- mosquitto.conf -------------------------------------------------------------------------

/** What the config parser passes on: the file (for errors and relative paths) and a file reader. */
export interface BridgeConfigContext {
  file?: string | undefined;
  readFile?: (path: string) => string;
}

type Setter = (b: BridgeOptions, args: string[], fail: (message: string) => never, ctx: BridgeConfigContext) => void;

function one(args: string[], fail: (message: string) => never): string {
  const [value] = args;
  if (args.length !== 1 || value === undefined) return fail(args.length === 0 ? 'a value is missing' : 'takes one value');
  return value;
}

function flag(args: string[], fail: (message: string) => never): boolean {
  const v = one(args, fail);
  if (v !== 'true' && v !== 'false') fail(`expected true or false, got "${v}"`);
  return v === 'true';
}

function tlsFile(key: keyof Omit<BridgeTls, 'insecure'>): Setter {
  return (b, args, fail, ctx) => {
    const path = resolve(ctx.file ? dirname(ctx.file) : '.', one(args, fail));
    try {
      (b.tls ??= {})[key] = (ctx.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
    } catch (e) {
      fail(`cannot read "${path}": ${(e as Error).message}`); // what is caught here is an Error (Node's or ours)
    }
  };
}

/** `""` is mosquitto's marker for an empty pattern or prefix. */
const unquote = (s: string | undefined): string | undefined => (s === '""' ? '' : s);

const DIRECTIVES = new Map<string, Setter>([
  ['address', (b, args, fail) => void (args.length > 0 ? (b.addresses = args) : fail('an address is missing'))],
  ['topic', (b, args, fail) => {
    const [pattern, direction, qos, localPrefix, remotePrefix, ...extra] = args;
    if (pattern === undefined) fail('a topic pattern is missing');
    if (extra.length > 0 || localPrefix !== undefined !== (remotePrefix !== undefined)) {
      fail('expected "topic PATTERN [out|in|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]"');
    }
    if (qos !== undefined && !/^[012]$/.test(qos)) fail(`invalid bridge QoS "${qos}"`);
    const t: BridgeTopic = { pattern: unquote(pattern)!, direction: (direction?.toLowerCase() ?? 'out') as BridgeDirection, qos: Number(qos ?? 0) as QoS }; // pattern is defined (fail above); QoS matched 0-2 above; resolveBridge checks the direction
    if (localPrefix !== undefined) Object.assign(t, { localPrefix: unquote(localPrefix), remotePrefix: unquote(remotePrefix) });
    try {
      resolveBridgeTopic(t);
    } catch (e) {
      fail((e as Error).message); // what is caught here is an Error (Node's or ours)
    }
    b.topics.push(t);
  }],
  ['remote_clientid', (b, args, fail) => void (b.remoteClientId = one(args, fail))],
  ['remote_username', (b, args, fail) => void (b.remoteUsername = one(args, fail))],
  ['remote_password', (b, args, fail) => void (b.remotePassword = one(args, fail))],
  ['cleansession', (b, args, fail) => void (b.cleanSession = flag(args, fail))],
  ['keepalive_interval', (b, args, fail) => void (b.keepAlive = Number(one(args, fail)))],
  ['restart_timeout', (b, args, fail) => {
    if (args.length < 1 || args.length > 2 || !args.every((a) => /^\d+$/.test(a))) fail('expected "restart_timeout SECONDS" or "restart_timeout BASE CAP"');
    b.restartTimeout = args.length === 1 ? Math.max(1, Number(args[0])) : [Math.max(1, Number(args[0])), Number(args[1])];
  }],
  ['bridge_protocol_version', (b, args, fail) => void (b.protocolVersion = one(args, fail) as NonNullable<BridgeOptions['protocolVersion']>)], // resolveBridge checks the value
  ['try_private', (b, args, fail) => void (b.tryPrivate = flag(args, fail))],
  ['notifications', (b, args, fail) => void (b.notifications = flag(args, fail))],
  ['notifications_local_only', (b, args, fail) => void (b.notificationsLocalOnly = flag(args, fail))],
  ['notification_topic', (b, args, fail) => void (b.notificationTopic = one(args, fail))],
  ['round_robin', (b, args, fail) => void (b.roundRobin = flag(args, fail))],
  ['bridge_attempt_unsubscribe', (b, args, fail) => void (b.attemptUnsubscribe = flag(args, fail))],
  ['bridge_outgoing_retain', (b, args, fail) => void (b.outgoingRetain = flag(args, fail))],
  ['bridge_cafile', tlsFile('ca')],
  ['bridge_certfile', tlsFile('cert')],
  ['bridge_keyfile', tlsFile('key')],
  ['bridge_insecure', (b, args, fail) => void ((b.tls ??= {}).insecure = flag(args, fail))],
]);
// mosquitto's older names, still accepted by it.
for (const [alias, name] of [['addresses', 'address'], ['clientid', 'remote_clientid'], ['username', 'remote_username'], ['password', 'remote_password']] as const) {
  DIRECTIVES.set(alias, DIRECTIVES.get(name)!); // every name in this list is set in the table above
}

/** Is `directive` one of a bridge's (after `connection NAME`)? */
export function isBridgeDirective(directive: string): boolean {
  return DIRECTIVES.has(directive);
}

/**
 * Parses the bridge section of a config file: `lines` are the numbered, non-comment lines from
 * the first `connection` to the end. Throws `ConfigError` naming the line.
 */
export function parseBridgeConfig(lines: Iterable<[number, string]>, ctx: BridgeConfigContext = {}): BridgeOptions[] {
  const bridges: BridgeOptions[] = [];
  let line = 0;
  let opened = 0;
  const fail = (message: string, code: 'INVALID_VALUE' | 'UNKNOWN_DIRECTIVE' | 'MISSING_VALUE' = 'INVALID_VALUE'): never => {
    throw new ConfigError(code, message, ctx.file, line);
  };
  const check = (): void => {
    const b = bridges.at(-1);
    if (!b) return;
    line = opened;
    try {
      resolveBridge(b);
    } catch (e) {
      fail(`bridge ${b.name}: ${(e as Error).message}`); // what is caught here is an Error (Node's or ours)
    }
  };
  for (const [n, text] of lines) {
    const [directive = '', ...args] = text.split(/\s+/);
    if (directive === 'connection') {
      check();
      line = opened = n;
      bridges.push({ name: one(args, fail), addresses: [], topics: [] });
      continue;
    }
    line = n;
    const setter = DIRECTIVES.get(directive);
    if (!setter) return fail(`"${directive}" is not a bridge directive (general directives go before the first "connection")`, 'UNKNOWN_DIRECTIVE');
    const bridge = bridges.at(-1);
    if (!bridge) return fail(`"${directive}" comes before the first "connection"`, 'UNKNOWN_DIRECTIVE');
    setter(bridge, args, fail, ctx);
  }
  check();
  return bridges;
}
