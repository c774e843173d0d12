/**
 * What a command may touch of the outside world, passed in rather than taken from `process`, so
 * each command reads as a function of its arguments and streams.
 */
import type { Readable, Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { CliError } from './errors.js';

/** A command's streams and its stop request. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Aborted when the user asks the command to stop (SIGINT / SIGTERM). */
  interrupt: AbortSignal;
  /**
   * The command's words as the bytes typed, aligned with its `argv`, where they can be read
   * (Linux); Node decodes argv as UTF-8 and turns invalid bytes into U+FFFD.
   */
  argvBytes?: readonly Buffer[];
}

/** The real process's streams; `interrupt` aborts on SIGINT or SIGTERM. */
export function processIo(): CliIo {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, interrupt: controller.signal };
  const bytes = processArgvBytes();
  if (bytes) io.argvBytes = bytes;
  return io;
}

/**
 * `process.argv.slice(2)` as bytes, read from /proc/self/cmdline, or undefined where that file
 * does not exist or does not agree with `process.argv` word for word.
 */
function processArgvBytes(): Buffer[] | undefined {
  let all: Buffer;
  try {
    all = readFileSync('/proc/self/cmdline');
  } catch {
    return undefined;
  }
  const words: Buffer[] = [];
  for (let start = 0; start < all.length; ) {
    const end = all.indexOf(0, start);
    words.push(all.subarray(start, end === -1 ? all.length : end));
    start = end === -1 ? all.length : end + 1;
  }
  const user = process.argv.slice(2);
  const tail = words.slice(words.length - user.length);
  if (tail.length !== user.length || tail.some((b, i) => b.toString() !== user[i])) return undefined;
  return tail;
}

/** Writes `text` plus a newline. */
export function writeLine(stream: Writable, text: string): void {
  stream.write(`${text}\n`);
}

/**
 * Stops reading `stream` when `signal` aborts: the stream is destroyed, which ends a pending
 * `for await` over it. Returns a function that removes the listener.
 */
function stopOnAbort(stream: Readable, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const stop = () => stream.destroy();
  signal.addEventListener('abort', stop, { once: true });
  return () => signal.removeEventListener('abort', stop);
}

/**
 * Reads `stream` to its end as one buffer, refusing more than `maxBytes` (memory stays bounded).
 * @throws CliError `IO` when reading fails, is interrupted, or the input is too large.
 */
export async function readAll(stream: Readable, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const release = stopOnAbort(stream, signal);
  try {
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer); // a stream without an encoding yields Buffers
      total += bytes.length;
      if (total > maxBytes) {
        stream.destroy();
        throw new CliError('IO', `stdin holds more than ${maxBytes} bytes`);
      }
      chunks.push(bytes);
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (signal?.aborted) throw new CliError('IO', 'interrupted while reading stdin');
    throw new CliError('IO', `cannot read stdin: ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
  } finally {
    release();
  }
  if (signal?.aborted) throw new CliError('IO', 'interrupted while reading stdin');
  return Buffer.concat(chunks);
}

/**
 * Yields `stream` one line at a time, without the line ending ("\n" or "\r\n"), as bytes so
 * payloads that are not UTF-8 pass through unchanged. A last line without "\n" is yielded too.
 * A line longer than `maxLineBytes` is an `IO` error; `signal` ends the lines early.
 */
export async function* readLines(stream: Readable, maxLineBytes: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let pending = Buffer.alloc(0);
  const release = stopOnAbort(stream, signal);
  try {
    for await (const chunk of stream) {
      pending = Buffer.concat([pending, typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)]); // a stream without an encoding yields Buffers
      for (let nl = pending.indexOf(10); nl !== -1; nl = pending.indexOf(10)) {
        const end = nl > 0 && pending[nl - 1] === 13 ? nl - 1 : nl;
        yield pending.subarray(0, end);
        pending = pending.subarray(nl + 1);
      }
      if (pending.length > maxLineBytes) throw new CliError('IO', `a line of stdin is longer than ${maxLineBytes} bytes`);
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (signal?.aborted) return;
    throw new CliError('IO', `cannot read stdin: ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
  } finally {
    release();
  }
  if (pending.length > 0 && !signal?.aborted) yield pending;
}

/**
 * Reads a whole file of at most `maxBytes`, turning a failure into a one-line CLI error.
 * The size is checked before reading, so a huge file is refused without loading it.
 */
export async function readFileOrFail(path: string, what: string, maxBytes: number): Promise<Buffer> {
  try {
    const size = (await stat(path)).size;
    if (size > maxBytes) throw new CliError('IO', `cannot use ${what} ${path}: ${size} bytes is more than ${maxBytes}`);
    return await readFile(path);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as { code?: string }).code; // reads the optional `code` Node's errors carry
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message; // what is caught here is an Error (Node's or ours)
    throw new CliError('IO', `cannot read ${what} ${path}: ${why}`, { cause: err });
  }
}
