/**
 * `mqtt311 passwd`: manages mosquitto password files, like `mosquitto_passwd`, writing the same
 * `$7$` entries (PBKDF2-SHA512, 12-byte salt, 101 iterations), so a file made by one tool works
 * with the other tool and with both brokers.
 *
 * ```sh
 * mqtt311 passwd -c -b passwords alice s3cret     # new file with one user
 * mqtt311 passwd -b passwords bob pw              # add or change a user
 * mqtt311 passwd -D passwords bob                 # delete a user
 * mqtt311 passwd -U passwords                     # hash every plain-text line in place
 * ```
 * Other lines (comments, blank lines, other users) are kept as they are. The file is replaced
 * atomically (written beside it, then renamed); a new file is created with mode 0600.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { formatPasswordHash, hashPassword, parsePasswordHash, PasswordFileError } from '../broker-mini/passwd.js';
import { parseCommandLine, usageError, type OptionSpec } from './args.js';
import { CliError, quote } from './errors.js';
import { readLines, type CliIo } from './io.js';

const COMMAND = 'mqtt311 passwd';

/** `mqtt311 passwd --help`. */
export const PASSWD_HELP = `mqtt311 passwd: manage a mosquitto password file ($7$ PBKDF2-SHA512 entries).

Usage: mqtt311 passwd [-c] FILE USER                 password read from stdin
       mqtt311 passwd [-c] -b FILE USER PASSWORD
       mqtt311 passwd -D FILE USER
       mqtt311 passwd -U FILE
       mqtt311 passwd --help

 -b : take the password from the command line (batch mode).
 -c : create a new file, replacing any existing one.
 -D : delete USER from the file.
 -U : hash every plain-text "name:password" line of FILE in place (hashed lines are kept).

Without -b the password is read from stdin: typed twice (not echoed) on a terminal, else its
first line. Files work with mosquitto 2.0 and mosquitto_passwd, both ways.
`;

const OPTIONS: readonly OptionSpec[] = [
  { name: 'batch', kind: 'flag', short: 'b' },
  { name: 'create', kind: 'flag', short: 'c' },
  { name: 'delete', kind: 'flag', short: 'D' },
  { name: 'update', kind: 'flag', short: 'U' },
  { name: 'help', kind: 'flag', long: 'help' },
];

/** Longest password line read from stdin. */
const MAX_PASSWORD_BYTES = 65_535;

/** `name:$7$…` for `password`. */
export function passwordLine(username: string, password: string): string {
  return `${username}:${formatPasswordHash(hashPassword(password))}`;
}

/** The user name of a `name:…` line, or `undefined` for a blank or comment line. */
function userOf(line: string): string | undefined {
  const l = line.trim();
  if (l === '' || l.startsWith('#')) return undefined;
  const colon = l.indexOf(':');
  return colon > 0 ? l.slice(0, colon) : undefined;
}

/**
 * The file's lines with `username`'s entry replaced by `entry` (appended when absent), or
 * removed when `entry` is undefined. Returns `undefined` when asked to remove an absent user.
 */
