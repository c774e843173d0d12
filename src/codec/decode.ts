/**
 * Decoding: a streaming, resumable `Decoder`, and `decode` for exactly one whole packet.
 *
 * Framing comes first and apart from decoding: the fixed header is parsed (and checked) as soon as
 * its bytes arrive, the size limit is enforced before the body is buffered, and each packet's
 * decoder is handed exactly its frame.
 */
import { CopyArea, copyBytes, EMPTY_BYTES } from './bytes.js';
import { MqttError } from './errors.js';
import { MAX_PACKET_SIZE, parseFixedHeader } from './header.js';
import { FixedHeader, PACKET_TYPES, type PacketType } from './packet-types.js';
import type { Packet } from './packets.js';
import { FrameReader } from './reader.js';
import { checkProtocolVersion, type ProtocolVersion } from './version.js';

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
  /**
   * The protocol version of the stream: 4 (MQTT 3.1.1, the default) or 3 (MQTT 3.1), whose rules
   * differ for fixed-header flags, CONNACK and SUBACK. A client sets it to the version it
   * connects with; a server leaves it, and the decoder takes the version of the CONNECT it decodes.
   */
  protocolVersion?: ProtocolVersion;
}

/**
 * Decodes the body the reader spans, of the type and flags in `h` (a type the framing accepted).
 * Every type gets the same leftover-bytes check: a decoder that stops short of the frame's end
 * leaves bytes no field accounts for, and the packet is malformed.
 */
function decodeBody(h: FixedHeader, r: FrameReader): Packet {
  const packet = (PACKET_TYPES[h.type] as PacketType).decode(r, h); // parseFixedHeader accepted only known packet types
  if (r.pos !== r.end) r.fail('INVALID_LENGTH', `${r.end - r.pos} bytes left over at the end of the packet`);
  return packet;
}

/**
 * A frame that spans chunks gets its buffer as soon as its fixed header is read if it is at most
 * this big. A bigger one gets it once half of its bytes have arrived (they wait in the queue until
 * then), so a 5-byte header claiming 256 MB reserves nothing, and the memory a peer makes the
 * decoder hold is never more than twice what it has sent, or this much.
 */
