/**
 * The broker's configuration file (`mqtt311 broker -c FILE`): one directive per line, words
 * separated by spaces, `#` starts a comment line. Close to mosquitto's, so a small mosquitto
 * config mostly works:
 *
 * ```
 * port 1883                       # or: listener 1883 127.0.0.1
 * bind_address 127.0.0.1
 * allow_anonymous false
 * user alice secret               # inline user (plain-text password: this is a test broker)
 * password_file passwords.txt     # lines "name:password"
 * acl_file acl.txt                # mosquitto ACL format (below)
 * max_queued_messages 1000
 * max_queued_bytes 33554432      # per client: queued + inflight payload and topic bytes
 * max_retained_messages 100000
 * max_retained_bytes 268435456
 * max_offline_sessions 10000      # persistent sessions kept while offline
 * max_connections 100000          # open connections; more are closed on arrival
 * max_inflight 100                # alias: max_inflight_messages
 * max_packet_size 1048576
 * connect_timeout 10              # seconds
 * log_packets false
 * accept_protocol_versions 3,4    # 3 = MQTT 3.1, 4 = MQTT 3.1.1 (default both); others get CONNACK 1
 * ws_port 8080                    # for a WebSocket listener (read here, served by the CLI)
 *
 * # ACL lines, inline or in an acl_file:
 * topic read sensors/#            # access: read | write | readwrite (default) | deny
 * acl_user alice                  # following topic lines apply to alice (in an acl_file: "user alice")
 * topic readwrite alice/#
 * pattern write clients/%c/#      # %c = ClientId, %u = user name; applies to every client
 * ```
 * Differences from mosquitto: `topic` lines before any user section apply to every client (not
 * only anonymous ones); `deny` always wins. See `auth.ts` for the exact ACL semantics.
 * Relative paths are resolved against the config file's folder. Errors name the file and line.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isValidTopicFilter, MqttError } from '../codec/index.js';
import type { AclAccess, AclRule } from './auth.js';
import type { BrokerOptions } from './options.js';

/** What a config file configures: the broker's options, and listeners the broker does not own. */
export interface BrokerConfig extends BrokerOptions {
  /** Port for a WebSocket listener (`ws_port`). */
  wsPort?: number;
}

/** `ConfigError` codes. */
export type ConfigErrorCode =
  /** A directive the broker does not know (or does not support). */
  | 'UNKNOWN_DIRECTIVE'
  /** A directive without the value it needs. */
  | 'MISSING_VALUE'
  /** A value of the wrong form or out of range. */
  | 'INVALID_VALUE'
  /** A file the config names (password_file, acl_file, …) could not be read. */
  | 'FILE_ERROR';

/** A configuration problem, naming the file and line; an `MqttError`. */
export class ConfigError extends MqttError<ConfigErrorCode> {
  override readonly name: string = 'ConfigError';
  /** The file (when known) and 1-based line of the problem. */
  readonly file: string | undefined;
  readonly line: number;

  constructor(code: ConfigErrorCode, message: string, file: string | undefined, line: number) {
    super(code, `${file ?? 'config'}:${line}: ${message}`);
    this.file = file;
    this.line = line;
  }
}

/** Options of `parseConfig`. */
export interface ParseConfigOptions {
  /** The config file's path: names it in errors and anchors relative paths. */
  file?: string;
  /** Reads a referenced file (password_file, acl_file). Default: node:fs, UTF-8. */
  readFile?: (path: string) => string;
}

const ACCESS = new Set<AclAccess>(['read', 'write', 'readwrite', 'deny']);

interface Cursor {
  file: string | undefined;
  line: number;
}

function fail(code: ConfigErrorCode, message: string, at: Cursor): never {
  throw new ConfigError(code, message, at.file, at.line);
}

/** Splits text into numbered, trimmed, non-empty, non-comment lines. */
function* lines(text: string): Generator<[number, string]> {
  const all = text.split(/\r?\n/);
  for (let i = 0; i < all.length; i++) {
    const l = all[i].trim();
    if (l !== '' && !l.startsWith('#')) yield [i + 1, l];
  }
}

