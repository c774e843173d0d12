/**
 * `mqtt311 broker`: runs broker-mini until SIGINT or SIGTERM, then closes it and exits 0.
 *
 * Settings come from the config file (`-c`, mosquitto.conf as broker-mini reads it, see
 * src/broker-mini/config.ts), then the flags, which win: -p and -b set the first listener (the
 * default one, 127.0.0.1:1883, when the config names none, as mosquitto 2.0 does), --ws-port adds
 * a WebSocket listener and --tls-port (with --certfile, --keyfile, --cafile) a TLS one. With `-v`
 * every connection, refusal and packet is logged to stderr, one line each, passwords redacted.
 */
import { isBrokerError, loadConfig, openSqliteStorage, startBroker, type Broker, type BrokerConfig, type BrokerOptions, type ListenerOptions } from '../broker-mini/index.js';
import type { RunningListener } from '../broker-mini/listeners.js';
import { join } from 'node:path';
import { isStorageError } from '../util/storage-error.js';
import { parseCommandLine, parseIntInRange, type OptionSpec } from './args.js';
import { brokerLog, dropPrivileges, writePidFile } from './broker-process.js';
import { CliError } from './errors.js';
import { BROKER_HELP } from './help.js';
import { readFileOrFail, writeLine, type CliIo } from './io.js';

const COMMAND = 'mqtt311 broker';
/** Certificates and keys are small: a bigger file is a mistake. */
const MAX_PEM_BYTES = 1024 * 1024;
/** mosquitto's default: $SYS every 10 seconds. */
const SYS_INTERVAL = 10;

const OPTIONS: readonly OptionSpec[] = [
  { name: 'port', kind: 'value', short: 'p', long: 'port' },
  { name: 'host', kind: 'value', short: 'b', long: 'host' },
  { name: 'config', kind: 'value', short: 'c', long: 'config' },
  { name: 'ws-port', kind: 'value', long: 'ws-port' },
  { name: 'tls-port', kind: 'value', long: 'tls-port' },
  { name: 'cafile', kind: 'value', long: 'cafile' },
  { name: 'certfile', kind: 'value', long: 'certfile' },
  { name: 'keyfile', kind: 'value', long: 'keyfile' },
  { name: 'require-certificate', kind: 'flag', long: 'require-certificate' },
  { name: 'verbose', kind: 'flag', short: 'v', long: 'verbose' },
  { name: 'help', kind: 'flag', short: 'h', long: 'help' },
];

type Args = NonNullable<ReturnType<typeof parseCommandLine>>;

