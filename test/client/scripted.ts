/**
 * A scripted server at the client's Transport seam: the test plays the broker packet by packet
 * (with the project's codec on the wire), so it can misbehave on purpose — never answer a
 * PINGREQ, send garbage, drop the connection at a chosen moment. Interop with real brokers is
 * tested elsewhere (mosquitto.test.ts); this is for the failure cases a real broker will not stage.
 */
import { Decoder, encode, type Packet, type PacketCmd } from '../../src/codec/index.js';
import { createClient, type ClientOptions } from '../../src/client/core/index.js';
import type { Transport, TransportFactory } from '../../src/client/transport.js';

/** The server side of one client connection. */
export class ScriptedConnection {
  readonly received: Packet[] = [];
  closed = false;
  /** What `Transport.write` returns (false simulates a full socket buffer). */
  writeResult = true;
  readonly #decoder = new Decoder();
  readonly #waiters: Array<() => void> = [];
  #onData: ((chunk: Uint8Array) => void) | undefined;
  #onClose: ((error?: Error) => void) | undefined;
  #onDrain: (() => void) | undefined;
  #read = 0;
  readonly transport: Transport;

  constructor() {
    this.transport = {
      write: (data) => {
        if (this.closed) return true;
        for (const part of data instanceof Uint8Array ? [data] : data) this.#decoder.push(part);
        for (let p = this.#decoder.next(); p; p = this.#decoder.next()) this.received.push(p);
        for (const w of this.#waiters.splice(0)) w();
        return this.writeResult;
      },
      end: () => this.close(),
      destroy: () => this.close(),
      onData: (cb) => void (this.#onData = cb),
      onClose: (cb) => void (this.#onClose = cb),
      onDrain: (cb) => void (this.#onDrain = cb),
    };
  }

  /** The next packet the client sent that the test has not read yet (waits up to `ms`). */
  async next(ms = 5000): Promise<Packet> {
    const deadline = Date.now() + ms;
    while (this.#read >= this.received.length) {
      if (Date.now() > deadline) throw new Error(`no packet from the client within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
    return this.received[this.#read++]!;
  }

  /** Reads packets until one with `cmd` arrives; returns it. */
  async expect(cmd: PacketCmd, ms = 5000): Promise<Packet> {
    for (;;) {
      const p = await this.next(ms);
      if (p.cmd === cmd) return p;
    }
  }

  /** Sends a packet (or raw bytes) to the client, asynchronously like a network. */
  send(packet: Packet | Uint8Array): void {
    const bytes = packet instanceof Uint8Array ? packet : encode(packet);
    setTimeout(() => {
      if (!this.closed) this.#onData?.(bytes);
    }, 0);
  }

  /** Answers the CONNECT the client sent. */
  async accept(sessionPresent = false, returnCode: 0 | 1 | 2 | 3 | 4 | 5 = 0): Promise<Packet> {
    const connect = await this.expect('connect');
    this.send({ cmd: 'connack', sessionPresent, returnCode });
    return connect;
  }

  /** Fires the client's drain callback. */
  drain(): void {
    this.writeResult = true;
    this.#onDrain?.();
  }

  /** Closes the connection (as if the server or the network did). */
  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    setTimeout(() => this.#onClose?.(error), 0);
  }
}

/** A transport factory whose every connection is a `ScriptedConnection`. */
export function scripted(): { factory: TransportFactory; connections: ScriptedConnection[]; next(ms?: number): Promise<ScriptedConnection>; refuse: boolean } {
  const connections: ScriptedConnection[] = [];
  let taken = 0;
  const state = {
    refuse: false,
    connections,
    factory: (async () => {
      if (state.refuse) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const c = new ScriptedConnection();
      connections.push(c);
      return c.transport;
    }) as TransportFactory,
    async next(ms = 5000): Promise<ScriptedConnection> {
      const deadline = Date.now() + ms;
      while (taken >= connections.length) {
        if (Date.now() > deadline) throw new Error('no connection attempt');
        await new Promise((r) => setTimeout(r, 10));
      }
      return connections[taken++]!;
    },
  };
  return state;
}

/** Connects a client made with `options` to a fresh scripted server and accepts its CONNECT. */
export async function connectScripted(options: ClientOptions, sessionPresent = false) {
  const server = scripted();
  const pending = createClient('mqtt://test', { ...options, transport: server.factory });
  const conn = await server.next();
  await conn.accept(sessionPresent);
  return { server, conn, client: await pending };
}
