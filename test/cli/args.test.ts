/**
 * The CLI's pure parts, in process: the option parser, `-L` URLs, the shared connection flags,
 * hex input, the `-d` lines, message lines, and how errors become one line and an exit code.
 */
import { describe, expect, it } from 'vitest';
import { parseArgs, type OptionSpec } from '../../src/cli/args.js';
import { CONNECTION_OPTIONS, connectionSettings, parseBrokerUrl } from '../../src/cli/connection-flags.js';
import { DebugPrinter } from '../../src/cli/debug.js';
import { parseHex } from '../../src/cli/decode.js';
import { CliError, EXIT_TIMEOUT, toCliError } from '../../src/cli/errors.js';
import { formatMessage } from '../../src/cli/sub.js';
import { ConnackError, ClientError } from '../../src/client/index.js';
import { MqttError } from '../../src/codec/index.js';

const SPECS: OptionSpec[] = [
  { name: 'topic', kind: 'list', short: 't', long: 'topic' },
  { name: 'message', kind: 'value', short: 'm' },
  { name: 'retain', kind: 'flag', short: 'r' },
  { name: 'will-topic', kind: 'value', long: 'will-topic' },
];

/** Runs `fn` and returns what it threw. */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('parseArgs', () => {
  it('reads flags, values, repeated lists, --long=value and positionals', () => {
    const a = parseArgs(['-t', 'a', '-r', '--topic=b', '-m', 'x', '--will-topic', 'w', 'pos', '--', '-m'], SPECS, 'mqtt311 x');
    expect(a.values('topic')).toEqual(['a', 'b']);
    expect(a.value('message')).toBe('x');
    expect(a.has('retain')).toBe(true);
    expect(a.value('will-topic')).toBe('w');
    expect(a.positionals).toEqual(['pos', '-m']);
  });

  it('takes the next word as the value even when it starts with a dash', () => {
    expect(parseArgs(['-m', '-5'], SPECS, 'mqtt311 x').value('message')).toBe('-5');
  });

  it('keeps the last of a repeated single value', () => {
    expect(parseArgs(['-m', 'a', '-m', 'b'], SPECS, 'mqtt311 x').value('message')).toBe('b');
  });

  it('refuses unknown options and missing values as USAGE errors that point at --help', async () => {
    const unknown = await thrown(() => parseArgs(['-x'], SPECS, 'mqtt311 pub'));
    expect(unknown).toMatchObject({ code: 'USAGE', exitCode: 1, message: 'no such option -x (see mqtt311 pub --help)' });
    expect(await thrown(() => parseArgs(['--nope'], SPECS, 'mqtt311 pub'))).toMatchObject({ code: 'USAGE' });
    expect(await thrown(() => parseArgs(['-m'], SPECS, 'mqtt311 pub'))).toMatchObject({ code: 'USAGE', message: '-m needs a value (see mqtt311 pub --help)' });
    expect(await thrown(() => parseArgs(['-rm', 'x'], SPECS, 'mqtt311 pub'))).toMatchObject({ code: 'USAGE' });
  });
});

describe('-L URLs', () => {
  it('splits mqtt://user:password@host:port/topic, keeping wildcards in the topic', () => {
    expect(parseBrokerUrl('mqtt://al%40ce:p%3Ass@127.0.0.1:1884/a/+/#', 'c')).toEqual({
      tls: false,
      host: '127.0.0.1',
      port: 1884,
      username: 'al@ce',
      password: 'p:ss',
      topic: 'a/+/#',
    });
    expect(parseBrokerUrl('mqtts://[::1]/t', 'c')).toEqual({ tls: true, host: '::1', topic: 't' });
  });

  it('refuses other schemes and URLs without a topic part', async () => {
    expect(await thrown(() => parseBrokerUrl('http://h/t', 'c'))).toMatchObject({ code: 'USAGE' });
    expect(await thrown(() => parseBrokerUrl('mqtt://h', 'c'))).toMatchObject({ code: 'USAGE' });
    expect(await thrown(() => parseBrokerUrl('mqtt://h:99999/t', 'c'))).toMatchObject({ code: 'USAGE' });
  });
});

