/**
 * One network connection seen as packets: a `Transport` with the codec on both sides.
 *
 * Sending. Packets are encoded straight into a slab of bytes and handed to the transport in
 * batches. A packet written while the link is quiet goes out at once: a lone packet is not held
 * back, and a transport that is already full is noticed before anything else is written. Packets
 * that follow while the event loop is still busy with the same task — a burst of publishes, the
 * acknowledgements for a chunk of incoming packets — are collected and written together when
 * the current microtasks have run: one transport write for many packets instead of one each.
 * The spec allows any packet boundaries on the stream [MQTT-6.0.0-2] (also across WebSocket
 * frames). A PUBLISH with a large payload is handed over as `[header, payload]`, uncopied.
 *
 * Receiving. Bytes go through one streaming `Decoder`, so packets may span chunks or share one.
 * Bytes the codec cannot decode are a protocol violation by the server: the link closes
 * [MQTT-4.8.0-1] and reports the codec's `MqttError`.
 */
import { Decoder, describePacket, encodedLength, encodeInto, encodeParts, type Packet, type ProtocolVersion } from '../../codec/index.js';
import type { Transport } from '../transport.js';

/** What a link reports to its owner. */
export interface LinkHandlers {
  /** A whole packet arrived. */
  packet(packet: Packet): void;
  /** The connection closed, exactly once; `error` when it failed. */
  close(error: Error | undefined): void;
  /** The transport's write buffer emptied. */
  drain(): void;
  /** A batch, written once the current microtasks had run, filled the transport's buffer (`needDrain` is now true). */
  full(): void;
}

/** A PUBLISH payload at least this big is handed to the transport as it is, never copied. */
const LARGE_PAYLOAD = 16 * 1024;
/** A batch this big is written at once rather than later, bounding its memory. */
const BATCH_LIMIT = 16 * 1024;
/**
 * Encoded packets are carved out of slabs, one after another, never overwritten (the transport
 * may hold on to what it was given). A link's first slab is small; each next one is twice as
 * big, up to the largest, so a quiet client holds little and a busy one allocates rarely.
 */
const SLAB_MIN = 4 * 1024;
const SLAB_MAX = 64 * 1024;

type Alloc = (size: number) => Uint8Array;
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe: Alloc } }).Buffer; // probes for an optional global
/** A `Buffer` in Node (what sockets take without conversion), a `Uint8Array` elsewhere. */
const allocSlab: Alloc = NodeBuffer ? (size) => NodeBuffer.allocUnsafe(size) : (size) => new Uint8Array(size);

/** At least the encoded size of `packet`, computed without encoding it. */
function sizeBound(packet: Packet): number {
  switch (packet.cmd) {
    case 'publish':
      // Fixed header ≤ 5, topic length 2 + at most 3 UTF-8 bytes per UTF-16 unit, packet id 2.
      return 9 + 3 * packet.topic.length + packet.payload.length;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return 4;
    default:
      return encodedLength(packet);
  }
}

const RESOLVED = Promise.resolve();

/** Runs `fn` once the current task is over: `setImmediate` in Node, a 0 ms timer elsewhere. */
const afterTask: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0);

