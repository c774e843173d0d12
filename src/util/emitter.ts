/**
 * A tiny typed event emitter with no dependencies, so the client core runs in any JS runtime
 * (node:events is not available in browsers).
 *
 * Unlike node:events it never swallows a listener's exception: `emit` lets it propagate to the
 * caller, which decides where it surfaces (the client routes it to its `error` event).
 * Like node:events, emitting `'error'` with no listener throws the error.
 */
/** Event names to listener signatures; `never[]` so that any listener's parameters fit. */
export type EventMap = Record<string, (...args: never[]) => void>;

export class TypedEmitter<Events extends EventMap> {
  #listeners = new Map<keyof Events, Array<Events[keyof Events]>>();

  /** Adds `listener` for `event`; returns `this` for chaining. */
  on<E extends keyof Events>(event: E, listener: Events[E]): this {
    const list = this.#listeners.get(event);
    if (list) list.push(listener);
    else this.#listeners.set(event, [listener]);
    return this;
  }

  /** Adds a listener that is removed after its first call. */
  once<E extends keyof Events>(event: E, listener: Events[E]): this {
    const wrapper = ((...args: Parameters<Events[E]>) => {
      this.off(event, wrapper);
      listener(...args);
    }) as Events[E]; // the wrapper takes the listener's own arguments
    return this.on(event, wrapper);
  }

  /** Removes one registration of `listener` for `event`. */
  off<E extends keyof Events>(event: E, listener: Events[E]): this {
    const list = this.#listeners.get(event);
    if (!list) return this;
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#listeners.delete(event);
    return this;
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  /** Number of listeners registered for `event`. */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /**
   * Calls every listener of `event` in order. Returns whether there was any listener.
   * A listener's exception propagates. `'error'` without a listener throws its argument (wrapped
   * in an `Error`, as node:events does, if it is not one).
   */
  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): boolean {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) {
      if (event === 'error') {
        // As node:events does, a value that is not an Error is wrapped, so callers always catch an Error.
        const err: unknown = args[0];
        throw err instanceof Error ? err : new Error("unhandled 'error' event", { cause: err });
      }
      return false;
    }
    for (const listener of list.slice()) listener(...args);
    return true;
  }
}
