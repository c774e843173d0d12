/**
 * mosquitto password files: the `$6$`/`$7$` formats, refusal of plain text, `mqtt311 passwd`, and
 * files moving both ways between mqtt311 and the real mosquitto_passwd and mosquitto.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { loadConfig, parseConfig, startBroker, type Broker } from '../../src/broker-mini/index.js';
import { checkCredentials } from '../../src/broker-mini/auth.js';
import { formatPasswordHash, hashPassword, parsePasswordFile, parsePasswordHash, verifyPassword } from '../../src/broker-mini/passwd.js';
import { main } from '../../src/cli/main.js';
import { cleanupTempDirs, findBinary, makeTempDir, requirePeer, runProcess, startMosquitto, stopAllProcesses } from '../helpers/peers.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';

// Made by `mosquitto_passwd -c -b FILE alice pw` and `mosquitto_passwd -H sha512 -c -b FILE bob secret`.
const ALICE_7 = 'alice:$7$101$isXcKj93DbJBPll9$oFMwqVksyDsaqEdV2GZMC1TRLVx6o3UDmGhpSzmLZ5bi+U7iG+70Q2W/ijVx2uRt+m38mVcFGaxxZTMGOZXkPA==';
const BOB_6 = 'bob:$6$tEdNfpw33FBB86i2$g9P/+8NehzNQV8WgBKpTlhWhQhRF/aUEc2btNMUB5AUcGo9mhL6S5HXl34+G68y/YV6u444qLDZeQnxe+Zr98g==';
const b = (s: string) => new TextEncoder().encode(s);

afterEach(() => closeAllRawClients());
afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});

/** Runs `mqtt311 …args` in process; resolves with the exit code and stderr. */
async function cli(args: string[], stdin = ''): Promise<{ code: number; stderr: string }> {
  const input = new PassThrough();
  input.end(stdin);
  const out = new PassThrough();
  const err = new PassThrough();
  let stderr = '';
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await main(args, { stdin: input, stdout: out, stderr: err, interrupt: new AbortController().signal });
  return { code, stderr };
}

/** The CONNACK return code a CONNECT with these credentials gets from the broker on `port`. */
async function login(port: number, username: string, password: string): Promise<number> {
  const c = await RawClient.connect(port);
  const connack = await c.handshake({ clientId: `pw-${username}`, username, password: b(password) });
  await c.close();
  return connack.returnCode;
}