function int(value: string | undefined, at: Cursor, min: number, max: number): number {
  if (value === undefined) fail('MISSING_VALUE', 'a number is missing', at);
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    fail('INVALID_VALUE', `expected an integer ${min}..${max}, got "${value}"`, at);
  }
  return Number(value);
}

function bool(value: string | undefined, at: Cursor): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return fail(value === undefined ? 'MISSING_VALUE' : 'INVALID_VALUE', `expected true or false, got "${value ?? ''}"`, at);
}

/** Parses an ACL `topic`/`pattern` line's arguments: `[ACCESS] FILTER` (the filter may contain spaces). */
function aclRule(rest: string, user: string | undefined, at: Cursor): AclRule {
  const m = /^(\S+)(?:\s+(.*))?$/.exec(rest);
  if (!m) fail('MISSING_VALUE', 'a topic filter is missing', at);
  let access: AclAccess = 'readwrite';
  let topic = rest;
  if (ACCESS.has(m[1] as AclAccess) && m[2] !== undefined) {
    access = m[1] as AclAccess;
    topic = m[2];
  }
  if (!isValidTopicFilter(topic)) fail('INVALID_VALUE', `"${topic}" is not a valid topic filter`, at);
  return user === undefined ? { topic, access } : { user, topic, access };
}

