/**
 * The CLI's errors and exit codes.
 *
 * Every failure ends as one line on stderr ("Error: …") and an exit code chosen like the
 * mosquitto tools': 1 for usage and connection problems, the CONNACK return code (1–5) when
 * the server refuses the connection, 27 when `sub -W` times out. A user mistake never prints a
 * stack trace.
 */

/** Stable codes for the failures the CLI reports itself. */
export type CliErrorCode =
  /** Bad command line: unknown option, missing value, conflicting options. */
  | 'USAGE'
  /** The network connection could not be made or was lost. */
  | 'CONNECT_FAILED'
  /** The server answered CONNACK with a non-zero return code. */
  | 'CONNACK_REFUSED'
  /** `sub -W` ran out of time before `-C` messages arrived. */
  | 'TIMEOUT'
  /** A file could not be read, or stdin failed. */
  | 'IO'
  /** `decode` met bytes that are not valid MQTT 3.1.1 (or not valid hex). */
  | 'DECODE'
  /** The broker (or its configuration) could not start. */
  | 'BROKER';

/** Exit code of mosquitto_sub when `-W` expires. */
export const EXIT_TIMEOUT = 27;

/** An error the CLI reports as one line, with the exit code to use. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options.exitCode ?? (code === 'TIMEOUT' ? EXIT_TIMEOUT : 1);
  }
}

/** CONNACK return codes in words (spec 3.2.2.3, table 3.1). */
export const CONNACK_REASONS: Readonly<Record<number, string>> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** The CLI error for a CONNACK refusal: exit code = return code, as mosquitto_pub/sub do. */
export function connackRefused(returnCode: number): CliError {
  const reason = CONNACK_REASONS[returnCode] ?? 'unknown return code';
  return new CliError('CONNACK_REFUSED', `CONNACK ${returnCode}: ${reason}`, {
    exitCode: returnCode >= 1 && returnCode <= 255 ? returnCode : 1,
  });
}

interface ErrorLike {
  code?: unknown;
  returnCode?: unknown;
  rule?: unknown;
  offset?: unknown;
  message?: unknown;
  cause?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
}

/**
 * Turns any thrown value into the CLI's one-line message and exit code.
 * @param target `host:port` the command was talking to, for network errors.
 */
export function toCliError(err: unknown, target?: string): CliError {
  if (err instanceof CliError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as ErrorLike;
  // A refused CONNECT, whatever class the client uses for it, carries its return code.
  if (typeof e.returnCode === 'number' && e.returnCode > 0 && (e.code === 'CONNACK_REFUSED' || isConnackName(err))) {
    return connackRefused(e.returnCode);
  }
  const where = target ?? describeTarget(e);
  const systemCode = typeof e.code === 'string' ? e.code : findCauseCode(e);
  switch (systemCode) {
    case 'ECONNREFUSED':
      return new CliError('CONNECT_FAILED', `connection refused: ${where} (is a broker running?)`, { cause: err });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError('CONNECT_FAILED', `cannot resolve host: ${where}`, { cause: err });
    case 'ETIMEDOUT':
      return new CliError('CONNECT_FAILED', `connection timed out: ${where}`, { cause: err });
    case 'ECONNRESET':
    case 'EPIPE':
      return new CliError('CONNECT_FAILED', `connection closed by ${where}`, { cause: err });
    case 'ENOENT':
    case 'EACCES':
    case 'EISDIR':
      return new CliError('IO', messageOf(e), { cause: err });
    default:
      break;
  }
  if (typeof systemCode === 'string' && (systemCode.startsWith('ERR_TLS') || systemCode.includes('CERT') || systemCode.startsWith('ERR_SSL') || systemCode === 'DEPTH_ZERO_SELF_SIGNED_CERT')) {
    return new CliError('CONNECT_FAILED', `TLS: ${messageOf(e)} (${systemCode}) talking to ${where}`, { cause: err });
  }
  const tag = typeof e.code === 'string' ? `${e.code}: ` : '';
  const rule = typeof e.rule === 'string' && !messageOf(e).includes(`[${e.rule}]`) ? ` [${e.rule}]` : '';
  return new CliError('CONNECT_FAILED', `${tag}${messageOf(e)}${rule}`, { cause: err });
}

function isConnackName(err: unknown): boolean {
  return err instanceof Error && /connack/i.test(err.name);
}

function messageOf(e: ErrorLike): string {
  const text = typeof e.message === 'string' && e.message !== '' ? e.message : 'unknown error';
  return text.split('\n')[0];
}

function findCauseCode(e: ErrorLike): string | undefined {
  let cause = e.cause as ErrorLike | undefined;
  for (let depth = 0; cause && depth < 5; depth++) {
    if (typeof cause.code === 'string') return cause.code;
    cause = cause.cause as ErrorLike | undefined;
  }
  return undefined;
}

function describeTarget(e: ErrorLike): string {
  const host = typeof e.address === 'string' ? e.address : typeof e.hostname === 'string' ? e.hostname : 'server';
  return typeof e.port === 'number' ? `${host}:${e.port}` : host;
}
