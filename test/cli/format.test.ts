/**
 * The parts of `sub -F` that parity.test.ts cannot compare byte for byte (times), the format
 * check, the cJSON-compatible printer's corner cases, and options files. Everything here runs
 * in process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFormat, formatWith } from '../../src/cli/format.js';
import { parseJson, printJson } from '../../src/cli/cjson.js';
import { strftime } from '../../src/cli/strftime.js';
import { readOptionsFile } from '../../src/cli/options-file.js';
import { CONNECTION_OPTIONS } from '../../src/cli/connection-flags.js';
import { makeTempDir } from '../helpers/peers.js';
import { runInProcess } from './helpers.js';

const message = { topic: 'a/b', payload: Buffer.from('hi'), qos: 1, retain: false, packetId: 7 } as const;
const show = (format: string) => formatWith(format, message, { eol: false, pretty: false }).out.toString();

describe('-F', () => {
  it('prints times: %I as ISO 8601, %U as Unix time with nanoseconds, @N as nine digits', () => {
    expect(show('%I')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$/);
    expect(show('%U')).toMatch(/^\d{10}\.\d{9}$/);
    expect(show('@N')).toMatch(/^\d{9}$/);
    const withNul = { ...message, payload: Buffer.from('{}\0') };
    expect(formatWith('%J', withNul, { eol: false, pretty: false }).error).toBe('Error: Message payload is not valid JSON on topic a/b.\n');
    expect(formatWith('%j', withNul, { eol: false, pretty: false }).out.toString()).toMatch(/"payloadlen":3,"mid":7,"payload":"\{\}"\}$/);
    expect(show('%j')).toMatch(/^\{"tst":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z[+-]\d{4}","topic":"a\/b","qos":1,"retain":0,"payloadlen":2,"mid":7,"payload":"hi"\}$/);
  });

  it('refuses what mosquitto_sub refuses before connecting', async () => {
    expect(checkFormat('%t %p @Y \\n')).toBeUndefined();
    expect(checkFormat('%z')).toBe("invalid format specifier 'z'");
    expect(checkFormat('%')).toBe('incomplete format specifier');
    expect(checkFormat('%10')).toBe('incomplete format specifier');
    expect(checkFormat('@')).toBe('incomplete format specifier');
    expect(checkFormat('\\q')).toBe("invalid escape specifier 'q'");
    const r = await runInProcess(['sub', '-t', 'x', '-F', '%z']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: -F: invalid format specifier 'z' (see mqtt311 sub --help)\n");
  });
});

describe('strftime', () => {
  it('formats the C locale conversions', () => {
    const d = new Date(2024, 0, 7, 9, 5, 3); // a Sunday, local time
    expect(strftime('%Y-%m-%d %H:%M:%S %a %A %b %B %e %j %I %p %y %u %w %%', d)).toBe('2024-01-07 09:05:03 Sun Sunday Jan January  7 007 09 AM 24 7 0 %');
    expect(strftime('%F %T %D %R %Q', d)).toBe('2024-01-07 09:05:03 01/07/24 09:05 %Q');
    expect(strftime('%G-W%V', d)).toBe('2024-W01');
  });
});

describe('JSON as cJSON prints it', () => {
  const reprint = (text: string, pretty = false) => {
    const v = parseJson(Buffer.from(text));
    return v && printJson(v, pretty).toString();
  };

  it('prints numbers as %d, %1.15g or %1.17g', () => {
    expect(reprint('[0, -0, 1.0, 0.1, 1e20, 12345678901, 2147483647, -2147483648, 0.00001, 1e-7, 123456789012345678]')).toBe(
      '[0,0,1,0.1,1e+20,12345678901,2147483647,-2147483648,1e-05,1e-07,1.2345678901234568e+17]',
    );
    expect(reprint(String(1 / 3))).toBe('0.33333333333333331');
  });

  it('keeps key order and duplicates, escapes only what cJSON escapes, and refuses what it refuses', () => {
    expect(reprint('{"b":1,"a":2,"1":3,"b":4}')).toBe('{"b":1,"a":2,"1":3,"b":4}');
    expect(reprint('"\\u00e9\\ud83d\\ude00\\/\\u001f"')).toBe('"é😀/\\u001f"');
    expect(reprint('{"a":[{}]}', true)).toBe('{\n\t"a":\t[{\n\t\t}]\n}');
    for (const bad of ['', '[1,]', '{"a"}', '1 2', '"\\x"', '"\\ud800"', 'nul', '+1', '[' .repeat(2000)]) expect(reprint(bad), bad).toBeUndefined();
  });
});

describe('options files', () => {
  const saved = { XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME, HOME: process.env.HOME };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  });

  it('reads $XDG_CONFIG_HOME/mosquitto_sub as mosquitto does: one option a line, the rest of the line its value, # comments', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'mosquitto_sub'), '# defaults\n-h broker.example\n-t  a b\n-v\r\n\n--will-payload two words\n');
    process.env.XDG_CONFIG_HOME = dir;
    const specs = [...CONNECTION_OPTIONS, { name: 'topic', kind: 'list', short: 't' } as const, { name: 'verbose', kind: 'flag', short: 'v' } as const];
    const words = await readOptionsFile('mosquitto_sub', specs, 'mqtt311 sub');
    expect(words.words).toEqual(['-h', 'broker.example', '-t', ' a b', '-v', '--will-payload', 'two words']);
  });

  it('falls back to $HOME/.config and reports a bad line with its file and number', async () => {
    const home = makeTempDir();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(home, '.config'));
    writeFileSync(join(home, '.config', 'mosquitto_pub'), '-q 1\n-z\n');
    delete process.env.XDG_CONFIG_HOME;
    process.env.HOME = home;
    const r = await runInProcess(['pub', '-t', 't', '-m', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: ${join(home, '.config', 'mosquitto_pub')} line 2: no such option -z (see mqtt311 pub --help)\n`);
  });
});
