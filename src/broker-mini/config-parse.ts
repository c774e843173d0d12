/**
 * The directives of mosquitto.conf (and broker-mini's own few), read one line at a time into a
 * `ParseState`, then `finishConfig` turns the state into `BrokerConfig`. mosquitto's scoping:
 * directives after `listener PORT [ADDRESS]` configure that listener; before the first one they
 * configure the default listener (`port`, `bind_address`). With `per_listener_settings true`,
 * authentication directives belong to the listener being defined, else to the whole broker.
 *
 * Listener and TLS directives are read by config-listener.ts.
 *
 * Blocks: a directive in `BLOCK_PARSERS` (mosquitto's bridge `connection NAME`) opens a block
 * whose handler sees the following lines first, until it returns false for one.
 */
import type { AclRule } from './core/acl.js';
import { BRIDGE_DIRECTIVES, expirationSeconds, NO_EFFECT, REFUSED, TIMESTAMP_CONVERSIONS } from './config-directives.js';
import { aclRule, bool, fail, int, lineArgs, parseAclFile, parsePasswordFile, readRef, refPath, unsupported, type BrokerConfig, type Cursor, type ParseConfigOptions } from './config-syntax.js';
import { currentListener, finishTls, readListenerDirective, type ListenerDraft, type ListenerParseState } from './config-listener.js';
import type { ListenerAuth, ListenerOptions } from './listener-options.js';

/** Handles one line inside a block; false: not the block's, the block ends and the line is read normally. */
export type BlockHandler = (directive: string, args: string[], rest: string, at: Cursor) => boolean;

/** What a block parser may use: the parse options, and `onFinish` to run once every line is read. */
export interface BlockContext {
  readonly options: ParseConfigOptions;
  onFinish(finish: () => void): void;
}

/** Opens a block (e.g. `connection NAME`) and returns the handler for its lines. */
export type BlockParser = (args: string[], config: BrokerConfig, at: Cursor, ctx: BlockContext) => BlockHandler;

/** Block-opening directives and their parsers. The bridge module registers `connection` here. */
export const BLOCK_PARSERS = new Map<string, BlockParser>();

/** Authentication collected for the broker or for one listener. */
interface AuthDraft extends ListenerAuth {
  acl: AclRule[];
  /** Password files, parsed when the config ends (so `password_file_plaintext` may come after them). */
  passwordFiles?: Array<{ path: string; text: string }>;
  /** The `acl_user` section inline `topic` lines belong to. */
  aclUser?: string | undefined;
}

/** Everything read so far: the listeners' part (config-listener.ts), and the rest. */
export interface ParseState extends ListenerParseState {
  perListenerSettings: boolean;
  readonly auth: Map<ListenerDraft | 'broker', AuthDraft>;
  block: BlockHandler | undefined;
  /** Run by `finishConfig` before anything else (blocks complete themselves there). */
  readonly finishers: Array<() => void>;
  readonly notes: string[];
  /** `password_file_plaintext true`: plain-text password lines are accepted (refused by default). */
  plaintextPasswords: boolean;
}

/** A fresh state for one config file (and what it includes). */
export function newParseState(options: ParseConfigOptions): ParseState {
  return {
    config: {},
    options,
    listeners: [],
    current: undefined,
    defaultListener: { port: 1883, at: { file: options.file, line: 0 } },
    defaultUsed: false,
    perListenerSettings: false,
    auth: new Map(),
    tls: new Map(),
    block: undefined,
    finishers: [],
    notes: [],
    plaintextPasswords: false,
  };
}