/** Reads a referenced file, turning I/O failures into a `ConfigError` at the referencing line. */
function readRef(path: string, opts: ParseConfigOptions, at: Cursor): { path: string; text: string } {
  const full = resolve(opts.file ? dirname(opts.file) : '.', path);
  try {
    return { path: full, text: (opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(full) };
  } catch (e) {
    return fail('FILE_ERROR', `cannot read "${full}": ${(e as Error).message}`, at);
  }
}

/** Parses a password file: `name:password` per line (the password may contain ':'). */
export function parsePasswordFile(text: string, file?: string): Record<string, string> {
  const users: Record<string, string> = {};
  for (const [line, l] of lines(text)) {
    const i = l.indexOf(':');
    if (i <= 0) fail('INVALID_VALUE', 'expected "name:password"', { file, line });
    users[l.slice(0, i)] = l.slice(i + 1);
  }
  return users;
}

/** Parses a mosquitto-format ACL file: `user NAME`, `topic [ACCESS] FILTER`, `pattern [ACCESS] FILTER`. */
export function parseAclFile(text: string, file?: string): AclRule[] {
  const rules: AclRule[] = [];
  let user: string | undefined;
  for (const [line, l] of lines(text)) {
    const at = { file, line };
    const [word, ...restWords] = l.split(/\s+/);
    const rest = l.slice(word.length).trim();
    if (word === 'user') {
      if (restWords.length !== 1) fail('INVALID_VALUE', 'expected "user NAME"', at);
      user = restWords[0];
    } else if (word === 'topic') rules.push(aclRule(rest, user, at));
    else if (word === 'pattern') rules.push(aclRule(rest, undefined, at));
    else fail('UNKNOWN_DIRECTIVE', `unknown ACL directive "${word}"`, at);
  }
  return rules;
}

/** The directives that set one integer option: `NAME VALUE`, VALUE in min..max, stored times `scale`. */
const INT_OPTIONS = new Map<string, { key: IntOption; min: number; max: number; scale?: number }>([
  ['max_queued_messages', { key: 'maxQueuedMessages', min: 1, max: 10_000_000 }],
  ['max_queued_bytes', { key: 'maxQueuedBytes', min: 1, max: Number.MAX_SAFE_INTEGER }],
  ['max_retained_messages', { key: 'maxRetainedMessages', min: 1, max: 100_000_000 }],
  ['max_retained_bytes', { key: 'maxRetainedBytes', min: 1, max: Number.MAX_SAFE_INTEGER }],
  ['max_offline_sessions', { key: 'maxOfflineSessions', min: 1, max: 100_000_000 }],
  ['max_connections', { key: 'maxConnections', min: 1, max: 10_000_000 }],
  ['max_inflight', { key: 'maxInflight', min: 1, max: 65_535 }],
  ['max_inflight_messages', { key: 'maxInflight', min: 1, max: 65_535 }],
  ['max_packet_size', { key: 'maxPacketSize', min: 2, max: 268_435_460 }],
  ['connect_timeout', { key: 'connectTimeout', min: 1, max: 86_400, scale: 1000 }], // seconds -> ms
  ['ws_port', { key: 'wsPort', min: 0, max: 65_535 }],
]);
/** The `BrokerConfig` keys holding a number. */
type IntOption = { [K in keyof BrokerConfig]-?: BrokerConfig[K] extends number | undefined ? K : never }[keyof BrokerConfig];

/** Parses config file text into `BrokerConfig`. Throws `ConfigError` naming the line. */
export function parseConfig(text: string, options: ParseConfigOptions = {}): BrokerConfig {
  const config: BrokerConfig = {};
  const acl: AclRule[] = [];
  let users: Record<string, string> | undefined;
  let aclUser: string | undefined;
  for (const [line, l] of lines(text)) {
    const at = { file: options.file, line };
    const words = l.split(/\s+/);
    const [directive, a, b] = words;
    const rest = l.slice(directive.length).trim();
    const arity = (n: number) => {
      if (words.length - 1 < n) fail('MISSING_VALUE', `"${directive}" needs ${n} value${n > 1 ? 's' : ''}`, at);
      if (words.length - 1 > n) fail('INVALID_VALUE', `"${directive}" takes ${n} value${n > 1 ? 's' : ''}`, at);
    };
    switch (directive) {
      case 'port':
        arity(1);
        config.port = int(a, at, 0, 65_535);
        break;
      case 'bind_address':
        arity(1);
        config.host = a;
        break;
      case 'listener':
        if (words.length < 2 || words.length > 3) fail('INVALID_VALUE', 'expected "listener PORT [ADDRESS]"', at);
        config.port = int(a, at, 0, 65_535);
        if (b !== undefined) config.host = b;
        break;
      case 'allow_anonymous':
        arity(1);
        config.allowAnonymous = bool(a, at);
        break;
      case 'user':
        arity(2);
        (users ??= {})[a] = b;
        break;
      case 'password_file': {
        arity(1);
        const ref = readRef(a, options, at);
        Object.assign((users ??= {}), parsePasswordFile(ref.text, ref.path));
        break;
      }
      case 'acl_file': {
        arity(1);
        const ref = readRef(a, options, at);
        acl.push(...parseAclFile(ref.text, ref.path));
        break;
      }
      case 'acl_user':
        arity(1);
        aclUser = a === '*' ? undefined : a;
        break;
      case 'topic':
        acl.push(aclRule(rest, aclUser, at));
        break;
      case 'pattern':
        acl.push(aclRule(rest, undefined, at));
        break;
      case 'log_packets':
        arity(1);
        config.logPackets = bool(a, at);
        break;
      case 'accept_protocol_versions': {
        // mosquitto's spelling: "3,4", "3, 4" or "3 4".
        const versions = rest.split(/[\s,]+/).filter((w) => w !== '');
        if (versions.length === 0 || !versions.every((v) => v === '3' || v === '4')) {
          fail('INVALID_VALUE', `expected "accept_protocol_versions" with 3 and/or 4, got "${rest}"`, at);
        }
        config.protocolVersions = versions.map((v) => (v === '3' ? 3 : 4));
        break;
      }
      default: {
        const option = INT_OPTIONS.get(directive);
        if (!option) fail('UNKNOWN_DIRECTIVE', `unknown directive "${directive}"`, at);
        arity(1);
        config[option.key] = int(a, at, option.min, option.max) * (option.scale ?? 1);
      }
    }
  }
  if (users) config.users = users;
  if (acl.length > 0) config.acl = acl;
  return config;
}

/** Reads and parses the config file at `path`. */
export async function loadConfig(path: string): Promise<BrokerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('FILE_ERROR', `cannot read: ${(e as Error).message}`, path, 0);
  }
  return parseConfig(text, { file: path });
}
