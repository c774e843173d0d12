/**
 * The syntax of the broker's config files, shared by every directive: typed errors naming the
 * file and line, lines, numbers, booleans, ACL rules, referenced files, and the two referenced
 * file formats (password and ACL files).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isValidTopicFilter, MqttError } from '../codec/index.js';
import type { AclAccess, AclRule } from './core/acl.js';
import type { BrokerOptions } from './options.js';
import { parsePasswordFile as parseMosquittoPasswords, PasswordFileError, type PasswordEntry } from './passwd.js';

/** Where log lines go (`log_dest`). */
export type LogDest = { kind: 'stdout' } | { kind: 'stderr' } | { kind: 'file'; path: string };

/** What a config file configures: the broker's options, and what the process around it does. */
export interface BrokerConfig extends BrokerOptions {
  /** Port for a WebSocket listener (`ws_port`, broker-mini's own; or use `listener` + `protocol websockets`). */
  wsPort?: number;
  /** Write the process id here on start, remove it on stop (`pid_file`). */
  pidFile?: string;
  /** Logging (`log_dest`, `log_type`, `log_timestamp`, `log_timestamp_format`); absent keys keep the defaults. */
  log?: { dest?: LogDest[]; types?: string[]; timestamp?: boolean; timestampFormat?: string };
  /** The OS user to switch to after binding, when started as root (mosquitto's `user NAME`). */
  runAsUser?: string;
  /** The persistence file name (`persistence_file`). */
  persistenceFile?: string;
  /** Lines to print on startup about settings read without effect: "file:line: …". */
  notes?: string[];
}

/** `ConfigError` codes. */
export type ConfigErrorCode =
  /** A directive the broker does not know. */
  | 'UNKNOWN_DIRECTIVE'
  /** A mosquitto.conf directive broker-mini recognises and refuses, saying why. */
  | 'UNSUPPORTED_DIRECTIVE'
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
  /** Reads a referenced file (password_file, acl_file, certificates, include_dir files). Default: node:fs, UTF-8. */
  readFile?: (path: string) => string;
  /** Lists a folder (include_dir, capath). Default: node:fs. */
  readDir?: (path: string) => string[];
}

const ACCESS = new Set<AclAccess>(['read', 'write', 'readwrite', 'deny']);

/** A position in a config file. */
export interface Cursor {
  file: string | undefined;
  line: number;
}

/** Throws a `ConfigError` at `at`. */
export function fail(code: ConfigErrorCode, message: string, at: Cursor): never {
  throw new ConfigError(code, message, at.file, at.line);
}

/** Throws `UNSUPPORTED_DIRECTIVE`: a directive broker-mini recognises and refuses, and why. */
export function unsupported(directive: string, why: string, at: Cursor): never {
  return fail('UNSUPPORTED_DIRECTIVE', `"${directive}" is not supported: ${why}`, at);
}

/** Checks on one directive line's values: exactly `n` of them, or one of a fixed set. */
export function lineArgs(directive: string, args: string[], at: Cursor) {
  const arity = (n: number): void => {
    if (args.length < n) fail('MISSING_VALUE', `"${directive}" needs ${n} value${n > 1 ? 's' : ''}`, at);
    if (args.length > n) fail('INVALID_VALUE', `"${directive}" takes ${n} value${n > 1 ? 's' : ''}`, at);
  };
  /** The directive's one value (a `ConfigError` unless there is exactly one). */
  const value = (): string => {
    arity(1);
    return args[0] ?? fail('MISSING_VALUE', `"${directive}" needs 1 value`, at);
  };
  const oneOf = <T extends string>(allowed: readonly T[]): T => {
    arity(1);
    if (!allowed.includes(args[0] as T)) fail('INVALID_VALUE', `expected ${allowed.join(' or ')}, got "${args[0]}"`, at); // includes() only compares
    return args[0] as T; // checked to be one of `allowed` just above
  };
  /** The directive's two values (a `ConfigError` unless there are exactly two). */
  const pair = (): [string, string] => {
    arity(2);
    const [first, second] = args;
    if (first === undefined || second === undefined) return fail('MISSING_VALUE', `"${directive}" needs 2 values`, at);
    return [first, second];
  };
  return { arity, value, pair, oneOf };
}

