/**
 * What a command may touch of the outside world, passed in rather than taken from `process`, so
 * each command reads as a function of its arguments and streams.
 */
import type { Readable, Writable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { CliError } from './errors.js';

/** A command's streams and its stop request. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Aborted when the user asks the command to stop (SIGINT / SIGTERM). */
  interrupt: AbortSignal;
}

/** The real process's streams; `interrupt` aborts on SIGINT or SIGTERM. */
export function processIo(): CliIo {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, interrupt: controller.signal };
}

/** Writes `text` plus a newline. */
export function writeLine(stream: Writable, text: string): void {
  stream.write(`${text}\n`);
}

/** Reads `stream` to its end as one buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  } catch (err) {
    throw new CliError('IO', `cannot read stdin: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(chunks);
}

/**
 * Yields `stream` one line at a time, without the line ending ("\n" or "\r\n"), as bytes so
 * payloads that are not UTF-8 pass through unchanged. A last line without "\n" is yielded too.
 */
export async function* readLines(stream: Readable): AsyncGenerator<Buffer> {
  let pending = Buffer.alloc(0);
  for await (const chunk of stream) {
    pending = Buffer.concat([pending, typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)]);
    for (let nl = pending.indexOf(10); nl !== -1; nl = pending.indexOf(10)) {
      const end = nl > 0 && pending[nl - 1] === 13 ? nl - 1 : nl;
      yield pending.subarray(0, end);
      pending = pending.subarray(nl + 1);
    }
  }
  if (pending.length > 0) yield pending;
}

/** Reads a whole file, turning a failure into a one-line CLI error. */
export async function readFileOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new CliError('IO', `cannot read ${what} ${path}: ${why}`, { cause: err });
  }
}
