/**
 * Parity with mosquitto_sub / mosquitto_pub 2.0.11: the same invocation runs through the real
 * tool and through `mqtt311 sub|pub` against one mosquitto broker, and stdout is compared byte
 * for byte (captured as hex, so bytes that are not UTF-8 compare exactly). The client ids differ
 * (both subscribers run at once) and are written the same way before comparing; `%j` timestamps
 * are the only other thing normalised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs, findBinary, freePort, makeTempDir, requirePeer, runProcess, spawnProcess, startMosquitto, stopAllProcesses, type MosquittoHandle, type SpawnedProcess } from '../helpers/peers.js';
import { ROOT } from './helpers.js';

const HOST = '127.0.0.1';
const hasPeers = requirePeer('mosquitto') && requirePeer('mosquitto_pub') && requirePeer('mosquitto_sub');
const OURS = [process.execPath, '--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
/** Both tools print local time; one zone keeps -F time formats comparable. */
const ENV = { ...process.env, TZ: 'UTC', HOME: makeTempDir('mqtt311-home-'), XDG_CONFIG_HOME: '' };

afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});

/** Runs `argv`, with stdout turned into hex by od so no byte is lost to decoding. */
function spawnHex(argv: string[], timeoutMs = 20_000): SpawnedProcess {
  return spawnProcess('bash', ['-c', 'set -o pipefail; "$@" | od -An -v -tx1', 'bash', ...argv], { cwd: ROOT, env: ENV, timeoutMs });
}

/** od's hex back to bytes. */
function bytesOf(hex: string): Buffer {
  return Buffer.from(hex.replace(/\s+/g, ''), 'hex');
}

interface Outcome {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

describe.skipIf(!hasPeers)('mqtt311 sub/pub print what mosquitto_sub/pub print', () => {
  let mosq: MosquittoHandle;
  let port: string;
  let n = 0;
  beforeAll(async () => {
    mosq = await startMosquitto(['log_type all']);
    port = String(mosq.port);
  });
  afterAll(async () => {
    await mosq?.stop();
  });

  /** mosquitto_pub with `args` (host and port added). */
  async function mosquittoPub(args: string[]): Promise<void> {
    const r = await runProcess(findBinary('mosquitto_pub')!, ['-h', HOST, '-p', port, ...args], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
  }

  /**
   * Runs `mosquitto_sub …args` and `mqtt311 sub …args` side by side, waits until mosquitto has
   * sent both their SUBACKs, calls `publish`, and returns both outcomes once they exit.
   */
  async function subscribeBoth(args: string[], publish: () => Promise<void>): Promise<[Outcome, Outcome]> {
    const id = `parity${++n}`;
    const ids = [`${id}-mosquitto`, `${id}-mqtt311__`] as const;
    const procs = [
      spawnHex([findBinary('mosquitto_sub')!, '-h', HOST, '-p', port, '-i', ids[0], ...args]),
      spawnHex([...OURS, 'sub', '-h', HOST, '-p', port, '-i', ids[1], ...args]),
    ];
    for (const i of ids) await mosq.process.waitForOutput(`Sending SUBACK to ${i}`, 15_000, 'stderr');
    await publish();
    return (await Promise.all(
      procs.map(async (p, i) => {
        const { code } = await p.exited;
        const text = bytesOf(p.stdout()).toString('latin1').replaceAll(ids[i]!, 'ID');
        return { code, stdout: Buffer.from(text, 'latin1'), stderr: p.stderr().replaceAll(ids[i]!, 'ID') };
      }),
    )) as [Outcome, Outcome];
  }

  /** Asserts equal exit codes and byte-equal stdout (shown as text when they differ). */
  function expectSame([theirs, ours]: [Outcome, Outcome], normalise: (s: string) => string = (s) => s): void {
    expect(ours.stderr).toBe(theirs.stderr);
    expect(normalise(ours.stdout.toString('latin1'))).toBe(normalise(theirs.stdout.toString('latin1')));
    expect(ours.code).toBe(theirs.code);
  }

  it('-v and -N: topic and payload, an empty payload as (null), bytes that are not UTF-8 as they are', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'raw'), Buffer.from([0x61, 0xff, 0x00, 0x0a, 0x62]));
    const publish = async (t: string) => {
      await mosquittoPub(['-t', `${t}/a`, '-m', 'hello']);
      await mosquittoPub(['-t', `${t}/b`, '-n']);
      await mosquittoPub(['-t', `${t}/c`, '-f', join(dir, 'raw')]);
    };
    expectSame(await subscribeBoth(['-t', 'v/#', '-v', '-C', '3'], () => publish('v')));
    expectSame(await subscribeBoth(['-t', 'vn/#', '-v', '-N', '-C', '3'], () => publish('vn')));
    expectSame(await subscribeBoth(['-t', 'n/#', '-N', '-C', '3'], () => publish('n')));
  });

