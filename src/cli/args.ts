/**
 * A small command-line parser shaped like the mosquitto tools' own: every option is a separate
 * word (`-t topic`, `--will-topic topic`, also `--will-topic=topic`), an option that takes a
 * value always takes the next word, even one that starts with `-` (so `-m -5` publishes "-5"),
 * and `--` ends the options.
 *
 * Unknown options and missing values are usage errors ({@link CliError} with code `USAGE`),
 * reported as one line that points at the command's `--help`.
 */
import { isUtf8 } from 'node:buffer';
import type { Writable } from 'node:stream';
import { CliError, quote } from './errors.js';

/** How an option behaves. */
export type OptionKind =
  /** Present or not: `-r`. */
  | 'flag'
  /** Takes one value; given twice, the last one wins: `-p 1883`. */
  | 'value'
  /** Takes one value and may be repeated; every value is kept in order: `-t a -t b`. */
  | 'list';

/** One option a command accepts. */
export interface OptionSpec {
  /** Key under which the parsed value is stored. */
  name: string;
  kind: OptionKind;
  /** One-letter form without the dash, e.g. `'t'` for `-t`. */
  short?: string;
  /** Long form without the dashes, e.g. `'will-topic'` for `--will-topic`. */
  long?: string;
  /**
   * Why this mosquitto option is refused (e.g. "MQTT 5 property, not in 3.1.1"): giving it is a
   * usage error that says so, rather than "no such option".
   */
  refused?: string;
  /**
   * The value is bytes, not text (a payload, a password): it may be any bytes, and
   * {@link ParsedArgs.bytes} gives them exactly as typed. Every other value must be valid UTF-8.
   */
  bytes?: boolean;
}

/** The result of {@link parseArgs}. */
export class ParsedArgs {
  /** Words that are not options (and everything after `--`), in order. */
  readonly positionals: string[] = [];
  readonly #values = new Map<string, string[]>();
  /** The argument bytes of `bytes` options, where the command line was read as bytes. */
  readonly #raw = new Map<string, Buffer>();
  readonly #flags = new Set<string>();
  /** The option as the user typed it, for error messages (`-q`, `--will-qos`). */
  readonly #typed = new Map<string, string>();

  /** @internal used by the parser. */
  addValue(name: string, value: string, typed: string): void {
    const list = this.#values.get(name);
    if (list) list.push(value);
    else this.#values.set(name, [value]);
    this.#typed.set(name, typed);
  }

  /** @internal used by the parser: the last value of `name` as the bytes typed. */
  setRaw(name: string, raw: Buffer | undefined): void {
    if (raw === undefined) this.#raw.delete(name);
    else this.#raw.set(name, raw);
  }

  /**
   * The last value of `name` as bytes: exactly as typed where the command line could be read as
   * bytes (see {@link CliIo.argvBytes}), else its UTF-8 encoding.
   */
  bytes(name: string): Buffer | undefined {
    const value = this.value(name);
    return value === undefined ? undefined : this.#raw.get(name) ?? Buffer.from(value);
  }

  /** Whether `bytes(name)` are the bytes as typed rather than re-encoded text. */
  hasRaw(name: string): boolean {
    return this.#raw.has(name);
  }

  /** @internal used by the parser. */
  addFlag(name: string, typed: string): void {
    this.#flags.add(name);
    this.#typed.set(name, typed);
  }

  /** Whether a flag, or any value of an option, was given. */
  has(name: string): boolean {
    return this.#flags.has(name) || this.#values.has(name);
  }

  /** The last value given for `name`, or `undefined`. */
  value(name: string): string | undefined {
    const list = this.#values.get(name);
    return list === undefined ? undefined : list[list.length - 1];
  }

  /** Every value given for `name`, in order (empty when absent). */
  values(name: string): string[] {
    return this.#values.get(name)?.slice() ?? [];
  }

  /** How the user spelled the option `name` (for messages), or `fallback`. */
  typed(name: string, fallback: string): string {
    return this.#typed.get(name) ?? fallback;
  }
}

