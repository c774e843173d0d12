/**
 * The broker's only contact with the network: it turns a Node Duplex byte stream (a TCP socket,
 * or a WebSocket wrapped by `ws`'s createWebSocketStream) into a `Link` for the core, decodes what
 * arrives, and writes what the core sends.
 *
 * Writes go through a `PacketWriter` (writer.ts): what a client is sent during one event-loop
 * turn leaves in one write at the end of the turn, and large payloads are never copied.
 *
 * Backpressure, both ways:
 * - when more than `highWaterMark` bytes wait in a client's socket buffer, QoS 0 messages to it are
 *   dropped (QoS 1/2 are bounded by the session's inflight window and queue) and reading from it
 *   pauses until the buffer drains, so a client that sends without reading cannot grow it;
 * - the decoder refuses a packet larger than `maxPacketSize` as soon as its length is known, and a
 *   connection holds a decoder only while part of a packet is pending (idle ones cost less);
 * - the bytes of an incomplete packet count in the broker-wide `MemoryBudget` (budget.ts), which
 *   may stop reading from this connection or close it.
 */
import { createServer, Socket, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { Decoder, isMqttError } from '../codec/index.js';
import type { Packet, ProtocolVersion } from '../codec/index.js';
import type { BudgetAccount, BudgetCloseReason, MemoryBudget } from './budget.js';
import type { BrokerCore } from './core.js';
import { BrokerError } from './errors.js';
import type { ClientHandle, Link } from './handle.js';
import { PacketWriter } from './writer.js';

/**
 * Decoders holding no bytes, by maximum packet size. An idle connection holds no decoder: most
 * chunks end on a packet boundary, so one spare decoder serves every connection in turn, and only
 * a connection left with part of a packet keeps one to itself until the packet is complete. A
 * decoder with no bytes held carries no state of its previous connection but its stream offset,
 * which only ever serves as a difference.
 */
const spareDecoders = new Map<number, Decoder[]>();
/** Spare decoders kept per maximum packet size (more are only needed by re-entrant reads). */
const MAX_SPARE = 4;

function takeDecoder(maxPacketSize: number): Decoder {
  return spareDecoders.get(maxPacketSize)?.pop() ?? new Decoder({ maxPacketSize });
}

function giveBackDecoder(decoder: Decoder, maxPacketSize: number): void {
  let spare = spareDecoders.get(maxPacketSize);
  if (!spare) spareDecoders.set(maxPacketSize, (spare = []));
  if (spare.length < MAX_SPARE) spare.push(decoder);
}

/** How long a closing connection may take to flush its last bytes before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

/** Limits for one attached stream. */
export interface StreamOptions {
  /** Largest packet accepted from the peer, in bytes. */
  maxPacketSize: number;
  /** Bytes waiting in the write buffer beyond which QoS 0 is dropped and reading pauses. */
  highWaterMark: number;
  /** The protocol versions the stream's listener accepts (default: the broker's). */
  protocolVersions?: readonly ProtocolVersion[];
  /** The broker-wide budget this connection's incomplete packets count in. */
  budget?: MemoryBudget;
}

/** Per-connection transport counters. */
export interface StreamStats {
  /** QoS 0 messages dropped because the client was not reading fast enough. */
  droppedQos0: number;
}

/**
 * Attaches `stream` to `core`: decodes its bytes into packets for a new `ClientHandle` and writes
 * the handle's packets back. TCP_NODELAY is set on sockets: MQTT packets are small and a QoS 1
 * round trip must not wait for Nagle's algorithm.
 */
export function attachStream(core: BrokerCore, stream: Duplex, options: StreamOptions): ClientHandle {
  if (stream instanceof Socket) stream.setNoDelay(true);
  const stats: StreamStats = { droppedQos0: 0 };
  let pausedForHook = false;
  let pausedForDrain = false;
  let pausedForBudget = false;
  let closeTimer: ReturnType<typeof setTimeout> | undefined;

  const updateFlow = (): void => {
    if (stream.destroyed) return;
    if (pausedForHook || pausedForDrain || pausedForBudget) stream.pause();
    else stream.resume();
  };
  const onDrain = (): void => {
    pausedForDrain = false;
    updateFlow();
  };

  // Stop reading from a client that does not read (until 'drain', which the stream only
  // promises when it said it needs one).
  const writer = new PacketWriter(stream, {
    afterFlush(): void {
      if (!pausedForDrain && stream.writableLength > options.highWaterMark && stream.writableNeedDrain) {
        pausedForDrain = true;
        stream.once('drain', onDrain);
        updateFlow();
      }
    },
    onError: (e) => core.internalError(handle, e),
  });

  const link: Link & { stats: StreamStats } = {
    stats,
    remoteAddress: (stream as Partial<Socket>).remoteAddress,
    protocolVersions: options.protocolVersions,
    send(packets: readonly Packet[]): void {
      if (stream.destroyed || stream.writableEnded) return;
      for (const p of packets) {
        // Slow reader: QoS 0 is "at most once", so it is the first thing to give up.
        if (p.cmd === 'publish' && p.qos === 0 && stream.writableLength + writer.pendingBytes > options.highWaterMark) {
          stats.droppedQos0++;
          const state = handle.session.state;
          if (state) state.dropped++;
          continue;
        }
        writer.add(p);
      }
    },
    close(mode): void {
      if (mode === 'destroy' || stream.destroyed) {
        writer.discard();
        stream.destroy();
        return;
      }
      writer.flush();
      stream.end();
      // A peer that never reads would keep the socket half-open forever: give it a moment to take
      // its last packets (a refusing CONNACK, say), then cut it.
      closeTimer ??= setTimeout(() => stream.destroy(), CLOSE_GRACE_MS);
    },
    pause(): void {
      pausedForHook = true;
      updateFlow();
    },
    resume(): void {
      pausedForHook = false;
      updateFlow();
    },
  };

  const handle = core.attach(link);
  // A connection owns a decoder only while it holds part of a packet (see takeDecoder).
  let decoder: Decoder | undefined;
  const budget = options.budget;
  const account: BudgetAccount = {
    held: 0,
    since: 0,
    paused: false,
    setPaused(paused: boolean): void {
      pausedForBudget = paused;
      updateFlow();
    },
    close(reason: BudgetCloseReason): void {
      const error =
        reason === 'memory-budget'
          ? new BrokerError('MEMORY_BUDGET', `over the broker's memory budget with ${account.held} bytes of an incomplete packet`)
          : new BrokerError('PACKET_TIMEOUT', `a packet was not completed within ${budget?.partialPacketTimeout} ms of its first byte`);
      core.apply(handle, { type: 'close', reason, error });
      // Its bytes must go now, not after the close grace period.
      stream.destroy();
    },
  };
  budget?.open(account);

  stream.on('data', (chunk: Uint8Array) => {
    if (handle.ended) return;
    const d = decoder ?? takeDecoder(options.maxPacketSize);
    decoder = d;
    try {
      d.push(chunk);
      const now = core.now(); // one reading per chunk: keep-alive needs no finer clock
      const offset = d.offset;
      for (let p = d.next(); p !== undefined && !handle.ended; p = d.next()) handle.receive(p, now);
      if (!handle.ended) budget?.settle(account, d.heldBytes, d.offset !== offset, now);
    } catch (e) {
      // An errored decoder stays errored: it is never handed back.
      decoder = undefined;
      if (isMqttError(e)) handle.fail(e);
      else core.internalError(handle, e);
      return;
    }
    // Nothing of this client's left in it: give it back for the next chunk of any connection.
    if (d.heldBytes === 0) {
      decoder = undefined;
      giveBackDecoder(d, options.maxPacketSize);
    } else if (handle.ended) decoder = undefined;
  });
  stream.on('end', () => {
    // The peer half-closed: finish our side too (net.Socket does this itself, other Duplexes may not).
    if (!stream.writableEnded) stream.end();
  });
  stream.on('error', () => {
    /* a reset or write error: 'close' follows and ends the session as 'connection-lost' */
  });
  stream.on('close', () => {
    if (closeTimer) clearTimeout(closeTimer);
    writer.discard();
    stream.off('drain', onDrain);
    budget?.release(account);
    handle.linkClosed();
  });
  return handle;
}

/**
 * Listens for TCP connections on `host`:`port` and attaches each one. Resolves with the server
 * once it is listening; rejects if it cannot listen (port in use, say).
 */
export function listenTcp(host: string, port: number, onSocket: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true }, onSocket);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
