/**
 * Hands received messages to the application: per-filter handlers (`client.handle`) and
 * `client.messages()` streams. The `'message'` event is emitted by the client itself.
 *
 * A handler's exception or rejected promise is never swallowed: it goes to `report`, which the
 * client routes to its `'error'` event. The message was acknowledged already [MQTT-4.5.0-2].
 */
import { topicMatches, validateTopicFilter } from '../../codec/index.js';
import { ClientError } from '../errors.js';
import type { Message } from './message.js';
import { MessageStream, type MessagesOptions } from './message-stream.js';

/** A per-filter message handler; may be async. */
export type MessageHandler = (message: Message) => void | Promise<void>;

/** Routes messages to handlers and streams by topic filter (spec 4.7). */
export class MessageDispatcher {
  readonly #handlers: Array<{ filter: string; handler: MessageHandler }> = [];
  readonly #streams = new Set<{ filter: string | undefined; stream: MessageStream }>();

  /**
   * Adds `handler` for messages whose topic matches `filter`; returns a function that removes
   * it. Throws the codec's `MqttError` for an invalid filter.
   */
  handle(filter: string, handler: MessageHandler): () => void {
    validateTopicFilter(filter);
    const entry = { filter, handler };
    this.#handlers.push(entry);
    return () => {
      const i = this.#handlers.indexOf(entry);
      if (i >= 0) this.#handlers.splice(i, 1);
    };
  }

  /** A new stream of messages matching `filter` (all messages when undefined). */
  stream(filter: string | undefined, options: MessagesOptions, ended: boolean): MessageStream {
    if (filter !== undefined) validateTopicFilter(filter);
    const entry = { filter, stream: undefined as unknown as MessageStream }; // set on the next line, before anything reads it
    entry.stream = new MessageStream(options, () => this.#streams.delete(entry));
    if (ended) entry.stream.end();
    else this.#streams.add(entry);
    return entry.stream;
  }

  /** Delivers `message` to every matching handler and stream. */
  deliver(message: Message, report: (error: Error) => void): void {
    const failed = (cause: unknown) =>
      report(new ClientError('HANDLER_ERROR', `a message handler for "${message.topic}" failed`, { cause }));
    for (const { filter, handler } of this.#handlers.slice()) {
      if (!topicMatches(filter, message.topic)) continue;
      try {
        const result = handler(message);
        if (result && typeof result.then === 'function') result.then(undefined, failed);
      } catch (cause) {
        failed(cause);
      }
    }
    for (const { filter, stream } of [...this.#streams]) {
      if (filter === undefined || topicMatches(filter, message.topic)) stream.push(message);
    }
  }

  /** The client has ended: every stream finishes once its buffer is read. */
  endAll(): void {
    for (const { stream } of [...this.#streams]) stream.end();
  }
}
