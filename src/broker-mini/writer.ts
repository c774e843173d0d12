/**
 * How one connection's packets reach its stream: gathered for the current event-loop turn, then
 * written in as few calls as possible.
 *
 * When each delivery goes to a different socket, the system call behind every write is most of
 * the broker's cost. So packets are not written as they are produced: they wait in a small
 * per-connection list until the turn's I/O callbacks are done (one `setImmediate` for every
 * connection), or until `FLUSH_BYTES` have gathered. A turn that reads several publishers' chunks
 * then sends each subscriber one write instead of one per chunk, and no packet waits longer than
 * the turn it was produced in. The busier the broker, the more each write carries.
 *
 * A small packet is encoded once, when it is added (its size counts toward `FLUSH_BYTES` and the
 * connection's backpressure); at the flush the turn's small packets go out in one buffer. A PUBLISH
 * with a large payload waits as a packet and is written as `[header, payload]` (`encodeParts`), so
 * its payload is never copied. A QoS 0 message fanned out to many clients is encoded once and its
 * bytes shared.
 */
import type { Duplex } from 'node:stream';
import { encode, encodedLength, encodeParts } from '../codec/index.js';
import type { Packet } from '../codec/index.js';

/** Bytes gathered for one connection that are written at once instead of at the end of the turn. */
export const FLUSH_BYTES = 16 * 1024;
/** A PUBLISH payload at least this big is handed to the stream as it is, never copied. */
const LARGE_PAYLOAD = 4 * 1024;
/** More idle writers than this are left to the garbage collector. */
const IDLE_WRITERS_KEPT = 64;

/**
 * The QoS 0 PUBLISH most recently encoded, and its bytes: a fan-out sends the same message to
 * many clients in a row, and a QoS 0 PUBLISH (no packet id) encodes to the same bytes for each.
 */
const lastQos0: { topic: string; payload: Uint8Array; retain: boolean; bytes: Uint8Array } = {
  topic: '',
  payload: new Uint8Array(0),
  retain: false,
  bytes: new Uint8Array(0),
};

/** The bytes of `p`, a small packet: the shared ones when it is the QoS 0 message just encoded. */
function encodeSmall(p: Packet): Uint8Array {
  if (p.cmd !== 'publish' || p.qos !== 0) return encode(p);
  const c = lastQos0;
  if (c.payload !== p.payload || c.topic !== p.topic || c.retain !== p.retain) {
    c.bytes = encode(p);
    c.topic = p.topic;
    c.payload = p.payload;
    c.retain = p.retain;
  }
  return c.bytes;
}

const isLarge = (p: Packet): boolean => p.cmd === 'publish' && p.payload.length >= LARGE_PAYLOAD;

/** What a `PacketWriter` tells its owner. */
export interface WriterHooks {
  /** After every write: the owner checks the stream's buffer (backpressure). */
  afterFlush(): void;
  /** Encoding failed (a bug): what was waiting is dropped; the owner closes the connection. */
  onError(error: unknown): void;
}

/** Gathers one stream's packets and writes them (see the module comment). */
export class PacketWriter {
  /** Writers with packets waiting for the end of this turn. */
  static #due: PacketWriter[] = [];

  static #flushDue(): void {
    const due = PacketWriter.#due;
    PacketWriter.#due = [];
    for (const w of due) w.#scheduled = false;
    for (const w of due) w.flush();
  }

  /**
   * Idle writers, shared by every connection: a connection holds a writer only from its first
   * packet of a turn until the write (`take`, `release`), so an idle connection costs no writer
   * and no lists.
   */
  static #idle: PacketWriter[] = [];

  /** A writer for `stream`: an idle one, or a new one. */
  static take(stream: Duplex, hooks: WriterHooks): PacketWriter {
    const w = PacketWriter.#idle.pop();
    if (w === undefined) return new PacketWriter(stream, hooks);
    w.#stream = stream;
    w.#hooks = hooks;
    return w;
  }

  /** Set while a connection holds this writer (see `take`). */
  #stream: Duplex | undefined;
  #hooks: WriterHooks | undefined;
  // Emptied after every write and reused: no new arrays per flush. A small packet waits as its
  // bytes, a large PUBLISH as the packet.
  readonly #items: Array<Packet | Uint8Array> = [];
  #bytes = 0;
  /** Whether a large PUBLISH is among the items (else they all go in one buffer). */
  #large = false;
  #scheduled = false;

  constructor(stream: Duplex, hooks: WriterHooks) {
    this.#stream = stream;
    this.#hooks = hooks;
  }

  /** Encoded bytes waiting to be written (not yet in the stream's own buffer). */
  get pendingBytes(): number {
    return this.#bytes;
  }

  /** Adds a packet to this turn's write; returns its encoded size. */
  add(packet: Packet): number {
    const large = isLarge(packet);
    const item = large ? packet : encodeSmall(packet);
    const size = item instanceof Uint8Array ? item.length : encodedLength(item);
    if (large) this.#large = true;
    this.#items.push(item);
    this.#bytes += size;
    if (this.#bytes >= FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      if (PacketWriter.#due.push(this) === 1) setImmediate(PacketWriter.#flushDue);
    }
    return size;
  }

  /** Drops what is waiting and gives the writer back for another connection to take. */
  release(): void {
    this.discard();
    this.#stream = undefined;
    this.#hooks = undefined;
    if (PacketWriter.#idle.length < IDLE_WRITERS_KEPT) PacketWriter.#idle.push(this);
  }

  /** Writes everything gathered now. */
  flush(): void {
    if (this.#items.length === 0) return;
    try {
      this.#write();
    } catch (e) {
      // Only a bug can get here (the session sends nothing the encoder refuses), and it happens
      // at the end of the turn, away from the client's input: it must cost this client only.
      this.discard();
      this.#hooks?.onError(e);
    }
  }

  #write(): void {
    const items = this.#items;
    const stream = this.#stream;
    if (stream === undefined || stream.destroyed || stream.writableEnded) return this.discard();
    if (!this.#large) {
      const out = this.#joinRun(items, 0, items.length, this.#bytes);
      this.discard();
      stream.write(out);
      this.#hooks?.afterFlush();
      return;
    }
    // Runs of small packets become one buffer each; a large PUBLISH goes as header and payload.
    stream.cork();
    let from = 0;
    let runBytes = 0;
    for (let i = 0; i <= items.length; i++) {
      const item = items[i]; // undefined at i === items.length: the last run is flushed
      if (item instanceof Uint8Array) {
        runBytes += item.length;
        continue;
      }
      if (runBytes > 0) stream.write(this.#joinRun(items, from, i, runBytes));
      if (item !== undefined) for (const part of encodeParts(item)) stream.write(part);
      from = i + 1;
      runBytes = 0;
    }
    this.discard();
    stream.uncork();
    this.#hooks?.afterFlush();
  }

  /** Drops whatever is waiting (the stream is gone). */
  discard(): void {
    this.#items.length = 0;
    this.#bytes = 0;
    this.#large = false;
  }

  /** The encoded small packets `items[from, to)`, `bytes` in all, as one array. */
  #joinRun(items: ReadonlyArray<Packet | Uint8Array>, from: number, to: number, bytes: number): Uint8Array {
    const only = items[from];
    if (to - from === 1 && only instanceof Uint8Array) return only;
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let i = from; i < to; i++) {
      const item = items[i]; // a small packet's bytes: runs hold nothing else
      if (item instanceof Uint8Array) {
        out.set(item, at);
        at += item.length;
      }
    }
    return out;
  }
}
