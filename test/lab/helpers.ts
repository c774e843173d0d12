/**
 * Test helpers for the lab: the `proxy` command run in this process (its streams captured, its
 * stop request ours), and a scripted MQTT server that sends exactly what a test tells it to.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { Decoder, encode, type Packet } from '../../src/codec/index.js';
import { runProxy } from '../../src/cli/proxy.js';

/** A captured text stream that can be waited on. */
export class Captured {
  text = '';
  readonly #watchers = new Set<() => void>();

  constructor(stream: PassThrough) {
    stream.setEncoding('utf8').on('data', (d: string) => {
      this.text += d;
      for (const w of this.#watchers) w();
    });
  }

  /** Resolves with the text once it matches `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.text)) return;
        this.#watchers.delete(check);
        clearTimeout(timer);
        resolve(this.text);
      };
      const timer = setTimeout(() => {
        this.#watchers.delete(check);
        reject(new Error(`timed out waiting for ${String(pattern)} in:\n${this.text}`));
      }, timeoutMs);
      this.#watchers.add(check);
      check();
    });
  }
}

/** `mqtt311 proxy` running in this process. */
export interface ProxyRun {
  port: number;
  stdout: Captured;
  stderr: Captured;
  /** Asks the proxy to stop (as Ctrl-C does) and resolves with its exit code. */
  stop(): Promise<number>;
}

/** Starts `mqtt311 proxy --listen 0 …args` and resolves once it listens. */
export async function startProxyCli(args: string[]): Promise<ProxyRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  const stdout = new Captured(out);
  const stderr = new Captured(err);
  const controller = new AbortController();
  const done = runProxy(['--listen', '0', ...args], { stdin: new PassThrough(), stdout: out, stderr: err, interrupt: controller.signal });
  done.catch(() => {});
  const text = await Promise.race([stderr.waitFor(/listening on \S+:(\d+)/), done.then((code) => Promise.reject(new Error(`proxy exited ${code}: ${stderr.text}`)))]);
  const port = Number(/listening on \S+:(\d+)/.exec(text)?.[1]);
  return {
    port,
    stdout,
    stderr,
    stop() {
      controller.abort();
      return done;
    },
  };
}

/** One connection accepted by a {@link ScriptedServer}. */
export class ScriptedPeer {
  readonly #decoder = new Decoder();
  readonly #queue: Packet[] = [];
  readonly #waiters: Array<(p: Packet) => void> = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const p of this.#decoder.feed(chunk)) {
        const w = this.#waiters.shift();
        if (w) w(p);
        else this.#queue.push(p);
      }
    });
    socket.on('error', () => {});
  }

  /** The next packet the client sent; rejects after `timeoutMs`. */
  next(timeoutMs = 5_000): Promise<Packet> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no packet from the client')), timeoutMs);
      this.#waiters.push((p) => {
        clearTimeout(timer);
        resolve(p);
      });
    });
  }

  /** Sends packets (encoded by the codec) or raw bytes, in one write. */
  send(...items: Array<Packet | number[]>): void {
    this.socket.write(Buffer.concat(items.map((i) => (Array.isArray(i) ? Uint8Array.from(i) : encode(i)))));
  }
}

/** A TCP server on 127.0.0.1 that hands each connection to the test. */
export interface ScriptedServer {
  port: number;
  /** The next accepted connection. */
  accept(timeoutMs?: number): Promise<ScriptedPeer>;
  close(): Promise<void>;
}

/** Starts a {@link ScriptedServer}. */
export async function startScriptedServer(): Promise<ScriptedServer> {
  const pending: ScriptedPeer[] = [];
  const waiters: Array<(p: ScriptedPeer) => void> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const peer = new ScriptedPeer(socket);
    const w = waiters.shift();
    if (w) w(peer);
    else pending.push(peer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    accept(timeoutMs = 5_000) {
      const p = pending.shift();
      if (p) return Promise.resolve(p);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no connection')), timeoutMs);
        waiters.push((peer) => {
          clearTimeout(timer);
          resolve(peer);
        });
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
