/**
 * Drives the broker core without sockets: each test client is an in-memory `Link`, time is a
 * fake clock, and every packet the broker sends is encoded and decoded again (so the broker can
 * never hand the network a packet the codec cannot encode).
 */
import { decode, encode } from '../../src/codec/index.js';
import type { ConnectPacket, Packet, PacketCmd } from '../../src/codec/index.js';
import { BrokerCore } from '../../src/broker-mini/core/broker-core.js';
import type { ClientHandle, Link } from '../../src/broker-mini/core/handle.js';
import type { BrokerOptions } from '../../src/broker-mini/options.js';
import { connectPacket } from '../helpers/raw-client.js';

/** A clock tests move by hand. */
export class FakeClock {
  t = 1_000_000;
  now = (): number => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

/** An in-memory transport recording what the broker sends. */
export class MemoryLink implements Link {
  readonly remoteAddress = 'memory';
  sent: Packet[] = [];
  closed: 'flush' | 'destroy' | undefined;
  paused = false;
  send(packets: readonly Packet[]): void {
    for (const p of packets) this.sent.push(decode(encode(p)));
  }
  close(mode: 'flush' | 'destroy'): void {
    this.closed ??= mode;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

/** One test client: a link, its handle, and helpers to talk through them. */
export class TestClient {
  readonly link = new MemoryLink();
  readonly handle: ClientHandle;
  readonly #clock: FakeClock;

  constructor(core: BrokerCore, clock: FakeClock) {
    this.#clock = clock;
    this.handle = core.attach(this.link);
  }

  /** Sends packets to the broker, as if they arrived on the wire. */
  send(...packets: Packet[]): this {
    for (const p of packets) this.handle.receive(decode(encode(p)), this.#clock.now());
    return this;
  }

  /** Takes (and clears) everything the broker sent so far. */
  take(): Packet[] {
    const out = this.link.sent;
    this.link.sent = [];
    return out;
  }

  /** Takes exactly one packet, which must be a `cmd`. */
  takeOne<C extends PacketCmd>(cmd: C): Extract<Packet, { cmd: C }> {
    const out = this.take();
    if (out.length !== 1 || out[0]!.cmd !== cmd) throw new Error(`expected one ${cmd}, got ${JSON.stringify(out)}`);
    return out[0] as Extract<Packet, { cmd: C }>;
  }

  /** Whether the broker closed this connection. */
  get isClosed(): boolean {
    return this.link.closed !== undefined;
  }

  /** The transport dropped (e.g. the client crashed). */
  drop(): void {
    this.link.closed ??= 'destroy';
    this.handle.linkClosed();
  }
}

/** A broker core with a fake clock, and a way to make connected clients. */
export class Harness {
  readonly clock = new FakeClock();
  readonly core: BrokerCore;

  constructor(options: BrokerOptions = {}) {
    this.core = new BrokerCore(options, this.clock.now);
  }

  /** A new connection that has sent nothing yet. */
  open(): TestClient {
    return new TestClient(this.core, this.clock);
  }

  /** A connection that sent CONNECT (defaults: clean session, keepAlive 0); the CONNACK is taken. */
  connect(fields: Partial<Omit<ConnectPacket, 'cmd'>> = {}): TestClient {
    const c = this.open();
    c.send(connectPacket(fields));
    const connack = c.take()[0];
    if (connack?.cmd !== 'connack' || connack.returnCode !== 0) throw new Error(`connect failed: ${JSON.stringify(connack)}`);
    return c;
  }

  /** Connects and subscribes (SUBACK taken). */
  subscriber(clientId: string, topicFilter: string, qos: 0 | 1 | 2 = 0, fields: Partial<Omit<ConnectPacket, 'cmd'>> = {}): TestClient {
    const c = this.connect({ clientId, ...fields });
    c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos }] });
    c.take();
    return c;
  }
}

/** Bytes of a UTF-8 string. */
export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** The UTF-8 text of bytes. */
export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/** Lets pending promise callbacks (async hooks) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
