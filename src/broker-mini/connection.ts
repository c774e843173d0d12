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
import { FRAMED_BYTES_EVENT, isFramedStream, type BudgetAccount, type BudgetCloseReason, type FramedStream, type MemoryBudget } from './budget.js';
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

/** The connection a stream feeds (set on the stream, so its listeners can be shared functions). */
const CONNECTION = Symbol('mqtt311.connection');
type AttachedStream = Duplex & { [CONNECTION]?: Connection };

/**
 * Idle decoders, shared by every connection: a connection holds a `Decoder` only while it has
 * bytes of an incomplete packet, and gives it back at the end of a chunk that completed them.
 * An idle connection then costs no decoder, no queue array and no retained chunk; a busy one
 * takes and gives back the same decoder every chunk, which costs two array operations.
 */
const idleDecoders: Decoder[] = [];
/** More idle decoders than this are left to the garbage collector. */
const IDLE_DECODERS_KEPT = 64;

function takeDecoder(maxPacketSize: number, version: ProtocolVersion, offset: number): Decoder {
  let d = idleDecoders.pop();
  if (d === undefined || d.maxPacketSize !== maxPacketSize) d = new Decoder({ maxPacketSize });
  d.restart(version, offset);
  return d;
}

function giveDecoder(d: Decoder): void {
  if (idleDecoders.length >= IDLE_DECODERS_KEPT) return;
  d.restart(4, 0); // let go of the last frame's bytes now
  idleDecoders.push(d);
}

/**
 * One attached stream: the `Link` the core writes to, and the state the stream's listeners need.
 * One object per connection with its methods on the prototype, and listeners shared by all
 * connections (they find theirs through the stream): an idle connection costs a few hundred
 * bytes here, not a closure per callback.
 */
