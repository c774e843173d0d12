/**
 * Every mosquitto 2.0.11 `mosquitto.conf` directive broker-mini does not honour, and why: the
 * ones it refuses (the config fails with one line naming the file, the line and the reason), the
 * ones it accepts with no effect (said on startup, never silently), and the bridge directives,
 * which belong to the bridge module (`BLOCK_PARSERS.connection` in config.ts).
 * README "mosquitto.conf directives" lists the whole table.
 */
import type { LogType } from './options.js';

/** Directives refused, with the reason given to the user. */
export const REFUSED = new Map<string, string>([
  ['auth_plugin', 'broker-mini loads no plugins; use password_file/acl_file or the authenticate hook'],
  ['plugin', 'broker-mini loads no plugins; use password_file/acl_file or the authenticate hook'],
  ['bind_interface', 'binding to a network device is not supported; give the interface address to "listener PORT ADDRESS"'],
  ['http_dir', 'broker-mini serves no HTTP files on its WebSocket listeners'],
  ['log_facility', 'syslog is not supported (log_dest stdout, stderr or file)'],
  ['memory_limit', 'no heap limit; bound memory with max_queued_bytes, max_retained_bytes and max_packet_size'],
  ['psk_file', 'TLS-PSK is not supported; use certificates (cafile, certfile, keyfile)'],
  ['psk_hint', 'TLS-PSK is not supported; use certificates (cafile, certfile, keyfile)'],
  ['tls_engine', 'OpenSSL engines are not supported; use PEM files'],
  ['tls_engine_kpass_sha1', 'OpenSSL engines are not supported; use PEM files'],
  ['dynamic_security', 'the dynamic-security plugin is not supported'],
]);

/** Directives accepted without effect, with the note printed on startup. */
export const NO_EFFECT = new Map<string, string>([
  ['max_topic_alias', 'topic aliases exist only in MQTT 5, which broker-mini refuses'],
  ['websockets_log_level', 'libwebsockets logging: broker-mini uses the ws package'],
  ['websockets_headers_size', 'libwebsockets buffer size: broker-mini uses the ws package'],
  ['auth_plugin_deny_special_chars', 'applies to auth plugins, which broker-mini does not load'],
  ['allow_duplicate_messages', 'broker-mini sends each client one copy of a message whatever its overlapping subscriptions [MQTT-3.3.5-1]'],
  ['autosave_on_changes', 'broker-mini commits every change before acknowledging it (persistence true), so there is no change-count trigger'],
]);

/** mosquitto's bridge directives (valid after `connection NAME`). */
export const BRIDGE_DIRECTIVES = new Set([
  'connection', 'address', 'addresses', 'bridge_alpn', 'bridge_attempt_unsubscribe', 'bridge_bind_address', 'bridge_cafile',
  'bridge_capath', 'bridge_certfile', 'bridge_identity', 'bridge_insecure', 'bridge_keyfile', 'bridge_max_packet_size',
  'bridge_outgoing_retain', 'bridge_protocol_version', 'bridge_psk', 'bridge_require_ocsp', 'bridge_tls_version', 'cleansession',
  'local_cleansession', 'keepalive_interval', 'idle_timeout', 'local_clientid', 'local_password', 'local_username', 'notifications',
  'notifications_local_only', 'notification_topic', 'remote_clientid', 'remote_password', 'remote_username', 'restart_timeout',
  'round_robin', 'start_type', 'threshold', 'try_private',
]);

/** Directives that configure the listener being defined (or, before any, the default listener). */
export const LISTENER_DIRECTIVES = new Set([
  'protocol', 'certfile', 'keyfile', 'cafile', 'capath', 'crlfile', 'dhparamfile', 'ciphers', 'ciphers_tls1.3', 'tls_version',
  'tls_keyform', 'require_certificate', 'use_identity_as_username', 'use_subject_as_username', 'use_username_as_clientid',
  'socket_domain', 'mount_point', 'max_qos',
]);

/** Directives that apply per listener when `per_listener_settings true`, broker-wide otherwise. */
export const AUTH_DIRECTIVES = new Set(['allow_anonymous', 'password_file', 'acl_file', 'allow_zero_length_clientid', 'auto_id_prefix', 'user', 'topic', 'pattern', 'acl_user']);

/**
 * mosquitto's include_dir order: case-sensitive, but each letter's upper case just before its
 * lower case (00.conf, 01.conf, A.conf, a.conf, B.conf, b.conf).
 */
export function includeOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charAt(i);
    const cb = b.charAt(i);
    if (ca === cb) continue;
    const la = ca.toLowerCase();
    const lb = cb.toLowerCase();
    if (la !== lb) return la < lb ? -1 : 1;
    return ca < cb ? -1 : 1; // same letter: upper case ('A' < 'a') first
  }
  return a.length - b.length;
}

/** mosquitto's persistent_client_expiration: an integer and one of h d w m y → seconds. */
export function expirationSeconds(value: string): number | undefined {
  const m = /^(\d+)([hdwmy])$/.exec(value);
  if (!m) return undefined;
  const unit = { h: 3600, d: 86_400, w: 604_800, m: 2_592_000, y: 31_536_000 }[m[2] as 'h']; // the pattern's unit group is one of h d w m y
  return Number(m[1]) * unit;
}

/** Every type a line can carry, in mosquitto's order. */
const ALL_LOG_TYPES: readonly LogType[] = ['debug', 'error', 'warning', 'notice', 'information', 'subscribe', 'unsubscribe', 'websockets'];

/**
 * The log types the `log_type` lines select, as mosquitto 2.0.11 reads them: the lines add up,
 * `all` adds every type, `none` drops those before it; no line at all means mosquitto's default,
 * error, warning, notice and information.
 */
export function logTypesOf(lines: readonly string[] | undefined): Set<LogType> {
  if (lines === undefined || lines.length === 0) return new Set(['error', 'warning', 'notice', 'information']);
  const types = new Set<LogType>();
  for (const t of lines) {
    if (t === 'none') types.clear();
    else if (t === 'all') for (const a of ALL_LOG_TYPES) types.add(a);
    else types.add(t as LogType); // checked against the known log types above
  }
  return types;
}

/** A log timestamp with the strftime conversions mosquitto users write (%Y %m %d %H %M %S %z %s %%). */
export function formatTimestamp(format: string, date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const z = `${offset >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
  const parts: Record<string, string> = {
    Y: String(date.getFullYear()),
    m: pad(date.getMonth() + 1),
    d: pad(date.getDate()),
    H: pad(date.getHours()),
    M: pad(date.getMinutes()),
    S: pad(date.getSeconds()),
    z,
    s: String(Math.floor(date.getTime() / 1000)),
    '%': '%',
  };
  return format.replace(/%(.)/g, (all, c: string) => parts[c] ?? all);
}

/** The strftime conversions `formatTimestamp` knows. */
export const TIMESTAMP_CONVERSIONS = /^(?:[^%]|%[YmdHMSzs%])*$/;
