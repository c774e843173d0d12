/**
 * The durable client store with real processes: a publisher with a SQLite store and
 * cleanSession=false is SIGKILLed mid-stream of numbered QoS 1 and QoS 2 messages five times and
 * started again each time with the same clientId and store, then a sixth time to finish. A
 * persistent subscriber counts: every message whose publish() resolved arrives, every message
 * whose PUBLISH was written (stored first: write-ahead) arrives, no QoS 2 message arrives twice.
 * Against broker-mini (with its SQLite store, fsync before every acknowledgement) and mosquitto.
 * The broker SIGKILLed instead: test/broker/durability-kill.test.ts.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStorage, startBroker } from '../../src/broker-mini/index.js';
import { connect } from '../../src/client/index.js';
import { cleanupTempDirs, makeTempDir, requirePeer, startMosquitto, stopAllProcesses } from '../helpers/peers.js';
import { numbersAfter, requireSqlite, spawnFixture, waitForCount } from './helpers.js';

const sqliteAvailable = await requireSqlite();
const mosquittoAvailable = requirePeer('mosquitto');

const CRASHES = 5;
/** Messages each run publishes at once. */
const PER_RUN = 300;
/** A run is killed once this many of its publishes resolved: mid-stream, with flows in flight. */
const KILL_AFTER = 40;

interface Target {
  url: string;
  stop(): Promise<void>;
}

async function crashAndCount(target: Target): Promise<void> {
  const received: number[] = [];
  const subscriber = await connect(target.url, { clientId: 'durable-sub', cleanSession: false, reconnect: false });
  subscriber.on('message', (_topic, payload) => received.push(Number(new TextDecoder().decode(payload))));
  await subscriber.subscribe('durable/numbers', { qos: 2 });

  const file = join(makeTempDir('mqtt311-client-store-'), 'client.db');
  const sent = new Set<number>();
  const resolved = new Set<number>();
  const attempted = new Set<number>();
  const record = (out: string) => {
    for (const n of numbersAfter('sent', out)) sent.add(n);
    for (const n of numbersAfter('resolved', out)) resolved.add(n);
  };
  for (let run = 0; run <= CRASHES; run++) {
    const first = run * 10_000;
    for (let n = first; n < first + PER_RUN; n++) attempted.add(n);
    const last = run === CRASHES;
    const publisher = spawnFixture('client-publisher', [target.url, 'durable-pub', file, String(first), String(PER_RUN), ...(last ? ['finish'] : [])]);
    if (last) {
      await publisher.waitForOutput(/^done$/m, 40_000);
    } else {
      await waitForCount(publisher, 'resolved', KILL_AFTER, 20_000);
      await publisher.stop('SIGKILL');
    }
    record(publisher.stdout());
    // Killed mid-stream: flows were still open (sent, not resolved).
    if (!last) expect([...sent].some((n) => n >= first && !resolved.has(n))).toBe(true);
  }

  // Everything the finishing run waited for is acknowledged; give the broker the time to forward it.
  const deadline = Date.now() + 20_000;
  const has = () => {
    const got = new Set(received);
    return [...sent].every((n) => got.has(n));
  };
  while (!has() && Date.now() < deadline) await new Promise<void>((r) => subscriber.once('message', () => r()));
  await subscriber.end();

  const got = new Set(received);
  const qos2 = received.filter((n) => n % 2 === 1);
  expect([...resolved].filter((n) => !got.has(n))).toEqual([]);
  expect([...sent].filter((n) => !got.has(n))).toEqual([]);
  // [MQTT-4.3.3-2] exactly once for QoS 2, across five crashes of the publisher.
  expect(qos2.length).toBe(new Set(qos2).size);
  // Nothing arrives that was not published.
  expect(received.filter((n) => !attempted.has(n))).toEqual([]);
  // The last run published all it was asked to.
  for (let n = CRASHES * 10_000; n < CRASHES * 10_000 + PER_RUN; n++) expect(got.has(n)).toBe(true);
  expect(resolved.size).toBeGreaterThanOrEqual(CRASHES * KILL_AFTER + PER_RUN);
}

describe.skipIf(!sqliteAvailable)('durable client store: publisher SIGKILLed and restarted', () => {
  it(`broker-mini with persistence: ${CRASHES} crashes, no resolved message lost, no QoS 2 duplicate [MQTT-4.4.0-1]`, async () => {
    const storage = await openSqliteStorage(join(makeTempDir('mqtt311-broker-store-'), 'broker.db'), { sync: 'always' });
    const broker = await startBroker({ port: 0, host: '127.0.0.1', storage });
    const stop = async () => {
      await broker.close();
      await storage.close();
    };
    await crashAndCount({ url: `mqtt://127.0.0.1:${broker.address.port}`, stop }).finally(stop);
  }, 180_000);

  it.skipIf(!mosquittoAvailable)(`mosquitto: ${CRASHES} crashes, no resolved message lost, no QoS 2 duplicate [MQTT-4.4.0-1]`, async () => {
    const mosq = await startMosquitto();
    await crashAndCount({ url: `mqtt://127.0.0.1:${mosq.port}`, stop: () => mosq.stop() }).finally(() => mosq.stop());
  }, 180_000);
});

afterAll(async () => {
  await stopAllProcesses();
  cleanupTempDirs();
});