  it('-F: every message field, width, precision, alignment, zero padding, escapes and @ times', async () => {
    const formats = [
      '%t|%p|%q|%r|%m|%l|%x|%X|%%|%A%C%D%E%F%P%R%S|%5A|%05E|%-3C',
      '[%10t][%-10t][%.3t][%5.2t][%-6.4t][%05l][%-5l][%5l][%-03l]',
      '[%10p][%-10p][%3p][%010p][%8x][%-8X][%3x][%-p]',
      '\\t\\\\\\0\\a\\e\\r\\v@@@Y-@m-@d @a @b @j @Q %05m %-3q',
    ];
    let i = 0;
    for (const format of formats) {
      const t = `f${i++}`;
      const both = await subscribeBoth(['-t', `${t}/#`, '-q', '2', '-F', format, '-C', '3'], async () => {
        await mosquittoPub(['-t', `${t}/one`, '-m', 'payload', '-q', '0']);
        await mosquittoPub(['-t', `${t}/two`, '-m', 'x', '-q', '1', '-r']);
        await mosquittoPub(['-t', `${t}/three/long/topic`, '-m', 'a longer payload here', '-q', '2']);
      });
      expectSame(both);
    }
  });

  it('-F %j and %J (with --pretty): cJSON output, key order, escapes, numbers; a non-JSON payload is reported on stderr', async () => {
    const tst = (s: string) => s.replace(/"tst":(\t?)"[^"]*"/g, '"tst":$1"T"');
    const json = '{"b":[1, 2.5, {"x":null,"y":[]}],"1":{},"s":"a\\"\\\\\\u00e9\\t\\u0001","n":1e20,"m":-0.1,"big":12345678901,"t":true, "f":false}';
    for (const args of [['-F', '%j'], ['-F', '%J'], ['-F', '%j|%J', '--pretty'], ['-F', '%J', '--pretty']]) {
      const both = await subscribeBoth(['-t', 'json/#', '-q', '1', ...args, '-C', '4'], async () => {
        await mosquittoPub(['-t', 'json/a', '-m', json, '-q', '1']);
        await mosquittoPub(['-t', 'json/b', '-m', ' [ ] ']);
        await mosquittoPub(['-t', 'json/c', '-m', 'not json']);
        await mosquittoPub(['-t', 'json/d', '-n']);
      });
      expectSame(both, tst);
    }
  });

  it('-d: the same packet lines at QoS 0, 1 and 2, with -U and the Subscribed line', async () => {
    const both = await subscribeBoth(['-t', 'd/#', '-t', 'd2/+', '-U', 'gone', '-q', '2', '-d', '-C', '3'], async () => {
      await mosquittoPub(['-t', 'd/0', '-m', 'zero', '-q', '0']);
      await mosquittoPub(['-t', 'd/1', '-m', 'one', '-q', '1']);
      await mosquittoPub(['-t', 'd2/2', '-m', 'two', '-q', '2']);
    });
    expectSame(both);
  });

  it('-R, -T and --retained-only filter as mosquitto_sub does; -E exits once subscribed', async () => {
    await mosquittoPub(['-t', 'r/old', '-m', 'stale', '-r']);
    await mosquittoPub(['-t', 'r/skip', '-m', 'stale too', '-r']);
    const live = async () => {
      await mosquittoPub(['-t', 'r/skip', '-m', 'filtered']);
      await mosquittoPub(['-t', 'r/new', '-m', 'fresh']);
      await mosquittoPub(['-t', 'r/new', '-m', 'fresh 2']);
    };
    expectSame(await subscribeBoth(['-t', 'r/#', '-v', '-R', '-C', '2'], live));
    expectSame(await subscribeBoth(['-t', 'r/#', '-v', '-T', 'r/skip', '-C', '2'], live));
    expectSame(await subscribeBoth(['-t', 'r/#', '-v', '--retained-only'], live));
    expectSame(await subscribeBoth(['-t', 'e/#', '-d', '-E'], async () => {}));
  });

