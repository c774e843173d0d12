#!/usr/bin/env node
/**
 * `mqtt311`: the command-line entry. It picks the command, runs it, and turns whatever it throws
 * into one "Error: …" line on stderr and an exit code (see `errors.ts`).
 *
 * ```sh
 * mqtt311 broker -p 1883 -v
 * mqtt311 sub -t 'sensors/#' -v
 * mqtt311 pub -t sensors/kitchen -m 21.5 -q 1
 * mqtt311 decode 30 07 00 03 61 2f 62 68 69
 * ```
 */
import { fileURLToPath } from 'node:url';
import { realpathSync } from 'node:fs';
import { runBroker } from './broker.js';
import { runCheck } from './check.js';
import { runDecode } from './decode.js';
import { runPasswd } from './passwd.js';
import { CliError, quote, toCliError } from './errors.js';
import { MAIN_HELP } from './help.js';
import { processIo, writeLine, type CliIo } from './io.js';
import { runProxy } from './proxy.js';
import { runPub } from './pub.js';
import { runSub } from './sub.js';

/** A command: its arguments and streams in, its exit code out. */
export type Command = (argv: string[], io: CliIo) => Promise<number>;

/** The commands by name. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  broker: runBroker,
  pub: runPub,
  sub: runSub,
  decode: runDecode,
  passwd: runPasswd,
  proxy: runProxy,
  check: runCheck,
};

/**
 * Runs the CLI with `argv` (the words after `mqtt311`) and returns the exit code. Errors are
 * printed here, as one line, never as a stack trace.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(MAIN_HELP);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    writeLine(io.stderr, `Error: no such command ${quote(name)} (see mqtt311 --help)`);
    return 1;
  }
  try {
    return await command(rest, io.argvBytes ? { ...io, argvBytes: io.argvBytes.slice(1) } : io);
  } catch (err) {
    const cliError = toCliError(err);
    if (!cliError.quiet) writeLine(io.stderr, `Error: ${cliError.message}`);
    if (process.env.MQTT311_DEBUG && !(err instanceof CliError)) io.stderr.write(`${String((err as Error)?.stack ?? err)}\n`); // what is caught here is an Error (Node's or ours)
    return cliError.exitCode;
  }
}

/** Exits once stdout and stderr have flushed what was written to them. */
async function exitAfterFlush(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  process.exit(code);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // A bug (not a user mistake) still ends as one line; MQTT311_DEBUG=1 shows the stack.
  const crash = (err: unknown) => {
    process.stderr.write(`Error: internal error: ${(err as Error)?.message ?? String(err)}\n`); // what is caught here is an Error (Node's or ours)
    if (process.env.MQTT311_DEBUG) process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`); // what is caught here is an Error (Node's or ours)
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const io = processIo();
  // A closed stdout (e.g. `mqtt311 sub … | head -1`) ends the command quietly, like other tools.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  const code = await main(process.argv.slice(2), io);
  await exitAfterFlush(code);
}
