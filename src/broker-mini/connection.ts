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
 * - the decoder refuses a packet larger than `maxPacketSize` as soon as its length is known;
 * - the bytes of an incomplete packet count in the broker-wide `MemoryBudget` (budget.ts), which
 *   may stop reading from this connection or close it; so do the bytes a framing transport
 *   (WebSocket) holds for an incomplete frame, which the decoder has not seen yet.
 */
import { createServer, Socket, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { Decoder, isMqttError } from '../codec/index.js';
import type { Packet, ProtocolVersion } from '../codec/index.js';
import { FRAMED_BYTES_EVENT, isFramedStream, type BudgetAccount, type BudgetCloseReason, type MemoryBudget } from './budget.js';
import type { BrokerCore } from './core/broker-core.js';
import { BrokerError } from './core/errors.js';
import type { ClientHandle, Link } from './core/handle.js';
import type { ConnectionPolicy } from './listener-options.js';
import { mountInbound, mountOutbound } from './mount.js';
import { PacketWriter } from './writer.js';

/** How long a closing connection may take to flush its last bytes before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

/** Limits for one attached stream. */
export interface StreamOptions {
  /** Largest packet accepted from the peer, in bytes. */
  maxPacketSize: number;
  /** Bytes waiting in the write buffer beyond which QoS 0 is dropped and reading pauses. */
  highWaterMark: number;
  /** The protocol versions the stream's listener accepts (default: the broker's). */
  protocolVersions?: readonly ProtocolVersion[] | undefined;
  /** The broker-wide budget this connection's incomplete packets count in. */
  budget?: MemoryBudget;
  /** The listener's topic prefix (mosquitto `mount_point`, see mount.ts). */
  mountPoint?: string | undefined;
  /** What the listener tells the core about this connection. */
  policy?: ConnectionPolicy | undefined;
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

  const mount = options.mountPoint;
  const counters = core.stats;
  counters.socketsOpened++;
  const link: Link & { stats: StreamStats } = {
    stats,
    remoteAddress: (stream as Partial<Socket>).remoteAddress, // a socket has it; other duplex streams leave it undefined
    protocolVersions: options.protocolVersions,
    policy: options.policy,
    send(packets: readonly Packet[]): void {
      if (stream.destroyed || stream.writableEnded) return;
      for (let p of packets) {
        // Slow reader: QoS 0 is "at most once", so it is the first thing to give up.
        if (p.cmd === 'publish' && p.qos === 0 && stream.writableLength + writer.pendingBytes > options.highWaterMark) {
          stats.droppedQos0++;
          handle.session.state?.countDropped();
          continue;
        }
        if (mount !== undefined) p = mountOutbound(p, mount);
        counters.bytesSent += writer.add(p);
        counters.packetsSent++;
        if (p.cmd === 'publish') {
          counters.publishSent++;
          counters.publishBytesSent += p.payload.byteLength;
        }
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
  const decoder = new Decoder({ maxPacketSize: options.maxPacketSize });
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
      // Closing settles on its own (the handle ends); nothing here waits for it.
      void core.apply(handle, { type: 'close', reason, error });
      // Its bytes must go now, not after the close grace period.
      stream.destroy();
    },
  };
  budget?.open(account);
  // Bytes held for this connection: the decoder's incomplete packet plus the transport's incomplete frame.
  const framed = isFramedStream(stream) ? stream : undefined;
  let completedSinceFramed = false;
  const settle = (completed: boolean, now: number): void => {
    const held = decoder.heldBytes + (framed?.framedBytes ?? 0);
    // A framed stream delivers a network chunk as several messages; while it does, what is held
    // may look like growth (the chunk's later frames are still unparsed). Growth is settled once
    // the whole chunk is parsed (onFramed), so a client whose packet spans frames is not paused for it.
    if (framed && held > account.held) completedSinceFramed ||= completed;
    else budget?.settle(account, held, completed, now);
  };
  const onFramed = (): void => {
    if (handle.ended || stream.destroyed) return;
    budget?.settle(account, decoder.heldBytes + framed!.framedBytes, completedSinceFramed, core.now()); // onFramed listens only on a framed stream
    completedSinceFramed = false;
  };
  if (framed && budget) stream.on(FRAMED_BYTES_EVENT, onFramed);

  stream.on('data', (chunk: Uint8Array) => {
    if (handle.ended) return;
    counters.bytesReceived += chunk.byteLength;
    try {
      decoder.push(chunk);
      const now = core.now(); // one reading per chunk: keep-alive needs no finer clock
      const offset = decoder.offset;
      for (let p = decoder.next(); p !== undefined && !handle.ended; p = decoder.next()) {
        counters.packetsReceived++;
        if (p.cmd === 'publish') {
          counters.publishReceived++;
          counters.publishBytesReceived += p.payload.byteLength;
        }
        handle.receive(mount === undefined ? p : mountInbound(p, mount), now);
      }
      if (!handle.ended) settle(decoder.offset !== offset, now);
    } catch (e) {
      if (isMqttError(e)) handle.fail(e);
      else core.internalError(handle, e);
    }
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
    stream.off(FRAMED_BYTES_EVENT, onFramed);
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