class Connection implements Link {
  readonly remoteAddress: string | undefined;
  readonly protocolVersions?: readonly ProtocolVersion[];
  readonly policy?: ConnectionPolicy;
  readonly #stream: AttachedStream;
  readonly #core: BrokerCore;
  readonly #options: StreamOptions;
  /** Only while packets wait for this turn's write (see `PacketWriter.take`). */
  #writer: PacketWriter | undefined;
  /** Set right after construction: the core's handle for this connection. */
  handle!: ClientHandle;
  /** Only while bytes of an incomplete packet are held (see `takeDecoder`). */
  #decoder: Decoder | undefined;
  /** The protocol version the decoder applies (changed by a decoded CONNECT), kept while it is given back. */
  #version: ProtocolVersion = 4;
  /** Bytes of this stream consumed as whole packets: error offsets count from the stream's start. */
  #consumed = 0;
  /** Opened in the budget when the connection first holds bytes of an incomplete packet (`#accountHolding`). */
  #account: StreamAccount | undefined;
  /** A framing transport (WebSocket) that holds bytes of an incomplete frame. */
  readonly #framed: FramedStream | undefined;
  /** A framed stream delivers one network chunk as several messages: whether one of them completed a packet. */
  #completedSinceFramed = false;
  #pausedForHook = false;
  #pausedForDrain = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(core: BrokerCore, stream: AttachedStream, options: StreamOptions) {
    this.#core = core;
    this.#stream = stream;
    this.#options = options;
    this.remoteAddress = (stream as Partial<Socket>).remoteAddress; // a socket has it; other duplex streams leave it undefined
    if (options.protocolVersions !== undefined) this.protocolVersions = options.protocolVersions;
    if (options.policy !== undefined) this.policy = options.policy;
    this.#framed = isFramedStream(stream) ? stream : undefined;
  }

  // --- Link ---------------------------------------------------------------------------------------

  send(packets: readonly Packet[]): void {
    const stream = this.#stream;
    if (stream.destroyed || stream.writableEnded) return;
    const { highWaterMark, mountPoint } = this.#options;
    const counters = this.#core.stats;
    for (let p of packets) {
      // Slow reader: QoS 0 is "at most once", so it is the first thing to give up.
      if (p.cmd === 'publish' && p.qos === 0 && stream.writableLength + (this.#writer?.pendingBytes ?? 0) > highWaterMark) {
        this.handle.session.state?.countDropped();
        continue;
      }
      if (mountPoint !== undefined) p = mountOutbound(p, mountPoint);
      // A writer that filled up writes at once and may go back to the pool: take one per packet.
      counters.bytesSent += (this.#writer ??= PacketWriter.take(stream, this)).add(p);
      counters.packetsSent++;
      if (p.cmd === 'publish') {
        counters.publishSent++;
        counters.publishBytesSent += p.payload.byteLength;
      }
    }
  }

  close(mode: 'flush' | 'destroy'): void {
    const stream = this.#stream;
    if (mode === 'destroy' || stream.destroyed) {
      this.#releaseWriter();
      stream.destroy();
      return;
    }
    this.#writer?.flush();
    stream.end();
    // A peer that never reads would keep the socket half-open forever: give it a moment to take
    // its last packets (a refusing CONNACK, say), then cut it.
    this.#closeTimer ??= setTimeout(() => stream.destroy(), CLOSE_GRACE_MS);
  }

  pause(): void {
    this.#pausedForHook = true;
    this.updateFlow();
  }

  resume(): void {
    this.#pausedForHook = false;
    this.updateFlow();
  }

  // --- WriterHooks --------------------------------------------------------------------------------

  /** Stops reading from a client that does not read (until 'drain', which the stream only promises when it said it needs one). */
  afterFlush(): void {
    const stream = this.#stream;
    if (!this.#pausedForDrain && stream.writableLength > this.#options.highWaterMark && stream.writableNeedDrain) {
      this.#pausedForDrain = true;
      stream.once('drain', onDrain);
      this.updateFlow();
    }
    // Everything is written: the writer goes back to the shared pool until the next packet.
    if (this.#writer?.pendingBytes === 0) this.#releaseWriter();
  }

  #releaseWriter(): void {
    this.#writer?.release();
    this.#writer = undefined;
  }

  onError(error: unknown): void {
    this.#core.internalError(this.handle, error);
  }

  // --- flow and input -----------------------------------------------------------------------------

  drained(): void {
    this.#pausedForDrain = false;
    this.updateFlow();
  }

  updateFlow(): void {
    const stream = this.#stream;
    if (stream.destroyed) return;
    if (this.#pausedForHook || this.#pausedForDrain || this.#account?.paused) stream.pause();
    else stream.resume();
  }

  /** A chunk arrived: decode every whole packet in it and hand them to the core. */
  received(chunk: Uint8Array): void {
    const handle = this.handle;
    if (handle.ended) return;
    const counters = this.#core.stats;
    counters.bytesReceived += chunk.byteLength;
    const decoder = (this.#decoder ??= takeDecoder(this.#options.maxPacketSize, this.#version, this.#consumed));
    const mount = this.#options.mountPoint;
    try {
      decoder.push(chunk);
      const now = this.#core.now(); // one reading per chunk: keep-alive needs no finer clock
      const offset = decoder.offset;
      for (let p = decoder.next(); p !== undefined && !handle.ended; p = decoder.next()) {
        counters.packetsReceived++;
        if (p.cmd === 'publish') {
          counters.publishReceived++;
          counters.publishBytesReceived += p.payload.byteLength;
        }
        handle.receive(mount === undefined ? p : mountInbound(p, mount), now);
      }
      if (handle.ended) return;
      const held = decoder.heldBytes;
      this.#settle(held, decoder.offset !== offset, now);
      if (held === 0) {
        // Idle again: the decoder goes back to the shared pool until the next chunk.
        this.#version = decoder.protocolVersion;
        this.#consumed = decoder.offset;
        this.#decoder = undefined;
        giveDecoder(decoder);
      }
    } catch (e) {
      // An errored decoder stays with the connection (it is closing) and is never given back.
      if (isMqttError(e)) handle.fail(e);
      else this.#core.internalError(handle, e);
    }
  }

  /** Tells the budget what this connection holds: the decoder's incomplete packet plus the transport's incomplete frame. */
  #settle(decoderHeld: number, completed: boolean, now: number): void {
    const framed = this.#framed;
    const held = decoderHeld + (framed?.framedBytes ?? 0);
    const account = this.#accountHolding(held);
    if (account === undefined) return;
    // A framed stream delivers a network chunk as several messages; while it does, what is held
    // may look like growth (the chunk's later frames are still unparsed). Growth is settled once
    // the whole chunk is parsed (`framedChunkDone`), so a client whose packet spans frames is not paused for it.
    if (framed && held > account.held) this.#completedSinceFramed ||= completed;
    else account.budget.settle(account, held, completed, now);
  }

  /**
   * The connection's budget account, opened the first time it holds bytes: a connection whose
   * packets all arrive whole (most of them) never needs one.
   */
  #accountHolding(held: number): StreamAccount | undefined {
    const budget = this.#options.budget;
    if (this.#account === undefined && held > 0 && budget !== undefined) this.#account = new StreamAccount(this, budget);
    return this.#account;
  }

  /** A framed stream finished parsing a network chunk. */
  framedChunkDone(): void {
    if (this.handle.ended || this.#stream.destroyed) return;
    const held = (this.#decoder?.heldBytes ?? 0) + (this.#framed?.framedBytes ?? 0);
    const account = this.#accountHolding(held);
    if (account === undefined) return;
    account.budget.settle(account, held, this.#completedSinceFramed, this.#core.now());
    this.#completedSinceFramed = false;
  }

  /** The budget closes this connection: over the memory budget, or a packet too slow to complete. */
  closeForBudget(reason: BudgetCloseReason, held: number): void {
    const error =
      reason === 'memory-budget'
        ? new BrokerError('MEMORY_BUDGET', `over the broker's memory budget with ${held} bytes of an incomplete packet`)
        : new BrokerError('PACKET_TIMEOUT', `a packet was not completed within ${this.#options.budget?.partialPacketTimeout} ms of its first byte`);
    // A close effect is applied at once (only authentication and authorisation hooks return promises).
    void this.#core.apply(this.handle, { type: 'close', reason, error });
    // Its bytes must go now, not after the close grace period.
    this.#stream.destroy();
  }

  /** The stream closed, for whatever reason. */
  closed(): void {
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#releaseWriter();
    const stream = this.#stream;
    stream.off('drain', onDrain);
    stream.off(FRAMED_BYTES_EVENT, onFramedChunk);
    if (this.#account) this.#account.budget.release(this.#account);
    this.handle.linkClosed();
  }
}

/** A connection's account in the memory budget (see budget.ts). */
class StreamAccount implements BudgetAccount {
  held = 0;
  since = 0;
  paused = false;
  readonly #connection: Connection;
  readonly budget: MemoryBudget;

  constructor(connection: Connection, budget: MemoryBudget) {
    this.#connection = connection;
    this.budget = budget;
    budget.open(this);
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.#connection.updateFlow();
  }

  close(reason: BudgetCloseReason): void {
    this.#connection.closeForBudget(reason, this.held);
  }
}

// The stream listeners, one function each for every connection: `this` is the stream.
function onData(this: AttachedStream, chunk: Uint8Array): void {
  this[CONNECTION]?.received(chunk);
}
function onEnd(this: AttachedStream): void {
  // The peer half-closed: finish our side too.
  if (!this.writableEnded) this.end();
}
function onError(): void {
  /* a reset or write error: 'close' follows and ends the session as 'connection-lost' */
}
function onClose(this: AttachedStream): void {
  this[CONNECTION]?.closed();
}
function onDrain(this: AttachedStream): void {
  this[CONNECTION]?.drained();
}
function onFramedChunk(this: AttachedStream): void {
  this[CONNECTION]?.framedChunkDone();
}

/**
 * Attaches `stream` to `core`: decodes its bytes into packets for a new `ClientHandle` and writes
 * the handle's packets back. TCP_NODELAY is set on sockets: MQTT packets are small and a QoS 1
 * round trip must not wait for Nagle's algorithm.
 */
export function attachStream(core: BrokerCore, stream: Duplex, options: StreamOptions): ClientHandle {
  if (stream instanceof Socket) stream.setNoDelay(true);
  core.stats.socketsOpened++;
  const attached = stream as AttachedStream;
  const connection = new Connection(core, attached, options);
  attached[CONNECTION] = connection;
  connection.handle = core.attach(connection);
  if (options.budget && isFramedStream(stream)) stream.on(FRAMED_BYTES_EVENT, onFramedChunk);
  stream.on('data', onData);
  // A stream that does not end its side when the peer ends theirs must be told to (a net.Socket,
  // allowHalfOpen false, does it itself).
  if (stream.allowHalfOpen) stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  return connection.handle;
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
