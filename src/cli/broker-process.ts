/**
 * What `mqtt311 broker` does around the broker, as mosquitto does with its config: log lines to
 * stdout, stderr or a file (`log_dest`, `log_type`, `log_timestamp[_format]`), the pid file
 * (`pid_file`), and switching to an unprivileged OS user after binding (`user NAME`).
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { BrokerConfig, BrokerLogger, LogType } from '../broker-mini/index.js';
import { formatTimestamp, logTypesOf } from '../broker-mini/config-directives.js';
import { CliError } from './errors.js';
import { writeLine, type CliIo } from './io.js';

/** The log as configured: a line writer (or none), and whether packets are logged too. */
export interface BrokerLog {
  logger: BrokerLogger | undefined;
  packets: boolean;
}

/**
 * Builds the logger from the config's `log` settings and `-v`. Without either, nothing is logged
 * (the historical default of `mqtt311 broker`); `-v` logs every type to stderr. Otherwise only
 * the lines of the types `log_type` selects are written (see `logTypesOf`), and packets are
 * traced only when `debug` is one of them.
 */
export function brokerLog(log: BrokerConfig['log'], verbose: boolean, io: CliIo): BrokerLog {
  if (!verbose && (log === undefined || log.dest?.length === 0)) return { logger: undefined, packets: false };
  const types = verbose ? undefined : logTypesOf(log?.types);
  if (types?.size === 0) return { logger: undefined, packets: false };
  const packets = types === undefined || types.has('debug');
  const dest = verbose ? [{ kind: 'stderr' as const }] : (log?.dest ?? [{ kind: 'stderr' as const }]);
  const stamp = (line: string): string => {
    if (log?.timestamp === false && !verbose) return line;
    const now = new Date();
    return `${log?.timestampFormat ? formatTimestamp(log.timestampFormat, now) : now.toISOString()} ${line}`;
  };
  const logger = (line: string, type: LogType): void => {
    if (types !== undefined && !types.has(type)) return;
    const text = stamp(line);
    for (const d of dest) {
      if (d.kind === 'stdout') writeLine(io.stdout, text);
      else if (d.kind === 'stderr') writeLine(io.stderr, text);
      else {
        try {
          appendFileSync(d.path, `${text}\n`);
        } catch {
          /* a log file that cannot be written must not stop the broker */
        }
      }
    }
  };
  // A log file that cannot be opened at all is a startup error, as in mosquitto.
  for (const d of dest) {
    if (d.kind !== 'file') continue;
    try {
      appendFileSync(d.path, '');
    } catch (err) {
      throw new CliError('BROKER', `cannot open log file ${d.path}: ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
    }
  }
  return { logger, packets };
}

/** Writes the pid file; returns its remover. A pid file that cannot be written stops the start, as in mosquitto. */
export function writePidFile(path: string): () => void {
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (err) {
    throw new CliError('BROKER', `cannot write pid_file ${path}: ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
  }
  return () => rmSync(path, { force: true });
}

/**
 * mosquitto's `user NAME`: started as root, switch to that user (and its primary group) once the
 * listeners are bound. Started as anyone else, stay as is. Returns a line to log, if any.
 */
export function dropPrivileges(user: string | undefined): string | undefined {
  if (user === undefined || !process.getuid || !process.setuid || !process.setgid) return undefined;
  if (process.getuid() !== 0) return `not started as root: "user ${user}" has no effect`;
  if (user === 'root') return undefined;
  let entry: string[] | undefined;
  try {
    entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === user);
  } catch {
    /* no /etc/passwd: reported below */
  }
  if (!entry) throw new CliError('BROKER', `cannot switch to user "${user}": no such user`);
  try {
    process.setgid(Number(entry[3]));
    process.setuid(Number(entry[2]));
  } catch (err) {
    throw new CliError('BROKER', `cannot switch to user "${user}": ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
  }
  return `running as user ${user}`;
}
