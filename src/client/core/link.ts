/**
 * One network connection seen as packets: a `Transport` with the codec on both sides.
 *
 * Outgoing packets are encoded as `[header, payload]` so a PUBLISH payload is never copied;
 * incoming bytes go through one streaming `Decoder`, so packets may span chunks or share one
 * [MQTT-6.0.0-2]. Bytes the codec cannot decode are a protocol violation by the server: the
 * link closes [MQTT-4.8.0-1] and reports the codec's `MqttError`.
 */
import { Decoder, describePacket, encodeParts, type Packet } from '../../codec/index.js';
import type { Transport } from '../transport.js';

/** What a link reports to its owner. */
export interface LinkHandlers {
  /** A whole packet arrived. */
  packet(packet: Packet): void;
  /** The connection closed, exactly once; `error` when it failed. */
  close(error: Error | undefined): void;
  /** The transport's write buffer emptied. */
  drain(): void;
}

/** A packet connection over a transport. */
export class Link {
  readonly #transport: Transport;
  readonly #handlers: LinkHandlers;
  readonly #decoder = new Decoder();
  readonly #log: ((line: string) => void) | undefined;
  #closed = false;
  #needDrain = false;
  #paused = false;

  constructor(transport: Transport, handlers: LinkHandlers, log?: (line: string) => void) {
    this.#transport = transport;
    this.#handlers = handlers;
    this.#log = log;
    transport.onData((chunk) => this.#data(chunk));
    transport.onClose((error) => this.#close(error));
    transport.onDrain(() => {
      this.#needDrain = false;
      if (!this.#closed) handlers.drain();
    });
  }

  /** True once the connection has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while the transport's buffer is full (see `Transport.write`). */
  get needDrain(): boolean {
    return this.#needDrain;
  }

  /** Encodes and writes `packet`. The session only produces packets the encoder accepts. */
  write(packet: Packet): void {
    if (this.#closed) return;
    this.#log?.(`send ${describePacket(packet)}`);
    if (!this.#transport.write(encodeParts(packet))) this.#needDrain = true;
  }

  /** Closes after the written bytes are sent. */
  end(): void {
    if (!this.#closed) this.#transport.end();
  }

  /** Closes at once and reports `error` (the transport's own close report is then ignored). */
  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#transport.destroy();
    this.#close(error);
  }

  #data(chunk: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      return this.#malformed(error as Error);
    }
    if (!this.#paused) this.#drain();
  }

  /**
   * Handles every whole packet buffered. Packets before a malformed one are handled, so the
   * outcome never depends on where chunk boundaries fell.
   *
   * After CONNACK the rest waits for the next macrotask: a resumed session's queued messages
   * often arrive in the same chunk as the CONNACK, and the application attaches its listeners
   * only when `await connect()` returns — a microtask later. Without the pause those messages
   * would be acknowledged and delivered to nobody.
   */
  #drain(): void {
    for (;;) {
      let packet: Packet | undefined;
      try {
        packet = this.#decoder.next();
      } catch (error) {
        return this.#malformed(error as Error);
      }
      if (packet === undefined || this.#closed) return;
      this.#log?.(`recv ${describePacket(packet)}`);
      this.#handlers.packet(packet);
      if (this.#closed) return;
      if (packet.cmd === 'connack') {
        this.#paused = true;
        setTimeout(() => {
          this.#paused = false;
          if (!this.#closed) this.#drain();
        }, 0);
        return;
      }
    }
  }

  /** [MQTT-4.8.0-1] malformed bytes from the server: close the connection. */
  #malformed(error: Error): void {
    this.#log?.(`protocol error: ${error.message}`);
    this.destroy(error);
  }

  #close(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#log?.(error ? `connection closed: ${error.message}` : 'connection closed');
    this.#handlers.close(error);
  }
}
