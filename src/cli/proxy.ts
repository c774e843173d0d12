/**
 * `mqtt311 proxy`: a transparent man-in-the-middle that prints every packet both ways, flags the
 * rules each side breaks, and optionally injects faults or draws the connections as HTML.
 *
 * ```text
 * $ mqtt311 proxy --listen 1884 --to localhost:1883
 * 10:02:03.120 #1 C→S CONNECT clientId="paho" clean keepAlive=60 (16 B)
 * 10:02:03.121 #1 S→C CONNACK 0x00 accepted (4 B)
 * ```
 */
import { writeFile } from 'node:fs/promises';
import { PACKET_TYPE, type PacketCmd } from '../codec/index.js';
import { writeTraceHtml, type TraceEntry } from '../lab/html.js';
import { formatRecord, recordJson, type FormatOptions } from '../lab/format.js';
import { startProxy, type FaultOptions, type TargetOptions } from '../lab/proxy.js';
import { parseCommandLine, parseIntInRange, usageError, type OptionSpec, type ParsedArgs } from './args.js';
import { CliError, quote } from './errors.js';
import { PROXY_HELP } from './help.js';
import { readFileOrFail, writeLine, type CliIo } from './io.js';

const COMMAND = 'mqtt311 proxy';
const MAX_PEM_BYTES = 1024 * 1024;
/** The HTML page keeps at most this many records (memory stays bounded on a long run). */
const MAX_HTML_RECORDS = 20_000;

/** Options for reaching a server, shared with `mqtt311 check`. */
export const TARGET_OPTIONS: readonly OptionSpec[] = [
  { name: 'tls', kind: 'flag', long: 'tls' },
  { name: 'cafile', kind: 'value', long: 'cafile' },
  { name: 'insecure', kind: 'flag', long: 'insecure' },
  { name: 'ws', kind: 'value', long: 'ws' },
];

const OPTIONS: readonly OptionSpec[] = [
  ...TARGET_OPTIONS,
  { name: 'listen', kind: 'value', short: 'l', long: 'listen' },
  { name: 'bind', kind: 'value', short: 'b', long: 'bind' },
  { name: 'to', kind: 'value', long: 'to' },
  { name: 'listen-ws', kind: 'flag', long: 'listen-ws' },
  { name: 'cert', kind: 'value', long: 'cert' },
  { name: 'key', kind: 'value', long: 'key' },
  { name: 'verbose', kind: 'flag', short: 'v', long: 'verbose' },
  { name: 'json', kind: 'flag', long: 'json' },
  { name: 'html', kind: 'value', long: 'html' },
  { name: 'drop', kind: 'list', long: 'drop' },
  { name: 'delay', kind: 'value', long: 'delay' },
  { name: 'cut-after', kind: 'value', long: 'cut-after' },
  { name: 'help', kind: 'flag', long: 'help' },
];

/** Parses `HOST:PORT` (`[v6]:PORT` too). */
export function parseHostPort(text: string, what: string, command: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (!m) throw usageError(`${what} must be HOST:PORT, got ${quote(text)}`, command);
  const [, host = '', port = ''] = m; // the pattern always captures both
  return { host: host.replace(/^\[|\]$/g, ''), port: parseIntInRange(port, `the port of ${what}`, 1, 65535, command) };
}

/** Reads --tls, --cafile, --insecure and --ws PATH into how to reach `host:port`. */
export async function targetOptions(args: ParsedArgs, where: { host: string; port: number }): Promise<TargetOptions> {
  const target: TargetOptions = { ...where };
  const cafile = args.value('cafile');
  if (args.has('tls') || cafile !== undefined || args.has('insecure')) {
    target.tls = { rejectUnauthorized: !args.has('insecure') };
    if (cafile !== undefined) target.tls.ca = await readFileOrFail(cafile, '--cafile', MAX_PEM_BYTES);
  }
  const ws = args.value('ws');
  if (ws !== undefined) target.wsPath = ws.startsWith('/') ? ws : `/${ws}`;
  return target;
}

