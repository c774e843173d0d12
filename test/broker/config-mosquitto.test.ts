/**
 * mosquitto.conf as broker-mini reads it: every directive of mosquitto 2.0.11's man page is
 * honoured or refused by name (never "unknown"), Debian's stock file, include_dir order, listener
 * blocks and their TLS files, per_listener_settings, logging, and the block hook for bridges.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type BrokerConfig } from '../../src/broker-mini/config.js';
import { BLOCK_PARSERS } from '../../src/broker-mini/config-parse.js';
import { configError } from './config-error.js';

/** Files for `parseConfig`'s readFile/readDir, by absolute path. */
function files(map: Record<string, string>) {
  return {
    readFile: (p: string) => {
      const text = map[p];
      if (text === undefined) throw new Error(`ENOENT ${p}`);
      return text;
    },
    readDir: (d: string) => Object.keys(map).filter((p) => p.startsWith(`${d}/`)).map((p) => p.slice(d.length + 1)),
  };
}

/** Every directive in mosquitto 2.0.11's `man mosquitto.conf`, with a value it accepts. */
const MAN_PAGE: Array<[string, string]> = [
  ['acl_file', '/c/acl'], ['allow_anonymous', 'true'], ['allow_duplicate_messages', 'true'], ['allow_zero_length_clientid', 'true'],
  ['auth_opt_db_host', 'x'], ['auth_plugin', '/p.so'], ['auth_plugin_deny_special_chars', 'true'], ['auto_id_prefix', 'auto-'],
  ['autosave_interval', '1800'], ['autosave_on_changes', 'false'], ['check_retain_source', 'true'], ['clientid_prefixes', 'x'],
  ['connection_messages', 'true'], ['include_dir', '/c/d'], ['log_dest', 'stderr'], ['log_facility', '5'], ['log_timestamp', 'true'],
  ['log_timestamp_format', '%Y-%m-%dT%H:%M:%S'], ['log_type', 'all'], ['max_inflight_bytes', '0'], ['max_inflight_messages', '20'],
  ['max_keepalive', '65535'], ['max_packet_size', '1000'], ['max_queued_bytes', '0'], ['max_queued_messages', '1000'],
  ['memory_limit', '0'], ['message_size_limit', '0'], ['password_file', '/c/pwh'], ['per_listener_settings', 'false'],
  ['persistence', 'false'], ['persistence_file', 'mosquitto.db'], ['persistence_location', '/var/lib/m/'],
  ['persistent_client_expiration', '14d'], ['pid_file', '/run/m.pid'], ['psk_file', '/c/psk'], ['queue_qos0_messages', 'false'],
  ['retain_available', 'true'], ['set_tcp_nodelay', 'true'], ['sys_interval', '10'], ['upgrade_outgoing_qos', 'false'], ['user', 'mosquitto'],
  ['bind_address', '127.0.0.1'], ['bind_interface', 'eth0'], ['http_dir', '/www'], ['listener', '1883'], ['max_connections', '-1'],
  ['max_qos', '2'], ['max_topic_alias', '10'], ['mount_point', 'm/'], ['port', '1883'], ['protocol', 'mqtt'], ['socket_domain', 'ipv4'],
  ['use_username_as_clientid', 'false'], ['websockets_log_level', '0'], ['websockets_headers_size', '1024'], ['cafile', '/c/ca'],
  ['capath', '/c/d'], ['certfile', '/c/cert'], ['ciphers', 'HIGH'], ['ciphers_tls1.3', 'TLS_AES_128_GCM_SHA256'], ['crlfile', '/c/crl'],
  ['dhparamfile', '/c/dh'], ['keyfile', '/c/key'], ['require_certificate', 'false'], ['tls_engine', 'x'], ['tls_engine_kpass_sha1', 'x'],
  ['tls_keyform', 'pem'], ['tls_version', 'tlsv1.2'], ['use_identity_as_username', 'false'], ['use_subject_as_username', 'false'],
  ['psk_hint', 'x'], ['address', 'h:1883'], ['addresses', 'h:1883'], ['bridge_attempt_unsubscribe', 'true'], ['bridge_bind_address', '1.2.3.4'],
  ['bridge_max_packet_size', '0'], ['bridge_outgoing_retain', 'true'], ['bridge_protocol_version', 'mqttv311'], ['cleansession', 'false'],
  ['local_cleansession', 'false'], ['connection', 'b1'], ['keepalive_interval', '60'], ['idle_timeout', '60'], ['local_clientid', 'x'],
  ['local_password', 'x'], ['local_username', 'x'], ['notifications', 'true'], ['notifications_local_only', 'false'], ['notification_topic', 'x'],
  ['remote_clientid', 'x'], ['remote_password', 'x'], ['remote_username', 'x'], ['restart_timeout', '30'], ['round_robin', 'false'],
  ['start_type', 'automatic'], ['threshold', '10'], ['try_private', 'true'], ['bridge_alpn', 'x'], ['bridge_cafile', '/c/ca'],
  ['bridge_capath', '/c/d'], ['bridge_certfile', '/c/cert'], ['bridge_identity', 'x'], ['bridge_insecure', 'false'], ['bridge_keyfile', '/c/key'],
  ['bridge_psk', 'x'], ['bridge_require_ocsp', 'false'], ['bridge_tls_version', 'tlsv1.2'],
];

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const FS = files({ '/c/acl': 'topic read a/#\n', '/c/pw': 'u:p\n', '/c/pwh': 'u:$7$101$TUmBbb6hQxWozysZ$pgeTD/i6rRC7TlCNu0rqgZLOJrgY/+FIwWfIQRqWbvNMF7izPboakEOPYaBYQ2Cj2EXpIsxn0H2FMBy+ZDgLWw==\n', '/c/ca': CERT, '/c/cert': CERT, '/c/key': 'KEY', '/c/crl': 'CRL', '/c/dh': 'DH', '/c/d/x.conf': '', '/c/d/ca.pem': CERT });

