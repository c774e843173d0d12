import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseAclFile, parseConfig, parsePasswordFile } from '../../src/broker-mini/config.js';
import { cleanupTempDirs, makeTempDir } from '../helpers/peers.js';
import { configError } from './config-error.js';

afterAll(() => cleanupTempDirs());

describe('parseConfig', () => {
  it('reads every directive into BrokerOptions', () => {
    const text = [
      '# a comment',
      '',
      'port 1884',
      'bind_address 0.0.0.0',
      'allow_anonymous false',
      'user alice secret',
      'max_queued_messages 50',
      'max_inflight_messages 10',
      'max_packet_size 4096',
      'connect_timeout 3',
      'log_packets true',
      'ws_port 8080',
    ].join('\n');
    expect(parseConfig(text)).toEqual({
      listeners: [{ port: 1884, host: '0.0.0.0' }],
      allowAnonymous: false,
      users: { alice: 'secret' },
      maxQueuedMessages: 50,
      maxInflight: 10,
      maxPacketSize: 4096,
      connectTimeout: 3000,
      logPackets: true,
      wsPort: 8080,
    });
  });

  it('accepts mosquitto’s "listener PORT ADDRESS" form; a listener makes anonymous clients opt-in, as in mosquitto 2.0', () => {
    expect(parseConfig('listener 0 127.0.0.1\r\n')).toEqual({ listeners: [{ port: 0, host: '127.0.0.1' }], allowAnonymous: false });
  });

  it('reads mosquitto’s accept_protocol_versions (3 = MQTT 3.1, 4 = MQTT 3.1.1) in its spellings', () => {
    expect(parseConfig('accept_protocol_versions 3,4\n')).toEqual({ protocolVersions: [3, 4] });
    expect(parseConfig('accept_protocol_versions 4\n')).toEqual({ protocolVersions: [4] });
    expect(parseConfig('accept_protocol_versions 3, 4\n')).toEqual({ protocolVersions: [3, 4] });
    expect(() => parseConfig('accept_protocol_versions 3,5\n')).toThrow(ConfigError);
  });

  it('reads the memory bounds: per-client queued bytes, retained messages and bytes, offline sessions', () => {
    const text = ['max_queued_bytes 1048576', 'max_retained_messages 500', 'max_retained_bytes 2097152', 'max_offline_sessions 20', 'max_connections 300'].join('\n');
    expect(parseConfig(text)).toEqual({ maxQueuedBytes: 1_048_576, maxRetainedMessages: 500, maxRetainedBytes: 2_097_152, maxOfflineSessions: 20, maxConnections: 300 });
  });

  it('reads inline ACL lines: topic [access] filter, acl_user sections, patterns', () => {
    const text = ['topic read public/#', 'acl_user alice', 'topic alice/#', 'topic deny alice/secret', 'acl_user *', 'pattern write clients/%c/status', 'topic with space/x'].join('\n');
    expect(parseConfig(text).acl).toEqual([
      { topic: 'public/#', access: 'read' },
      { user: 'alice', topic: 'alice/#', access: 'readwrite' },
      { user: 'alice', topic: 'alice/secret', access: 'deny' },
      { topic: 'clients/%c/status', access: 'write' },
      { topic: 'with space/x', access: 'readwrite' },
    ]);
  });

  it('reads password and ACL files relative to the config file', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'passwd'), '# users\nalice:pa:ss\nbob:\n');
    writeFileSync(join(dir, 'acl'), 'topic read news/#\nuser bob\ntopic write bob/#\npattern read users/%u/#\n');
    writeFileSync(join(dir, 'broker.conf'), 'password_file passwd\nacl_file acl\nuser carol c\npassword_file_plaintext true\n');
    const config = await loadConfig(join(dir, 'broker.conf'));
    expect(config.users).toEqual({ alice: 'pa:ss', bob: '', carol: 'c' });
    expect(config.acl).toEqual([
      { topic: 'news/#', access: 'read' },
      { user: 'bob', topic: 'bob/#', access: 'write' },
      { topic: 'users/%u/#', access: 'read' },
    ]);
  });

  it.each([
    ['prot 1883', 1, 'UNKNOWN_DIRECTIVE'],
    ['# ok\nport', 2, 'MISSING_VALUE'],
    ['port 70000', 1, 'INVALID_VALUE'],
    ['port 1883 1884', 1, 'INVALID_VALUE'],
    ['\n\nallow_anonymous yes', 3, 'INVALID_VALUE'],
    ['max_inflight 0', 1, 'INVALID_VALUE'],
    ['max_queued_bytes -1', 1, 'INVALID_VALUE'],
    ['max_offline_sessions', 1, 'MISSING_VALUE'],
    ['max_connections 0', 1, 'INVALID_VALUE'],
    ['connect_timeout -1', 1, 'INVALID_VALUE'],
    ['user alice secret more', 1, 'INVALID_VALUE'],
    ['topic read a/#/b', 1, 'INVALID_VALUE'],
    ['password_file /nonexistent/mqtt311/passwd', 1, 'FILE_ERROR'],
  ])('refuses %j, naming line %i (%s)', (text, line, code) => {
    const e = configError(() => parseConfig(text, { file: 'b.conf' }));
    expect(e.code).toBe(code);
    expect(e.line).toBe(line);
    expect(e.file).toBe('b.conf');
    expect(e.message.startsWith(`b.conf:${line}:`)).toBe(true);
  });

  it('names the referenced file and its line for errors inside it', () => {
    const e = configError(() => parseConfig('password_file p', { file: '/etc/x/b.conf', readFile: () => '# users\nbroken\n' }));
    expect(e).toMatchObject({ code: 'INVALID_VALUE', line: 2, file: '/etc/x/p' });
    expect(configError(() => parseAclFile('user a\nbogus x', 'acl'))).toMatchObject({ code: 'UNKNOWN_DIRECTIVE', line: 2, file: 'acl' });
    expect(parsePasswordFile('a:b', undefined, true)).toEqual({ a: 'b' });
  });

  it('reports a missing config file as FILE_ERROR', async () => {
    await expect(loadConfig('/nonexistent/mqtt311.conf')).rejects.toMatchObject({ code: 'FILE_ERROR' });
  });
});
