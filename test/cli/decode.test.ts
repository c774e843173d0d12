/**
 * `mqtt311 decode`: hex from arguments and stdin, raw bytes from a file, several packets in a
 * row, and the typed error (code, rule, offset) for bad bytes. The main paths run as child
 * processes; the remaining error cases run in process (see `runInProcess`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '../../src/codec/index.js';
import { cleanupTempDirs, makeTempDir, stopAllProcesses } from '../helpers/peers.js';
import { lines, runCli, runInProcess, spawnCli } from './helpers.js';

afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});

// PUBLISH QoS 0, topic "a/b", payload "hi":
//   30        fixed header: type 3, flags 0000
//   07        remaining length 7
//   00 03     topic length 3
//   61 2f 62  "a/b"
//   68 69     payload "hi"
const PUBLISH_HEX = '30 07 00 03 61 2f 62 68 69';
// PINGREQ: c0 00
const PINGREQ_HEX = 'c0 00';

describe('mqtt311 decode', () => {
  it('decodes hex given as arguments and prints the annotated dump', async () => {
    const r = await runCli(['decode', ...PUBLISH_HEX.split(' ')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^PUBLISH \(QoS 0, 9 bytes\)/);
    expect(r.stdout).toContain('"a/b"');
    expect(r.stdout).toMatch(/remaining length\s+7/);
  });

  it('decodes several packets in a row, each with its own offsets', async () => {
    const r = await runCli(['decode', `${PUBLISH_HEX} ${PINGREQ_HEX}`]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).filter((l) => /^[A-Z]+ \(/.test(l))).toEqual(['PUBLISH (QoS 0, 9 bytes)', 'PINGREQ (2 bytes)']);
    // The PINGREQ starts at byte 9 of the input.
    expect(r.stdout).toMatch(/\n9 +c0 +packet type/);
  });

  it('reads hex from stdin, with colons, 0x prefixes and newlines', async () => {
    // CONNECT, clean session, keep alive 60, empty client id.
    const hex = '0x10 0x0c\n00:04:4d:51:54:54\n04:02:00:3c:00:00\n';
    const r = await runCli(['decode'], { input: hex });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^CONNECT \(14 bytes\)/);
    expect(r.stdout).toMatch(/keep alive\s+60/);
  });

  it('reads raw bytes from a file with -f, and from stdin with -f -', async () => {
    const dir = makeTempDir('mqtt311-cli-');
    const bytes = encode({ cmd: 'subscribe', packetId: 7, subscriptions: [{ topicFilter: 'x/#', qos: 1 }] });
    const file = join(dir, 'packet.bin');
    writeFileSync(file, bytes);
    const fromFile = await runCli(['decode', '-f', file]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toMatch(/^SUBSCRIBE \(/);
    expect(fromFile.stdout).toContain('"x/#"');
    // Raw bytes on stdin (0x82 is not UTF-8 on its own, so write a Buffer, not a string).
    const fromStdin = spawnCli(['decode', '-f', '-']);
    fromStdin.child.stdin?.end(Buffer.from(bytes));
    expect((await fromStdin.exited).code).toBe(0);
    expect(fromStdin.stdout()).toBe(fromFile.stdout);
  });

  it('[MQTT-2.2.2-2] reports wrong fixed-header flags with code, rule and offset, after the packets before them', async () => {
    // A PUBLISH, then a PINGREQ whose reserved flags are 0001 instead of 0000 (spec 2.2.2).
    const r = await runCli(['decode', `${PUBLISH_HEX} c1 00`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^PUBLISH/);
    const errors = lines(r.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^Error: INVALID_HEADER_FLAGS \[MQTT-2\.2\.2-2\] at offset 9: /);
  });

  it('[MQTT-3.3.2-2] reports a wildcard in a PUBLISH topic name', async () => {
    // PUBLISH QoS 0, topic "a/+", payload "x".
    const r = await runInProcess(['decode', '30 06 00 03 61 2f 2b 78']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: INVALID_TOPIC \[MQTT-3\.3\.2-2\] at offset \d+: /);
  });

  it('reports a packet cut short, with the offset where the bytes ran out', async () => {
    // PUBLISH announcing 7 bytes of remaining length but carrying 3.
    const r = await runInProcess(['decode', '30 07 00 03 61']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Error: INVALID_LENGTH .*at offset \d+: /);
    expect(lines(r.stderr)).toHaveLength(1);
  });

  it('refuses text that is not hex, in one line without a stack trace', async () => {
    const r = await runInProcess(['decode', '30 0g']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^Error: not a hex digit: "g"/)]);
    const odd = await runInProcess(['decode', '300']);
    expect(odd.code).toBe(1);
    expect(odd.stderr).toMatch(/^Error: odd number of hex digits/);
  });

  it('refuses empty input, unknown options and a missing file', async () => {
    const empty = await runInProcess(['decode'], '');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/^Error: no bytes to decode \(see mqtt311 decode --help\)/);
    const unknown = await runInProcess(['decode', '-x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('Error: no such option -x (see mqtt311 decode --help)\n');
    const missing = await runInProcess(['decode', '-f', '/nonexistent/packet.bin']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Error: cannot read file \/nonexistent\/packet\.bin: no such file\n$/);
  });

  it('prints its help with --help and exits 0', async () => {
    const r = await runInProcess(['decode', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mqtt311 decode: /);
    expect(r.stdout).toContain('-f');
  });
});