/** The directives that set one integer option: `NAME VALUE` in min..max, times `scale`; `zero` replaces a 0 (mosquitto's "no limit"). */
const INT_OPTIONS = new Map<string, { key: IntOption; min: number; max: number; scale?: number; zero?: number }>([
  ['max_queued_messages', { key: 'maxQueuedMessages', min: 0, max: 10_000_000, zero: 10_000_000 }],
  ['max_queued_bytes', { key: 'maxQueuedBytes', min: 0, max: Number.MAX_SAFE_INTEGER, zero: Number.MAX_SAFE_INTEGER }],
  ['max_retained_messages', { key: 'maxRetainedMessages', min: 1, max: 100_000_000 }],
  ['max_retained_bytes', { key: 'maxRetainedBytes', min: 1, max: Number.MAX_SAFE_INTEGER }],
  ['max_offline_sessions', { key: 'maxOfflineSessions', min: 1, max: 100_000_000 }],
  ['max_inflight', { key: 'maxInflight', min: 1, max: 65_535 }],
  ['max_inflight_messages', { key: 'maxInflight', min: 0, max: 65_535, zero: 65_535 }],
  ['max_inflight_bytes', { key: 'maxInflightBytes', min: 0, max: Number.MAX_SAFE_INTEGER }],
  ['max_packet_size', { key: 'maxPacketSize', min: 2, max: 268_435_460 }],
  ['max_keepalive', { key: 'maxKeepalive', min: 1, max: 65_535 }],
  ['message_size_limit', { key: 'messageSizeLimit', min: 0, max: 268_435_455 }],
  ['sys_interval', { key: 'sysInterval', min: 0, max: 86_400 }],
  ['autosave_interval', { key: 'autosaveInterval', min: 0, max: 31_536_000 }],
  ['connect_timeout', { key: 'connectTimeout', min: 1, max: 86_400, scale: 1000 }], // seconds -> ms
  ['memory_budget', { key: 'memoryBudget', min: 1, max: Number.MAX_SAFE_INTEGER }],
  ['partial_packet_timeout', { key: 'partialPacketTimeout', min: 1, max: 86_400, scale: 1000 }], // seconds -> ms
  ['ws_port', { key: 'wsPort', min: 0, max: 65_535 }],
]);
/** The `BrokerConfig` keys holding a number. */
type IntOption = { [K in keyof BrokerConfig]-?: BrokerConfig[K] extends number | undefined ? K : never }[keyof BrokerConfig];

/** The directives that set one boolean option. */
const BOOL_OPTIONS = new Map<string, BoolOption>([
  ['log_packets', 'logPackets'],
  ['connection_messages', 'connectionMessages'],
  ['persistence', 'persistence'],
  ['retain_available', 'retainAvailable'],
  ['upgrade_outgoing_qos', 'upgradeOutgoingQos'],
  ['check_retain_source', 'checkRetainSource'],
]);
type BoolOption = { [K in keyof BrokerConfig]-?: BrokerConfig[K] extends boolean | undefined ? K : never }[keyof BrokerConfig];

const LOG_TYPES = new Set(['debug', 'error', 'warning', 'notice', 'information', 'subscribe', 'unsubscribe', 'websockets', 'none', 'all']);

