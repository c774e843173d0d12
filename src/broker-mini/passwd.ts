/**
 * mosquitto password files: one `name:password-hash` per line, as `mosquitto_passwd` writes them,
 * so a file moves both ways between mosquitto 2.0 and this broker.
 *
 * ```
 * alice:$7$101$isXcKj93DbJBPll9$oFMwqVksyDsa…PA==     PBKDF2-HMAC-SHA512, 101 iterations
 * bob:$6$tEdNfpw33FBB86i2$g9P/+8NehzNQV8WgBKpT…8g==    SHA-512 of password then salt
 * ```
 * - `$7$ITERATIONS$SALT$HASH`: PBKDF2-HMAC-SHA512 of the password with SALT, ITERATIONS rounds,
 *   64 bytes out (mosquitto 2.0's default; `mosquitto_passwd` writes 101 iterations).
 * - `$6$SALT$HASH`: SHA-512 over the password bytes followed by the salt bytes (mosquitto 1.x).
 * SALT and HASH are standard base64 with padding; mosquitto uses a 12-byte salt.
 *
 * A line whose password is not one of these is plain text. mosquitto refuses such files; here
 * they are refused too unless the caller allows plain text, and a hashed entry is only ever
 * checked as a hash, so the hash string itself never works as a password.
 * Blank lines and lines starting with `#` are skipped.
 */
import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** One user's stored password. */
export type PasswordEntry =
  | { readonly kind: 'pbkdf2-sha512'; readonly iterations: number; readonly salt: Uint8Array; readonly hash: Uint8Array }
  | { readonly kind: 'sha512'; readonly salt: Uint8Array; readonly hash: Uint8Array };

/** Salt bytes of a new entry, as mosquitto_passwd uses. */
export const SALT_BYTES = 12;
/** PBKDF2 iterations of a new entry: mosquitto_passwd's default. */
export const DEFAULT_ITERATIONS = 101;
/** PBKDF2 iterations accepted from a file: each CONNECT is verified on the event loop (about 0.1 s at this count on one core; 101 costs 0.3 ms), so it must stay cheap. */
export const MAX_ITERATIONS = 100_000;
const HASH_BYTES = 64;

/** `PasswordFileError` codes. */
export type PasswordFileErrorCode = 'PLAINTEXT_PASSWORD' | 'MALFORMED_ENTRY';

/** A password file line that cannot be used, naming the file and line. */
export class PasswordFileError extends Error {
  override readonly name = 'PasswordFileError';
  readonly code: PasswordFileErrorCode;
  readonly file: string | undefined;
  /** 1-based line number. */
  readonly line: number;
  /** The message without the `file:line:` prefix. */
  readonly detail: string;

  constructor(code: PasswordFileErrorCode, detail: string, file: string | undefined, line: number) {
    super(`${file ?? 'password file'}:${line}: ${detail}`);
    this.code = code;
    this.file = file;
    this.line = line;
    this.detail = detail;
  }
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function base64(text: string): Uint8Array | undefined {
  return BASE64.test(text) && text.length % 4 === 0 ? Buffer.from(text, 'base64') : undefined;
}

/**
 * Parses the hash part of a line (`$7$…` or `$6$…`). Returns `undefined` for anything that does
 * not start like a mosquitto hash (plain text); throws a `PasswordFileError` for one that does but
 * is malformed, so a damaged hash is never mistaken for a plain-text password.
 */
export function parsePasswordHash(text: string, file?: string, line = 0): PasswordEntry | undefined {
  if (!text.startsWith('$6$') && !text.startsWith('$7$')) return undefined;
  const bad = (why: string): never => {
    throw new PasswordFileError('MALFORMED_ENTRY', `malformed ${text.slice(0, 3)} hash: ${why}`, file, line);
  };
  const parts = text.split('$'); // ['', '7', iterations, salt, hash] or ['', '6', salt, hash]
  const pbkdf2 = parts[1] === '7';
  if (parts.length !== (pbkdf2 ? 5 : 4)) bad(`expected ${pbkdf2 ? '$7$ITERATIONS$SALT$HASH' : '$6$SALT$HASH'}`);
  const [saltText = '', hashText = ''] = parts.slice(-2);
  const salt = base64(saltText) ?? bad('the salt is not base64');
  const hash = base64(hashText) ?? bad('the hash is not base64');
  if (salt.length === 0) bad('the salt is empty');
  if (hash.length !== HASH_BYTES) bad(`the hash is ${hash.length} bytes, not ${HASH_BYTES}`);
  if (!pbkdf2) return { kind: 'sha512', salt, hash };
  const iterationsText = parts[2] ?? '';
  const iterations = /^\d{1,7}$/.test(iterationsText) ? Number(iterationsText) : 0;
  if (iterations < 1 || iterations > MAX_ITERATIONS) bad(`the iteration count must be 1..${MAX_ITERATIONS}, got "${iterationsText}"`);
  return { kind: 'pbkdf2-sha512', iterations, salt, hash };
}

/** One meaningful line of a password file: the user name and the text after the first `:`. */
export interface PasswordLine {
  line: number;
  username: string;
  password: string;
}

/** The user lines of a password file, skipping blank and `#` lines. Throws for a line without `name:`. */
export function passwordLines(text: string, file?: string): PasswordLine[] {
  const out: PasswordLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    const colon = l.indexOf(':');
    if (colon <= 0) throw new PasswordFileError('MALFORMED_ENTRY', 'expected "name:password-hash"', file, i + 1);
    out.push({ line: i + 1, username: l.slice(0, colon), password: l.slice(colon + 1) });
  });
  return out;
}

