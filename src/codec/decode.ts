/**
 * Decoding: a streaming, resumable `Decoder`, and `decode` for exactly one whole packet.
 *
 * Framing comes first and apart from decoding: the fixed header is parsed (and checked) as soon as
 * its bytes arrive, the size limit is enforced before the body is buffered, and each packet's
 * decoder is handed exactly its frame.
 */
import { decodeAck } from './ack.js';
import { CopyArea, copyBytes } from './bytes.js';
import { decodeConnack } from './connack.js';
import { decodeConnect } from './connect.js';
import { decodeEmpty } from './empty.js';
import { MqttError } from './errors.js';
import { FixedHeader, MAX_PACKET_SIZE, parseFixedHeader } from './header.js';
import type { Packet } from './packets.js';
import { decodePublish } from './publish.js';
import { FrameReader } from './reader.js';
import { decodeSuback } from './suback.js';
import { decodeSubscribe } from './subscribe.js';
import { decodeUnsubscribe } from './unsubscribe.js';

/**
 * Where frames that arrived split across chunks are copied. One area for all decoders, so an idle
 * connection holds no slab of its own.
 */
const copies = new CopyArea();

/** Options for a {@link Decoder}. */
export interface DecoderOptions {
  /**
   * The largest whole packet accepted, in bytes (fixed header included). A bigger packet is
   * refused with `PACKET_TOO_LARGE` as soon as its Remaining Length is read, before its body is
   * buffered. Default: the protocol maximum, 268,435,460.
   */
  maxPacketSize?: number;
}

/** Decodes the body the reader spans, of the type and flags in `h`. */
function decodeBody(h: FixedHeader, r: FrameReader): Packet {
  let packet: Packet;
  switch (h.type) {
    case 1:
      return decodeConnect(r); // checks its own leftovers, citing the flag rules
    case 2:
      return decodeConnack(r);
    case 3:
      return decodePublish(r, h.flags); // the payload takes the rest: nothing can be left
    case 4:
      return decodeAck(r, 'puback');
    case 5:
      return decodeAck(r, 'pubrec');
    case 6:
      return decodeAck(r, 'pubrel');
    case 7:
      return decodeAck(r, 'pubcomp');
    case 8:
      packet = decodeSubscribe(r);
      break;
    case 9:
      packet = decodeSuback(r);
      break;
    case 10:
      packet = decodeUnsubscribe(r);
      break;
    case 11:
      return decodeAck(r, 'unsuback');
    case 12:
      return decodeEmpty('pingreq');
    case 13:
      return decodeEmpty('pingresp');
    case 14:
      return decodeEmpty('disconnect');
    default:
      // parseFixedHeader refused types 0 and 15 already.
      return r.fail('INVALID_PACKET_TYPE', `packet type ${h.type} is reserved`);
  }
  if (r.pos !== r.end) r.fail('INVALID_LENGTH', `${r.end - r.pos} bytes left over at the end of the packet`);
  return packet;
}

/**
 * A streaming MQTT decoder: `push` bytes as they arrive, in chunks of any size, then call `next`
 * until it returns `undefined` (or use `feed`, which does both).
 *
 * **Views.** When a packet lies within one pushed chunk, its payload (and a CONNECT's will message
 * and password) are views into that chunk, not copies: do not reuse or overwrite a chunk while you
 * hold packets decoded from it. A packet that spans chunks is copied once; small ones share a
 * 32 KiB slab. Either way a payload keeps the bytes around it alive (as any view of Node's
 * pooled Buffers does): to keep a payload for long, store a copy (`new Uint8Array(payload)`, or
 * `Buffer.from(payload)` in Node; note that `Buffer#slice` makes a view, not a copy). In Node,
 * payloads are `Buffer`s when the chunks are, and copies are always `Buffer`s.
 *
 * **Errors.** `next` throws an `MqttError` for the first malformed packet. The decoder is then
 * done: `error` holds that error, and every later `push`, `next` or `feed` throws it again. The
 * error's `offset` is the stream position (bytes since the first push) where decoding stopped.
 */
export class Decoder {
  /** The largest whole packet accepted, in bytes. */
  readonly maxPacketSize: number;

  private chunks: Uint8Array[] = [];
  /** Bytes of `chunks[0]` already consumed. */
  private headOffset = 0;
  /** Unconsumed bytes across all chunks. */
  private buffered = 0;
  /** Stream offset of the first unconsumed byte. */
  private consumed = 0;
  /** Whether `header` holds the parsed fixed header of the packet at the front. */
  private framed = false;
  private readonly header = new FixedHeader();
  private readonly reader = new FrameReader();
  private readonly scratch = new Uint8Array(5);
  private failure: MqttError | undefined = undefined;

  constructor(options: DecoderOptions = {}) {
    const max = options.maxPacketSize ?? MAX_PACKET_SIZE;
    if (!Number.isInteger(max) || max < 2 || max > MAX_PACKET_SIZE) {
      throw new RangeError(`maxPacketSize must be an integer 2-${MAX_PACKET_SIZE}, got ${String(max)}`);
    }
    this.maxPacketSize = max;
  }