describe('connection flags', () => {
  const settings = (argv: string[]) => connectionSettings(parseArgs(argv, CONNECTION_OPTIONS, 'mqtt311 pub'), 'mqtt311 pub');

  it('has mosquitto defaults: port 1883, keep alive 60, clean session, QoS 0, an empty id (the server assigns one)', async () => {
    const s = await settings([]);
    expect(s).toMatchObject({ host: 'localhost', port: 1883, tls: false, keepAlive: 60, cleanSession: true, qos: 0, rejectUnauthorized: true, debug: false, protocolVersion: 4 });
    expect(s.clientId).toBe('');
    expect((await settings(['-I', 'pre-'])).clientId).toBe(`pre-${process.pid}`);
    expect(await thrown(() => settings(['-I', 'pre-', '-i', 'x']))).toMatchObject({ code: 'USAGE' });
  });

  it('maps -V mqttv31/31 to MQTT 3.1 with a generated id, and refuses -V mqttv5 as MQTT 5', async () => {
    for (const v of ['mqttv31', '31']) expect(await settings(['-V', v])).toMatchObject({ protocolVersion: 3, clientId: expect.stringMatching(/^mosq-[A-Za-z0-9]{18}$/) });
    for (const v of ['mqttv311', '311']) expect(await settings(['-V', v])).toMatchObject({ protocolVersion: 4 });
    expect(await thrown(() => settings(['-V', 'mqttv5']))).toMatchObject({ code: 'USAGE', message: expect.stringContaining('MQTT 5 is not supported') });
  });

  it('refuses MQTT 5 flags (-x, -D) and the unsupported ones with one line saying why', async () => {
    expect(await thrown(() => settings(['-x', '60']))).toMatchObject({ code: 'USAGE', message: expect.stringContaining('-x is not supported: MQTT 5 property, not in 3.1.1') });
    expect(await thrown(() => settings(['-D', 'connect', 'user-property']))).toMatchObject({ message: expect.stringContaining('MQTT 5 property, not in 3.1.1') });
    expect(await thrown(() => settings(['--proxy', 'socks5h://x']))).toMatchObject({ message: expect.stringContaining('SOCKS5') });
  });

  it('reads the TLS flags: --tls-version, --ciphers, --tls-alpn, --psk with its identity, --tls-use-os-certs', async () => {
    const s = await settings(['--tls-version', 'tlsv1.2', '--ciphers', 'PSK', '--tls-alpn', 'mqtt', '--psk', '0a0B', '--psk-identity', 'me', '--tls-use-os-certs']);
    expect(s).toMatchObject({ tls: true, port: 8883, tlsVersion: 'TLSv1.2', ciphers: 'PSK', alpn: 'mqtt', psk: { key: Buffer.from([10, 11]), identity: 'me' } });
    expect(s.ca?.length).toBeGreaterThan(10);
    expect(await thrown(() => settings(['--psk', 'zz', '--psk-identity', 'me']))).toMatchObject({ code: 'USAGE' });
    expect(await thrown(() => settings(['--psk', '00']))).toMatchObject({ code: 'USAGE' });
    expect(await thrown(() => settings(['--tls-version', 'tlsv1']))).toMatchObject({ code: 'USAGE' });
  });

  it('[MQTT-1.5.3-1] refuses a text flag whose bytes are not UTF-8, and keeps a payload flag\'s bytes exactly', () => {
    const bad = Buffer.from([0x61, 0xff, 0x62]);
    const argv = ['-t', bad.toString(), '-m', bad.toString()];
    const specs = [...CONNECTION_OPTIONS, { name: 'topic', kind: 'value', short: 't' } as const, { name: 'message', kind: 'value', short: 'm', bytes: true } as const];
    expect(() => parseArgs(argv, specs, 'c', [Buffer.from('-t'), bad, Buffer.from('-m'), bad])).toThrow(/-t is not valid UTF-8/);
    const ok = parseArgs(['-t', 'a', '-m', bad.toString()], specs, 'c', [Buffer.from('-t'), Buffer.from('a'), Buffer.from('-m'), bad]);
    expect(ok.bytes('message')).toEqual(bad);
    expect(ok.hasRaw('message')).toBe(true);
  });

  it('lets explicit flags win over -L, and turns TLS on for mqtts:// with port 8883', async () => {
    const s = await settings(['-L', 'mqtts://u:p@example.test/t', '-u', 'other', '--insecure']);
    expect(s).toMatchObject({ tls: true, port: 8883, host: 'example.test', username: 'other', password: 'p', urlTopic: 't', rejectUnauthorized: false });
  });

  it('[MQTT-3.1.3-7] refuses -c (persistent session) without a client id, and with an empty one', async () => {
    expect(await thrown(() => settings(['-c']))).toMatchObject({ code: 'USAGE' });
    expect(await thrown(() => settings(['-c', '-i', '']))).toMatchObject({ code: 'USAGE' });
    expect(await settings(['-c', '-i', 'me'])).toMatchObject({ cleanSession: false, clientId: 'me' });
    // An empty id is fine with a clean session: the server assigns one [MQTT-3.1.3-6].
    expect(await settings(['-i', ''])).toMatchObject({ cleanSession: true, clientId: '' });
  });

  it('[MQTT-3.1.2-22] refuses a password without a user name', async () => {
    expect(await thrown(() => settings(['-P', 'secret']))).toMatchObject({ code: 'USAGE' });
  });

  it('refuses out-of-range numbers, other protocol versions, and half-given TLS or will options', async () => {
    for (const argv of [['-q', '3'], ['-k', '70000'], ['-p', '0'], ['-p', 'x'], ['-V', 'mqttv5'], ['--cert', 'c.pem'], ['--will-qos', '1'], ['--will-topic', 'w', '--will-qos', '3']]) {
      expect(await thrown(() => settings(argv)), argv.join(' ')).toMatchObject({ code: 'USAGE', exitCode: 1 });
    }
    expect(await settings(['-V', 'mqttv311'])).toMatchObject({ port: 1883 });
  });

  it('[MQTT-4.7.1-1] refuses a wildcard in the will topic, naming the rule', async () => {
    const err = await thrown(() => settings(['--will-topic', 'a/#']));
    expect(err).toMatchObject({ code: 'USAGE' });
    expect((err as Error).message).toContain('[MQTT-4.7.1-1]');
  });

  it('builds the will from --will-topic, --will-payload, --will-qos and --will-retain', async () => {
    const s = await settings(['--will-topic', 'w', '--will-payload', 'bye', '--will-qos', '2', '--will-retain']);
    expect(s.will).toEqual({ topic: 'w', payload: Buffer.from('bye'), qos: 2, retain: true });
  });

  it('reports an unreadable --cafile as an IO error', async () => {
    expect(await thrown(() => settings(['--cafile', '/nonexistent/ca.pem']))).toMatchObject({ code: 'IO', exitCode: 1 });
  });
});

