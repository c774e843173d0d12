/**
 * A small request/response layer over Node's IPC channel, so the harness can ask a child
 * ("start", "sample your counters", "stop") and wait for its answer with a timeout.
 *
 * Parent side: `new Rpc(child).call(op, arg, timeoutMs)`. Child side: `serve({ op: handler })`.
 * A child serving requests exits when its parent goes away (the IPC channel disconnects), so a
 * crashed or killed harness leaves nothing running.
 */
import type { ChildProcess } from 'node:child_process';

interface Request {
  rpc: 'req';
  id: number;
  op: string;
  arg: unknown;
}

interface Response {
  rpc: 'res';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/**
 * A one-way message: child → parent (`notify`: progress counters, a connection error inside a
 * worker) or parent → child (`Rpc.post`: flow-control credit).
 */
export interface Notice {
  rpc: 'note';
  kind: string;
  detail: unknown;
}

/** Parent side of the channel to one child. */
export class Rpc {
  #next = 1;
  #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  #notices: Notice[] = [];
  #exitError: Error | undefined;
  #ready: Promise<void>;
  #gone: Promise<void>;
  #isReady = false;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each listener takes its own kind's detail; IPC messages carry no types
  #listeners = new Map<string, (detail: any) => void>();

  constructor(readonly child: ChildProcess) {
    let markReady!: () => void;
    this.#ready = new Promise((res) => (markReady = res));
    child.on('message', (m: Response | Notice) => {
      if (m && m.rpc === 'note') {
        // A message sent before the child listens would be lost: wait for its 'ready'.
        if (m.kind === 'ready') {
          this.#isReady = true;
          markReady();
        } else {
          const listener = this.#listeners.get(m.kind);
          if (listener) listener(m.detail);
          else if (this.#notices.length < 100) this.#notices.push(m); // bounded
        }
        return;
      }
      if (!m || m.rpc !== 'res') return;
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error ?? 'child error'));
    });
    let markGone!: () => void;
    this.#gone = new Promise((res) => (markGone = res));
    child.once('exit', (code, signal) => {
      markGone();
      this.#exitError = new Error(`child ${child.pid} exited (code ${code}, signal ${signal})`);
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(this.#exitError);
      }
      this.#pending.clear();
    });
  }

  /** Notices the child sent that no listener took (errors it hit while running). */
  get notices(): readonly Notice[] {
    return this.#notices;
  }

  /** Handles every notice of `kind` from the child with `listener` (one listener per kind). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see #listeners
  onNotice(kind: string, listener: (detail: any) => void): void {
    this.#listeners.set(kind, listener);
  }

  /** Sends a one-way message to the child (see `onPost`). */
  post(kind: string, detail: unknown): void {
    if (this.#exitError || !this.child.connected) return;
    this.child.send({ rpc: 'note', kind, detail } satisfies Notice);
  }

  /** Sends `op` with `arg`; resolves with the child's answer or rejects on error/timeout/exit. */
  async call<T>(op: string, arg: unknown = null, timeoutMs = 30_000): Promise<T> {
    if (!this.#isReady) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((res) => (timer = setTimeout(res, timeoutMs)));
      await Promise.race([this.#ready, this.#gone, late]);
      clearTimeout(timer);
    }
    if (this.#exitError) throw this.#exitError;
    if (!this.#isReady) throw new Error(`child ${this.child.pid} did not start within ${timeoutMs} ms`);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`child ${this.child.pid}: '${op}' timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      const req: Request = { rpc: 'req', id, op, arg };
      this.child.send(req, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err);
      });
    });
  }
}

/** A child's request handlers: each gets the request's argument and returns the answer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each handler takes its own op's argument; IPC messages carry no types
export type Handlers = Record<string, (arg: any) => unknown>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each handler takes its own kind's detail; IPC messages carry no types
const posts = new Map<string, (detail: any) => void>();

/** Child side: handles the parent's one-way messages of `kind` (see `Rpc.post`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see posts
export function onPost(kind: string, handler: (detail: any) => void): void {
  posts.set(kind, handler);
}

/** Child side: answers requests from the parent with `handlers`. Exits if the parent goes away. */
export function serve(handlers: Handlers): void {
  if (!process.send) throw new Error('serve() needs an IPC channel: start this file with fork()');
  process.on('message', (m: Request | Notice) => void answer(handlers, m));
  process.on('disconnect', () => process.exit(0));
  notify('ready', '');
}

/** Runs one request (or one-way notice) from the parent and sends the answer. */
async function answer(handlers: Handlers, m: Request | Notice): Promise<void> {
  if (m && m.rpc === 'note') {
    posts.get(m.kind)?.(m.detail);
    return;
  }
  if (!m || m.rpc !== 'req') return;
  let res: Response;
  try {
    const h = handlers[m.op];
    if (!h) throw new Error(`unknown op '${m.op}'`);
    res = { rpc: 'res', id: m.id, ok: true, value: await h(m.arg) };
  } catch (e) {
    res = { rpc: 'res', id: m.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  if (process.connected) process.send!(res);
}

/** Child side: tells the parent something went wrong outside a request (a socket error, say). */
export function notify(kind: string, detail: unknown): void {
  if (process.connected) process.send!({ rpc: 'note', kind, detail } satisfies Notice);
}

/** Child side: this process's CPU time (user + system) in microseconds. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