/** Reads one directive line into `state`. */
export function readDirective(state: ParseState, directive: string, args: string[], rest: string, at: Cursor): void {
  if (state.block) {
    if (state.block(directive, args, rest, at)) return;
    state.block = undefined;
  }
  if (readListenerDirective(state, directive, args, at)) return;
  const { config } = state;
  const [a, b] = args;
  const { arity, value, pair } = lineArgs(directive, args, at);
  const auth = (): AuthDraft => {
    const key = state.perListenerSettings ? currentListener(state) : 'broker';
    let draft = state.auth.get(key);
    if (!draft) state.auth.set(key, (draft = { acl: [] }));
    return draft;
  };

  switch (directive) {
    // --- authentication (per listener with per_listener_settings) ------------------------------
    case 'per_listener_settings':
      arity(1);
      if (state.listeners.length > 0) fail('INVALID_VALUE', 'per_listener_settings must come before the first listener', at);
      state.perListenerSettings = bool(a, at);
      return;
    case 'allow_anonymous':
      arity(1);
      auth().allowAnonymous = bool(a, at);
      return;
    case 'allow_zero_length_clientid':
      arity(1);
      auth().allowZeroLengthClientId = bool(a, at);
      return;
    case 'auto_id_prefix':
      auth().autoIdPrefix = value();
      return;
    case 'user': {
      // mosquitto's "user NAME" is the OS user to run as; broker-mini's "user NAME PASSWORD" an inline user.
      if (args.length === 1) {
        config.runAsUser = value();
        return;
      }
      const [name, password] = pair();
      (auth().users ??= {})[name] = password;
      return;
    }
    case 'password_file': {
      (auth().passwordFiles ??= []).push(readRef(value(), state.options, at));
      return;
    }
    case 'password_file_plaintext':
      arity(1);
      state.plaintextPasswords = bool(a, at);
      return;
    case 'takeover_by_other_user':
      arity(1);
      if (a !== 'allow' && a !== 'refuse') fail('INVALID_VALUE', `expected "allow" or "refuse", got "${a}"`, at);
      config.takeoverByOtherUser = a;
      return;
    case 'accept_protocol_versions': {
      // mosquitto's spelling: "3,4", "3, 4" or "3 4".
      const versions = rest.split(/[\s,]+/).filter((w) => w !== '');
      if (versions.length === 0 || !versions.every((v) => v === '3' || v === '4')) {
        fail('INVALID_VALUE', `expected "accept_protocol_versions" with 3 and/or 4, got "${rest}"`, at);
      }
      config.protocolVersions = versions.map((v) => (v === '3' ? 3 : 4));
      return;
    }
    case 'acl_file': {
      const ref = readRef(value(), state.options, at);
      auth().acl.push(...parseAclFile(ref.text, ref.path));
      return;
    }
    case 'acl_user': {
      const user = value();
      auth().aclUser = user === '*' ? undefined : user;
      return;
    }
    case 'topic':
      auth().acl.push(aclRule(rest, auth().aclUser, at));
      return;
    case 'pattern':
      auth().acl.push(aclRule(rest, undefined, at));
      return;
    // --- the process: pid file, logging --------------------------------------------------------
    case 'pid_file':
      config.pidFile = refPath(value(), at);
      return;
    case 'log_dest': {
      if (args.length === 0) fail('MISSING_VALUE', '"log_dest" needs a destination', at);
      const log = (config.log ??= {});
      const dest = (log.dest ??= []);
      if (a === 'none') return void (log.dest = []);
      if (a === 'stdout' || a === 'stderr') return void (args.length === 1 ? dest.push({ kind: a }) : fail('INVALID_VALUE', `"log_dest ${a}" takes no more values`, at));
      if (a === 'file') {
        if (args.length !== 2 || b === undefined) return fail('MISSING_VALUE', 'expected "log_dest file PATH"', at);
        return void dest.push({ kind: 'file', path: refPath(b, at) });
      }
      if (a === 'syslog' || a === 'topic' || a === 'dlt') unsupported(`log_dest ${a}`, 'broker-mini logs to stdout, stderr or a file', at);
      return fail('INVALID_VALUE', `unknown log destination "${a}"`, at);
    }
    case 'log_type': {
      const type = value();
      if (!LOG_TYPES.has(type)) fail('INVALID_VALUE', `unknown log type "${type}"`, at);
      ((config.log ??= {}).types ??= []).push(type);
      return;
    }
    case 'log_timestamp':
      arity(1);
      (config.log ??= {}).timestamp = bool(a, at);
      return;
    case 'log_timestamp_format':
      if (rest === '') fail('MISSING_VALUE', '"log_timestamp_format" needs a format', at);
      if (!TIMESTAMP_CONVERSIONS.test(rest)) unsupported('log_timestamp_format', 'only %Y %m %d %H %M %S %z %s and %% are known', at);
      (config.log ??= {}).timestampFormat = rest;
      return;
    // --- the rest ------------------------------------------------------------------------------
    case 'persistence_location':
      config.persistenceLocation = refPath(value(), at);
      return;
    case 'persistence_file':
      config.persistenceFile = value();
      return;
    case 'persistent_client_expiration': {
      const text = value();
      const seconds = expirationSeconds(text);
      if (seconds === undefined || seconds === 0) fail('INVALID_VALUE', `expected a number and one of h d w m y (e.g. 14d), got "${text}"`, at);
      config.persistentClientExpiration = seconds;
      return;
    }
    case 'clientid_prefixes':
      config.clientIdPrefixes = [value()];
      return;
    case 'queue_qos0_messages':
      arity(1);
      if (bool(a, at)) unsupported('queue_qos0_messages true', 'offline sessions queue QoS 1 and 2 only, as MQTT 3.1.1 says [MQTT-3.1.2-5]', at);
      return;
    case 'set_tcp_nodelay':
      arity(1);
      if (!bool(a, at)) state.notes.push(`${at.file ?? 'config'}:${at.line}: set_tcp_nodelay false: broker-mini always sets TCP_NODELAY (MQTT packets are small)`);
      return;
  }

  const number = INT_OPTIONS.get(directive);
  if (number) {
    arity(1);
    const v = int(a, at, number.min, number.max);
    config[number.key] = v === 0 && number.zero !== undefined ? number.zero : v * (number.scale ?? 1);
    return;
  }
  const flag = BOOL_OPTIONS.get(directive);
  if (flag) {
    arity(1);
    config[flag] = bool(a, at);
    return;
  }
  const block = BLOCK_PARSERS.get(directive);
  if (block) {
    state.block = block(args, config, at, { options: state.options, onFinish: (finish) => state.finishers.push(finish) });
    return;
  }
  if (directive.startsWith('auth_opt_')) unsupported(directive, 'broker-mini loads no auth plugins', at);
  const refused = REFUSED.get(directive);
  if (refused) unsupported(directive, refused, at);
  const note = NO_EFFECT.get(directive);
  if (note) {
    state.notes.push(`${at.file ?? 'config'}:${at.line}: ${directive} has no effect: ${note}`);
    return;
  }
  if (BRIDGE_DIRECTIVES.has(directive)) unsupported(directive, 'a bridge directive belongs after a "connection NAME" line (see the Bridge section of the README)', at);
  fail('UNKNOWN_DIRECTIVE', `unknown directive "${directive}"`, at);
}

