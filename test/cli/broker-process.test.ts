/**
 * What `mqtt311 broker` does around the broker for mosquitto.conf: log destinations, types and
 * timestamps, the pid file, and the OS user (never actually switched here: that would change the
 * test worker's own user).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { formatTimestamp, logTypesOf } from '../../src/broker-mini/config-directives.js';
import { brokerLog, dropPrivileges, writePidFile } from '../../src/cli/broker-process.js';
import type { CliIo } from '../../src/cli/io.js';
import { cleanupTempDirs, makeTempDir } from '../helpers/peers.js';

afterAll(() => cleanupTempDirs());

function io(): CliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { stdin: new PassThrough(), stdout, stderr, interrupt: new AbortController().signal, out: () => out, err: () => err };
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');
const tick = () => new Promise((r) => setImmediate(r));

describe('broker log, pid file and user', () => {
  it('formats log_timestamp_format with the strftime conversions mosquitto users write', () => {
    const d = new Date(2024, 0, 2, 3, 4, 5);
    expect(formatTimestamp('%Y-%m-%dT%H:%M:%S %%', d)).toBe('2024-01-02T03:04:05 %');
    expect(formatTimestamp('%s', d)).toBe(String(Math.floor(d.getTime() / 1000)));
  });

  it('logs nothing without log settings or -v; log_type none and log_dest none silence it', () => {
    expect(brokerLog(undefined, false, io()).logger).toBeUndefined();
    expect(brokerLog({ types: ['none'] }, false, io()).logger).toBeUndefined();
    expect(brokerLog({ dest: [] }, false, io()).logger).toBeUndefined();
  });

  it('log_dest stdout and file, log_timestamp false; log_type debug adds packets and prints only debug lines', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'broker.log');
    const streams = io();
    const log = brokerLog({ dest: [{ kind: 'stdout' }, { kind: 'file', path: file }], timestamp: false, types: ['debug'] }, false, streams);
    expect(log.packets).toBe(true);
    log.logger!('connected a', 'notice');
    log.logger!('a <- PINGREQ', 'debug');
    await tick();
    expect(streams.out()).toBe('a <- PINGREQ\n');
    expect(readFileSync(file, 'utf8')).toBe('a <- PINGREQ\n');
    expect(streams.err()).toBe('');
  });

  it('log_type lines add up, "all" adds every type, "none" drops those before it; none given: error, warning, notice, information', () => {
    expect([...logTypesOf(undefined)]).toEqual(['error', 'warning', 'notice', 'information']);
    expect([...logTypesOf(['subscribe', 'unsubscribe', 'error'])]).toEqual(['subscribe', 'unsubscribe', 'error']);
    expect(logTypesOf(['all']).size).toBe(8);
    expect([...logTypesOf(['all', 'none', 'warning'])]).toEqual(['warning']);
    expect(logTypesOf(['notice', 'none']).size).toBe(0);
  });

  it('prints only the configured types; packets only with debug; -v prints every type', async () => {
    const streams = io();
    const log = brokerLog({ timestamp: false, types: ['subscribe', 'warning'] }, false, streams);
    expect(log.packets).toBe(false);
    for (const type of ['debug', 'error', 'warning', 'notice', 'information', 'subscribe', 'unsubscribe', 'websockets'] as const) log.logger!(type, type);
    await tick();
    expect(streams.err()).toBe('warning\nsubscribe\n');
    const verbose = io();
    const all = brokerLog({ timestamp: false, types: ['none'] }, true, verbose);
    expect(all.packets).toBe(true);
    all.logger!('x <- PINGREQ', 'debug');
    all.logger!('x 0 a/#', 'subscribe');
    await tick();
    expect(lines(verbose.err()).map((l) => l.replace(/^\S+ /, ''))).toEqual(['x <- PINGREQ', 'x 0 a/#']);
  });

  it('a log file that cannot be opened stops the start with one line', () => {
    expect(() => brokerLog({ dest: [{ kind: 'file', path: '/nonexistent/mqtt311/x.log' }] }, false, io())).toThrow(/cannot open log file \/nonexistent/);
  });

  it('writes the pid file and removes it', () => {
    const path = join(makeTempDir(), 'b.pid');
    const remove = writePidFile(path);
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    remove();
    expect(existsSync(path)).toBe(false);
    expect(() => writePidFile('/nonexistent/mqtt311/b.pid')).toThrow(/cannot write pid_file/);
  });

  it('user NAME: nothing without it; an unknown user is an error when started as root, a note otherwise', () => {
    expect(dropPrivileges(undefined)).toBeUndefined();
    if (process.getuid?.() === 0) {
      expect(dropPrivileges('root')).toBeUndefined();
      expect(() => dropPrivileges('mqtt311-no-such-user')).toThrow(/no such user/);
    } else {
      expect(dropPrivileges('mqtt311-no-such-user')).toMatch(/not started as root/);
    }
  });
});
