/**
 * Type checks of `startBroker` options and of the broker's methods' arguments, so a wrong value
 * is refused at the call with a `BrokerError` naming it, not met later as a raw TypeError (or,
 * worse, taken: `port: '1883'` would make node:net listen on a pipe of that name).
 */
import { isValidTopicFilter } from '../codec/index.js';
import { BrokerError } from './core/errors.js';
import type { BrokerOptions } from './options.js';

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function refuse(name: string, wanted: string, v: unknown): never {
  throw new BrokerError('INVALID_OPTIONS', `${name} must be ${wanted}, got ${kind(v)}${typeof v === 'number' || typeof v === 'string' ? ` ${JSON.stringify(v)}` : ''}`);
}

/** Options holding a value of one JavaScript type. */
const TYPED: ReadonlyArray<[keyof BrokerOptions, 'string' | 'boolean' | 'function' | 'object']> = [
  ['host', 'string'],
  ['allowAnonymous', 'boolean'],
  ['logPackets', 'boolean'],
  ['authenticate', 'function'],
  ['authorizePublish', 'function'],
  ['authorizeSubscribe', 'function'],
  ['logger', 'function'],
  ['users', 'object'],
  ['ws', 'object'],
];

const ACCESS = new Set(['read', 'write', 'readwrite', 'deny']);

/** Throws `BrokerError` `INVALID_OPTIONS` for options of the wrong shape (ranges: `resolveOptions`). */
export function checkBrokerOptions(o: unknown): asserts o is BrokerOptions {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) refuse('options', 'an object', o);
  const opts = o as BrokerOptions; // each field is checked below before it is trusted
  for (const [key, type] of TYPED) {
    const v = opts[key];
    if (v !== undefined && (typeof v !== type || v === null || Array.isArray(v))) refuse(key, `a ${type}`, v);
  }
  checkPort('port', opts.port);
  if (opts.ws !== undefined) checkPort('ws.port', opts.ws.port, true);
  for (const [name, password] of Object.entries(opts.users ?? {})) {
    // A string, or a hash entry from passwd.ts (an object with its hash bytes).
    const ok = typeof password === 'string' || (typeof password === 'object' && password !== null && (password as { hash?: unknown }).hash instanceof Uint8Array);
    if (!ok) refuse(`users[${JSON.stringify(name)}]`, 'a string or a password entry', password);
  }
  if (opts.acl !== undefined) {
    if (!Array.isArray(opts.acl)) refuse('acl', 'an array of rules', opts.acl);
    opts.acl.forEach((r: unknown, i) => {
      const rule = r as { topic?: unknown; access?: unknown; user?: unknown }; // each field is checked below
      if (typeof r !== 'object' || r === null) refuse(`acl[${i}]`, 'an object', r);
      if (typeof rule.topic !== 'string' || !isValidTopicFilter(rule.topic)) refuse(`acl[${i}].topic`, 'a valid topic filter', rule.topic);
      if (typeof rule.access !== 'string' || !ACCESS.has(rule.access)) refuse(`acl[${i}].access`, 'read, write, readwrite or deny', rule.access);
      if (rule.user !== undefined && typeof rule.user !== 'string') refuse(`acl[${i}].user`, 'a string', rule.user);
    });
  }
}

function checkPort(name: string, v: unknown, required = false): void {
  if (v === undefined && !required) return;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 65_535) refuse(name, 'an integer 0..65535', v); // a number: Number.isInteger(v) checked first
}

/** The arguments of `broker.publish`: throws `BrokerError` `INVALID_ARGUMENT` (the topic itself: the codec's `MqttError`). */
export function checkPublishArguments(payload: unknown, options: unknown): void {
  const bad = (what: string, wanted: string, v: unknown): never => {
    throw new BrokerError('INVALID_ARGUMENT', `publish ${what} must be ${wanted}, got ${kind(v)}`);
  };
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) bad('payload', 'a string or Uint8Array', payload);
  if (typeof options !== 'object' || options === null) bad('options', 'an object', options);
  const { retain } = options as { retain?: unknown }; // reads one optional field, checked below
  if (retain !== undefined && typeof retain !== 'boolean') bad('options.retain', 'a boolean', retain);
}