  /** The error that stopped this decoder, if any. */
  get error(): MqttError | undefined {
    return this.failure;
  }

  /** Bytes pushed but not yet returned as packets. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Stream offset of the next packet: bytes consumed by the packets returned so far. */
  get offset(): number {
    return this.consumed;
  }

  /** Appends a chunk of the byte stream. The decoder keeps a reference to it (see "Views"). */
  push(chunk: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure;
    if (!(chunk instanceof Uint8Array)) throw new TypeError('Decoder.push expects a Uint8Array');
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next whole packet, or `undefined` when more bytes are needed.
   * @throws MqttError for a malformed packet; the decoder stays errored.
   */
  next(): Packet | undefined {
    if (this.failure !== undefined) throw this.failure;
    try {
      return this.step();
    } catch (err) {
      this.failure =
        err instanceof MqttError
          ? err
          : new MqttError('INVALID_PACKET', 'internal decoder failure', { offset: this.consumed, cause: err });
      this.chunks = []; // the stream is over: let the bytes go
      this.buffered = 0;
      throw this.failure;
    }
  }

  /** `push(chunk)`, then every whole packet now available, in order. */
  feed(chunk: Uint8Array): Packet[] {
    this.push(chunk);
    const packets: Packet[] = [];
    for (let p = this.next(); p !== undefined; p = this.next()) packets.push(p);
    return packets;
  }

  private step(): Packet | undefined {
    const h = this.header;
    if (!this.framed) {
      if (this.buffered === 0) return undefined;
      const head = this.chunks[0];
      const off = this.headOffset;
      const ok =
        head.length - off >= 5 || this.chunks.length === 1
          ? parseFixedHeader(head, off, head.length, this.consumed, this.maxPacketSize, h)
          : parseFixedHeader(this.scratch, 0, this.gather(5), this.consumed, this.maxPacketSize, h);
      if (!ok) return undefined;
      this.framed = true;
    }
    const total = h.headerLength + h.remainingLength;
    if (this.buffered < total) return undefined;

    const head = this.chunks[0];
    const off = this.headOffset;
    const start = this.consumed;
    let buf: Uint8Array;
    let at: number;
    if (head.length - off >= total) {
      // The whole frame sits in one chunk: decode from a view, no copy.
      buf = head;
      at = off;
      if (head.length - off === total) {
        this.chunks.shift();
        this.headOffset = 0;
      } else {
        this.headOffset = off + total;
      }
      this.buffered -= total;
    } else {
      // The frame spans chunks: copy it once.
      at = this.take(total);
      buf = copies.buf;
    }
    this.framed = false;
    this.consumed = start + total;
    this.reader.reset(buf, at + h.headerLength, at + total, start + h.headerLength);
    return decodeBody(h, this.reader);
  }

  /** Copies up to `n` unconsumed bytes into `scratch` without consuming them; returns the count. */
  private gather(n: number): number {
    let count = 0;
    let off = this.headOffset;
    for (const chunk of this.chunks) {
      while (off < chunk.length && count < n) this.scratch[count++] = chunk[off++];
      if (count === n) break;
      off = 0;
    }
    return count;
  }

  /** Consumes `n` bytes that span chunks, copied once into `copies.buf`; returns their offset there. */
  private take(n: number): number {
    const at = copies.reserve(n);
    const out = copies.buf;
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const off = this.headOffset;
      const count = Math.min(chunk.length - off, n - filled);
      copyBytes(out, at + filled, chunk, off, count);
      filled += count;
      if (off + count === chunk.length) {
        this.chunks.shift();
        this.headOffset = 0;
      } else {
        this.headOffset = off + count;
      }
    }
    this.buffered -= n;
    return at;
  }
}

/**
 * Decodes `bytes`, which must hold exactly one whole packet. Payloads are views into `bytes`.
 * @throws MqttError for a malformed packet, and `INVALID_LENGTH` for missing or trailing bytes.
 */
export function decode(bytes: Uint8Array): Packet {
  const h = new FixedHeader();
  if (!parseFixedHeader(bytes, 0, bytes.length, 0, MAX_PACKET_SIZE, h)) {
    throw new MqttError('INVALID_LENGTH', 'the fixed header is incomplete', { offset: bytes.length });
  }
  const total = h.headerLength + h.remainingLength;
  if (bytes.length !== total) {
    const what = bytes.length < total ? 'missing' : 'left over';
    throw new MqttError('INVALID_LENGTH', `${Math.abs(bytes.length - total)} bytes ${what} after a ${total}-byte packet`, {
      offset: Math.min(bytes.length, total),
    });
  }
  const r = new FrameReader();
  r.reset(bytes, h.headerLength, total, h.headerLength);
  return decodeBody(h, r);
}
