/**
 * A Node broker under test, in its own process: `broker-server.ts mini` runs broker-mini,
 * `broker-server.ts aedes` runs aedes, `broker-server.ts node-net` a bare `net` server (the memory
 * floor), `broker-server.ts node-floor` the Node floor of CPU per delivery (node-floor.ts, not a
 * broker). argv[3] is a JSON object of broker options.
 *
 * It listens on a free port of 127.0.0.1 and answers the harness over IPC: `info` (the port),
 * `cpu` (its own process.cpuUsage, µs), `gc` (a full collection, when started with --expose-gc,
 * so memory readings do not depend on when the collector last ran) and `stop`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { listenOnFreePort, startNodeFloor } from './node-floor.js';
import { cpuMicros, serve } from './rpc.js';

/** Options the harness passes to a Node broker. */
export interface NodeBrokerOptions {
  /** Per-client queue limit, raised so no broker drops messages because of a small default. */
  maxQueuedMessages?: number;
}

/** What a Node broker reports of its own memory (bytes; see `memory` below). */
export interface NodeHeapReading {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  /** The young generation's size (both semi-spaces), part of heapTotal. */
  newSpace: number;
}

interface Running {
  port: number;
  close(): Promise<void>;
  /** Messages the broker itself reports dropping for these clients, when it keeps count. */
  dropped(clientIds: string[]): number | null;
}

async function startMini(opts: NodeBrokerOptions): Promise<Running> {
  const { startBroker } = await import('../../src/broker-mini/index.js');
  const broker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    ...(opts.maxQueuedMessages ? { maxQueuedMessages: opts.maxQueuedMessages } : {}),
  });
  return {
    port: broker.address.port,
    close: () => broker.close(),
    dropped: (ids) => ids.reduce((n, id) => n + (broker.sessionInfo(id)?.dropped ?? 0), 0),
  };
}

async function startAedes(): Promise<Running> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server: Server = createServer((socket) => {
    // aedes leaves Nagle on; every other broker here runs with TCP_NODELAY.
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  return {
    port: await listenOnFreePort(server),
    close: () =>
      new Promise<void>((res) => {
        server.close();
        broker.close(() => res());
      }),
    dropped: () => null,
  };
}

const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00]);
function answerConnect(this: Socket): void {
  this.write(CONNACK_ACCEPTED);
}
function ignoreError(): void {}

/**
 * The floor: sockets held by a plain `net` server that reads them, answering the first chunk with
 * CONNACK "accepted" (the load generator waits for it). No decoding, no session, and listeners
 * shared by every socket (no closure per socket): the least a Node server holding sockets and
 * reading them keeps per connection.
 */
async function startNodeNet(): Promise<Running> {
  const server: Server = createServer({ noDelay: true }, (socket) => {
    socket.once('data', answerConnect);
    socket.on('error', ignoreError);
  });
  return { port: await listenOnFreePort(server), close: () => new Promise<void>((res) => server.close(() => res())), dropped: () => null };
}

const kind = process.argv[2];
const opts = JSON.parse(process.argv[3] ?? '{}') as NodeBrokerOptions;
// Serve at once (a request that arrived before the listener was added would be lost) and let
// `info` wait for the broker to be up.
const starting: Promise<Running> =
  kind === 'mini'
    ? startMini(opts)
    : kind === 'aedes'
      ? startAedes()
      : kind === 'node-net'
        ? startNodeNet()
        : kind === 'node-floor'
          ? startNodeFloor().then((f) => ({ ...f, dropped: () => null }))
          : Promise.reject(new Error(`unknown broker '${kind}'`));
let running: Running | undefined;

serve({
  async info() {
    running = await starting;
    return { port: running.port, pid: process.pid };
  },
  cpu: () => cpuMicros(),
  dropped: (clientIds: string[]) => running?.dropped(clientIds) ?? null,
  gc: () => {
    (globalThis as { gc?: () => void }).gc?.();
    return null;
  },
  // Where the resident memory is: live JS objects (heapUsed), the heap's reserve (heapTotal minus
  // heapUsed, with new space apart: it grows under allocation and a full GC does not shrink it),
  // and memory outside the heap that V8 knows of (external: Buffers' backing stores).
  memory: (): NodeHeapReading => {
    const m = process.memoryUsage();
    const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, newSpace: newSpace?.space_size ?? 0 };
  },
  // A heap snapshot for bench/idle-breakdown.ts (after a full GC the harness asked for).
  snapshot: (path: string) => writeHeapSnapshot(path),
  async stop() {
    await (await starting).close();
    setImmediate(() => process.exit(0));
    return null;
  },
});
