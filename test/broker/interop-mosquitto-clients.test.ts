/**
 * Debian's mosquitto_pub and mosquitto_sub (libmosquitto) against the broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { findBinary, requirePeer, runProcess, spawnProcess, stopAllProcesses } from '../helpers/peers.js';
import { subscribedEvent, waitForEvent } from './wait.js';

const run = requirePeer('mosquitto_pub') && requirePeer('mosquitto_sub');

describe.skipIf(!run)('mosquitto_pub / mosquitto_sub against the broker', () => {
  let broker: Broker;
  let port: number;
  const bin = (name: string) => findBinary(name)!;
  const common = () => ['-h', '127.0.0.1', '-p', String(port)];
  const pub = (args: string[]) => runProcess(bin('mosquitto_pub'), [...common(), ...args], { timeoutMs: 10_000 });
  const sub = (id: string, args: string[]) => spawnProcess(bin('mosquitto_sub'), [...common(), '-i', id, '-W', '15', ...args]);

  beforeAll(async () => {
    broker = await startBroker({ port: 0, users: { alice: 'wonder' }, acl: [{ topic: '#', access: 'readwrite' }, { topic: 'private/#', access: 'deny' }] });
    port = broker.address.port;
  });
  afterAll(async () => {
    await stopAllProcesses();
    await broker.close();
  });

  it('[MQTT-7.0.0-2] [MQTT-3.3.4-1] delivers QoS 0, 1 and 2 publications, printed by -v as "topic payload"', async () => {
    const s = sub('ms-sub', ['-v', '-q', '2', '-C', '3', '-t', 'mq/#']);
    await subscribedEvent(broker, 'ms-sub');
    for (const qos of ['0', '1', '2']) {
      const r = await pub(['-i', `ms-pub-${qos}`, '-q', qos, '-t', `mq/q${qos}`, '-m', `hello ${qos}`]);
      expect(r.code).toBe(0);
    }
    const { code } = await s.exited;
    expect(code).toBe(0);
    expect(s.stdout().trim().split('\n')).toEqual(['mq/q0 hello 0', 'mq/q1 hello 1', 'mq/q2 hello 2']);
  });

  it('[MQTT-3.3.1-6] [MQTT-3.3.1-8] gives a late subscriber the retained message, flagged retained', async () => {
    expect((await pub(['-q', '1', '-r', '-t', 'mq/retained', '-m', 'kept'])).code).toBe(0);
    // -R drops messages with the retain flag: the retained one must not be printed then
    const withFlag = await runProcess(bin('mosquitto_sub'), [...common(), '-v', '-C', '1', '-W', '10', '-t', 'mq/retained', '-F', '%r %t %p'], { timeoutMs: 15_000 });
    expect(withFlag.stdout.trim()).toBe('1 mq/retained kept');
    // an empty retained message clears it
    expect((await pub(['-r', '-t', 'mq/retained', '-n'])).code).toBe(0);
    expect(broker.retained.get('mq/retained')).toBeUndefined();
  });

  it('[MQTT-3.1.2-5] queues QoS 1 messages for a persistent (-c) subscriber while it is away', async () => {
    const first = await runProcess(bin('mosquitto_sub'), [...common(), '-c', '-i', 'ms-persist', '-q', '1', '-t', 'mq/persist', '-E'], { timeoutMs: 10_000 });
    expect(first.code).toBe(0);
    expect(broker.sessionInfo('ms-persist')).toMatchObject({ connected: false, persistent: true });
    for (const m of ['a', 'b', 'c']) expect((await pub(['-q', '1', '-t', 'mq/persist', '-m', m])).code).toBe(0);
    expect(broker.sessionInfo('ms-persist')!.queued).toBe(3);
    const back = await runProcess(bin('mosquitto_sub'), [...common(), '-c', '-i', 'ms-persist', '-q', '1', '-t', 'mq/persist', '-C', '3', '-W', '10'], { timeoutMs: 15_000 });
    expect(back.stdout.trim().split('\n')).toEqual(['a', 'b', 'c']);
  });

  it('[MQTT-3.1.2-8] publishes the will of a mosquitto_sub that is killed', async () => {
    const watcher = sub('ms-will-watch', ['-v', '-C', '1', '-t', 'mq/will/#']);
    await subscribedEvent(broker, 'ms-will-watch');
    const victim = sub('ms-victim', ['-t', 'mq/nothing', '--will-topic', 'mq/will/victim', '--will-payload', 'gone', '-k', '60']);
    await subscribedEvent(broker, 'ms-victim');
    victim.child.kill('SIGKILL');
    await watcher.exited;
    expect(watcher.stdout().trim()).toBe('mq/will/victim gone');
  });

  it('refuses a wrong password (CONNACK 4) and accepts the right one', async () => {
    const bad = await pub(['-u', 'alice', '-P', 'nope', '-t', 'mq/auth', '-m', 'x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.toLowerCase()).toContain('bad user name or password');
    const good = await pub(['-u', 'alice', '-P', 'wonder', '-t', 'mq/auth', '-m', 'x']);
    expect(good.code).toBe(0);
  });

  it('does not forward a publish the ACL denies, but mosquitto_pub still completes', async () => {
    const denied = waitForEvent(broker, 'publish', (t) => t === 'mq/after-deny');
    const s = sub('ms-acl', ['-v', '-C', '1', '-t', '#']);
    await subscribedEvent(broker, 'ms-acl');
    expect((await pub(['-q', '1', '-t', 'private/x', '-m', 'secret'])).code).toBe(0);
    expect((await pub(['-q', '1', '-t', 'mq/after-deny', '-m', 'open'])).code).toBe(0);
    await denied;
    await s.exited;
    expect(s.stdout().trim()).toBe('mq/after-deny open');
  });
});