/** Options of `parsePasswordFile`. */
export interface ParsePasswordFileOptions {
  /** Accept plain-text passwords (lines that are not `$6$`/`$7$` hashes). Default `false`. */
  allowPlaintext?: boolean;
}

/**
 * Parses a mosquitto password file into user name → entry (a plain-text password is a string,
 * only with `allowPlaintext`). Throws `PasswordFileError` naming the file and line of the first
 * plain-text (when not allowed) or malformed entry.
 */
export function parsePasswordFile(text: string, file?: string, options: ParsePasswordFileOptions = {}): Record<string, string | PasswordEntry> {
  const users: Record<string, string | PasswordEntry> = {};
  for (const { line, username, password } of passwordLines(text, file)) {
    const entry = parsePasswordHash(password, file, line);
    if (entry === undefined && !options.allowPlaintext) {
      throw new PasswordFileError(
        'PLAINTEXT_PASSWORD',
        `user "${username}" has a plain-text password: hash the file with "mqtt311 passwd -U FILE" or "mosquitto_passwd -U FILE", or set password_file_plaintext true`,
        file,
        line,
      );
    }
    users[username] = entry ?? password;
  }
  return users;
}

const utf8 = new TextEncoder();

function digest(entry: PasswordEntry, password: Uint8Array): Uint8Array {
  return entry.kind === 'sha512'
    ? createHash('sha512').update(password).update(entry.salt).digest()
    : pbkdf2Sync(password, entry.salt, entry.iterations, HASH_BYTES, 'sha512');
}

/** Does `password` (the CONNECT's bytes) match `expected`? Constant-time in the compared bytes. */
export function verifyPassword(password: Uint8Array | undefined, expected: string | PasswordEntry): boolean {
  if (password === undefined) return false;
  if (typeof expected !== 'string') return timingSafeEqual(digest(expected, password), expected.hash);
  const want = utf8.encode(expected);
  // Equal lengths for timingSafeEqual; a length difference is all a timing can reveal.
  return want.length === password.length && timingSafeEqual(want, password);
}

/** A new `$7$` entry for `password`, as `mosquitto_passwd` makes it (random 12-byte salt, 101 iterations). */
export function hashPassword(password: string | Uint8Array, iterations = DEFAULT_ITERATIONS, salt: Uint8Array = randomBytes(SALT_BYTES)): PasswordEntry {
  const bytes = typeof password === 'string' ? utf8.encode(password) : password;
  const entry = { kind: 'pbkdf2-sha512', iterations, salt, hash: new Uint8Array(0) } as const;
  return { ...entry, hash: digest(entry, bytes) };
}

/** The entry as it stands in a password file after `name:`. */
export function formatPasswordHash(entry: PasswordEntry): string {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return entry.kind === 'sha512' ? `$6$${b64(entry.salt)}$${b64(entry.hash)}` : `$7$${entry.iterations}$${b64(entry.salt)}$${b64(entry.hash)}`;
}
