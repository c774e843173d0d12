/**
 * `mqtt311 sub` as a child process against broker-mini, started in this process so the tests
 * know when a subscription is in place (the broker's `subscribe` event) before publishing.
 */
import { describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { lines, runCli, runInProcess, spawnCli, useWatchedBrokers } from './helpers.js';

const HOST = '127.0.0.1';
const w = useWatchedBrokers();

describe('mqtt311 sub', () => {
  it('prints "topic payload" with -v for each of several -t filters, and exits after -C messages', async () => {
    const ready = w.subscribed(w.broker, 'sub-v');
    const sub = spawnCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/a/#', '-t', 'sub/b', '-v', '-C', '2', '-i', 'sub-v']);
    await ready;
    await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'sub/a/1', '-m', 'one', '-q', '1']);
    await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'sub/b', '-m', 'two words']);
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('sub/a/1 one\nsub/b two words\n');
    expect(sub.stderr()).toBe('');
  });

  it('prints the payload alone without -v; an empty payload prints nothing', async () => {
    const ready = w.subscribed(w.broker, 'sub-plain');
    const sub = spawnCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/plain', '-C', '2', '-i', 'sub-plain']);
    await ready;
    await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'sub/plain', '-n']);
    await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'sub/plain', '-m', 'just this']);
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('just this\n');
  });

  it('exits 27 when -W seconds pass first, like mosquitto_sub', async () => {
    const r = await runCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/quiet', '-W', '1', '-C', '1']);
    expect(r.code).toBe(27);
    expect(r.stderr).toBe('Error: timed out after 1 s with 0 of 1 messages (-W 1)\n');
  });

  it('prints packets with -d: CONNECT, SUBSCRIBE per filter, SUBACK, each PUBLISH, DISCONNECT', async () => {
    const ready = w.subscribed(w.broker, 'sub-d');
    const sub = spawnCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/d', '-q', '1', '-C', '1', '-d', '-i', 'sub-d']);
    await ready;
    await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'sub/d', '-m', 'hey', '-q', '1']);
    expect((await sub.exited).code).toBe(0);
    const out = lines(sub.stdout());
    expect(out.slice(0, 5)).toEqual([
      'Client sub-d sending CONNECT',
      'Client sub-d received CONNACK (0)',
      'Client sub-d sending SUBSCRIBE (Mid: 1, Topic: sub/d, QoS: 1, Options: 0x00)',
      'Client sub-d received SUBACK',
      'Subscribed (mid: 1): 1',
    ]);
    expect(out).toContain('hey');
    expect(out).toContainEqual(expect.stringMatching(/^Client sub-d received PUBLISH \(d0, q1, r0, m\d+, 'sub\/d', \.\.\. \(3 bytes\)\)$/));
    expect(out).toContainEqual(expect.stringMatching(/^Client sub-d sending PUBACK \(m\d+, rc0\)$/));
    expect(out[out.length - 1]).toBe('Client sub-d sending DISCONNECT');
  });

  it('[MQTT-3.1.2-4] with -c keeps the session: QoS 1 messages sent while away arrive on return', async () => {
    const first = w.subscribed(w.broker, 'sub-c');
    const sub = spawnCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/c', '-q', '1', '-c', '-i', 'sub-c']);
    await first;
    await sub.stop('SIGINT');
    expect((await sub.exited).code).toBe(0);
    expect(w.connects.find((c) => c.clientId === 'sub-c')).toMatchObject({ cleanSession: false });
    await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'sub/c', '-m', 'while away', '-q', '1']);
    const again = await runCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/c', '-q', '1', '-c', '-i', 'sub-c', '-C', '1', '-W', '10']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('while away\n');
  });

  it('takes host, port and a wildcard filter from -L', async () => {
    const ready = w.subscribed(w.broker, 'sub-url');
    const sub = spawnCli(['sub', '-L', `mqtt://${HOST}:${w.port}/sub/url/+/#`, '-v', '-C', '1', '-i', 'sub-url']);
    await ready;
    await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'sub/url/x/y', '-m', 'via url']);
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('sub/url/x/y via url\n');
  });

  it('[MQTT-3.1.2-17] sends a will set by --will-topic/--will-payload/--will-qos/--will-retain when it vanishes', async () => {
    const ready = w.subscribed(w.broker, 'sub-will');
    const sub = spawnCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/will/x', '-i', 'sub-will', '--will-topic', 'sub/will', '--will-payload', 'gone', '--will-qos', '1', '--will-retain']);
    await ready;
    // SIGKILL: no DISCONNECT is sent, so the server must publish the will.
    await sub.stop('SIGKILL');
    // The will was retained: a later subscriber still gets it, at QoS 1.
    const later = await runCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/will', '-q', '1', '-v', '-d', '-C', '1', '-W', '10', '-i', 'sub-will-reader']);
    expect(later.code).toBe(0);
    expect(lines(later.stdout)).toContain('sub/will gone');
    expect(later.stdout).toMatch(/received PUBLISH \(d0, q1, r1, m\d+, 'sub\/will', \.\.\. \(4 bytes\)\)/);
  });

  it('logs in with -u/-P and exits 1 when every subscription is refused (SUBACK 0x80)', async () => {
    const r = await runCli(['sub', '-h', HOST, '-p', w.authPort, '-u', 'alice', '-P', 'secret', '-t', 'secret/x', '-W', '10']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      'Warning: subscription to "secret/x" refused by the server (SUBACK 0x80)',
      'Error: every subscription was refused by the server (SUBACK 0x80)',
    ]);
  });

  it('exits with the CONNACK return code when refused', async () => {
    const r = await runCli(['sub', '-h', HOST, '-p', w.authPort, '-t', 'x']);
    expect(r.code).toBe(5);
    expect(r.stderr).toBe('Error: CONNACK 5: not authorized\n');
  });

  it('stops cleanly with exit 0 on SIGINT and SIGTERM', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const ready = w.subscribed(w.broker, `sub-${signal}`);
      const sub = spawnCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/sig', '-i', `sub-${signal}`]);
      await ready;
      sub.child.kill(signal);
      expect((await sub.exited).code, signal).toBe(0);
      expect(sub.stderr()).toBe('');
    }
  });

  it('survives a broker restart: reconnects, subscribes again, prints messages from before and after, says so on stderr only with -d', async () => {
    let broker = await startBroker({ port: 0, host: HOST });
    const port = broker.address.port;
    try {
      const ready = w.subscribed(broker, 'sub-restart');
      const sub = spawnCli(['sub', '-h', HOST, '-p', String(port), '-t', 'restart/#', '-q', '1', '-v', '-i', 'sub-restart']);
      await ready;
      await runCli(['pub', '-h', HOST, '-p', String(port), '-t', 'restart/a', '-m', 'before', '-q', '1']);
      await sub.waitForOutput('restart/a before');
      await broker.close();
      broker = await startBroker({ port, host: HOST });
      // [MQTT-3.1.2-6] a clean session on the new broker: sub must subscribe again by itself.
      await w.subscribed(broker, 'sub-restart');
      await runCli(['pub', '-h', HOST, '-p', String(port), '-t', 'restart/b', '-m', 'after', '-q', '1']);
      await sub.waitForOutput('restart/b after');
      sub.child.kill('SIGINT');
      expect((await sub.exited).code).toBe(0);
      expect(sub.stdout()).toBe('restart/a before\nrestart/b after\n');
      expect(sub.stderr()).toBe('');
    } finally {
      await broker.close();
    }
  });

  it('sends -U again on every connection, after the SUBSCRIBE, as mosquitto_sub does: a persistent session survives a broker restart', async () => {
    let broker = await startBroker({ port: 0, host: HOST });
    const port = broker.address.port;
    const id = 'sub-unsub';
    // What the broker saw from the subscriber, in order: 'subscribe y/#' and 'unsubscribe x/#'.
    const watch = (b: Broker) => {
      const seen: string[] = [];
      const unsubscribed = new Promise<void>((resolve) => {
        b.on('subscribe', (subs, client) => client.clientId === id && seen.push(`subscribe ${subs.map((s) => s.topicFilter).join(' ')}`));
        b.on('unsubscribe', (filters, client) => client.clientId === id && (seen.push(`unsubscribe ${filters.join(' ')}`), resolve()));
      });
      return { seen, unsubscribed };
    };
    try {
      let events = watch(broker);
      const sub = spawnCli(['sub', '-h', HOST, '-p', String(port), '-c', '-i', id, '-q', '1', '-U', 'x/#', '-t', 'y/#', '-d']);
      await events.unsubscribed;
      expect(events.seen).toEqual(['subscribe y/#', 'unsubscribe x/#']);
      // Acknowledged, so the client has nothing of it to resend: a second one must come from sub.
      await sub.waitForOutput(/received UNSUBACK/);
      await broker.close();
      broker = await startBroker({ port, host: HOST });
      events = watch(broker);
      // [MQTT-3.2.2-3] the new broker has no session for the id (Session Present 0): the client
      // subscribes again by itself, and sub unsubscribes -U again.
      await events.unsubscribed;
      expect(events.seen).toEqual(['subscribe y/#', 'unsubscribe x/#']);
      sub.child.kill('SIGINT');
      expect((await sub.exited).code).toBe(0);
      const sent = lines(sub.stdout()).filter((l) => /sending (CONNECT|SUBSCRIBE|UNSUBSCRIBE)/.test(l));
      expect(sent.map((l) => l.replace(/ \(.*$/, ''))).toEqual([
        `Client ${id} sending CONNECT`,
        `Client ${id} sending SUBSCRIBE`,
        `Client ${id} sending UNSUBSCRIBE`,
        `Client ${id} sending CONNECT`,
        `Client ${id} sending SUBSCRIBE`,
        `Client ${id} sending UNSUBSCRIBE`,
      ]);
    } finally {
      await broker.close();
    }
  });

  it('exits with the CONNACK return code when the restarted broker refuses the reconnect, and prints nothing with --quiet', async () => {
    for (const quiet of [false, true]) {
      let broker = await startBroker({ port: 0, host: HOST });
      const port = broker.address.port;
      try {
        const id = `sub-refused-${quiet}`;
        const ready = w.subscribed(broker, id);
        const sub = spawnCli(['sub', '-h', HOST, '-p', String(port), '-t', 'x', '-i', id, ...(quiet ? ['--quiet'] : [])]);
        await ready;
        await broker.close();
        broker = await startBroker({ port, host: HOST, allowAnonymous: false, users: { alice: 'secret' } });
        expect((await sub.exited).code).toBe(5);
        expect(sub.stderr()).toBe(quiet ? '' : 'Error: CONNACK 5: not authorized\n');
      } finally {
        await broker.close();
      }
    }
  });

  it('prints about the --random-filter percentage of messages, counting every one for -C as mosquitto_sub does', async () => {
    const ready = w.subscribed(w.broker, 'sub-random');
    const sub = spawnCli(['sub', '-h', HOST, '-p', w.port, '-t', 'sub/random', '-q', '1', '--random-filter', '50', '-C', '400', '-i', 'sub-random']);
    await ready;
    const lines400 = Array.from({ length: 400 }, (_, i) => `m${i}`).join('\n');
    expect((await runCli(['pub', '-h', HOST, '-p', w.port, '-t', 'sub/random', '-l', '-q', '1'], { input: `${lines400}\n` })).code).toBe(0);
    expect((await sub.exited).code).toBe(0);
    // Binomial(400, 0.5): 120..280 is more than 8 standard deviations either side.
    const printed = lines(sub.stdout()).length;
    expect(printed).toBeGreaterThan(120);
    expect(printed).toBeLessThan(280);
  });

  it('[MQTT-4.7.1-2] refuses a misplaced # in a filter before connecting', async () => {
    const r = await runInProcess(['sub', '-h', HOST, '-p', w.port, '-t', 'a/#/b']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^Error: invalid topic filter for -t "a\/#\/b": INVALID_TOPIC_FILTER \[MQTT-4\.7\.1-2\]/)]);
  });

  it('refuses usage mistakes with exit 1 and one line (in process)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /^Error: no topic filter: /],
      [['-t', 'x', '-C', '0'], /^Error: -C must be from 1 to/],
      [['-t', 'x', '-W', 'soon'], /^Error: -W must be a whole number/],
      [['-t', 'x', '-c'], /^Error: -c \(persistent session\) needs a client id \(-i or -I\)/],
      [['-t', 'x', 'extra'], /^Error: unexpected argument "extra"/],
      [['-t', 'x', '-y'], /^Error: no such option -y \(see mqtt311 sub --help\)$/],
    ];
    for (const [argv, expected] of cases) {
      const r = await runInProcess(['sub', '-h', HOST, '-p', w.port, ...argv]);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(lines(r.stderr), argv.join(' ')).toEqual([expect.stringMatching(expected)]);
    }
  });
});
