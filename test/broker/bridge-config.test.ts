/**
 * Bridge configuration: mosquitto.conf's bridge directives, the topic and prefix rules of
 * mosquitto's bridge__add_topic (the table in `man mosquitto.conf`), defaults, and the protocol
 * bytes of the bridge's CONNECT.
 */
import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { ConfigError, parseConfig } from '../../src/broker-mini/index.js';
import { parseAddress, resolveBridge, resolveBridgeTopic } from '../../src/broker-mini/bridge-config.js';
import { bridgeProtocol } from '../../src/broker-mini/bridge-transport.js';

function configError(text: string): ConfigError {
  try {
    parseConfig(text, { file: '/etc/b.conf', readFile: () => 'PEM' });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('bridge directives', () => {
  it('reads a connection section after the general directives', () => {
    const config = parseConfig(
      [
        'listener 1884 127.0.0.1',
        'max_queued_messages 50',
        '',
        'connection cloud',
        'address 10.0.0.5:8883 backup.example',
        'topic sensors/# out 1 lab/ site7/',
        'topic cmd/# in 2 "" site7/',
        'topic # both',
        'remote_clientid lab-gw',
        'remote_username gw',
        'remote_password secret',
        'cleansession true',
        'keepalive_interval 30',
        'restart_timeout 2 20',
        'bridge_protocol_version mqttv31',
        'try_private false',
        'notifications_local_only true',
        'notification_topic lab/bridge/state',
        'round_robin true',
        'bridge_cafile ca.crt',
        'bridge_insecure true',
        'connection second',
        'addresses 127.0.0.1',
        'clientid two',
        'topic a/b',
      ].join('\n'),
      { file: '/etc/mqtt/b.conf', readFile: (p) => `PEM of ${p}` },
    );
    expect(config).toMatchObject({ listeners: [{ port: 1884, host: '127.0.0.1' }], maxQueuedMessages: 50 });
    expect(config.bridges).toEqual([
      {
        name: 'cloud',
        addresses: ['10.0.0.5:8883', 'backup.example'],
        topics: [
          { pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'lab/', remotePrefix: 'site7/' },
          { pattern: 'cmd/#', direction: 'in', qos: 2, localPrefix: '', remotePrefix: 'site7/' },
          { pattern: '#', direction: 'both', qos: 0 },
        ],
        remoteClientId: 'lab-gw',
        remoteUsername: 'gw',
        remotePassword: 'secret',
        cleanSession: true,
        keepAlive: 30,
        restartTimeout: [2, 20],
        protocolVersion: 'mqttv31',
        tryPrivate: false,
        notificationsLocalOnly: true,
        notificationTopic: 'lab/bridge/state',
        roundRobin: true,
        tls: { ca: 'PEM of /etc/mqtt/ca.crt', insecure: true },
      },
      { name: 'second', addresses: ['127.0.0.1'], remoteClientId: 'two', topics: [{ pattern: 'a/b', direction: 'out', qos: 0 }] },
    ]);
  });

  it('fills in mosquitto defaults', () => {
    const b = resolveBridge({ name: 'up', addresses: ['h'], topics: [{ pattern: 'x/#' }] });
    expect(b).toMatchObject({
      addresses: [{ host: 'h', port: 1883 }],
      remoteClientId: `${hostname()}.up`,
      notificationTopic: `$SYS/broker/connection/${hostname()}.up/state`,
      cleanSession: false,
      keepAlive: 60,
      restart: { base: 5000, cap: 30_000, constant: false },
      protocolVersion: 'mqttv311',
      tryPrivate: true,
      notifications: true,
      roundRobin: false,
      attemptUnsubscribe: true,
      outgoingRetain: true,
    });
    expect(b.topics).toEqual([{ direction: 'out', qos: 0, localPrefix: '', remotePrefix: '', localTopic: 'x/#', remoteTopic: 'x/#' }]);
  });

  it.each([
    ['an unknown directive in a bridge', 'connection a\naddress h\ntopic t\nthreshold 10', 'UNKNOWN_DIRECTIVE', 4],
    ['a bridge without an address', 'connection a\ntopic t', 'INVALID_VALUE', 1],
    ['a bridge without a topic', '# c\nconnection a\naddress h', 'INVALID_VALUE', 2],
    ['a wildcard in a prefix', 'connection a\naddress h\ntopic t out 0 a/+/ r/', 'INVALID_VALUE', 3],
    ['a bad direction', 'connection a\naddress h\ntopic t sideways', 'INVALID_VALUE', 3],
    ['QoS 3', 'connection a\naddress h\ntopic t out 3', 'INVALID_VALUE', 3],
    ['one prefix without the other', 'connection a\naddress h\ntopic t out 1 l/', 'INVALID_VALUE', 3],
    ['mqttv50', 'connection a\naddress h\ntopic t\nbridge_protocol_version mqttv50', 'INVALID_VALUE', 1],
    ['a password without a user name', 'connection a\naddress h\ntopic t\nremote_password p', 'INVALID_VALUE', 1],
    ['keepalive_interval under 5', 'connection a\naddress h\ntopic t\nkeepalive_interval 4', 'INVALID_VALUE', 1],
    ['a cap below the base', 'connection a\naddress h\ntopic t\nrestart_timeout 10 5', 'INVALID_VALUE', 1],
    ['a bad address', 'connection a\naddress h:99999\ntopic t', 'INVALID_VALUE', 1],
    ['a non-boolean', 'connection a\naddress h\ntopic t\ntry_private yes', 'INVALID_VALUE', 4],
  ])('refuses %s, naming the line', (_what, text, code, line) => {
    const e = configError(text);
    expect(e.code).toBe(code);
    expect(e.line).toBe(line);
    expect(e.file).toBe('/etc/b.conf');
  });

  it('reads a general directive after a bridge as mosquitto does: it ends the bridge and applies to the broker', () => {
    const config = parseConfig('connection a\naddress h\ntopic t\nmax_queued_messages 5\ntopic read x/#', { file: '/etc/b.conf' });
    expect(config.maxQueuedMessages).toBe(5);
    expect(config.bridges?.map((b) => [b.name, b.topics.length])).toEqual([['a', 1]]);
    expect(config.acl).toEqual([{ topic: 'x/#', access: 'read' }]);
  });

  it('parses host, host:port and [IPv6]:port addresses', () => {
    expect(parseAddress('example.org')).toEqual({ host: 'example.org', port: 1883 });
    expect(parseAddress('127.0.0.1:1884')).toEqual({ host: '127.0.0.1', port: 1884 });
    expect(parseAddress('[::1]:1885')).toEqual({ host: '::1', port: 1885 });
    expect(() => parseAddress('a:b:c')).toThrow(RangeError);
  });
});

describe('topic remapping rules (the table of man mosquitto.conf)', () => {
  it.each([
    ['pattern', 'L/', 'R/', 'L/pattern', 'R/pattern'],
    ['pattern', 'L/', '', 'L/pattern', 'pattern'],
    ['pattern', '', 'R/', 'pattern', 'R/pattern'],
    ['pattern', '', '', 'pattern', 'pattern'],
    ['', 'local', 'remote', 'local', 'remote'],
  ])('pattern "%s", local prefix "%s", remote prefix "%s": local %s, remote %s', (pattern, localPrefix, remotePrefix, localTopic, remoteTopic) => {
    expect(resolveBridgeTopic({ pattern, localPrefix, remotePrefix })).toMatchObject({ localTopic, remoteTopic });
  });

  it.each([
    ['', 'local', ''],
    ['', '', 'remote'],
    ['', '', ''],
    ['a/#', 'l/#/', ''],
    ['#', 'l', ''], // "l#" is not a valid filter
    ['a/+b', '', ''],
  ])('refuses pattern "%s" with local prefix "%s" and remote prefix "%s"', (pattern, localPrefix, remotePrefix) => {
    expect(() => resolveBridgeTopic({ pattern, localPrefix, remotePrefix })).toThrow(RangeError);
  });
});

describe('the protocol of the bridge CONNECT', () => {
  it('sets bit 7 of the protocol level for try_private, as mosquitto does', () => {
    expect(bridgeProtocol('mqttv311', true)).toEqual({ protocolName: 'MQTT', protocolLevel: 0x84 });
    expect(bridgeProtocol('mqttv311', false)).toEqual({ protocolName: 'MQTT', protocolLevel: 4 });
    expect(bridgeProtocol('mqttv31', true)).toEqual({ protocolName: 'MQIsdp', protocolLevel: 0x83 });
    expect(bridgeProtocol('mqttv31', false)).toEqual({ protocolName: 'MQIsdp', protocolLevel: 3 });
  });
});
