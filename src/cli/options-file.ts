/**
 * mosquitto_pub/mosquitto_sub's options files, read as mosquitto 2.0 reads them:
 * `$XDG_CONFIG_HOME/mosquitto_pub` (or `mosquitto_sub`), else `$HOME/.config/mosquitto_pub`.
 * Each line is one option, optionally followed by one space and its value (the rest of the line,
 * spaces included); a line starting with `#` is a comment. The file's options come before the
 * command line's, so a value given on the command line wins and repeatable options (`-t`)
 * add up.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, usageError, type OptionSpec } from './args.js';

/** The largest options file read: mosquitto's lines are at most 1023 bytes; a file of these is small. */
const MAX_FILE_BYTES = 256 * 1024;

/** The words of an options file, as text and as bytes (for `bytes` options). */
export interface OptionWords {
  words: string[];
  bytes: Buffer[];
}

/** Where mosquitto looks for `tool`'s options file, or undefined when neither variable is set. */
export function optionsFilePath(tool: 'mosquitto_pub' | 'mosquitto_sub', env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, tool);
  if (env.HOME) return join(env.HOME, '.config', tool);
  return undefined;
}

/**
 * Reads `tool`'s options file (none: no words). Each line is checked on its own against `specs`,
 * so a mistake is reported with its file and line rather than shifting the command line.
 */
export async function readOptionsFile(tool: 'mosquitto_pub' | 'mosquitto_sub', specs: readonly OptionSpec[], command: string): Promise<OptionWords> {
  const path = optionsFilePath(tool);
  const result: OptionWords = { words: [], bytes: [] };
  if (path === undefined) return result;
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch {
    return result; // mosquitto ignores a missing or unreadable file
  }
  if (text.length > MAX_FILE_BYTES) throw usageError(`options file ${path} is larger than ${MAX_FILE_BYTES} bytes`, command);
  let lineNumber = 0;
  for (const rawLine of splitLines(text)) {
    lineNumber++;
    if (rawLine[0] === 0x23) continue; // '#'
    const line = trimEnd(rawLine);
    let start = 0;
    while (line[start] === 0x20) start++;
    if (start >= line.length) continue;
    const space = line.indexOf(0x20, start);
    const words = space === -1 ? [line.subarray(start)] : [line.subarray(start, space), line.subarray(space + 1)];
    if (words.length === 2 && words[1]?.length === 0) words.pop();
    const texts = words.map((w) => w.toString());
    try {
      parseArgs(texts, specs, command, words);
    } catch (err) {
      throw usageError(`${path} line ${lineNumber}: ${(err as Error).message.replace(/ \(see .*\)$/, '')}`, command); // what is caught here is an Error (Node's or ours)
    }
    result.words.push(...texts);
    result.bytes.push(...words);
  }
  return result;
}

function splitLines(text: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  for (let start = 0; start < text.length; ) {
    const nl = text.indexOf(0x0a, start);
    const end = nl === -1 ? text.length : nl;
    lines.push(text.subarray(start, end));
    start = end + 1;
  }
  return lines;
}

/** Drops trailing CR and LF bytes, as mosquitto does. */
function trimEnd(line: Buffer): Buffer {
  let end = line.length;
  while (end > 0 && (line[end - 1] === 0x0d || line[end - 1] === 0x0a)) end--;
  return line.subarray(0, end);
}
