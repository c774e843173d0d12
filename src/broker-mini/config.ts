/**
 * The broker's configuration file (`mqtt311 broker -c FILE`): mosquitto.conf, as mosquitto 2.0.11
 * documents it. Every directive of `man mosquitto.conf` is either honoured or refused with one
 * line naming the file, the line and why (config-directives.ts holds the refusals); the README
 * table lists them all. Listener blocks (`listener PORT [ADDRESS]` followed by its settings),
 * `per_listener_settings`, `include_dir`, TLS files, logging, `$SYS` and the limits are read
 * here. A few directives of broker-mini's own come on top:
 *
 * ```
 * user alice secret               # inline user (two values; "user NAME" is mosquitto's OS user)
 * topic read sensors/#            # inline ACL lines: access read | write | readwrite (default) | deny
 * acl_user alice                  # following topic lines apply to alice (in an acl_file: "user alice")
 * pattern write clients/%c/#      # %c = ClientId, %u = user name; applies to every client
 * max_retained_messages 100000
 * max_retained_bytes 268435456
 * max_offline_sessions 10000      # persistent sessions kept while offline
 * max_inflight 100                # alias of max_inflight_messages
 * connect_timeout 10              # seconds
 * memory_budget 268435456         # broker-wide: incomplete packets + queued/inflight messages
 * partial_packet_timeout 60       # seconds from a packet's first byte to its last
 * log_packets false
 * ws_port 8080                    # a WebSocket listener on the first listener's address
 * ```
 * Bridges: `connection NAME` and every line after it are read by bridge-config.ts.
 * Differences from mosquitto: `topic` lines before any user section apply to every client (not
 * only anonymous ones); `deny` always wins. See `auth.ts` for the exact ACL semantics.
 * Relative paths are resolved against the config file's folder. Errors name the file and line.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BRIDGE_DIRECTIVES, includeOrder } from './config-directives.js';
import { BLOCK_PARSERS, finishConfig, newParseState, readDirective, type ParseState } from './config-parse.js';
import { ConfigError, fail, lines, readDirRef, readRef, type BrokerConfig, type ParseConfigOptions } from './config-syntax.js';
import { isBridgeDirective, parseBridgeConfig } from './bridge-config.js';

export { ConfigError, parseAclFile, parsePasswordFile, type BrokerConfig, type ConfigErrorCode, type LogDest, type ParseConfigOptions } from './config-syntax.js';

/**
 * mosquitto's bridges: `connection NAME` opens one, and the bridge directives after it (up to the
 * next general directive or `connection`) belong to it; bridge-config.ts reads them once the file
 * is read, so a bridge is judged whole.
 */
BLOCK_PARSERS.set('connection', (args, config, at, ctx) => {
  const entries: Array<[number, string]> = [[at.line, ['connection', ...args].join(' ')]];
  const readFile = ctx.options.readFile;
  ctx.onFinish(() => {
    config.bridges = [...(config.bridges ?? []), ...parseBridgeConfig(entries, readFile ? { file: at.file, readFile } : { file: at.file })];
  });
  return (directive, _args, rest, lineAt) => {
    // mosquitto's bridge directives stay in the block; bridge-config.ts refuses those it does not know.
    if (directive === 'connection' || !(isBridgeDirective(directive) || BRIDGE_DIRECTIVES.has(directive))) return false;
    entries.push([lineAt.line, rest === '' ? directive : `${directive} ${rest}`]);
    return true;
  };
});

/** Parses config file text into `BrokerConfig`. Throws `ConfigError` naming the file and line. */
export function parseConfig(text: string, options: ParseConfigOptions = {}): BrokerConfig {
  const state = newParseState(options);
  readText(state, text, options.file, true);
  return finishConfig(state);
}

/** Feeds every line of one file (the main one, or one from include_dir) to the directive reader. */
function readText(state: ParseState, text: string, file: string | undefined, main: boolean): void {
  for (const [line, l] of lines(text)) {
    const at = { file, line };
    const [directive = '', ...args] = l.split(/\s+/);
    const rest = l.slice(directive.length).trim();
    if (directive === 'include_dir') {
      // mosquitto: only the main file may include, and the files load in its order.
      if (!main) fail('INVALID_VALUE', 'include_dir is only read from the main configuration file', at);
      const [path] = args;
      if (args.length !== 1 || path === undefined) return fail(args.length < 1 ? 'MISSING_VALUE' : 'INVALID_VALUE', '"include_dir" takes 1 value', at);
      const dir = readDirRef(path, state.options, at);
      for (const name of dir.names.filter((n) => n.endsWith('.conf')).sort(includeOrder)) {
        const ref = readRef(join(dir.path, name), state.options, at);
        readText(state, ref.text, ref.path, false);
      }
      continue;
    }
    readDirective(state, directive, args, rest, at);
  }
}

/** Reads and parses the config file at `path`. */
export async function loadConfig(path: string): Promise<BrokerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('FILE_ERROR', `cannot read: ${(e as Error).message}`, path, 0); // what is caught here is an Error (Node's or ours)
  }
  return parseConfig(text, { file: path });
}