/** Reads the config file, turning its typed `ConfigError` into one CLI line ("file:line: …"). */
async function readConfig(path: string): Promise<BrokerConfig> {
  try {
    return await loadConfig(path);
  } catch (err) {
    throw new CliError('BROKER', `config ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
  }
}

function listenError(err: unknown, where: string): CliError {
  const code = (err as { code?: string }).code; // reads the optional `code` Node's errors carry
  const why =
    code === 'EADDRINUSE' ? 'address already in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'address not available on this machine' : (err as Error).message; // what is caught here is an Error (Node's or ours)
  return new CliError('BROKER', `cannot listen on ${where}: ${why}`, { cause: err });
}

/** The listeners to start: the config's (or mosquitto's default), adjusted by the flags. */
async function listenersFrom(config: BrokerConfig, args: Args): Promise<ListenerOptions[]> {
  const listeners = config.listeners ? config.listeners.map((l) => ({ ...l })) : [{ port: 1883, host: '127.0.0.1' }];
  const first = listeners[0];
  if (first === undefined) throw new CliError('BROKER', 'the configuration has no listener'); // config.listeners is never empty
  const portText = args.value('port');
  if (portText !== undefined) first.port = parseIntInRange(portText, '-p', 0, 65535, COMMAND);
  const host = args.value('host');
  if (host !== undefined) first.host = host;
  const wsText = args.value('ws-port');
  const wsPort = wsText !== undefined ? parseIntInRange(wsText, '--ws-port', 0, 65535, COMMAND) : config.wsPort;
  if (wsPort !== undefined) listeners.push({ port: wsPort, host: first.host, protocol: 'websockets' });
  const tlsText = args.value('tls-port');
  const certfile = args.value('certfile');
  const keyfile = args.value('keyfile');
  if (tlsText === undefined) {
    if (certfile !== undefined || keyfile !== undefined || args.value('cafile') !== undefined || args.has('require-certificate')) {
      throw new CliError('USAGE', `${COMMAND}: --certfile, --keyfile, --cafile and --require-certificate need --tls-port`);
    }
    return listeners;
  }
  if (certfile === undefined || keyfile === undefined) throw new CliError('USAGE', `${COMMAND}: --tls-port needs --certfile and --keyfile`);
  const cafile = args.value('cafile');
  if (args.has('require-certificate') && cafile === undefined) throw new CliError('USAGE', `${COMMAND}: --require-certificate needs --cafile`);
  const tls: NonNullable<ListenerOptions['tls']> = {
    cert: await readFileOrFail(certfile, '--certfile', MAX_PEM_BYTES),
    key: await readFileOrFail(keyfile, '--keyfile', MAX_PEM_BYTES),
  };
  if (cafile !== undefined) tls.ca = [await readFileOrFail(cafile, '--cafile', MAX_PEM_BYTES)];
  if (args.has('require-certificate')) tls.requireCertificate = true;
  listeners.push({ port: parseIntInRange(tlsText, '--tls-port', 0, 65535, COMMAND), host: first.host, tls });
  return listeners;
}

/** The startup line of one listener: `HOST:PORT` for plain MQTT (as before listeners), else its URL. */
function listeningLine(l: RunningListener): string {
  const where = l.scheme === 'mqtt' ? (l.everyInterface ? `*:${l.address.port}` : `${l.address.host}:${l.address.port}`) : l.url;
  // mosquitto 2.0 binds every interface for "listener PORT" without an address: say so.
  return `mqtt311 broker listening on ${where}${l.everyInterface ? ' (every interface)' : ''}`;
}

/** Runs `mqtt311 broker`. Resolves with 0 after a clean stop. */
export async function runBroker(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandLine(argv, OPTIONS, COMMAND, BROKER_HELP, io.stdout);
  if (args === undefined) return 0;

  const configPath = args.value('config');
  const config = configPath === undefined ? ({} as BrokerConfig) : await readConfig(configPath); // no config file: an empty config, every key optional
  const { wsPort: _ws, pidFile, log, runAsUser, persistenceFile, notes, ...fromConfig } = config;
  const options: BrokerOptions = { ...fromConfig, listeners: await listenersFrom(config, args) };
  options.sysInterval ??= SYS_INTERVAL;

  const verbose = args.has('verbose');
  const logged = brokerLog(log, verbose || options.logPackets === true, io);
  options.logger = logged.logger;
  options.logPackets = logged.packets;
  for (const note of notes ?? []) writeLine(io.stderr, `note: ${note}`);

  const stops: Array<() => Promise<void> | void> = [];
  if (options.persistence) {
    // mosquitto's keys, our own file: a SQLite store (mosquitto.db is another format).
    const file = join(options.persistenceLocation ?? '.', persistenceFile ?? 'mqtt311.db');
    const sync = options.autosaveInterval ? { intervalMs: options.autosaveInterval * 1000 } : 'always';
    try {
      const storage = await openSqliteStorage(file, { sync });
      options.storage = storage;
      stops.push(() => storage.close());
    } catch (err) {
      throw new CliError('BROKER', `persistence: ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
    }
    const when = sync === 'always' ? 'fsync before every acknowledgement' : `fsync every ${options.autosaveInterval} s (autosave_interval)`;
    writeLine(io.stderr, `note: persistence in ${file}: ${when}`);
  }

  let broker: Broker;
  try {
    broker = await startBroker(options);
  } catch (err) {
    for (const stop of stops) await stop();
    // resolveOptions refuses options of the wrong type or range (BrokerError INVALID_OPTIONS) before listening.
    if (isBrokerError(err, 'INVALID_OPTIONS') || err instanceof RangeError) throw new CliError('BROKER', err.message, { cause: err });
    // The store is read before any listener starts (a file that opened but does not load).
    if (isStorageError(err)) throw new CliError('BROKER', `persistence: ${err.message}`, { cause: err });
    // startListeners tags its error with the listener that failed.
    const failed = (err as { listener?: ListenerOptions }).listener ?? options.listeners?.[0];
    throw listenError(err, failed === undefined ? 'its listeners' : `${failed.host ?? '*'}:${failed.port}`);
  }
  stops.unshift(() => broker.close());
  try {
    if (pidFile !== undefined) stops.push(writePidFile(pidFile));
    for (const l of broker.listeners) writeLine(io.stdout, listeningLine(l));
    const dropped = dropPrivileges(runAsUser);
    if (dropped) writeLine(io.stderr, `note: ${dropped}`);
    await waitForAbort(io.interrupt);
    logged.logger?.('stopping', 'notice');
  } finally {
    for (const stop of stops) await stop();
  }
  return 0;
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