describe('decode hex input', () => {
  it('accepts spaces, colons, commas, 0x and \\x prefixes, and one-digit bytes between separators', () => {
    expect(Array.from(parseHex('30 07:00,03'))).toEqual([0x30, 7, 0, 3]);
    expect(Array.from(parseHex('0x1 0x2 \\xff'))).toEqual([1, 2, 255]);
    expect(Array.from(parseHex('c000'))).toEqual([0xc0, 0]);
  });

  it('refuses non-hex characters and odd digit runs with DECODE', async () => {
    expect(await thrown(() => parseHex('zz'))).toMatchObject({ code: 'DECODE' });
    expect(await thrown(() => parseHex('123'))).toMatchObject({ code: 'DECODE' });
  });
});

describe('-d lines', () => {
  it('print packets the way libmosquitto logs them for mosquitto_pub/sub -d', () => {
    const d = new DebugPrinter('c1');
    const publish = { cmd: 'publish', topic: 'a/b', payload: new Uint8Array(5), qos: 1, retain: false, dup: false, packetId: 1 } as const;
    expect(d.lines('sending', publish)).toEqual(["Client c1 sending PUBLISH (d0, q1, r0, m1, 'a/b', ... (5 bytes))"]);
    expect(d.lines('received', { cmd: 'connack', sessionPresent: false, returnCode: 0 })).toEqual(['Client c1 received CONNACK (0)']);
    expect(d.lines('received', { cmd: 'puback', packetId: 1 })).toEqual(['Client c1 received PUBACK (Mid: 1, RC:0)']);
    expect(d.lines('sending', { cmd: 'puback', packetId: 3 })).toEqual(['Client c1 sending PUBACK (m3, rc0)']);
    expect(d.lines('sending', { cmd: 'pubrec', packetId: 3 })).toEqual(['Client c1 sending PUBREC (m3, rc0)']);
    expect(d.lines('received', { cmd: 'pubrec', packetId: 3 })).toEqual(['Client c1 received PUBREC (Mid: 3)']);
    expect(d.lines('sending', { cmd: 'pubrel', packetId: 3 })).toEqual(['Client c1 sending PUBREL (m3)']);
    expect(d.lines('received', { cmd: 'pubcomp', packetId: 3 })).toEqual(['Client c1 received PUBCOMP (Mid: 3, RC:0)']);
    expect(d.lines('sending', { cmd: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'x', qos: 0 }, { topicFilter: 'y/#', qos: 2 }] })).toEqual([
      'Client c1 sending SUBSCRIBE (Mid: 2, Topic: x, QoS: 0, Options: 0x00)',
      'Client c1 sending SUBSCRIBE (Mid: 2, Topic: y/#, QoS: 2, Options: 0x00)',
    ]);
    expect(d.lines('received', { cmd: 'suback', packetId: 2, returnCodes: [0, 0x80] })).toEqual(['Client c1 received SUBACK', 'Subscribed (mid: 2): 0, 128']);
    expect(d.lines('sending', { cmd: 'pingreq' })).toEqual(['Client c1 sending PINGREQ']);
  });

  it('number QoS 0 publishes from the same counter as libmosquitto (m3 after mid 2), and print an empty id as (null)', () => {
    const d = new DebugPrinter('');
    d.lines('sending', { cmd: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'x', qos: 0 }] });
    const q0 = { cmd: 'publish', topic: 't', payload: new Uint8Array(0), qos: 0, retain: true, dup: false } as const;
    expect(d.lines('sending', q0)).toEqual(["Client (null) sending PUBLISH (d0, q0, r1, m3, 't', ... (0 bytes))"]);
    expect(d.lines('received', q0)).toEqual(["Client (null) received PUBLISH (d0, q0, r1, m0, 't', ... (0 bytes))"]);
  });

  it('never print a password', () => {
    const connect = { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c1', cleanSession: true, keepAlive: 60, username: 'u', password: Buffer.from('hunter2') } as const;
    expect(new DebugPrinter('c1').lines('sending', connect).join('\n')).not.toContain('hunter2');
  });
});

