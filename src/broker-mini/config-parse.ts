/**
 * The directives of mosquitto.conf (and broker-mini's own few), read one line at a time into a
 * `ParseState`, then `finishConfig` turns the state into `BrokerConfig`. mosquitto's scoping:
 * directives after `listener PORT [ADDRESS]` configure that listener; before the first one they
 * configure the default listener (`port`, `bind_address`). With `per_listener_settings true`,
 * authentication directives belong to the listener being defined, else to the whole broker.
 *
 * Blocks: a directive in `BLOCK_PARSERS` (mosquitto's bridge `connection NAME`) opens a block
 * whose handler sees the following lines first, until it returns false for one.
 */
import type { AclRule } from './auth.js';
import type { BrokerConfig } from './config.js';
import { BRIDGE_DIRECTIVES, expirationSeconds, NO_EFFECT, REFUSED, TIMESTAMP_CONVERSIONS } from './config-directives.js';
import { aclRule, bool, fail, int, parseAclFile, parsePasswordFile, readDirRef, readRef, refPath, type Cursor, type ParseConfigOptions } from './config-syntax.js';
import type { ListenerAuth, ListenerOptions, ListenerTlsOptions } from './listener-options.js';

/** Handles one line inside a block; false: not the block's, the block ends and the line is read normally. */
export type BlockHandler = (directive: string, args: string[], rest: string, at: Cursor) => boolean;

/** Opens a block (e.g. `connection NAME`) and returns the handler for its lines. */
export type BlockParser = (args: string[], config: BrokerConfig, at: Cursor) => BlockHandler;

/** Block-opening directives and their parsers. The bridge module registers `connection` here. */
export const BLOCK_PARSERS = new Map<string, BlockParser>();

/** Authentication collected for the broker or for one listener. */
interface AuthDraft extends ListenerAuth {
  acl: AclRule[];
  /** The `acl_user` section inline `topic` lines belong to. */
  aclUser?: string;
}

/** TLS collected for one listener, files already read. */
interface TlsDraft extends Partial<ListenerTlsOptions> {
  ca: string[];
  tls13Ciphers?: string;
}

/** A listener being defined, with the line that defined it (for errors found at the end). */
interface ListenerDraft extends ListenerOptions {
  at: Cursor;
}