/** Splits text into numbered, trimmed, non-empty, non-comment lines. */
export function* lines(text: string): Generator<[number, string]> {
  const all = text.split(/\r?\n/);
  for (const [i, raw] of all.entries()) {
    const l = raw.trim();
    if (l !== '' && !l.startsWith('#')) yield [i + 1, l];
  }
}

/** An integer in min..max, else a `ConfigError`. */
export function int(value: string | undefined, at: Cursor, min: number, max: number): number {
  if (value === undefined) fail('MISSING_VALUE', 'a number is missing', at);
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    fail('INVALID_VALUE', `expected an integer ${min}..${max}, got "${value}"`, at);
  }
  return Number(value);
}

/** `true` or `false`, else a `ConfigError`. */
export function bool(value: string | undefined, at: Cursor): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return fail(value === undefined ? 'MISSING_VALUE' : 'INVALID_VALUE', `expected true or false, got "${value ?? ''}"`, at);
}

/** Parses an ACL `topic`/`pattern` line's arguments: `[ACCESS] FILTER` (the filter may contain spaces). */
export function aclRule(rest: string, user: string | undefined, at: Cursor): AclRule {
  const m = /^(\S+)(?:\s+(.*))?$/.exec(rest);
  if (!m) fail('MISSING_VALUE', 'a topic filter is missing', at);
  let access: AclAccess = 'readwrite';
  let topic = rest;
  if (ACCESS.has(m[1] as AclAccess) && m[2] !== undefined) { // has() only compares
    access = m[1] as AclAccess; // checked by ACCESS.has just above
    topic = m[2];
  }
  if (!isValidTopicFilter(topic)) fail('INVALID_VALUE', `"${topic}" is not a valid topic filter`, at);
  return user === undefined ? { topic, access } : { user, topic, access };
}

/** A path from the config, resolved against the folder of the file it appears in. */
export function refPath(path: string, at: Cursor): string {
  return resolve(at.file ? dirname(at.file) : '.', path);
}

/** Reads a referenced file, turning I/O failures into a `ConfigError` at the referencing line. */
export function readRef(path: string, opts: ParseConfigOptions, at: Cursor): { path: string; text: string } {
  const full = refPath(path, at);
  try {
    return { path: full, text: (opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(full) };
  } catch (e) {
    return fail('FILE_ERROR', `cannot read "${full}": ${(e as Error).message}`, at); // what is caught here is an Error (Node's or ours)
  }
}

/** Lists a referenced folder's files (names only), turning I/O failures into a `ConfigError`. */
export function readDirRef(path: string, opts: ParseConfigOptions, at: Cursor): { path: string; names: string[] } {
  const full = refPath(path, at);
  try {
    const list = opts.readDir ?? ((p: string) => readdirSync(p).filter((n) => statSync(join(p, n)).isFile()));
    return { path: full, names: list(full) };
  } catch (e) {
    return fail('FILE_ERROR', `cannot read the folder "${full}": ${(e as Error).message}`, at); // what is caught here is an Error (Node's or ours)
  }
}

/** Parses a password file: `name:password` per line (the password may contain ':'). */
export function parsePasswordFile(text: string, file?: string, allowPlaintext = false): Record<string, string | PasswordEntry> {
  try {
    return parseMosquittoPasswords(text, file, { allowPlaintext });
  } catch (e) {
    if (e instanceof PasswordFileError) fail('INVALID_VALUE', e.detail, { file: e.file, line: e.line });
    throw e;
  }
}

/** Parses a mosquitto-format ACL file: `user NAME`, `topic [ACCESS] FILTER`, `pattern [ACCESS] FILTER`. */
export function parseAclFile(text: string, file?: string): AclRule[] {
  const rules: AclRule[] = [];
  let user: string | undefined;
  for (const [line, l] of lines(text)) {
    const at = { file, line };
    const [word = '', ...restWords] = l.split(/\s+/);
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

