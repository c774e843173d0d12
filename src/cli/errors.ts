/**
 * The CLI's errors and exit codes.
 *
 * Every failure ends as one line on stderr ("Error: …") and an exit code chosen like the
 * mosquitto tools': 1 for usage and connection problems, the CONNACK return code (1–5) when
 * the server refuses the connection, 27 when `sub -W` times out. A user mistake never prints a
 * stack trace.
 */
import { MqttError } from '../codec/index.js';
import { CONNACK_REASONS } from '../client/index.js';

/** Stable codes for the failures the CLI reports itself. */
export type CliErrorCode =
  /** Bad command line: unknown option, missing value, conflicting options. */
  | 'USAGE'
  /** The network connection could not be made or was lost. */
  | 'CONNECT_FAILED'
  /** The server answered CONNACK with a non-zero return code. */
  | 'CONNACK_REFUSED'
  /** The server refused every topic filter of `sub` (SUBACK 0x80). */
  | 'SUBSCRIBE_REFUSED'
  /** `sub -W` ran out of time before `-C` messages arrived. */
  | 'TIMEOUT'
  /** A file could not be read, or stdin failed. */
  | 'IO'
  /** `decode` met bytes that are not valid MQTT 3.1.1 (or not valid hex). */
  | 'DECODE'
  /** The broker (or its configuration) could not start. */
  | 'BROKER'
  /** `passwd`: the user is not in the file, the passwords typed differ, or a line is malformed. */
  | 'PASSWD';

/**
 * User input quoted for a message, cut to `max` characters so one line stays one readable line
 * even for a 65,535-byte topic.
 */
export function quote(text: string, max = 60): string {
  return `"${text.length > max ? `${text.slice(0, max - 1)}…` : text}"`;
}

/** Exit code of mosquitto_sub when `-W` expires. */
export const EXIT_TIMEOUT = 27;

/** An error the CLI reports as one line, with the exit code to use; an `MqttError`. */
export class CliError extends MqttError<CliErrorCode> {
  override readonly name: string = 'CliError';
  readonly exitCode: number;
  /** `--quiet`: exit with the code but print nothing. */
  readonly quiet: boolean;

  constructor(code: CliErrorCode, message: string, options: { exitCode?: number; cause?: unknown; quiet?: boolean } = {}) {
    super(code, message, { cause: options.cause });
    this.exitCode = options.exitCode ?? (code === 'TIMEOUT' ? EXIT_TIMEOUT : 1);
    this.quiet = options.quiet ?? false;
  }

  /** This error, marked `quiet` when `quiet` is true (for `--quiet`). */
  silenced(quiet: boolean): CliError {
    return quiet ? new CliError(this.code, this.message, { exitCode: this.exitCode, cause: this.cause, quiet }) : this;
  }
}

/** The CLI error for a CONNACK refusal: exit code = return code, as mosquitto_pub/sub do. */
export function connackRefused(returnCode: number): CliError {
  // Return codes and their meaning: spec 3.2.2.3, table 3.1.
  const reason = CONNACK_REASONS[returnCode] ?? 'unknown return code';
  return new CliError('CONNACK_REFUSED', `CONNACK ${returnCode}: ${reason}`, {
    exitCode: returnCode >= 1 && returnCode <= 255 ? returnCode : 1,
  });
}

interface ErrorLike {
  code?: unknown;
  returnCode?: unknown;
  rule?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** The error and its `cause`s, outermost first (at most a few levels). */
function causeChain(err: unknown): [ErrorLike, ...ErrorLike[]] {
  if (typeof err !== 'object' || err === null) return [{ message: String(err) }];
  // Any object is read as an ErrorLike: every field is type-checked where it is used.
  const chain: [ErrorLike, ...ErrorLike[]] = [err];
  let e: unknown = (err as ErrorLike).cause; // any object is read as an ErrorLike; each field is checked where used
  while (typeof e === 'object' && e !== null && chain.length < 6) {
    chain.push(e);
    e = (e as ErrorLike).cause; // any object is read as an ErrorLike; each field is checked where used
  }
  return chain;
}

/** Operating-system network errors in words; `{where}` is the host and port. */
const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: {where} (is a broker running?)',
  ENOTFOUND: 'cannot resolve host: {where}',
  EAI_AGAIN: 'cannot resolve host: {where}',
  ETIMEDOUT: 'connection timed out: {where}',
  EHOSTUNREACH: 'host unreachable: {where}',
  ENETUNREACH: 'network unreachable: {where}',
  ECONNRESET: 'connection reset by {where}',
  EPIPE: 'connection closed by {where}',
};

/** Client error codes in words. */
const CLIENT_ERRORS: Readonly<Record<string, string>> = {
  CONNECT_TIMEOUT: 'no CONNACK from {where} in time',
  CONNECTION_LOST: 'connection lost: {where}',
  PING_TIMEOUT: 'no PINGRESP from {where}: connection dead',
};

function isTlsCode(code: string): boolean {
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || code.includes('SELF_SIGNED') || code === 'EPROTO';
}

/**
 * Turns any thrown value into the CLI's one-line message and exit code.
 * @param where `host:port` the command was talking to, for network errors.
 */
export function toCliError(err: unknown, where = 'the server'): CliError {
  if (err instanceof CliError) return err;
  const chain = causeChain(err);
  // A refused CONNECT carries its return code; the exit code is that code, as with mosquitto.
  const refused = chain.find((e) => e.code === 'CONNACK_REFUSED' && typeof e.returnCode === 'number');
  if (refused) return connackRefused(refused.returnCode as number); // a number: find's test above
  const codes = chain.map((e) => e.code).filter((c): c is string => typeof c === 'string');
  const network = codes.map((c) => NETWORK_ERRORS[c]).find((text) => text !== undefined);
  if (network) return new CliError('CONNECT_FAILED', network.replace('{where}', where), { cause: err });
  const tls = codes.find(isTlsCode);
  if (tls) {
    const detail = tlsReason(messageOf(chain.find((e) => e.code === tls) ?? chain[0]));
    return new CliError('CONNECT_FAILED', `TLS with ${where} failed: ${detail} (${tls})${tlsHint(tls)}`, { cause: err });
  }
  const top = chain[0];
  const known = typeof top.code === 'string' ? CLIENT_ERRORS[top.code] : undefined;
  if (known) return new CliError('CONNECT_FAILED', known.replace('{where}', where), { cause: err });
  const tag = typeof top.code === 'string' ? `${top.code}: ` : '';
  const text = messageOf(top);
  const rule = typeof top.rule === 'string' && !text.includes(`[${top.rule}]`) ? ` [${top.rule}]` : '';
  return new CliError('CONNECT_FAILED', `${tag}${text}${rule}`, { cause: err });
}

/** OpenSSL's "…:error:0A00045C:SSL routines:fn:reason:file:line:…" → "reason". */
function tlsReason(message: string): string {
  return /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message;
}

/** What the user can do about common TLS failures. */
function tlsHint(code: string): string {
  if (code.includes('CERTIFICATE_REQUIRED')) return '; the server wants a client certificate: --cert and --key';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return '; --insecure skips the host name check';
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) return '; give the CA with --cafile (or --insecure)';
  return '';
}

function messageOf(e: ErrorLike): string {
  const text = typeof e.message === 'string' && e.message !== '' ? e.message : 'unknown error';
  return text.split('\n')[0] ?? text;
}
