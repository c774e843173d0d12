/**
 * `mqtt311 broker`: runs broker-mini until SIGINT or SIGTERM, then closes it and exits 0.
 *
 * Settings come from the config file (`-c`, parsed by the broker's own `loadConfig`), then the
 * flags, which win. With `-v` every connection, refusal and packet is logged to stderr, one line
 * each, passwords redacted.
 */
import { isBrokerError, loadConfig, startBroker, type Broker, type BrokerConfig, type BrokerOptions } from '../broker-mini/index.js';
import { parseCommandLine, parseIntInRange, type OptionSpec } from './args.js';
import { CliError } from './errors.js';
import { BROKER_HELP } from './help.js';
import { writeLine, type CliIo } from './io.js';

const COMMAND = 'mqtt311 broker';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'port', kind: 'value', short: 'p', long: 'port' },
  { name: 'host', kind: 'value', short: 'b', long: 'host' },
  { name: 'config', kind: 'value', short: 'c', long: 'config' },
  { name: 'ws-port', kind: 'value', long: 'ws-port' },
  { name: 'verbose', kind: 'flag', short: 'v', long: 'verbose' },
  { name: 'help', kind: 'flag', short: 'h', long: 'help' },
];

/** A log line with the time, like mosquitto's log. */
function stamp(line: string): string {
  return `${new Date().toISOString()} ${line}`;
}

/** Reads the config file, turning its typed `ConfigError` into one CLI line ("file:line: …"). */
async function readConfig(path: string): Promise<BrokerConfig> {
  try {
    return await loadConfig(path);
  } catch (err) {
    throw new CliError('BROKER', `config ${(err as Error).message}`, { cause: err });
  }
}

function listenError(err: unknown, where: string): CliError {
  const code = (err as { code?: string }).code;
  const why =
    code === 'EADDRINUSE' ? 'address already in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'address not available on this machine' : (err as Error).message;
  return new CliError('BROKER', `cannot listen on ${where}: ${why}`, { cause: err });
}

/** Runs `mqtt311 broker`. Resolves with 0 after a clean stop. */
export async function runBroker(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandLine(argv, OPTIONS, COMMAND, BROKER_HELP, io.stdout);
  if (args === undefined) return 0;

  const configPath = args.value('config');
  const { wsPort: configWsPort, ...fromConfig } = configPath === undefined ? ({} as BrokerConfig) : await readConfig(configPath);
  const options: BrokerOptions = { ...fromConfig };
  const portText = args.value('port');
  if (portText !== undefined) options.port = parseIntInRange(portText, '-p', 0, 65535, COMMAND);
  const host = args.value('host');
  if (host !== undefined) options.host = host;
  const wsText = args.value('ws-port');
  const wsPort = wsText !== undefined ? parseIntInRange(wsText, '--ws-port', 0, 65535, COMMAND) : configWsPort;

  const verbose = args.has('verbose');
  if (verbose) options.logPackets = true;
  if (options.logPackets) options.logger = (line) => writeLine(io.stderr, stamp(line));

  const where = `${options.host ?? '127.0.0.1'}:${options.port ?? 1883}`;
  let broker: Broker;
  try {
    broker = await startBroker(options);
  } catch (err) {
    // resolveOptions refuses options of the wrong type or range (BrokerError INVALID_OPTIONS) before listening.
    if (isBrokerError(err, 'INVALID_OPTIONS')) throw new CliError('BROKER', err.message, { cause: err });
    throw listenError(err, where);
  }
  const stops: Array<() => Promise<void>> = [() => broker.close()];
  try {
    const { host: boundHost, port } = broker.address;
    writeLine(io.stdout, `mqtt311 broker listening on ${boundHost}:${port}`);
    if (wsPort !== undefined) {
      // Loaded only when asked for: the WebSocket listener needs the `ws` package.
      const { startWsListener } = await import('../broker-mini/ws-listener.js');
      const wsHost = options.host ?? '127.0.0.1';
      let ws;
      try {
        ws = await startWsListener(broker, { port: wsPort, host: wsHost });
      } catch (err) {
        throw listenError(err, `${wsHost}:${wsPort}`);
      }
      stops.unshift(() => ws.close());
      writeLine(io.stdout, `mqtt311 broker listening on ${ws.url}`);
    }
    await waitForAbort(io.interrupt);
    if (verbose) writeLine(io.stderr, stamp('stopping'));
  } finally {
    for (const stop of stops) await stop();
  }
  return 0;
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