const EAGER_FRAME_BYTES = 128 * 1024;

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

  // The queue: pushed chunks not yet consumed are `chunks[first, last)`, the first of them from
  // `headOffset` on. Consuming a chunk moves `first` on rather than shifting the array, and an
  // emptied queue starts again at slot 0 of the same array, so bookkeeping costs O(1) per chunk
  // however many are queued, and allocates nothing once the array has grown to its working size.
  private chunks: Uint8Array[] = [];
  private first = 0;
  private last = 0;
  private headOffset = 0;
  /** Bytes pushed but not yet returned as packets (queued, plus those copied into `frame`). */
  private buffered = 0;
  /** Stream offset of the first byte not yet returned as part of a packet. */
  private consumed = 0;
  /** Whether `header` holds the parsed fixed header of the packet at the front. */
  private framed = false;
  private readonly header = new FixedHeader();

  // A frame that spans chunks is assembled in `frame[frameStart, frameStart + frameTotal)`: the
  // buffer is reserved once, and every chunk is copied straight into it as it arrives, so the
  // bytes are copied exactly once and no chunk is looked at twice. While a frame is incomplete the
  // queue is empty: all bytes pushed so far belong to it.
  private frame: Uint8Array | undefined = undefined;
  private frameStart = 0;
  private frameFilled = 0;
  private frameTotal = 0;

  private readonly reader = new FrameReader();
  private readonly scratch = new Uint8Array(5);
  private failure: MqttError | undefined = undefined;

  constructor(options: DecoderOptions = {}) {
    const max = options.maxPacketSize ?? MAX_PACKET_SIZE;
    if (!Number.isInteger(max) || max < 2 || max > MAX_PACKET_SIZE) {
      throw new MqttError('INVALID_ARGUMENT', `maxPacketSize must be an integer 2-${MAX_PACKET_SIZE}, got ${String(max)}`);
    }
    this.maxPacketSize = max;
    this.reader.version = checkProtocolVersion(options.protocolVersion ?? 4);
  }

  /** The protocol version whose rules apply: the option's, or that of the CONNECT decoded. */
  get protocolVersion(): ProtocolVersion {
    return this.reader.version;
  }

  /** The error that stopped this decoder, if any. */
  get error(): MqttError | undefined {
    return this.failure;
  }

  /** Bytes pushed but not yet returned as packets. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Bytes of memory held for packets not yet returned: the queued chunks, or the whole buffer
   * reserved for a frame being assembled (a server's memory budget counts this).
   */
  get heldBytes(): number {
    return this.frame !== undefined ? this.buffered - this.frameFilled + this.frameTotal : this.buffered;
  }

  /** Stream offset of the next packet: bytes consumed by the packets returned so far. */
  get offset(): number {
    return this.consumed;
  }

  /**
   * Starts an idle decoder over at stream offset `offset` under `protocolVersion`, forgetting the
   * last packet's bytes. A server with many mostly idle connections can so keep a few decoders
   * and hand one to whichever connection has bytes, instead of holding one per connection.
   * @throws MqttError `INVALID_ARGUMENT` while bytes are held or after an error: those belong to their stream.
   */
  restart(protocolVersion: ProtocolVersion, offset: number): void {
    if (this.buffered !== 0 || this.failure !== undefined) {
      throw new MqttError('INVALID_ARGUMENT', 'only an idle decoder (no bytes held, no error) can restart');
    }
    this.reader.version = checkProtocolVersion(protocolVersion);
    this.reader.reset(EMPTY_BYTES, 0, 0, offset);
    this.consumed = offset;
    this.headOffset = 0;
  }

  /**
   * Appends a chunk of the byte stream. The decoder keeps a reference to it (see "Views"), except
   * for the bytes of a frame being assembled, which are copied into that frame at once.
   */
  push(chunk: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure;
    if (!(chunk instanceof Uint8Array)) throw new MqttError('INVALID_ARGUMENT', 'Decoder.push expects a Uint8Array');
    const n = chunk.length;
    if (n === 0) return;
    this.buffered += n;
    let from = 0;
    if (this.frame !== undefined && this.frameFilled < this.frameTotal) {
      from = this.fill(chunk, 0);
      if (from === n) return;
    }
    // Bytes after a frame that just completed start the queue: it is empty while a frame is incomplete.
    if (from !== 0) this.headOffset = from;
    this.chunks[this.last++] = chunk;
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
      // The stream is over: let the bytes go.
      this.chunks = [];
      this.first = 0;
      this.last = 0;
      this.frame = undefined;
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
      const head = this.chunks[this.first]!; // bytes are buffered, so the queue has a head chunk
      const off = this.headOffset;
      const ok =
        head.length - off >= 5 || this.first === this.last - 1
          ? parseFixedHeader(head, off, head.length, this.consumed, this.maxPacketSize, h, this.reader.version)
          : parseFixedHeader(this.scratch, 0, this.gather(5), this.consumed, this.maxPacketSize, h, this.reader.version);
      if (!ok) return undefined;
      this.framed = true;
    }
    const total = h.headerLength + h.remainingLength;
    let buf: Uint8Array;
    let at: number;
    if (this.frame !== undefined) {
      // Assembling: push() copies the bytes in as they come.
      if (this.frameFilled < total) return undefined;
      buf = this.frame;
      at = this.frameStart;
      this.frame = undefined;
    } else {
      const head = this.chunks[this.first]!; // framed, so the header's bytes sit in a head chunk
      const off = this.headOffset;
      if (head.length - off >= total) {
        // The whole frame sits in one chunk: decode from a view, no copy.
        buf = head;
        at = off;
        if (head.length - off === total) this.dropHead();
        else this.headOffset = off + total;
      } else {
        // The frame spans chunks: copy it once, into a buffer of its own size.
        if (total > EAGER_FRAME_BYTES && this.buffered * 2 < total) return undefined;
        const frame = this.startFrame(total);
        if (this.frameFilled < total) return undefined;
        buf = frame;
        at = this.frameStart;
        this.frame = undefined;
      }
    }
    const start = this.consumed;
    this.framed = false;
    this.consumed = start + total;
    this.buffered -= total;
    this.reader.reset(buf, at + h.headerLength, at + total, start + h.headerLength);
    return decodeBody(h, this.reader);
  }

  /** Reserves room for a frame of `total` bytes, moves every queued byte into it, and returns it. */
  private startFrame(total: number): Uint8Array {
    this.frameStart = copies.reserve(total);
    const frame = copies.buf;
    this.frame = frame;
    this.frameFilled = 0;
    this.frameTotal = total;
    while (this.first < this.last) {
      const chunk = this.chunks[this.first]!; // first < last: a queued chunk
      const used = this.fill(chunk, this.headOffset);
      if (used < chunk.length) {
        this.headOffset = used; // the frame is complete; the rest of this chunk stays queued
        break;
      }
      this.dropHead();
    }
    return frame;
  }

  /** Copies the bytes the frame still needs from `chunk[from…]`; returns where the copy ended in `chunk`. */
  private fill(chunk: Uint8Array, from: number): number {
    const count = Math.min(chunk.length - from, this.frameTotal - this.frameFilled);
    // fill() runs only while a frame is being assembled, so `frame` is set.
    copyBytes(this.frame as Uint8Array, this.frameStart + this.frameFilled, chunk, from, count);
    this.frameFilled += count;
    return from + count;
  }

  /** Forgets the first queued chunk, now consumed. */
  private dropHead(): void {
    this.chunks[this.first++] = EMPTY_BYTES; // let the chunk go
    this.headOffset = 0;
    if (this.first === this.last) {
      this.first = 0;
      this.last = 0;
      if (this.chunks.length > 1024) this.chunks = []; // a burst grew it: give the slots back
    }
  }

  /** Copies up to `n` unconsumed bytes into `scratch` without consuming them; returns the count. */
  private gather(n: number): number {
    let count = 0;
    let off = this.headOffset;
    for (let c = this.first; c < this.last; c++) {
      const chunk = this.chunks[c]!; // c < last: a queued chunk
      while (off < chunk.length && count < n) this.scratch[count++] = chunk[off++]!; // off < chunk.length
      if (count === n) break;
      off = 0;
    }
    return count;
  }
}

/**
 * Decodes `bytes`, which must hold exactly one whole packet. Payloads are views into `bytes`.
 * `protocolVersion` (default 4) as for a {@link Decoder}; a CONNECT names its own.
 * @throws MqttError for a malformed packet, and `INVALID_LENGTH` for missing or trailing bytes.
 */
export function decode(bytes: Uint8Array, options: Pick<DecoderOptions, 'protocolVersion'> = {}): Packet {
  if (!(bytes instanceof Uint8Array)) throw new MqttError('INVALID_ARGUMENT', 'decode expects a Uint8Array');
  const version = checkProtocolVersion(options.protocolVersion ?? 4);
  const h = new FixedHeader();
  if (!parseFixedHeader(bytes, 0, bytes.length, 0, MAX_PACKET_SIZE, h, version)) {
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
  r.version = version;
  r.reset(bytes, h.headerLength, total, h.headerLength);
  return decodeBody(h, r);
}
