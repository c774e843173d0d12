/**
 * The listener directives of mosquitto.conf: `listener` itself and the settings of the listener
 * being defined (protocol, bind scope, limits, mount point, TLS files and certificate identities).
 * TLS files are read when their line is; `finishTls` checks each listener's set at the end.
 */
import { bool, fail, int, lineArgs, readDirRef, readRef, unsupported, type BrokerConfig, type Cursor, type ParseConfigOptions } from './config-syntax.js';
import type { ListenerOptions, ListenerTlsOptions } from './listener-options.js';

/** TLS collected for one listener, files already read. */
export interface TlsDraft extends Partial<ListenerTlsOptions> {
  ca: string[];
  tls13Ciphers?: string;
}

/** A listener being defined, with the line that defined it (for errors found at the end). */
export interface ListenerDraft extends ListenerOptions {
  at: Cursor;
}

/** The part of the parse state (config-parse.ts's `ParseState`) that listener directives read and write. */
export interface ListenerParseState {
  readonly config: BrokerConfig;
  readonly options: ParseConfigOptions;
  readonly listeners: ListenerDraft[];
  current: ListenerDraft | undefined;
  /** mosquitto's default listener (`port`, `bind_address`, and listener settings before any `listener`). */
  readonly defaultListener: ListenerDraft;
  defaultUsed: boolean;
  readonly tls: Map<ListenerDraft, TlsDraft>;
}

/** The listener being defined: the last `listener`, or before any, the default listener. */
export function currentListener(state: ListenerParseState): ListenerDraft {
  return state.current ?? state.defaultListener;
}

/** Reads a listener or TLS directive into `state`; false when `directive` is not one. */
export function readListenerDirective(state: ListenerParseState, directive: string, args: string[], at: Cursor): boolean {
  const [a, b] = args;
  const { arity, value, oneOf } = lineArgs(directive, args, at);
  const tls = (): TlsDraft => {
    const l = currentListener(state);
    let draft = state.tls.get(l);
    if (!draft) state.tls.set(l, (draft = { ca: [] }));
    return draft;
  };
  const file = (): string => readRef(value(), state.options, at).text;
  switch (directive) {
    // --- listeners ---------------------------------------------------------------------------
    case 'port':
      arity(1);
      state.defaultListener.port = int(a, at, 0, 65_535);
      state.defaultUsed = true;
      return true;
    case 'bind_address':
      state.defaultListener.host = value();
      state.defaultUsed = true;
      return true;
    case 'listener': {
      if (args.length < 1 || args.length > 2) fail(args.length < 1 ? 'MISSING_VALUE' : 'INVALID_VALUE', 'expected "listener PORT [ADDRESS]"', at);
      const port = int(a, at, 0, 65_535);
      if (b !== undefined && b.includes('/')) unsupported('listener', 'unix socket listeners are not supported; give a port and an IP address', at);
      const draft: ListenerDraft = b === undefined ? { port, at } : { port, host: b, at };
      state.listeners.push(draft);
      state.current = draft;
      return true;
    }
    case 'protocol':
      currentListener(state).protocol = oneOf(['mqtt', 'websockets']);
      return true;
    case 'socket_domain':
      currentListener(state).socketDomain = oneOf(['ipv4', 'ipv6']);
      return true;
    case 'mount_point': {
      const point = value();
      if (/[+#]/.test(point)) fail('INVALID_VALUE', 'a mount point cannot contain + or #', at);
      currentListener(state).mountPoint = point;
      return true;
    }
    case 'max_qos':
      arity(1);
      currentListener(state).maxQos = int(a, at, 0, 2) as 0 | 1 | 2; // int() checked 0..2
      return true;
    case 'max_connections': {
      arity(1);
      // mosquitto: -1 means no limit. Before any listener it bounds the whole broker.
      const n = a === '-1' ? undefined : int(a, at, 1, 10_000_000);
      if (state.current) {
        if (n === undefined) delete state.current.maxConnections;
        else state.current.maxConnections = n;
      }
      else state.config.maxConnections = n ?? 10_000_000;
      return true;
    }
    case 'use_identity_as_username':
      arity(1);
      currentListener(state).useIdentityAsUsername = bool(a, at);
      return true;
    case 'use_subject_as_username':
      arity(1);
      currentListener(state).useSubjectAsUsername = bool(a, at);
      return true;
    case 'use_username_as_clientid':
      arity(1);
      currentListener(state).useUsernameAsClientId = bool(a, at);
      return true;
    // --- TLS ---------------------------------------------------------------------------------
    case 'certfile':
      tls().cert = file();
      return true;
    case 'keyfile':
      tls().key = file();
      return true;
    case 'cafile':
      tls().ca.push(file());
      return true;
    case 'capath': {
      const dir = readDirRef(value(), state.options, at);
      for (const name of dir.names.sort()) {
        const text = readRef(`${dir.path}/${name}`, state.options, at).text;
        if (text.includes('-----BEGIN CERTIFICATE-----')) tls().ca.push(text);
      }
      return true;
    }
    case 'crlfile':
      tls().crl = file();
      return true;
    case 'dhparamfile':
      tls().dhparam = file();
      return true;
    case 'ciphers':
      tls().ciphers = value();
      return true;
    case 'ciphers_tls1.3':
      tls().tls13Ciphers = value();
      return true;
    case 'tls_version': {
      const v = oneOf(['tlsv1.3', 'tlsv1.2', 'tlsv1.1', 'tlsv1']);
      if (v === 'tlsv1.1' || v === 'tlsv1') unsupported('tls_version', `${v} is refused by Node's TLS; use tlsv1.2 or tlsv1.3`, at);
      tls().minVersion = v === 'tlsv1.3' ? 'TLSv1.3' : 'TLSv1.2';
      return true;
    }
    case 'tls_keyform':
      if (oneOf(['pem', 'engine']) === 'engine') unsupported('tls_keyform engine', 'OpenSSL engines are not supported; use PEM files', at);
      return true;
    case 'require_certificate':
      arity(1);
      tls().requireCertificate = bool(a, at);
      return true;
    default:
      return false;
  }
}

/** The listener's TLS options from its draft, checked. */
export function finishTls(d: TlsDraft, l: ListenerDraft): ListenerTlsOptions | undefined {
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
