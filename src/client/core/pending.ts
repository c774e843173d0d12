/**
 * The promises the application holds for operations in progress (publish, subscribe,
 * unsubscribe), by operation number: made when the application asks, settled by the session's
 * `done` and `failed` events. Every publish passes through here, so nothing allocates more than
 * the promise and one entry.
 */
import type { SubackReturnCode } from '../../codec/index.js';
import type { Link } from './link.js';
import { abortedError } from './open.js';
import type { SessionEvent } from './types.js';

/** Turns SUBACK return codes into an operation's result. */
export type OpResult = (returnCodes: SubackReturnCode[] | undefined) => unknown;

interface PendingOp {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Maps the `done` event to the resolved value; undefined resolves with undefined. */
  result: OpResult | undefined;
  /** A QoS 0 publish: done only once its bytes are with the transport (`Link.whenWritten`). */
  written: boolean;
  cleanup: (() => void) | undefined;
}

// `new Promise(capture)` hands over its resolve and reject without a closure per promise; they
// are read right after the constructor returns, before anything else can run.
let capturedResolve: PendingOp['resolve'] = () => undefined;
let capturedReject: PendingOp['reject'] = () => undefined;
const capture = (resolve: PendingOp['resolve'], reject: PendingOp['reject']): void => {
  capturedResolve = resolve;
  capturedReject = reject;
};

function newPromise<T>(): Promise<T> {
  return new Promise<T>(capture as (resolve: (value: T) => void, reject: (error: Error) => void) => void); // capture hands over resolve and reject unchanged
}

/** Operations awaited by the application. */
export class PendingOps {
  readonly #ops = new Map<number, PendingOp>();

  /**
   * A promise for operation `op`, settled by `settle`. `result` maps SUBACK return codes to the
   * value it resolves with; `written` marks a QoS 0 publish (see `Link.whenWritten`). When `signal`
   * fires first, the promise rejects with ABORTED and `onAbort` runs (to withdraw the operation).
   */
  track<T>(op: number, result: OpResult | undefined, written: boolean, signal?: AbortSignal, onAbort?: () => void): Promise<T> {
    const promise = newPromise<T>();
    const pending: PendingOp = { resolve: capturedResolve, reject: capturedReject, result, written, cleanup: undefined };
    this.#ops.set(op, pending);
    if (signal) {
      const abort = () => {
        this.#ops.delete(op);
        pending.reject(abortedError());
        onAbort?.();
      };
      signal.addEventListener('abort', abort, { once: true });
      pending.cleanup = () => signal.removeEventListener('abort', abort);
    }
    return promise;
  }

  /** Settles the operation a `done` or `failed` event names; `link` carries QoS 0 publishes. */
  settle(event: Extract<SessionEvent, { type: 'done' | 'failed' }>, link: Link | undefined): void {
    const pending = this.#ops.get(event.op);
    if (!pending) return; // aborted by its caller meanwhile
    this.#ops.delete(event.op);
    pending.cleanup?.();
    if (event.type === 'failed') pending.reject(event.error);
    // "QoS 0 written": resolved once its bytes are with the transport and it is not backed up.
    else if (pending.written && link) link.whenWritten(() => pending.resolve(undefined));
    else pending.resolve(pending.result?.(event.returnCodes));
  }
}
