/**
 * Hooks may answer at once or with a promise. These helpers keep the synchronous case on the
 * fast path (no promise, no microtask) and handle both the same way.
 */

/** A value, or a promise of it: hooks may be synchronous or not. */
export type Maybe<T> = T | Promise<T>;

/** Whether `v` is a promise (a thenable). */
export function isPromise<T>(v: Maybe<T>): v is Promise<T> {
  return typeof (v as Promise<T> | undefined)?.then === 'function'; // probes for a then method
}

/** The values now when none is a promise; else a promise of them all, in order. */
export function allOf<T>(values: Array<Maybe<T>>): Maybe<T[]> {
  if (!values.some(isPromise)) return values as T[]; // no element is a promise
  // Promise.all passes the plain values through; at least one is a promise.
  return Promise.all(values);
}

/** Calls `f` with the value now, or when the promise settles (rejections become `onError`). */
export function after<T>(v: Maybe<T>, f: (t: T) => void | Promise<void>, onError: (e: unknown) => void | Promise<void>): void | Promise<void> {
  if (!isPromise(v)) return f(v);
  return v.then(f, (e: unknown) => onError(e));
}

/** Calls a hook; a synchronous throw becomes `onError`'s value. */
export function callHook<T>(hook: () => Maybe<T>, onError: (e: unknown) => T): Maybe<T> {
  try {
    return hook();
  } catch (e) {
    return onError(e);
  }
}
