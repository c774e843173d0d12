/**
 * `client.messages(filter)`: received messages as an async iterator with a bounded buffer.
 *
 * Overflow policy: when `bufferSize` messages are waiting unread, the next one is not buffered
 * and the stream fails — the consumer first reads what is buffered, then `next()` rejects with
 * `MESSAGES_OVERFLOW`. A consumer that cannot keep up learns so; nothing is dropped silently and
 * memory stays bounded. (Acknowledgements are never held back by a slow iterator: they are sent
 * when the message arrives [MQTT-4.5.0-2].)
 */
import { ClientError } from '../errors.js';
import type { Message } from './message.js';

/** Options of `client.messages()`. */
export interface MessagesOptions {
  /** Unread messages held before the stream fails with MESSAGES_OVERFLOW (default 1000). */
  bufferSize?: number;
  /** Stops the stream (it then ends normally). */
  signal?: AbortSignal;
}

/** An async iterator of messages; `for await` over it, `break` to stop. */
export class MessageStream implements AsyncIterableIterator<Message> {
  readonly #buffer: Message[] = [];
  readonly #waiting: Array<{ resolve: (r: IteratorResult<Message>) => void; reject: (e: Error) => void }> = [];
  readonly #bufferSize: number;
  readonly #onDone: () => void;
  #ended = false;
  #error: Error | undefined;

  /** `onDone` runs once when the stream stops receiving (to unregister it). */
  constructor(options: MessagesOptions, onDone: () => void) {
    this.#bufferSize = Math.max(1, options.bufferSize ?? 1000);
    this.#onDone = onDone;
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) this.end();
      else signal.addEventListener('abort', () => this.end(), { once: true });
    }
  }

  /** Is the stream still receiving? */
  get open(): boolean {
    return !this.#ended;
  }

  /** Offers a message; applies the overflow policy. */
  push(message: Message): void {
    if (this.#ended) return;
    const waiter = this.#waiting.shift();
    if (waiter) return waiter.resolve({ value: message, done: false });
    if (this.#buffer.length >= this.#bufferSize) {
      this.#error = new ClientError('MESSAGES_OVERFLOW', `more than ${this.#bufferSize} unread messages`);
      this.end();
      return;
    }
    this.#buffer.push(message);
  }

  /** Stops receiving; buffered messages can still be read, then the iterator is done. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onDone();
    // Waiters exist only when the buffer is empty, so they get the end (or the error) now.
    for (const w of this.#waiting.splice(0)) {
      if (this.#error) w.reject(this.#error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  /** The next message; waits when none is buffered. */
  next(): Promise<IteratorResult<Message>> {
    const message = this.#buffer.shift();
    if (message) return Promise.resolve({ value: message, done: false });
    if (this.#error) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Called by `break` in `for await`: stop and discard what is buffered. */
  return(): Promise<IteratorResult<Message>> {
    this.#buffer.length = 0;
    this.#error = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
