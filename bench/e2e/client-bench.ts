/**
 * The client benchmark: our client and MQTT.js, each in its own process, publish to the same
 * mosquitto; a raw subscriber from the load generator checks every message. Measured: messages
 * per second and the client process's CPU time per message.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker } from './brokers.js';
import { closeWorker, forkNode, REPO_ROOT, type NodeChild } from './procs.js';
import type { ClientScenario, Settings } from './scenarios.js';
import { startWorker, stopWorkers, type LoadWorker } from './workers.js';
import type { ClientInit, ClientLib, ClientRun, ClientRunResult } from './client-worker.js';
import type { SubStats } from './load/subscriber.js';
import { topicNames } from './load/wire.js';

/** The clients compared, in the order runs interleave them. */
export const CLIENTS: readonly ClientLib[] = ['mqtt311', 'mqttjs'];

/** What one client run measured. */
export interface ClientResult {
  scenario: string;
  client: ClientLib;
  rep: number;
  sent: number;
  msgsPerSec: number;
  /** Client process CPU time per published message, µs. */
  cpuPerMsgUs: number;
  /** Client process CPU use while publishing, in cores. */
  cpuCores: number;
  lost: number;
  duplicates: number;
  misrouted: number;
}

/** Why a client cannot run here, or `undefined`. */
export function clientUnavailable(lib: ClientLib): string | undefined {
  if (lib === 'mqtt311') return existsSync(join(REPO_ROOT, 'src/client/index.ts')) ? undefined : 'src/client/index.ts does not exist yet';
  return existsSync(join(REPO_ROOT, 'node_modules/mqtt/package.json')) ? undefined : 'mqtt (MQTT.js) is not installed';
}

/** Runs one client once: warm-up, measured publishing, then a check of every delivery. */
export async function runClient(s: ClientScenario, lib: ClientLib, rep: number, set: Settings): Promise<ClientResult> {
  const broker = await startBroker('mosquitto');
  const workers: LoadWorker[] = [];
  let client: NodeChild | undefined;
  try {
    const [topic] = topicNames(`bench/client${process.pid}r${rep}${lib}`, 1) as [string];
    const sub = await startWorker(
      { role: 'sub', port: broker.port, subs: [{ topicIndex: 0, filter: topic }], qos: s.qos, maxPubs: 1, setupBatch: 1, load: 'raw' },
      `client${process.pid}r${rep}${lib}`,
    );
    workers.push(sub.worker);
    client = forkNode('bench/e2e/client-worker.ts', [], [], lib);
    // The same in-flight window as MQTT.js, which sends a whole chunk without waiting for acks.
    const init: ClientInit = { lib, port: broker.port, topic, qos: s.qos, payloadSize: set.payloadSize, noDelay: true, maxInflight: s.chunk };
    await client.rpc.call('init', init);
    const count = s.qos === 0 ? set.clientMessages.qos0 : set.clientMessages.qos1;
    const warm: ClientRun = { count: Math.ceil(count / 10), chunk: s.chunk, maxMs: set.clientMaxMs / 4 };
    await client.rpc.call<ClientRunResult>('run', warm, set.clientMaxMs + 30_000);
    const r = await client.rpc.call<ClientRunResult>('run', { count, chunk: s.chunk, maxMs: set.clientMaxMs }, set.clientMaxMs + 30_000);
    const published = await client.rpc.call<number>('published');
    // Wait (bounded) for the subscriber to have everything.
    const deadline = Date.now() + set.drainMs;
    let stable = 0;
    let last = -1;
    while (Date.now() < deadline && stable < 10) {
      const { unique } = await sub.worker.rpc.call<{ unique: number }>('progress');
      if (unique >= published) break;
      stable = unique === last ? stable + 1 : 0;
      last = unique;
      await new Promise((res) => setTimeout(res, 100));
    }
    const f = await sub.worker.rpc.call<{ subs: SubStats[] }>('final');
    const st = f.subs[0]!; // one subscriber worker
    return {
      scenario: s.id,
      client: lib,
      rep,
      sent: r.sent,
      msgsPerSec: (r.sent * 1000) / r.elapsedMs,
      cpuPerMsgUs: r.cpuMicros / r.sent,
      cpuCores: r.cpuMicros / 1000 / r.elapsedMs,
      lost: Math.max(0, published - (st.received - st.duplicates - st.misrouted)),
      duplicates: st.duplicates,
      misrouted: st.misrouted,
    };
  } finally {
    if (client) await closeWorker(client);
    await stopWorkers(workers);
    await broker.stop();
  }
}
