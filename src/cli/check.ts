/**
 * `mqtt311 check`: runs the conformance suite against a broker and prints the report card.
 * Exit code 0 only when every testable rule passes.
 *
 * ```text
 * $ mqtt311 check localhost:1883
 * PASS         [MQTT-3.1.0-2] A second CONNECT on a connection is a protocol violation: …
 * FAIL         [MQTT-3.3.5-1] With overlapping subscriptions the server delivers at the highest QoS granted.
 *              evidence: …
 * ```
 */
import { CHECK_NOTICE, runChecks } from '../lab/check/suite.js';
import { formatResult, jsonReport, markdownReport, summaryLine, tally } from '../lab/check/report.js';
import { parseCommandLine, parseIntInRange, usageError, type OptionSpec } from './args.js';
import { CHECK_HELP } from './help.js';
import { writeLine, type CliIo } from './io.js';
import { parseHostPort, targetOptions, TARGET_OPTIONS } from './proxy.js';

const COMMAND = 'mqtt311 check';

const OPTIONS: readonly OptionSpec[] = [
  ...TARGET_OPTIONS,
  { name: 'username', kind: 'value', short: 'u', long: 'username' },
  { name: 'password', kind: 'value', short: 'P', long: 'pw' },
  { name: 'timeout', kind: 'value', long: 'timeout' },
  { name: 'only', kind: 'list', long: 'only' },
  { name: 'json', kind: 'flag', long: 'json' },
  { name: 'markdown', kind: 'flag', long: 'markdown' },
  { name: 'title', kind: 'value', long: 'title' },
  { name: 'help', kind: 'flag', long: 'help' },
];

/** Runs `mqtt311 check HOST:PORT`. */
export async function runCheck(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandLine(argv, OPTIONS, COMMAND, CHECK_HELP, io.stdout, true);
  if (args === undefined) return 0;
  const [where] = args.positionals;
  if (args.positionals.length !== 1 || where === undefined) throw usageError('give the broker as HOST:PORT', COMMAND);
  const target = await targetOptions(args, parseHostPort(where, 'the broker', COMMAND));
  const password = args.value('password');
  const username = args.value('username');
  if (password !== undefined && username === undefined) throw usageError('-P (password) needs -u (user name)', COMMAND);
  const timeoutMs = parseIntInRange(args.value('timeout') ?? '3', '--timeout', 1, 60, COMMAND) * 1000;
  const only = args.values('only');
  const json = args.has('json');
  const markdown = args.has('markdown');
  // The notice goes first, on stderr, so it shows whatever the output format.
  writeLine(io.stderr, CHECK_NOTICE);
  const results = await runChecks(
    { target, timeoutMs, ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) },
    json || markdown ? undefined : (r) => writeLine(io.stdout, formatResult(r)),
    only.length > 0 ? (rule) => only.some((o) => rule === o || rule === `MQTT-${o}`) : undefined,
  );
  if (json) writeLine(io.stdout, jsonReport(results, where));
  else if (markdown) io.stdout.write(markdownReport(results, args.value('title') ?? `mqtt311 check ${where}`, CHECK_NOTICE));
  else writeLine(io.stdout, summaryLine(results));
  return tally(results).fail === 0 ? 0 : 1;
}
