/**
 * The built-in authentication: a user table, checked against a CONNECT's credentials. The ACL
 * (authorisation) lives in `core/acl.ts`, re-exported here.
 */
import { callHook, isPromise, type Maybe } from './core/maybe.js';
import type { Credentials, ResolvedOptions } from './options.js';
import { verifyPassword, type PasswordEntry } from './passwd.js';

export { Acl, filterCovers, type AclAccess, type AclRule, type AclSubject } from './core/acl.js';

/**
 * Does a CONNECT password match a configured one: a plain-text string (compared as UTF-8) or a
 * mosquitto `$6$`/`$7$` hash (see passwd.ts)? Constant-time in the compared bytes.
 */
export function passwordMatches(given: Uint8Array | undefined, expected: string | PasswordEntry): boolean {
  return verifyPassword(given, expected);
}

/**
 * The built-in check of a CONNECT: 0 to go on, else the CONNACK return code.
 * - a user name present in `users` with the right password → 0, a wrong or missing password → 4;
 * - a user name when a `users` table exists but does not hold it → 4;
 * - a user name without a `users` table: left to the `authenticate` hook when there is one,
 *   otherwise treated like an anonymous client;
 * - no user name: 0 when anonymous clients are allowed, else 5 (not authorised).
 */
export function checkCredentials(
  username: string | undefined,
  password: Uint8Array | undefined,
  users: Readonly<Record<string, string | PasswordEntry>> | undefined,
  allowAnonymous: boolean,
  hasHook: boolean,
): 0 | 4 | 5 {
  if (username === undefined) return allowAnonymous ? 0 : 5;
  if (users === undefined) return allowAnonymous || hasHook ? 0 : 5;
  const entry = Object.hasOwn(users, username) ? users[username] : undefined;
  if (entry === undefined) return 4;
  return passwordMatches(password, entry) ? 0 : 4;
}

/** The verdict on a CONNECT: return code 0 accepts; any other refuses with it, for `why`. */
export interface ConnectVerdict {
  returnCode: 0 | 1 | 2 | 3 | 4 | 5;
  why: string;
}

/**
 * Decides a CONNECT's credentials: the built-in check (`checkCredentials`), then the
 * `authenticate` hook, whose answer maps to a CONNACK return code as `AuthenticateHook` says.
 * A hook that throws or rejects refuses with 3 (server unavailable). Never throws or rejects.
 */
export function authenticateConnect(creds: Credentials, options: Pick<ResolvedOptions, 'users' | 'allowAnonymous' | 'authenticate'>): Maybe<ConnectVerdict> {
  const { users, allowAnonymous, authenticate: hook } = options;
  const builtIn = checkCredentials(creds.username, creds.password, users, allowAnonymous, hook !== undefined);
  if (builtIn !== 0 || !hook) return { returnCode: builtIn, why: 'credentials' };
  const toVerdict = (v: boolean | number): ConnectVerdict => {
    const rc = v === true ? 0 : v === false ? (creds.username !== undefined || creds.password !== undefined ? 4 : 5) : v;
    return { returnCode: Number.isInteger(rc) && rc >= 0 && rc <= 5 ? (rc as ConnectVerdict['returnCode']) : 3, why: 'authenticate hook' }; // an integer in 0..5, checked in the same expression
  };
  const v = callHook<boolean | number>(() => hook(creds), () => 3);
  return isPromise(v) ? v.then(toVerdict, (e: unknown) => ({ returnCode: 3, why: `authenticate hook failed: ${String(e)}` })) : toVerdict(v);
}