export function setUser(text: string, username: string, entry: string | undefined): string | undefined {
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const at = lines.findIndex((l) => userOf(l) === username);
  if (at === -1) {
    if (entry === undefined) return undefined;
    lines.push(entry);
  } else if (entry === undefined) lines.splice(at, 1);
  else lines[at] = entry;
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Hashes every plain-text `name:password` line (as `mosquitto_passwd -U` does); hashed, blank and
 * comment lines are kept, so running it twice changes nothing. Throws `PasswordFileError` for a
 * line without `name:` or a malformed hash.
 */
export function hashPlaintextLines(text: string, file?: string): string {
  const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
  const out = lines.map((l, i) => {
    const user = userOf(l);
    if (user === undefined) {
      if (l.trim() === '' || l.trim().startsWith('#')) return l;
      throw new PasswordFileError('MALFORMED_ENTRY', 'expected "name:password"', file, i + 1);
    }
    const password = l.trim().slice(user.length + 1);
    return parsePasswordHash(password, file, i + 1) ? l : passwordLine(user, password);
  });
  return text === '' ? '' : `${out.join('\n')}\n`;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code; // reads the optional `code` Node's errors carry
    throw new CliError('IO', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file (use -c to create it)' : (err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
  }
}

/** Replaces `file` atomically, keeping an existing file's mode (a new one gets 0600). */
async function writeText(file: string, text: string): Promise<void> {
  const mode = await stat(file).then((s) => s.mode & 0o777, () => 0o600);
  const temp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(temp, text, { mode });
    await rename(temp, file);
  } catch (err) {
    throw new CliError('IO', `cannot write ${file}: ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
  }
}

/** Reads the password from stdin: twice without echo on a terminal, else the first line. */
async function readPassword(io: CliIo): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream; // a TTY check reads ReadStream fields; absent ones are undefined
  if (stdin.isTTY) {
    const first = await promptHidden(io, 'Password: ');
    const second = await promptHidden(io, 'Reenter password: ');
    if (first !== second) throw new CliError('PASSWD', 'passwords do not match');
    return first;
  }
  for await (const line of readLines(io.stdin, MAX_PASSWORD_BYTES, io.interrupt)) return line.toString('utf8');
  throw usageError('no password on stdin (or give -b FILE USER PASSWORD)', COMMAND);
}

/** One line typed on the terminal, not echoed. */
function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream; // a TTY check reads ReadStream fields; absent ones are undefined
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(() => resolve(typed));
        if (ch === '\u0003') return done(() => reject(new CliError('IO', 'interrupted')));
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
      }
    };
    const done = (then: () => void): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
      then();
    };
    stdin.on('data', onData);
  });
}

function checkUsername(username: string): void {
  // The file format splits at the first ':'; mosquitto_passwd refuses such names too.
  if (username === '' || username.includes(':')) throw usageError(`user name ${quote(username)} must be non-empty and without ":"`, COMMAND);
  if (/[\r\n]/.test(username)) throw usageError('the user name must be one line', COMMAND);
}

/** Runs `mqtt311 passwd`. Exit code 0 on success. */
export async function runPasswd(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandLine(argv, OPTIONS, COMMAND, PASSWD_HELP, io.stdout, true);
  if (args === undefined) return 0;
  const [file, username, password, ...extra] = args.positionals;
  const modes = ['create', 'delete', 'update'].filter((m) => args.has(m));
  if (modes.length > 1) throw usageError('-c, -D and -U exclude each other', COMMAND);
  if (file === undefined) throw usageError('no password file given', COMMAND);
  try {
    if (args.has('update')) {
      if (username !== undefined || args.has('batch')) throw usageError('-U takes only FILE', COMMAND);
      await writeText(file, hashPlaintextLines(await readText(file), file));
      return 0;
    }
    if (username === undefined) throw usageError('no user name given', COMMAND);
    checkUsername(username);
    const wantPassword = args.has('batch') && !args.has('delete');
    if (extra.length > 0 || (password !== undefined) !== wantPassword) {
      throw usageError(wantPassword ? '-b needs FILE USER PASSWORD' : 'too many arguments (a password on the command line needs -b)', COMMAND);
    }
    if (args.has('delete')) {
      const text = setUser(await readText(file), username, undefined);
      if (text === undefined) throw new CliError('PASSWD', `user ${quote(username)} not found in ${file}`);
      await writeText(file, text);
      return 0;
    }
    const line = passwordLine(username, password ?? (await readPassword(io)));
    const text = args.has('create') ? `${line}\n` : setUser(await readText(file), username, line)!; // with an entry to set, setUser always returns the new text
    await writeText(file, text);
    return 0;
  } catch (err) {
    if (err instanceof PasswordFileError) throw new CliError('PASSWD', err.message, { cause: err });
    throw err;
  }
}