describe('mosquitto password file formats', () => {
  it('[MQTT-3.2.2-5] verifies $7$ (PBKDF2-SHA512) and $6$ (SHA-512) entries made by mosquitto_passwd', () => {
    const users = parsePasswordFile(`# made by mosquitto_passwd\n${ALICE_7}\n\n${BOB_6}\n`);
    expect(verifyPassword(b('pw'), users.alice!)).toBe(true);
    expect(verifyPassword(b('pw!'), users.alice!)).toBe(false);
    expect(verifyPassword(b('secret'), users.bob!)).toBe(true);
    expect(verifyPassword(b('Secret'), users.bob!)).toBe(false);
    expect(verifyPassword(undefined, users.bob!)).toBe(false);
    expect(users.alice).toMatchObject({ kind: 'pbkdf2-sha512', iterations: 101 });
    expect(users.bob).toMatchObject({ kind: 'sha512' });
  });

  it('[MQTT-3.2.2-5] never accepts the hash string itself as the password (CONNACK 4)', () => {
    const users = parsePasswordFile(`${ALICE_7}\n`);
    expect(checkCredentials('alice', b(ALICE_7.slice('alice:'.length)), users, false, false)).toBe(4);
    expect(checkCredentials('alice', b('pw'), users, false, false)).toBe(0);
  });

  it('refuses plain-text lines naming the file and line, unless plain text is allowed', () => {
    expect(() => parsePasswordFile(`${ALICE_7}\ncarol:c\n`, 'users.txt')).toThrow(expect.objectContaining({ code: 'PLAINTEXT_PASSWORD', file: 'users.txt', line: 2 }));
    expect(parsePasswordFile('carol:c:d\n', 'users.txt', { allowPlaintext: true })).toEqual({ carol: 'c:d' });
  });

  it.each([
    ['$7$101$isXcKj93DbJBPll9', 'expected'],
    ['$7$0$isXcKj93DbJBPll9$oFMwqVksyDsaqEdV2GZMC1TRLVx6o3UDmGhpSzmLZ5bi+U7iG+70Q2W/ijVx2uRt+m38mVcFGaxxZTMGOZXkPA==', 'iteration'],
    ['$7$99999999$isXcKj93DbJBPll9$oFMwqVksyDsaqEdV2GZMC1TRLVx6o3UDmGhpSzmLZ5bi+U7iG+70Q2W/ijVx2uRt+m38mVcFGaxxZTMGOZXkPA==', 'iteration'],
    ['$6$tEdNfpw3!FBB86i2$g9P/+8NehzNQV8WgBKpTlhWhQhRF/aUEc2btNMUB5AUcGo9mhL6S5HXl34+G68y/YV6u444qLDZeQnxe+Zr98g==', 'salt'],
    ['$6$tEdNfpw33FBB86i2$AAAA', 'bytes'],
  ])('refuses the malformed hash %j (never read as plain text)', (hash, why) => {
    expect(() => parsePasswordHash(hash, 'f', 3)).toThrow(expect.objectContaining({ code: 'MALFORMED_ENTRY', line: 3, message: expect.stringContaining(why) }));
    expect(() => parsePasswordFile(`x:${hash}\n`, 'f', { allowPlaintext: true })).toThrow(expect.objectContaining({ code: 'MALFORMED_ENTRY' }));
  });

  it('writes $7$ entries in mosquitto_passwd layout: 101 iterations, 12-byte salt, 64-byte hash, padded base64', () => {
    const line = formatPasswordHash(hashPassword('pw'));
    expect(line).toMatch(/^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    expect(verifyPassword(b('pw'), parsePasswordHash(line)!)).toBe(true);
  });

  it('config: password_file is refused at startup for plain text (file and line named); password_file_plaintext true accepts it', () => {
    const files: Record<string, string> = { '/c/users': `${ALICE_7}\ncarol:c\n` };
    const readFile = (p: string) => files[p]!;
    expect(() => parseConfig('password_file users', { file: '/c/b.conf', readFile })).toThrow(
      expect.objectContaining({ name: 'ConfigError', code: 'INVALID_VALUE', file: '/c/users', line: 2 }),
    );
    const users = parseConfig('password_file users\npassword_file_plaintext true\n', { file: '/c/b.conf', readFile }).users!;
    expect(users.carol).toBe('c');
    expect(users.alice).toMatchObject({ kind: 'pbkdf2-sha512' });
  });
});

describe('mqtt311 passwd', () => {
  it('creates, adds, changes and deletes users, keeping comments; -U hashes plain lines once', async () => {
    const file = join(makeTempDir(), 'passwords');
    expect(await cli(['passwd', '-c', '-b', file, 'alice', 'a1'])).toMatchObject({ code: 0 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    writeFileSync(file, `# team\n${readFileSync(file, 'utf8')}`);
    expect((await cli(['passwd', '-b', file, 'bob', 'b1'])).code).toBe(0);
    expect((await cli(['passwd', file, 'alice'], 'a2\n')).code).toBe(0); // password from stdin
    let users = parsePasswordFile(readFileSync(file, 'utf8'));
    expect(verifyPassword(b('a2'), users.alice!)).toBe(true);
    expect(verifyPassword(b('b1'), users.bob!)).toBe(true);
    expect(readFileSync(file, 'utf8').split('\n').slice(0, 2).map((l) => l.split(':')[0])).toEqual(['# team', 'alice']);
    expect((await cli(['passwd', '-D', file, 'alice'])).code).toBe(0);
    expect(await cli(['passwd', '-D', file, 'alice'])).toMatchObject({ code: 1, stderr: expect.stringContaining('not found') });
    expect(Object.keys(parsePasswordFile(readFileSync(file, 'utf8')))).toEqual(['bob']);

    writeFileSync(file, `${readFileSync(file, 'utf8')}carol:c1\n`);
    expect((await cli(['passwd', '-U', file])).code).toBe(0);
    const once = readFileSync(file, 'utf8');
    users = parsePasswordFile(once);
    expect(verifyPassword(b('c1'), users.carol!)).toBe(true);
    expect(verifyPassword(b('b1'), users.bob!)).toBe(true);
    expect((await cli(['passwd', '-U', file])).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(once);
  });

  it.each([
    [['passwd'], 'no password file'],
    [['passwd', '-b', 'f', 'u'], '-b needs'],
    [['passwd', 'f', 'u', 'pw'], 'needs -b'],
    [['passwd', '-c', '-D', 'f', 'u'], 'exclude'],
    [['passwd', '-b', 'f', 'a:b', 'pw'], 'without ":"'],
    [['passwd', '-b', '/nonexistent/mqtt311/f', 'u', 'pw'], 'no such file'],
  ])('refuses %j with one line and exit code 1', async (args, why) => {
    expect(await cli(args)).toMatchObject({ code: 1, stderr: expect.stringContaining(why) });
  });
});

const hasPeers = requirePeer('mosquitto') && requirePeer('mosquitto_passwd', 'apt-get install -y mosquitto');

describe.skipIf(!hasPeers)('password files between mqtt311 and mosquitto', () => {
  let broker: Broker | undefined;
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it('[MQTT-3.2.2-5] a file from mosquitto_passwd logs users into broker-mini (and the hash string is refused)', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'passwords');
    const tool = findBinary('mosquitto_passwd')!;
    expect((await runProcess(tool, ['-c', '-b', file, 'alice', 'pw'])).code).toBe(0);
    expect((await runProcess(tool, ['-H', 'sha512', '-b', file, 'bob', 'secret'])).code).toBe(0);
    writeFileSync(join(dir, 'b.conf'), 'allow_anonymous false\npassword_file passwords\n');
    broker = await startBroker({ ...(await loadConfig(join(dir, 'b.conf'))), port: 0 });
    const { port } = broker.address;
    expect(await login(port, 'alice', 'pw')).toBe(0);
    expect(await login(port, 'bob', 'secret')).toBe(0);
    expect(await login(port, 'alice', 'secret')).toBe(4);
    const hash = readFileSync(file, 'utf8').split('\n')[0]!.slice('alice:'.length);
    expect(await login(port, 'alice', hash)).toBe(4);
  });

  it('[MQTT-3.2.2-5] a file from mqtt311 passwd logs users into real mosquitto, and mosquitto_passwd edits it', async () => {
    const file = join(makeTempDir(), 'passwords');
    expect((await cli(['passwd', '-c', '-b', file, 'alice', 'pw'])).code).toBe(0);
    expect((await runProcess(findBinary('mosquitto_passwd')!, ['-b', file, 'bob', 'b0b'])).code).toBe(0);
    expect((await cli(['passwd', '-b', file, 'carol', 'c'])).code).toBe(0);
    const mosq = await startMosquitto(['allow_anonymous false', `password_file ${file}`]);
    try {
      expect(await login(mosq.port, 'carol', 'c')).toBe(0);
      expect(await login(mosq.port, 'alice', 'pw')).toBe(0);
      expect(await login(mosq.port, 'bob', 'b0b')).toBe(0);
      expect(await login(mosq.port, 'alice', 'nope')).toBe(5);
      expect(await login(mosq.port, 'alice', readFileSync(file, 'utf8').split('\n')[0]!.slice('alice:'.length))).toBe(5);
    } finally {
      await mosq.stop();
    }
  });
});