/** The auth settings of a draft, without the parser's bookkeeping. */
function finishAuth(d: AuthDraft | undefined, plaintextPasswords: boolean): ListenerAuth {
  const out: ListenerAuth = {};
  // Inline `user NAME PASSWORD` lines win over password files, as they did when read in order.
  for (const ref of d?.passwordFiles ?? []) d!.users = { ...parsePasswordFile(ref.text, ref.path, plaintextPasswords), ...d!.users };
  if (d?.allowAnonymous !== undefined) out.allowAnonymous = d.allowAnonymous;
  if (d?.users) out.users = d.users;
  if (d && d.acl.length > 0) out.acl = d.acl;
  if (d?.allowZeroLengthClientId !== undefined) out.allowZeroLengthClientId = d.allowZeroLengthClientId;
  if (d?.autoIdPrefix !== undefined) out.autoIdPrefix = d.autoIdPrefix;
  return out;
}

/** Turns the state into the config: listeners, authentication, and the startup notes. */
export function finishConfig(state: ParseState): BrokerConfig {
  for (const finish of state.finishers) finish();
  const config = state.config;
  const drafts = [...(state.defaultUsed ? [state.defaultListener] : []), ...state.listeners];
  const listeners: ListenerOptions[] = drafts.map((draft) => {
    const { at, ...l } = draft;
    const tlsDraft = state.tls.get(draft);
    const tls = tlsDraft && finishTls(tlsDraft, draft);
    if (tls) l.tls = tls;
    if (l.protocol === 'websockets' && (l.useIdentityAsUsername || l.useSubjectAsUsername)) {
      unsupported('use_identity_as_username', 'certificate identities are read on mqtt listeners only (as in mosquitto)', at);
    }
    if (state.perListenerSettings) {
      // mosquitto 2.0: a listener's allow_anonymous defaults to false.
      l.auth = { allowAnonymous: false, ...finishAuth(state.auth.get(draft), state.plaintextPasswords) };
    }
    return l;
  });
  if (listeners.length > 0) config.listeners = listeners;
  const dl = state.defaultListener;
  if (!state.defaultUsed && (state.auth.has(dl) || state.tls.has(dl) || Object.keys(dl).some((k) => k !== 'port' && k !== 'at'))) {
    // mosquitto scopes them the same way; saying so beats a listener that silently lacks them.
    state.notes.push(`${state.options.file ?? 'config'}: settings before the first "listener" belong to the default listener (port / bind_address), which is not started: they have no effect`);
  }
  if (!state.perListenerSettings) {
    const auth = finishAuth(state.auth.get('broker'), state.plaintextPasswords);
    Object.assign(config, auth);
    // mosquitto 2.0: once a listener is configured, anonymous clients need allow_anonymous true.
    if (listeners.length > 0 && auth.allowAnonymous === undefined) config.allowAnonymous = false;
  }
  if (state.notes.length > 0) config.notes = state.notes;
  return config;
}