describe('mosquitto.conf directives', () => {
  it.each(MAN_PAGE)('"%s" is honoured or refused by name, never unknown', (directive, value) => {
    // Certificates and keys come in pairs; the pair is completed so the single line is what is judged.
    const pair = directive === 'certfile' ? '\nkeyfile /c/key' : directive === 'keyfile' ? '\ncertfile /c/cert' : ['cafile', 'capath'].includes(directive) ? '\ncertfile /c/cert\nkeyfile /c/key' : directive === 'connection' ? '\naddress 127.0.0.1:1883\ntopic # out 0' : '';
    try {
      parseConfig(`${directive} ${value}${pair}`, { file: '/c/m.conf', ...FS });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).code).toBe('UNSUPPORTED_DIRECTIVE');
      expect((e as ConfigError).message).toMatch(new RegExp(`^/c/m\\.conf:1: "${directive.replace('.', '\\.')}.*" is not supported: \\S`));
    }
  });

  it("reads Debian's stock mosquitto.conf: pid file, persistence keys, file log, include_dir; no listener means 127.0.0.1:1883", () => {
    const text = [
      '# Place your local configuration in /etc/mosquitto/conf.d/',
      'pid_file /run/mosquitto/mosquitto.pid',
      'persistence true',
      'persistence_location /var/lib/mosquitto/',
      'log_dest file /var/log/mosquitto/mosquitto.log',
      'include_dir /etc/mosquitto/conf.d',
    ].join('\n');
    const config = parseConfig(text, { file: '/etc/mosquitto/mosquitto.conf', readDir: () => ['README'], readFile: () => '' });
    expect(config).toEqual({
      pidFile: '/run/mosquitto/mosquitto.pid',
      persistence: true,
      persistenceLocation: '/var/lib/mosquitto',
      log: { dest: [{ kind: 'file', path: '/var/log/mosquitto/mosquitto.log' }] },
    } satisfies BrokerConfig);
  });

  it('include_dir loads *.conf in mosquitto’s order (00, 01, A, a, B, b) and only from the main file', () => {
    const names = ['b.conf', 'A.conf', '01.conf', 'a.conf', 'B.conf', '00.conf', 'notes.txt'];
    const map: Record<string, string> = {};
    for (const n of names) map[`/c/d/${n}`] = `topic read order/${n}\n`;
    const config = parseConfig('include_dir d', { file: '/c/main.conf', ...files(map) });
    expect(config.acl!.map((r) => r.topic)).toEqual(['00.conf', '01.conf', 'A.conf', 'a.conf', 'B.conf', 'b.conf'].map((n) => `order/${n}`));
    const nested = configError(() => parseConfig('include_dir d', { file: '/c/main.conf', ...files({ '/c/d/x.conf': 'include_dir /c/d' }) }));
    expect(nested).toMatchObject({ code: 'INVALID_VALUE', file: '/c/d/x.conf', line: 1 });
  });

  it('listener blocks: settings follow their listener; without an address every interface; TLS files read; anonymous opt-in', () => {
    const text = ['listener 1883', 'max_connections 10', 'listener 8883 127.0.0.1', 'cafile /c/ca', 'certfile /c/cert', 'keyfile /c/key', 'require_certificate true',
      'use_identity_as_username true', 'tls_version tlsv1.3', 'ciphers HIGH', 'listener 8080', 'protocol websockets', 'mount_point ws/', 'socket_domain ipv4'].join('\n');
    expect(parseConfig(text, { file: '/c/m.conf', ...FS })).toEqual({
      allowAnonymous: false,
      listeners: [
        { port: 1883, maxConnections: 10 },
        { port: 8883, host: '127.0.0.1', useIdentityAsUsername: true, tls: { cert: CERT, key: 'KEY', ca: [CERT], requireCertificate: true, minVersion: 'TLSv1.3', ciphers: 'HIGH' } },
        { port: 8080, protocol: 'websockets', mountPoint: 'ws/', socketDomain: 'ipv4' },
      ],
    });
  });

  it('per_listener_settings: authentication belongs to each listener, anonymous off unless allowed there', () => {
    const text = ['per_listener_settings true', 'listener 1883', 'allow_anonymous true', 'listener 1884', 'password_file_plaintext true', 'password_file /c/pw', 'acl_file /c/acl', 'auto_id_prefix x-'].join('\n');
    expect(parseConfig(text, { file: '/c/m.conf', ...FS }).listeners).toEqual([
      { port: 1883, auth: { allowAnonymous: true } },
      { port: 1884, auth: { allowAnonymous: false, users: { u: 'p' }, acl: [{ topic: 'a/#', access: 'read' }], autoIdPrefix: 'x-' } },
    ]);
  });

  it('keeps every log_type line in order (they add up, see logTypesOf), and socket_domain ipv4/ipv6 per listener', () => {
    const text = ['log_type subscribe', 'log_type unsubscribe', 'log_type none', 'log_type notice', 'listener 1883', 'socket_domain ipv4', 'listener 1884 localhost', 'socket_domain ipv6'];
    const c = parseConfig(text.join('\n'), { file: '/c/m.conf' });
    expect(c.log).toEqual({ types: ['subscribe', 'unsubscribe', 'none', 'notice'] });
    expect(c.listeners).toEqual([
      { port: 1883, socketDomain: 'ipv4' },
      { port: 1884, host: 'localhost', socketDomain: 'ipv6' },
    ]);
  });

  it('says when settings before the first listener go to a default listener that is not started', () => {
    const c = parseConfig('per_listener_settings true\nallow_anonymous true\nlistener 1883', { file: '/c/m.conf' });
    expect(c.listeners).toEqual([{ port: 1883, auth: { allowAnonymous: false } }]);
    expect(c.notes).toEqual([expect.stringMatching(/^\/c\/m\.conf: settings before the first "listener" belong to the default listener/)]);
  });

  it('reads logging, persistence, expiry, limits with mosquitto’s 0 = no limit, and the OS user', () => {
    const text = ['log_dest stdout', 'log_dest file log.txt', 'log_type error', 'log_type debug', 'log_timestamp false', 'log_timestamp_format %H:%M:%S',
      'persistent_client_expiration 2h', 'max_queued_messages 0', 'max_inflight_messages 0', 'sys_interval 0', 'user mosquitto', 'max_topic_alias 5'].join('\n');
    const c = parseConfig(text, { file: '/c/m.conf' });
    expect(c).toMatchObject({
      log: { dest: [{ kind: 'stdout' }, { kind: 'file', path: '/c/log.txt' }], types: ['error', 'debug'], timestamp: false, timestampFormat: '%H:%M:%S' },
      persistentClientExpiration: 7200,
      maxQueuedMessages: 10_000_000,
      maxInflight: 65_535,
      sysInterval: 0,
      runAsUser: 'mosquitto',
    });
    expect(c.notes).toEqual(['/c/m.conf:12: max_topic_alias has no effect: topic aliases exist only in MQTT 5, which broker-mini refuses']);
  });

  it.each([
    ['listener 8883\ncertfile /c/cert', 1, 'MISSING_VALUE', /needs both certfile and keyfile/],
    ['listener 8883\ncertfile /c/cert\nkeyfile /c/key\nrequire_certificate true', 1, 'MISSING_VALUE', /no cafile or capath/],
    ['listener 1883\nper_listener_settings true', 2, 'INVALID_VALUE', /before the first listener/],
    ['listener 0 /run/m.sock', 1, 'UNSUPPORTED_DIRECTIVE', /unix socket/],
    ['tls_version tlsv1.1', 1, 'UNSUPPORTED_DIRECTIVE', /tlsv1\.1/],
    ['log_dest syslog', 1, 'UNSUPPORTED_DIRECTIVE', /stdout, stderr or a file/],
    ['queue_qos0_messages true', 1, 'UNSUPPORTED_DIRECTIVE', /MQTT-3\.1\.2-5/],
    ['persistent_client_expiration 14', 1, 'INVALID_VALUE', /h d w m y/],
    ['listener 80\nprotocol websockets\nuse_identity_as_username true', 1, 'UNSUPPORTED_DIRECTIVE', /mqtt listeners only/],
    ['remote_username x', 1, 'UNSUPPORTED_DIRECTIVE', /bridge/i],
    ['log_type verbose', 1, 'INVALID_VALUE', /unknown log type "verbose"/],
    ['log_type', 1, 'MISSING_VALUE', /log_type/],
    ['listener 1883\nsocket_domain ipx', 2, 'INVALID_VALUE', /ipv4/],
  ])('refuses %j at line %i (%s)', (text, line, code, why) => {
    const e = configError(() => parseConfig(text, { file: '/c/m.conf', ...FS }));
    expect(e).toMatchObject({ code, line, file: '/c/m.conf' });
    expect(e.message).toMatch(why);
  });

  it('hands the lines after a registered block directive (the bridge’s "connection") to its parser', () => {
    const seen: string[] = [];
    const bridge = BLOCK_PARSERS.get('connection');
    BLOCK_PARSERS.set('connection', (args) => {
      seen.push(`open ${args.join(' ')}`);
      return (directive, args2) => {
        if (directive !== 'address' && directive !== 'topic') return false;
        seen.push(`${directive} ${args2.join(' ')}`);
        return true;
      };
    });
    try {
      const c = parseConfig('connection b1\naddress h:1883\ntopic # out 1\nlistener 1883\ntopic read x/#', { file: '/c/m.conf' });
      expect(seen).toEqual(['open b1', 'address h:1883', 'topic # out 1']);
      // After the block, "topic" is an ACL line again.
      expect(c.acl).toEqual([{ topic: 'x/#', access: 'read' }]);
    } finally {
      if (bridge) BLOCK_PARSERS.set('connection', bridge);
      else BLOCK_PARSERS.delete('connection');
    }
  });
});