function faultOptions(args: ParsedArgs): FaultOptions {
  const faults: FaultOptions = {};
  const drop = args.values('drop').flatMap((d) => d.split(',')).map((d) => d.trim().toLowerCase());
  for (const d of drop) if (!(d in PACKET_TYPE)) throw usageError(`--drop takes packet types (publish, puback, …), got ${quote(d)}`, COMMAND);
  if (drop.length > 0) faults.drop = drop as PacketCmd[]; // each name was checked against the packet commands above
  const delay = args.value('delay');
  if (delay !== undefined) faults.delayMs = parseIntInRange(delay, '--delay', 0, 60_000, COMMAND);
  const cut = args.value('cut-after');
  if (cut !== undefined) faults.cutAfter = parseIntInRange(cut, '--cut-after', 1, 1_000_000, COMMAND);
  return faults;
}

/** Runs `mqtt311 proxy` until interrupted. Exit code 0. */
export async function runProxy(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandLine(argv, OPTIONS, COMMAND, PROXY_HELP, io.stdout);
  if (args === undefined) return 0;
  const listenText = args.value('listen');
  const toText = args.value('to');
  if (listenText === undefined || toText === undefined) throw usageError('--listen PORT and --to HOST:PORT are required', COMMAND);
  const port = parseIntInRange(listenText, '--listen', 0, 65535, COMMAND);
  const target = await targetOptions(args, parseHostPort(toText, '--to', COMMAND));
  if (args.has('cert') !== args.has('key')) throw usageError('--cert and --key must be given together', COMMAND);
  const certFile = args.value('cert');
  const keyFile = args.value('key');
  const tls = certFile !== undefined && keyFile !== undefined
    ? { cert: await readFileOrFail(certFile, '--cert', MAX_PEM_BYTES), key: await readFileOrFail(keyFile, '--key', MAX_PEM_BYTES) }
    : undefined;
  const format: FormatOptions = { verbose: args.has('verbose') };
  const json = args.has('json');
  const htmlFile = args.value('html');
  const kept: TraceEntry[] = [];
  let packets = 0;
  let violations = 0;

  let proxy;
  try {
    proxy = await startProxy({
      listen: { host: args.value('bind') ?? '127.0.0.1', port, ...(tls ? { tls } : {}), ws: args.has('listen-ws') },
      target,
      faults: faultOptions(args),
      onRecord(record, connection, fault) {
        if (record.kind !== 'event') packets++;
        violations += record.violations.filter((v) => v.severity === 'violation').length;
        if (htmlFile !== undefined && kept.length < MAX_HTML_RECORDS) kept.push({ record, connection, fault });
        if (json) writeLine(io.stdout, recordJson(record, connection, format, fault));
        else writeLine(io.stdout, formatRecord(record, connection, format) + (fault ? `  [${fault}]` : ''));
      },
      onError(connection, error) {
        writeLine(io.stderr, `#${connection}: cannot reach ${toText}: ${error.message}`);
      },
    });
  } catch (err) {
    throw new CliError('USAGE', `cannot listen on port ${port}: ${(err as Error).message}`, { cause: err }); // what is caught here is an Error (Node's or ours)
  }
  const scheme = `${args.has('listen-ws') ? 'ws' : 'tcp'}${tls ? '+tls' : ''}`;
  writeLine(io.stderr, `mqtt311 proxy listening on ${scheme}://${proxy.address.host}:${proxy.address.port}, forwarding to ${toText}`);
  await new Promise<void>((resolve) => {
    if (io.interrupt.aborted) resolve();
    else io.interrupt.addEventListener('abort', () => resolve(), { once: true });
  });
  await proxy.close();
  if (htmlFile !== undefined) await writeFile(htmlFile, writeTraceHtml(kept, `mqtt311 proxy → ${toText}`));
  writeLine(io.stderr, `mqtt311 proxy: ${packets} packets, ${violations} violations`);
  return 0;
}
