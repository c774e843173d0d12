/**
 * A probe: one raw MQTT connection to the broker under test, with the codec on top and no
 * protocol logic, so a check can send exactly what it wants (wrong bytes included) and see
 * exactly what comes back. Every wait is bounded: a broker that stops answering makes a check
 * fail with "no answer", never hang.
 */
import type { Duplex } from 'node:stream';
import { encode, type Packet, type PacketCmd } from '../../codec/index.js';
import { connectTarget, type TargetOptions } from '../proxy.js';
import { hex } from '../format.js';
import { ProtocolTracker, type TraceRecord } from '../tracker.js';
import { describePacket } from '../../codec/index.js';

/** A check's verdict was reached: thrown by the expect helpers with the evidence. */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
}

/** A row that does not apply to this broker or run (e.g. no WebSocket endpoint given). */
export class NotTestable extends Error {
  override readonly name = 'NotTestable';
}

/** What `next` saw: a packet (with its bytes), the connection closing, or nothing in time. */
export type Seen = { kind: 'packet'; packet: Packet; bytes: Uint8Array } | { kind: 'closed' } | { kind: 'timeout' } | { kind: 'malformed'; text: string };

/** One line of evidence: `PUBLISH q1 id=1 "a" (1 B) = 32 04 …`. */
export function evidence(seen: Seen): string {
  switch (seen.kind) {
    case 'packet':
      return `${describePacket(seen.packet)} = ${hex(seen.bytes.subarray(0, 24))}${seen.bytes.length > 24 ? ' …' : ''}`;
    case 'closed':
      return 'the connection closed';
    case 'timeout':
      return 'nothing arrived';
    default:
      return seen.text;
  }
}

/** A raw connection to the broker under test. */
export class Probe {
  readonly #tracker = new ProtocolTracker();
  readonly #queue: Seen[] = [];
  readonly #waiters: Array<(s: Seen) => void> = [];
  #closed = false;

  private constructor(readonly stream: Duplex, readonly timeoutMs: number) {
    stream.on('data', (chunk: Buffer) => {
      for (const r of this.#tracker.feed('s2c', chunk, Date.now())) this.#push(toSeen(r));
    });
    stream.on('error', () => {});
    stream.once('close', () => {
      this.#closed = true;
      this.#push({ kind: 'closed' });
    });
  }

  /** Opens a connection (no CONNECT yet); fails after `timeoutMs`. */
  static open(target: TargetOptions, timeoutMs: number): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const stream = connectTarget(target);
      const timer = setTimeout(() => {
        stream.destroy();
        reject(new CheckFailure(`cannot connect within ${timeoutMs} ms`));
      }, timeoutMs);
      const ok = () => {
        clearTimeout(timer);
        stream.removeListener('error', failed);
        resolve(new Probe(stream, timeoutMs));
      };
      const failed = (err: Error) => {
        clearTimeout(timer);
        reject(new CheckFailure(`cannot connect: ${err.message}`));
      };
      stream.once('error', failed);
      // A TCP or TLS socket says when it is connected; a WebSocket stream holds writes until open.
      if ('connecting' in stream) stream.once(target.tls ? 'secureConnect' : 'connect', ok);
      else setImmediate(ok);
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  #push(seen: Seen): void {
    const w = this.#waiters.shift();
    if (w) w(seen);
    else this.#queue.push(seen);
  }

  /** Sends a packet, or raw bytes (for malformed input). */
  send(item: Packet | number[] | Uint8Array): void {
    if (this.#closed) return;
    this.stream.write(item instanceof Uint8Array ? item : Array.isArray(item) ? Uint8Array.from(item) : encode(item));
  }

  /** The next thing seen, waiting at most `ms` (default: the probe's timeout). */
  next(ms = this.timeoutMs): Promise<Seen> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve({ kind: 'closed' });
    return new Promise((resolve) => {
      const waiter = (s: Seen) => {
        clearTimeout(timer);
        resolve(s);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        resolve({ kind: 'timeout' });
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** The next packet, which must be a `cmd`; else a {@link CheckFailure} naming what came. */
  async expect<C extends PacketCmd>(cmd: C, what: string, ms?: number): Promise<Extract<Packet, { cmd: C }>> {
    const seen = await this.next(ms);
    if (seen.kind === 'packet' && seen.packet.cmd === cmd) return seen.packet as Extract<Packet, { cmd: C }>; // its cmd was compared just before
    throw new CheckFailure(`${what}: expected ${cmd.toUpperCase()}, got: ${evidence(seen)}`);
  }

  /**
   * Resolves when the broker closes the connection; packets seen before are returned. A packet
   * of a type not in `allowed`, or no close within the timeout, is a failure.
   */
  async expectClose(what: string, allowed: readonly PacketCmd[] = [], ms = this.timeoutMs): Promise<Packet[]> {
    const deadline = Date.now() + ms;
    const got: Packet[] = [];
    for (;;) {
      const seen = await this.next(Math.max(1, deadline - Date.now()));
      if (seen.kind === 'closed') return got;
      if (seen.kind === 'packet' && allowed.includes(seen.packet.cmd)) {
        got.push(seen.packet);
        continue;
      }
      throw new CheckFailure(`${what}: expected the connection to close, got: ${seen.kind === 'timeout' ? `still open after ${ms} ms` : evidence(seen)}`);
    }
  }

  /** Nothing arrives (and the connection stays open) for `ms`; else a failure naming what came. */
  async expectNothing(what: string, ms: number): Promise<void> {
    const seen = await this.next(ms);
    if (seen.kind === 'timeout') return;
    throw new CheckFailure(`${what}: expected nothing, got: ${evidence(seen)}`);
  }

  /**
   * Sends DISCONNECT, half-closes, and waits (bounded) for the server to close too, so the
   * server has handled the DISCONNECT before the next step of a check.
   */
  async disconnect(): Promise<void> {
    if (this.#closed) return;
    this.send({ cmd: 'disconnect' });
    this.stream.end();
    const seen = await this.expectCloseQuietly();
    if (!seen) await this.close();
  }

  /** Waits up to the timeout for the close, skipping packets; true if it came. */
  private async expectCloseQuietly(): Promise<boolean> {
    const deadline = Date.now() + this.timeoutMs;
    while (Date.now() < deadline) {
      const seen = await this.next(Math.max(1, deadline - Date.now()));
      if (seen.kind === 'closed') return true;
      if (seen.kind === 'timeout') return false;
    }
    return false;
  }

  /** Closes the connection abruptly (no DISCONNECT). */
  async close(): Promise<void> {
    if (this.#closed) return;
    const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
    this.stream.destroy();
    await closed;
  }
}

function toSeen(r: TraceRecord): Seen {
  if (r.kind === 'packet' && r.packet) return { kind: 'packet', packet: r.packet, bytes: r.bytes };
  return { kind: 'malformed', text: `undecodable bytes: ${r.error?.code ?? ''} ${hex(r.bytes.subarray(0, 24))}` };
}