  it('--remove-retained clears what it prints, and keeps what -T filters out', async () => {
    // One tool at a time: the first to subscribe would clear the retained message for the other.
    const args = ['-h', HOST, '-p', port, '-t', 'rr/#', '-v', '-T', 'rr/keep', '--remove-retained', '--retained-only', '-W', '4'];
    const outcomes = [];
    for (const tool of [[findBinary('mosquitto_sub')!], [...OURS, 'sub']]) {
      await mosquittoPub(['-t', 'rr/a', '-m', 'A', '-r']);
      await mosquittoPub(['-t', 'rr/keep', '-m', 'K', '-r']);
      const sub = spawnProcess(tool[0]!, [...tool.slice(1), '-i', 'remover', ...args], { cwd: ROOT, env: ENV, timeoutMs: 20_000 });
      await sub.waitForOutput('rr/a A\n', 15_000);
      await mosquittoPub(['-t', 'rr/end', '-m', 'live']);
      outcomes.push({ code: (await sub.exited).code, stdout: sub.stdout() });
      const left = await runProcess(findBinary('mosquitto_sub')!, ['-h', HOST, '-p', port, '-t', 'rr/#', '-v', '--retained-only', '-W', '1'], { env: ENV });
      expect(left.stdout).toBe('rr/keep K\n');
    }
    expect(outcomes[1]!.stdout).toBe(outcomes[0]!.stdout);
    // mosquitto_sub 2.0.11 never exits here (it waits for an acknowledgement it has already had,
    // so only -W ends it); mqtt311 exits at the first live message, as the man page describes.
    expect(outcomes.map((o) => o.code)).toEqual([27, 0]);
  });

  it('pub --repeat and -d: the same packet lines at QoS 0, 1 and 2', async () => {
    for (const qos of ['0', '1', '2']) {
      const args = ['-h', HOST, '-p', port, '-i', 'pubparity', '-t', 'rep', '-m', 'x', '-q', qos, '-d', '--repeat', '3', '--repeat-delay', '0.05'];
      const theirs = await runProcess(findBinary('mosquitto_pub')!, args, { env: ENV });
      const ours = await runProcess(OURS[0]!, [...OURS.slice(1), 'pub', ...args], { env: ENV, cwd: ROOT });
      expect(ours.stdout).toBe(theirs.stdout);
      expect(ours.code).toBe(theirs.code);
    }
  });
});

describe.skipIf(!hasPeers)('connection flags against mosquitto: --psk, --unix, -A', () => {
  let mosq: MosquittoHandle;
  let pskPort: number;
  let socket: string;
  beforeAll(async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'psk.txt'), 'me:0a0b0c0d\n');
    pskPort = await freePort();
    socket = join(dir, 'mqtt.sock');
    mosq = await startMosquitto([`listener ${pskPort} 127.0.0.1`, 'psk_hint hint', `psk_file ${join(dir, 'psk.txt')}`, `listener 0 ${socket}`]);
  });
  afterAll(async () => {
    await mosq?.stop();
  });

  /** `mqtt311 pub -d …args` and mosquitto_pub with the same arguments: both succeed with the same lines. */
  async function bothPublish(args: string[]): Promise<void> {
    const theirs = await runProcess(findBinary('mosquitto_pub')!, [...args, '-t', 'flags', '-m', 'x', '-d'], { env: ENV });
    const ours = await runProcess(OURS[0]!, [...OURS.slice(1), 'pub', ...args, '-t', 'flags', '-m', 'x', '-d'], { env: ENV, cwd: ROOT });
    expect(theirs.code, theirs.stderr).toBe(0);
    expect(ours.stderr).toBe('');
    expect(ours.stdout).toBe(theirs.stdout);
  }

  it('TLS-PSK with --psk and --psk-identity (Node\'s pskCallback)', async () => {
    await bothPublish(['-h', HOST, '-p', String(pskPort), '--psk', '0a0b0c0d', '--psk-identity', 'me']);
  });

  it('a Unix domain socket with --unix', async () => {
    await bothPublish(['--unix', socket]);
  });

  it('the local address with -A, and --nodelay accepted', async () => {
    await bothPublish(['-h', HOST, '-p', String(mosq.port), '-A', HOST, '--nodelay']);
  });
});
