/**
 * One raw MQTT connection of the load generator: a TCP socket to 127.0.0.1, our codec's
 * streaming `Decoder` on the way in, pre-encoded bytes on the way out.
 *
 * It does the handshake (CONNECT → CONNACK, SUBSCRIBE → SUBACK) and then hands every decoded
 * packet to `onPacket`, and calls `onChunkEnd` after each chunk so a caller can answer with one
 * write per chunk instead of one per packet.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { Decoder, type Packet, type QoS } from '../../../src/codec/index.js';
import { connectBytes, disconnectBytes, subscribeBytes } from './wire.js';

/** What a connection does with incoming packets once it is set up. */
export interface PacketSink {
  onPacket(p: Packet): void;
  onChunkEnd?(): void;
}

/** A connected MQTT session over a raw socket. */
export class Conn {
  readonly decoder = new Decoder();
  sink: PacketSink | undefined;
  #waiter: ((p: Packet) => boolean) | undefined;
  #failed: Error | undefined;
  #onFail: ((e: Error) => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => this.#fail(new Error('connection closed by the broker')));
  }

  /** The first error (socket, decoder or broker close), if any. */
  get failure(): Error | undefined {
    return this.#failed;
  }

  /** Called once on the first failure after the handshake. */
  onFailure(cb: (e: Error) => void): void {
    this.#onFail = cb;
  }

  /**
   * Opens a TCP connection and completes the MQTT handshake (clean session).
   * Rejects if CONNACK is not "accepted" (spec 3.2.2.3) or nothing arrives within `timeoutMs`.
   */
  static async open(port: number, clientId: string, keepAlive = 0, timeoutMs = 20_000, localAddress?: string): Promise<Conn> {
    // `localAddress` (another loopback address, 127.0.0.x) lifts the ~28k ephemeral ports of one
    // source address; the traffic still goes to 127.0.0.1.
    const socket = tcpConnect({ port, host: '127.0.0.1', noDelay: true, ...(localAddress ? { localAddress } : {}) });
    const conn = new Conn(socket);
    await new Promise<void>((res, rej) => {
      socket.once('connect', res);
      socket.once('error', rej);
    });
    socket.write(connectBytes(clientId, keepAlive));
    const ack = await conn.#expect('connack', timeoutMs);
    if (ack.cmd !== 'connack' || ack.returnCode !== 0) {
      socket.destroy();
      throw new Error(`CONNACK refused: ${JSON.stringify(ack)}`);
    }
    return conn;
  }

  /** Subscribes to `filters` at `qos` in one SUBSCRIBE; rejects on a failure code (0x80). */
  async subscribe(filters: string[], qos: QoS, timeoutMs = 20_000): Promise<void> {
    this.socket.write(subscribeBytes(1, filters, qos));
    const ack = await this.#expect('suback', timeoutMs);
    if (ack.cmd !== 'suback' || ack.returnCodes.some((c) => c !== qos)) {
      throw new Error(`SUBACK did not grant QoS ${qos}: ${JSON.stringify(ack)}`);
    }
  }

  /** Ends the session with DISCONNECT and closes the socket (graceful; used between runs). */
  close(): void {
    this.#onFail = undefined;
    this.#failed ??= new Error('closed');
    if (!this.socket.destroyed) this.socket.end(disconnectBytes());
  }

  /** Drops the connection with a TCP reset: no DISCONNECT, no TIME_WAIT left on this side. */
  reset(): void {
    this.#onFail = undefined;
    this.#failed ??= new Error('reset');
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  #expect(cmd: Packet['cmd'], timeoutMs: number): Promise<Packet> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        rej(new Error(`no ${cmd.toUpperCase()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#onFail = (e) => {
        clearTimeout(timer);
        rej(e);
      };
      if (this.#failed) return this.#onFail(this.#failed);
      this.#waiter = (p) => {
        if (p.cmd !== cmd) return false;
        clearTimeout(timer);
        this.#waiter = undefined;
        this.#onFail = undefined;
        res(p);
        return true;
      };
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#failed) return;
    try {
      this.decoder.push(chunk);
      const sink = this.sink;
      for (let p = this.decoder.next(); p !== undefined; p = this.decoder.next()) {
        if (this.#waiter?.(p)) continue;
        sink?.onPacket(p);
      }
      sink?.onChunkEnd?.();
    } catch (e) {
      this.#fail(e instanceof Error ? e : new Error(String(e)));
      this.socket.destroy();
    }
  }

  #fail(e: Error): void {
    if (this.#failed) return;
    this.#failed = e;
    const cb = this.#onFail;
    this.#onFail = undefined;
    cb?.(e);
  }
}