/** Everything read so far. */
export interface ParseState {
  readonly config: BrokerConfig;
  readonly options: ParseConfigOptions;
  readonly listeners: ListenerDraft[];
  current: ListenerDraft | undefined;
  /** mosquitto's default listener (`port`, `bind_address`, and listener settings before any `listener`). */
  readonly defaultListener: ListenerDraft;
  defaultUsed: boolean;
  perListenerSettings: boolean;
  readonly auth: Map<ListenerDraft | 'broker', AuthDraft>;
  readonly tls: Map<ListenerDraft, TlsDraft>;
  block: BlockHandler | undefined;
  readonly notes: string[];
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
    notes: [],
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

function unsupported(directive: string, why: string, at: Cursor): never {
  return fail('UNSUPPORTED_DIRECTIVE', `"${directive}" is not supported: ${why}`, at);
}

/** Reads one directive line into `state`. */
export function readDirective(state: ParseState, directive: string, args: string[], rest: string, at: Cursor): void {
  if (state.block) {
    if (state.block(directive, args, rest, at)) return;
    state.block = undefined;
  }
  const { config } = state;
  const [a, b] = args;
  const arity = (n: number) => {
    if (args.length < n) fail('MISSING_VALUE', `"${directive}" needs ${n} value${n > 1 ? 's' : ''}`, at);
    if (args.length > n) fail('INVALID_VALUE', `"${directive}" takes ${n} value${n > 1 ? 's' : ''}`, at);
  };
  const listener = (): ListenerDraft => state.current ?? state.defaultListener;
  const auth = (): AuthDraft => {
    const key = state.perListenerSettings ? listener() : 'broker';
    let draft = state.auth.get(key);
    if (!draft) state.auth.set(key, (draft = { acl: [] }));
    return draft;
  };
  const tls = (): TlsDraft => {
    let draft = state.tls.get(listener());
    if (!draft) state.tls.set(listener(), (draft = { ca: [] }));
    return draft;
  };
  const file = (): string => (arity(1), readRef(a, state.options, at).text);
  const oneOf = <T extends string>(allowed: readonly T[]): T => {
    arity(1);
    if (!allowed.includes(a as T)) fail('INVALID_VALUE', `expected ${allowed.join(' or ')}, got "${a}"`, at);
    return a as T;
  };

  switch (directive) {
    // --- listeners ---------------------------------------------------------------------------
    case 'port':
      arity(1);
      state.defaultListener.port = int(a, at, 0, 65_535);
      state.defaultUsed = true;
      return;
    case 'bind_address':
      arity(1);
      state.defaultListener.host = a;
      state.defaultUsed = true;
      return;
    case 'listener': {
      if (args.length < 1 || args.length > 2) fail(args.length < 1 ? 'MISSING_VALUE' : 'INVALID_VALUE', 'expected "listener PORT [ADDRESS]"', at);
      const port = int(a, at, 0, 65_535);
      if (b !== undefined && b.includes('/')) unsupported('listener', 'unix socket listeners are not supported; give a port and an IP address', at);
      const draft: ListenerDraft = b === undefined ? { port, at } : { port, host: b, at };
      state.listeners.push(draft);
      state.current = draft;
      return;
    }
    case 'protocol':
      listener().protocol = oneOf(['mqtt', 'websockets']);
      return;
    case 'socket_domain':
      listener().socketDomain = oneOf(['ipv4', 'ipv6']);
      return;
    case 'mount_point':
      arity(1);
      if (/[+#]/.test(a)) fail('INVALID_VALUE', 'a mount point cannot contain + or #', at);
      listener().mountPoint = a;
      return;
    case 'max_qos':
      arity(1);
      listener().maxQos = int(a, at, 0, 2) as 0 | 1 | 2;
      return;
    case 'max_connections': {
      arity(1);
      // mosquitto: -1 means no limit. Before any listener it bounds the whole broker.
      const n = a === '-1' ? undefined : int(a, at, 1, 10_000_000);
      if (state.current) state.current.maxConnections = n;
      else config.maxConnections = n ?? 10_000_000;
      return;
    }
    case 'use_identity_as_username':
      arity(1);
      listener().useIdentityAsUsername = bool(a, at);
      return;
    case 'use_subject_as_username':
      arity(1);
      listener().useSubjectAsUsername = bool(a, at);
      return;
    case 'use_username_as_clientid':
      arity(1);
      listener().useUsernameAsClientId = bool(a, at);
      return;
    // --- TLS ---------------------------------------------------------------------------------
    case 'certfile':
      tls().cert = file();
      return;
    case 'keyfile':
      tls().key = file();
      return;
    case 'cafile':
      tls().ca.push(file());
      return;
    case 'capath': {
      arity(1);
      const dir = readDirRef(a, state.options, at);
      for (const name of dir.names.sort()) {
        const text = readRef(`${dir.path}/${name}`, state.options, at).text;
        if (text.includes('-----BEGIN CERTIFICATE-----')) tls().ca.push(text);
      }
      return;
    }
    case 'crlfile':
      tls().crl = file();
      return;
    case 'dhparamfile':
      tls().dhparam = file();
      return;
    case 'ciphers':
      arity(1);
      tls().ciphers = a;
      return;
    case 'ciphers_tls1.3':
      arity(1);
      tls().tls13Ciphers = a;
      return;
    case 'tls_version': {
      const v = oneOf(['tlsv1.3', 'tlsv1.2', 'tlsv1.1', 'tlsv1']);
      if (v === 'tlsv1.1' || v === 'tlsv1') unsupported('tls_version', `${v} is refused by Node's TLS; use tlsv1.2 or tlsv1.3`, at);
      tls().minVersion = v === 'tlsv1.3' ? 'TLSv1.3' : 'TLSv1.2';
      return;
    }
    case 'tls_keyform':
      if (oneOf(['pem', 'engine']) === 'engine') unsupported('tls_keyform engine', 'OpenSSL engines are not supported; use PEM files', at);
      return;
    case 'require_certificate':
      arity(1);
      tls().requireCertificate = bool(a, at);
      return;
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
      arity(1);
      auth().autoIdPrefix = a;
      return;
    case 'user':
      // mosquitto's "user NAME" is the OS user to run as; broker-mini's "user NAME PASSWORD" an inline user.
      if (args.length === 1) {
        config.runAsUser = a;
        return;
      }
      arity(2);
      (auth().users ??= {})[a] = b;
      return;
    case 'password_file': {
      arity(1);
      const ref = readRef(a, state.options, at);
      Object.assign((auth().users ??= {}), parsePasswordFile(ref.text, ref.path));
      return;
    }
    case 'acl_file': {
      arity(1);
      const ref = readRef(a, state.options, at);
      auth().acl.push(...parseAclFile(ref.text, ref.path));
      return;
    }
    case 'acl_user':
      arity(1);
      auth().aclUser = a === '*' ? undefined : a;
      return;
    case 'topic':
      auth().acl.push(aclRule(rest, auth().aclUser, at));
      return;
    case 'pattern':
      auth().acl.push(aclRule(rest, undefined, at));
      return;
    // --- the process: pid file, logging --------------------------------------------------------
    case 'pid_file':
      arity(1);
      config.pidFile = refPath(a, at);
      return;
    case 'log_dest': {
      if (args.length === 0) fail('MISSING_VALUE', '"log_dest" needs a destination', at);
      const log = (config.log ??= {});
      const dest = (log.dest ??= []);
      if (a === 'none') return void (log.dest = []);
      if (a === 'stdout' || a === 'stderr') return void (args.length === 1 ? dest.push({ kind: a }) : fail('INVALID_VALUE', `"log_dest ${a}" takes no more values`, at));
      if (a === 'file') {
        if (args.length !== 2) fail('MISSING_VALUE', 'expected "log_dest file PATH"', at);
        return void dest.push({ kind: 'file', path: refPath(b, at) });
      }
      if (a === 'syslog' || a === 'topic' || a === 'dlt') unsupported(`log_dest ${a}`, 'broker-mini logs to stdout, stderr or a file', at);
      return fail('INVALID_VALUE', `unknown log destination "${a}"`, at);
    }
    case 'log_type':
      arity(1);
      if (!LOG_TYPES.has(a)) fail('INVALID_VALUE', `unknown log type "${a}"`, at);
      ((config.log ??= {}).types ??= []).push(a);
      return;
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
      arity(1);
      config.persistenceLocation = refPath(a, at);
      return;
    case 'persistence_file':
      arity(1);
      config.persistenceFile = a;
      return;
    case 'persistent_client_expiration': {
      arity(1);
      const seconds = expirationSeconds(a);
      if (seconds === undefined || seconds === 0) fail('INVALID_VALUE', `expected a number and one of h d w m y (e.g. 14d), got "${a}"`, at);
      config.persistentClientExpiration = seconds;
      return;
    }
    case 'clientid_prefixes':
      arity(1);
      config.clientIdPrefixes = [a];
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
    state.block = block(args, config, at);
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
  if (BRIDGE_DIRECTIVES.has(directive)) unsupported(directive, 'bridges are not available in this build (see the Bridge section of the README)', at);
  fail('UNKNOWN_DIRECTIVE', `unknown directive "${directive}"`, at);
}

/** The listener's TLS options from its draft, checked. */
function finishTls(d: TlsDraft, l: ListenerDraft): ListenerTlsOptions | undefined {
  const where = `the listener on ${l.at.file ?? 'config'}:${l.at.line}`;
  if (d.cert === undefined && d.key === undefined) {
    if (d.ca.length > 0 || d.requireCertificate) fail('MISSING_VALUE', `${where} has cafile/require_certificate but no certfile and keyfile`, l.at);
    return undefined;
  }
  if (d.cert === undefined || d.key === undefined) fail('MISSING_VALUE', `${where} needs both certfile and keyfile`, l.at);
  if (d.requireCertificate && d.ca.length === 0) fail('MISSING_VALUE', `${where} has require_certificate true but no cafile or capath`, l.at);
  const out: ListenerTlsOptions = { cert: d.cert, key: d.key };
  if (d.ca.length > 0) out.ca = d.ca;
  if (d.crl) out.crl = d.crl;
  if (d.dhparam) out.dhparam = d.dhparam;
  const ciphers = [d.ciphers, d.tls13Ciphers].filter((c) => c !== undefined).join(':');
  if (ciphers) out.ciphers = ciphers;
  if (d.minVersion) out.minVersion = d.minVersion;
  if (d.requireCertificate) out.requireCertificate = true;
  return out;
}

/** The auth settings of a draft, without the parser's bookkeeping. */
function finishAuth(d: AuthDraft | undefined): ListenerAuth {
  const out: ListenerAuth = {};
  if (d?.allowAnonymous !== undefined) out.allowAnonymous = d.allowAnonymous;
  if (d?.users) out.users = d.users;
  if (d && d.acl.length > 0) out.acl = d.acl;
  if (d?.allowZeroLengthClientId !== undefined) out.allowZeroLengthClientId = d.allowZeroLengthClientId;
  if (d?.autoIdPrefix !== undefined) out.autoIdPrefix = d.autoIdPrefix;
  return out;
}

/** Turns the state into the config: listeners, authentication, and the startup notes. */
export function finishConfig(state: ParseState): BrokerConfig {
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
      l.auth = { allowAnonymous: false, ...finishAuth(state.auth.get(draft)) };
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
    const auth = finishAuth(state.auth.get('broker'));
    Object.assign(config, auth);
    // mosquitto 2.0: once a listener is configured, anonymous clients need allow_anonymous true.
    if (listeners.length > 0 && auth.allowAnonymous === undefined) config.allowAnonymous = false;
  }
  if (config.persistence) {
    state.notes.push(`${state.options.file ?? 'config'}: persistence true: persistence is not yet active in broker-mini; sessions and retained messages live in memory until it is`);
  }
  if (state.notes.length > 0) config.notes = state.notes;
  return config;
}
