/**
 * A raw-socket MQTT test client: a net.Socket to 127.0.0.1 with the project's codec on top and
 * no protocol logic at all, so tests can send exactly the packets (or bytes) they want — including
 * wrong ones — and read back exactly what the other side sent.
 *
 * ```ts
 * const c = await RawClient.connect(port);
 * const connack = await c.handshake({ clientId: 'a' });
 * c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'x', qos: 1 }] });
 * expect(await c.next()).toMatchObject({ cmd: 'suback', returnCodes: [1] });
 * await c.close();
 * ```
 * Call `closeAllRawClients()` in `afterEach`/`afterAll` so no socket outlives its test.
 */
import { createConnection, type Socket } from 'node:net';
import { Decoder, encode } from '../../src/codec/index.js';
import type { ConnackPacket, ConnectPacket, Packet, PacketCmd, ProtocolVersion } from '../../src/codec/index.js';

const open = new Set<RawClient>();

/** Options for `RawClient.connect`. */
export interface RawClientOptions {
  host?: string;
  /** Passed to the decoder for what the peer sends (default: no limit beyond the protocol's). */
  maxPacketSize?: number;
  /** Connect timeout in ms (default 5 s). */
  timeoutMs?: number;
  /** Decode what the peer sends by this version's rules (default 4; 3 for an MQTT 3.1 client). */
  protocolVersion?: ProtocolVersion;
}

/** A CONNECT with sensible defaults: protocol MQTT level 4, clean session, keepAlive 0. */
export function connectPacket(fields: Partial<Omit<ConnectPacket, 'cmd'>> = {}): ConnectPacket {
  return {
    cmd: 'connect',
    protocolName: 'MQTT',
    protocolLevel: 4,
    clientId: '',
    cleanSession: true,
    keepAlive: 0,
    ...fields,
  };
}

/** A raw MQTT connection for tests. */
export class RawClient {
  /** The underlying socket (e.g. `socket.pause()` to play a client that never reads). */
  readonly socket: Socket;
  /** Resolves when the socket has closed (for any reason); never rejects. */
  readonly closed: Promise<void>;
  /** Set if what the peer sent could not be decoded. */
  decodeError: unknown;
  #decoder: Decoder;
  #queue: Packet[] = [];
  #waiters: Array<{ resolve: (p: Packet) => void; reject: (e: Error) => void }> = [];
  #isClosed = false;

  private constructor(socket: Socket, options: RawClientOptions) {
    this.socket = socket;
    this.#decoder = new Decoder({
      ...(options.maxPacketSize !== undefined && { maxPacketSize: options.maxPacketSize }),
      ...(options.protocolVersion !== undefined && { protocolVersion: options.protocolVersion }),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {
      /* a reset by the peer shows up as `closed` */
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#isClosed = true;
        open.delete(this);
        const err = new Error('connection closed');
        for (const w of this.#waiters.splice(0)) w.reject(err);
        resolve();
      });
    });
    open.add(this);
  }

  /** Opens a TCP connection to `host` (default 127.0.0.1) : `port`. */
  static connect(port: number, options: RawClientOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: options.host ?? '127.0.0.1', port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${port} timed out`));
      }, options.timeoutMs ?? 5_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new RawClient(socket, options));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** Whether the socket has closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Packets received and not yet taken by `next()`. */
  get pending(): readonly Packet[] {
    return this.#queue;
  }

  #onData(chunk: Buffer): void {
    if (this.decodeError !== undefined) return;
    try {
      this.#decoder.push(chunk);
      for (let p = this.#decoder.next(); p !== undefined; p = this.#decoder.next()) {
        const w = this.#waiters.shift();
        if (w) w.resolve(p);
        else this.#queue.push(p);
      }
    } catch (e) {
      this.decodeError = e;
      const err = new Error(`undecodable bytes from peer: ${String(e)}`);
      for (const w of this.#waiters.splice(0)) w.reject(err);
    }
  }

  /** Encodes and writes one packet. */
  send(packet: Packet): void {
    this.socket.write(encode(packet));
  }

  /** Writes raw bytes (for malformed input). */
  sendBytes(bytes: Uint8Array | number[]): void {
    this.socket.write(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }

  /** The next packet received; rejects after `timeoutMs` (default 5 s) or when the socket closes. */
  next(timeoutMs = 5_000): Promise<Packet> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#isClosed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (p: Packet) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no packet within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** The next packet, which must have type `cmd` (else rejects, naming what came instead). */
  async expect<C extends PacketCmd>(cmd: C, timeoutMs = 5_000): Promise<Extract<Packet, { cmd: C }>> {
    const p = await this.next(timeoutMs);
    if (p.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(p)}`);
    return p as Extract<Packet, { cmd: C }>;
  }

  /**
   * Resolves `true` if no packet arrives within `ms` (and the socket stays open or closes
   * without sending one). Only for asserting absence; keep `ms` short.
   */
  async nothingWithin(ms: number): Promise<boolean> {
    if (this.#queue.length > 0) return false;
    try {
      await this.next(ms);
      return false;
    } catch {
      return this.#queue.length === 0;
    }
  }

  /** Resolves `true` if the socket closes within `timeoutMs` (default 5 s), else `false`. */
  async closesWithin(timeoutMs = 5_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return r;
  }

  /** Sends a CONNECT (defaults from `connectPacket`) and returns the CONNACK. */
  async handshake(fields: Partial<Omit<ConnectPacket, 'cmd'>> = {}, timeoutMs = 5_000): Promise<ConnackPacket> {
    this.send(connectPacket(fields));
    return this.expect('connack', timeoutMs);
  }

  /** Half-closes politely (FIN) and waits for the socket to close (destroying it after 2 s). */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 2_000);
    await this.closed;
    clearTimeout(t);
  }

  /** Closes abruptly (like a crashed client). */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Destroys every RawClient still open. */
export async function closeAllRawClients(): Promise<void> {
  const all = [...open];
  for (const c of all) c.destroy();
  await Promise.all(all.map((c) => c.closed));
}