/**
 * Parses `argv` (the words after the command name) against `specs`.
 * @param command used in error messages: "no such option -x (see mqtt311 pub --help)".
 * @throws CliError `USAGE` for an unknown option or a missing value.
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string, argvBytes?: readonly Buffer[]): ParsedArgs {
  const byShort = new Map<string, OptionSpec>();
  const byLong = new Map<string, OptionSpec>();
  for (const spec of specs) {
    if (spec.short !== undefined) byShort.set(spec.short, spec);
    if (spec.long !== undefined) byLong.set(spec.long, spec);
  }
  const parsed = new ParsedArgs();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!; // i < argv.length
    if (word === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    // A lone "-" is a value (conventionally stdin), not an option.
    if (!word.startsWith('-') || word === '-') {
      parsed.positionals.push(word);
      continue;
    }
    let spec: OptionSpec | undefined;
    let typed = word;
    let inline: string | undefined;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq === -1 ? word.slice(2) : word.slice(2, eq);
      if (eq !== -1) inline = word.slice(eq + 1);
      typed = `--${name}`;
      spec = byLong.get(name);
    } else if (word.length === 2) {
      spec = byShort.get(word.charAt(1));
    }
    if (spec === undefined) throw usageError(`no such option ${typed.length > 40 ? `${typed.slice(0, 39)}…` : typed}`, command);
    if (spec.refused !== undefined) throw usageError(`${typed} is not supported: ${spec.refused}`, command);
    if (spec.kind === 'flag') {
      if (inline !== undefined) throw usageError(`${typed} takes no value`, command);
      parsed.addFlag(spec.name, typed);
      continue;
    }
    let value = inline;
    let raw: Buffer | undefined;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw usageError(`${typed} needs a value`, command);
      value = argv[++i]!; // i + 1 < argv.length checked above
      raw = argvBytes?.[i];
    } else raw = argvBytes?.[i]?.subarray(Buffer.byteLength(word.slice(0, word.indexOf('=') + 1)));
    // Text options reach the wire as MQTT UTF-8 strings [MQTT-1.5.3-1]: bytes that are not UTF-8
    // would silently become U+FFFD, so they are refused.
    if (raw !== undefined && !spec.bytes && !isUtf8(raw)) throw usageError(`${typed} is not valid UTF-8 text`, command);
    parsed.addValue(spec.name, value, typed);
    if (spec.bytes) parsed.setRaw(spec.name, raw);
  }
  return parsed;
}

/**
 * Parses a command's `argv` as {@link parseArgs} does, answering `--help` for it: then `help` is
 * written to `stdout` and the result is `undefined` (the command exits 0). Words that are not
 * options are refused unless `positionals` is true.
 */
export function parseCommandLine(
  argv: readonly string[],
  specs: readonly OptionSpec[],
  command: string,
  help: string,
  stdout: Writable,
  positionals = false,
  argvBytes?: readonly Buffer[],
): ParsedArgs | undefined {
  const args = parseArgs(argv, specs, command, argvBytes);
  if (args.has('help')) {
    stdout.write(help);
    return undefined;
  }
  const [extra] = args.positionals;
  if (!positionals && extra !== undefined) throw usageError(`unexpected argument ${quote(extra)}`, command);
  return args;
}

/** A usage error that points the user at the command's help. */
export function usageError(message: string, command: string): CliError {
  return new CliError('USAGE', `${message} (see ${command} --help)`);
}

/**
 * Parses a whole decimal number within `[min, max]`.
 * @param what how to name the option in the message, e.g. `-q`.
 * @throws CliError `USAGE` when `text` is not such a number.
 */
export function parseIntInRange(text: string, what: string, min: number, max: number, command: string): number {
  if (!/^\d+$/.test(text)) throw usageError(`${what} must be a whole number from ${min} to ${max}, got ${quote(text)}`, command);
  const n = Number(text);
  if (n < min || n > max) throw usageError(`${what} must be from ${min} to ${max}, got ${n}`, command);
  return n;
}
