/**
 * `mqtt311 decode`: the codec's inspector on the command line. Bytes come as hex (arguments or
 * stdin) or raw from a file; every packet in them is printed as an annotated table, and the first
 * bad byte ends the run with the codec's error code, the spec rule and the offset.
 *
 * ```text
 * $ mqtt311 decode 30 07 00 03 61 2f 62 68 69
 * PUBLISH (QoS 0, 9 bytes)
 * offset  bytes  field  value  spec
 * …
 * ```
 */
import { writeFile } from 'node:fs/promises';
import { formatInspection, inspectStream, MAX_PACKET_SIZE } from '../codec/index.js';
import { decodeCapture } from '../lab/capture.js';
import { formatRecord, recordJson } from '../lab/format.js';
import { writeTraceHtml } from '../lab/html.js';
import { PcapError } from '../lab/pcap.js';
import { parseCommandLine, parseIntInRange, usageError, type OptionSpec, type ParsedArgs } from './args.js';
import { CliError, quote } from './errors.js';
import { DECODE_HELP } from './help.js';
import { readAll, readFileOrFail, writeLine, type CliIo } from './io.js';

const COMMAND = 'mqtt311 decode';

/** Input refused beyond this: room for one largest packet (spec 2.2.3) written out as hex. */
const MAX_INPUT_BYTES = 3 * MAX_PACKET_SIZE;

const OPTIONS: readonly OptionSpec[] = [
  { name: 'file', kind: 'value', short: 'f', long: 'file' },
  { name: 'pcap', kind: 'value', long: 'pcap' },
  { name: 'port', kind: 'value', long: 'port' },
  { name: 'html', kind: 'value', long: 'html' },
  { name: 'verbose', kind: 'flag', short: 'v', long: 'verbose' },
  { name: 'json', kind: 'flag', long: 'json' },
  { name: 'help', kind: 'flag', long: 'help' },
];

/**
 * Turns hex text into bytes. Whitespace, ":" "," "-" separators and "0x" / "\x" prefixes are
 * allowed; each byte is two digits, or one digit when a separator or prefix stands on each side
 * (so "0x1 0x2" works).
 * @throws CliError `DECODE` naming the first character that is not hex.
 */
export function parseHex(text: string): Uint8Array {
  // Split into groups at separators and prefixes, then read each group as pairs of digits.
  const groups = text.split(/(?:0x|\\x|[\s:,;-])+/i).filter((g) => g !== '');
  const out: number[] = [];
  for (const group of groups) {
    const bad = /[^0-9a-f]/i.exec(group);
    if (bad) throw new CliError('DECODE', `not a hex digit: "${bad[0]}" in ${quote(group)}`);
    // A lone digit between separators ("0x1 0x2") is a byte; a longer odd run is ambiguous.
    const separated = groups.length > 1 || /0x|\\x/i.test(text);
    const digits = group.length === 1 && separated ? `0${group}` : group;
    if (digits.length % 2 === 1) throw new CliError('DECODE', `odd number of hex digits in ${quote(group)}: every byte needs two`);
    for (let i = 0; i < digits.length; i += 2) out.push(parseInt(digits.slice(i, i + 2), 16));
  }
  return Uint8Array.from(out);
}

/** Runs `mqtt311 decode`. Exit code 0 when every byte decoded, 1 otherwise. */
export async function runDecode(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandLine(argv, OPTIONS, COMMAND, DECODE_HELP, io.stdout, true);
  if (args === undefined) return 0;
  const pcap = args.value('pcap');
  if (pcap !== undefined) return decodePcap(pcap, args, io);
  for (const name of ['port', 'html', 'verbose', 'json']) if (args.has(name)) throw usageError(`--${name} goes with --pcap`, COMMAND);
  const file = args.value('file');
  if (file !== undefined && args.positionals.length > 0) {
    throw usageError('give either hex arguments or -f file, not both', COMMAND);
  }
  let bytes: Uint8Array;
  if (file !== undefined) {
    bytes = file === '-' ? await readAll(io.stdin, MAX_INPUT_BYTES, io.interrupt) : await readFileOrFail(file, 'file', MAX_INPUT_BYTES);
  } else if (args.positionals.length > 0 && !(args.positionals.length === 1 && args.positionals[0] === '-')) {
    bytes = parseHex(args.positionals.join(' '));
  } else {
    bytes = parseHex((await readAll(io.stdin, MAX_INPUT_BYTES, io.interrupt)).toString('latin1'));
  }
  if (bytes.length === 0) throw usageError('no bytes to decode', COMMAND);

  const result = inspectStream(bytes);
  io.stdout.write(result.inspections.map((i) => `${formatInspection(i)}\n`).join('\n'));
  if (result.error === undefined) return 0;
  const e = result.error;
  const rule = e.rule ? ` [${e.rule}]` : '';
  // The codec appends the rule to its message; print it once.
  const message = e.rule ? e.message.replace(` [${e.rule}]`, '') : e.message;
  const offset = result.errorOffset ?? result.consumed;
  writeLine(io.stderr, `Error: ${e.code}${rule} at offset ${offset}: ${message}`);
  return 1;
}

/** A capture file is refused beyond this size (memory stays bounded). */
const MAX_PCAP_BYTES = 512 * 1024 * 1024;

/**
 * `decode --pcap FILE`: every MQTT connection to `--port` (1883) in a libpcap capture, printed
 * as `mqtt311 proxy` prints them, violations included. Exit code 0, or 1 for an unreadable file.
 */
async function decodePcap(path: string, args: ParsedArgs, io: CliIo): Promise<number> {
  if (args.positionals.length > 0 || args.has('file')) throw usageError('give either --pcap or bytes, not both', COMMAND);
  const port = parseIntInRange(args.value('port') ?? '1883', '--port', 1, 65535, COMMAND);
  const bytes = await readFileOrFail(path, '--pcap', MAX_PCAP_BYTES);
  let records;
  try {
    records = decodeCapture(bytes, port);
  } catch (err) {
    if (err instanceof PcapError) throw new CliError('DECODE', `${path}: ${err.message}`, { cause: err });
    throw err;
  }
  const format = { verbose: args.has('verbose') };
  for (const { record, connection } of records) {
    writeLine(io.stdout, args.has('json') ? recordJson(record, connection, format) : formatRecord(record, connection, format));
  }
  const html = args.value('html');
  if (html !== undefined) await writeFile(html, writeTraceHtml(records, `mqtt311 decode --pcap ${path}`));
  if (records.length === 0) writeLine(io.stderr, `no MQTT traffic on port ${port} in ${path}`);
  return 0;
}