/** A packet connection over a transport. */
export class Link {
  readonly #transport: Transport;
  readonly #handlers: LinkHandlers;
  readonly #decoder: Decoder;
  readonly #log: ((line: string) => void) | undefined;
  #closed = false;
  #needDrain = false;
  #paused = false;
  // The batch: bytes [#start, #end) of #slab are encoded and not yet handed to the transport.
  #slab: Uint8Array = allocSlab(0);
  #start = 0;
  #end = 0;
  /** Writes are being collected until the current microtasks have run. */
  #batching = false;
  /** Something went out at once in the current task: what follows is batched. */
  #busy = false;
  readonly #quiet = () => {
    this.#busy = false;
  };
  /** Callbacks of `whenWritten`, due once their bytes are with the transport and it has room. */
  #waiters: Array<() => void> = [];
  /** What `written()` hands out until the waiters are next released. */
  #written: Promise<void> | undefined;
  readonly #releaseWritten = (resolve: () => void) => this.#waiters.push(resolve);
  readonly #flushBatch = () => {
    this.#batching = false;
    if (this.#closed) return;
    const wasFull = this.#needDrain;
    this.#flush();
    if (!this.#needDrain) this.#release();
    else if (!wasFull) this.#handlers.full();
  };

  /**
   * `maxPacketSize`: the largest packet accepted from the peer (the codec's default when omitted);
   * `protocolVersion`: the version the client connects with, whose rules the server's packets follow.
   */
  constructor(transport: Transport, handlers: LinkHandlers, log?: (line: string) => void, maxPacketSize?: number, protocolVersion: ProtocolVersion = 4) {
    this.#transport = transport;
    this.#handlers = handlers;
    this.#decoder = new Decoder(maxPacketSize === undefined ? { protocolVersion } : { maxPacketSize, protocolVersion });
    this.#log = log;
    transport.onData((chunk) => this.#data(chunk));
    transport.onClose((error) => this.#close(error));
    transport.onDrain(() => {
      this.#needDrain = false;
      if (this.#closed) return;
      this.#release();
      handlers.drain();
    });
  }

  /** True once the connection has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while the transport's buffer is full (see `Transport.write`). */
  get needDrain(): boolean {
    return this.#needDrain;
  }

  /**
   * Encodes and writes `packet`, at once or with the batch being collected (see the top of this
   * file). The session only produces packets the encoder accepts.
   */
  write(packet: Packet): void {
    if (this.#closed) return;
    this.#log?.(`send ${describePacket(packet)}`);
    if (packet.cmd === 'publish' && packet.payload.length >= LARGE_PAYLOAD) {
      // Whatever is batched goes first, to keep the order; then header and payload, uncopied.
      this.#flush();
      if (!this.#transport.write(encodeParts(packet))) this.#needDrain = true;
    } else {
      const bound = sizeBound(packet);
      if (this.#end + bound > this.#slab.length) {
        this.#flush();
        this.#slab = allocSlab(Math.max(bound, Math.min(SLAB_MAX, 2 * this.#slab.length || SLAB_MIN)));
        this.#start = this.#end = 0;
      }
      this.#end += encodeInto(packet, this.#slab, this.#end);
      if ((this.#batching || this.#busy) && this.#end - this.#start < BATCH_LIMIT) return this.#startBatch();
      this.#flush();
    }
    if (!this.#busy) {
      this.#busy = true;
      afterTask(this.#quiet);
    }
  }

  /**
   * Calls `callback` once everything written so far has been handed to the transport and the
   * transport has room for more (at once when that is already so), or when the link closes.
   */
  whenWritten(callback: () => void): void {
    if (this.#closed || (this.#end === this.#start && !this.#needDrain)) callback();
    else this.#waiters.push(callback);
  }

  /**
   * `whenWritten` as a promise. Everything written in one batch is handed over at once, so its
   * callers share one promise (an already resolved one when nothing waits): a burst of QoS 0
   * publishes costs no promise each.
   */
  written(): Promise<void> {
    if (this.#closed || (this.#end === this.#start && !this.#needDrain)) return RESOLVED;
    this.#written ??= new Promise<void>(this.#releaseWritten);
    return this.#written;
  }

  /** Closes after the written bytes are sent. */
  end(): void {
    if (this.#closed) return;
    this.#flush();
    this.#transport.end();
  }

  /** Closes at once and reports `error` (the transport's own close report is then ignored). */
  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#transport.destroy();
    this.#close(error);
  }

  /** Later writes join a batch, written once the current microtasks have run. */
  #startBatch(): void {
    if (this.#batching) return;
    this.#batching = true;
    queueMicrotask(this.#flushBatch);
  }

  /** Hands the batch to the transport. */
  #flush(): void {
    if (this.#end === this.#start) return;
    const bytes = this.#slab.subarray(this.#start, this.#end);
    this.#start = this.#end;
    if (!this.#transport.write(bytes)) this.#needDrain = true;
  }

  #release(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    this.#written = undefined;
    for (const callback of waiters) callback();
  }

  #data(chunk: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      return this.#malformed(error as Error); // what is caught here is an Error (Node's or ours)
    }
    // What the packets of this chunk make us send (acknowledgements, publishes the window now
    // lets out) leaves in one batch.
    this.#startBatch();
    if (!this.#paused) this.#drain();
  }

  /**
   * Handles every whole packet buffered. Packets before a malformed one are handled, so the
   * outcome never depends on where chunk boundaries fell.
   *
   * After CONNACK the rest waits for the next macrotask: a resumed session's queued messages
   * often arrive in the same chunk as the CONNACK, and the application attaches its listeners
   * only when `await connect()` returns — a microtask later. Without the pause those messages
   * would be acknowledged and delivered to nobody.
   */
  #drain(): void {
    for (;;) {
      let packet: Packet | undefined;
      try {
        packet = this.#decoder.next();
      } catch (error) {
        return this.#malformed(error as Error); // what is caught here is an Error (Node's or ours)
      }
      if (packet === undefined || this.#closed) return;
      this.#log?.(`recv ${describePacket(packet)}`);
      this.#handlers.packet(packet);
      if (this.#closed) return;
      if (packet.cmd === 'connack') {
        this.#paused = true;
        setTimeout(() => {
          this.#paused = false;
          if (!this.#closed) {
            this.#startBatch();
            this.#drain();
          }
        }, 0);
        return;
      }
    }
  }

  /** [MQTT-4.8.0-1] malformed bytes from the server: close the connection. */
  #malformed(error: Error): void {
    this.#log?.(`protocol error: ${error.message}`);
    this.destroy(error);
  }

  #close(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    // Unsent bytes are dropped with the connection; QoS 1/2 packets stay in the session for resending.
    this.#start = this.#end;
    this.#log?.(error ? `connection closed: ${error.message}` : 'connection closed');
    this.#release();
    this.#handlers.close(error);
  }
}