describe('sub output lines', () => {
  const msg = (topic: string, payload: string) => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }) as const;
  it('print the payload, or "topic payload" with -v, and an empty payload as mosquitto_sub does', () => {
    const out = (verbose: boolean, eol = true) => ({ verbose, eol, pretty: false });
    expect(formatMessage(msg('t', 'hi'), out(false)).bytes?.toString()).toBe('hi\n');
    expect(formatMessage(msg('t', 'hi'), out(true)).bytes?.toString()).toBe('t hi\n');
    expect(formatMessage(msg('t', ''), out(false)).bytes).toBeUndefined();
    expect(formatMessage(msg('t', ''), out(true)).bytes?.toString()).toBe('t (null)\n');
    // -N: no end of line, and an empty payload with -v prints nothing at all.
    expect(formatMessage(msg('t', 'hi'), out(true, false)).bytes?.toString()).toBe('t hi');
    expect(formatMessage(msg('t', ''), out(true, false)).bytes).toBeUndefined();
  });
});

describe('errors to one line and an exit code', () => {
  it('exits with the CONNACK return code when the server refuses', () => {
    expect(toCliError(new ConnackError(5))).toMatchObject({ code: 'CONNACK_REFUSED', exitCode: 5, message: 'CONNACK 5: not authorized' });
    expect(toCliError(new ConnackError(4))).toMatchObject({ exitCode: 4, message: 'CONNACK 4: bad user name or password' });
  });

  it('names the server for network failures found in the cause chain', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const err = new ClientError('CONNECT_FAILED', 'could not connect', { cause: refused });
    expect(toCliError(err, '127.0.0.1:1')).toMatchObject({ code: 'CONNECT_FAILED', exitCode: 1, message: 'connection refused: 127.0.0.1:1 (is a broker running?)' });
  });

  it('keeps the code and rule of protocol errors', () => {
    const err = toCliError(new MqttError('INVALID_TOPIC', 'bad topic', { rule: 'MQTT-4.7.1-1' }));
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/^INVALID_TOPIC: .*\[MQTT-4\.7\.1-1\]$/);
  });

  it('uses exit code 27 for a -W timeout, as mosquitto_sub does', () => {
    expect(new CliError('TIMEOUT', 'timed out').exitCode).toBe(EXIT_TIMEOUT);
    expect(EXIT_TIMEOUT).toBe(27);
  });
});
