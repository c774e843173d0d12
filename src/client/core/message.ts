/**
 * The application's view of a received PUBLISH.
 */
import type { PublishPacket, QoS } from '../../codec/index.js';

const utf8 = new TextDecoder();

/** A received application message. */
export interface Message {
  readonly topic: string;
  /** The payload bytes (a `Buffer` in Node, so `payload.toString()` works). */
  readonly payload: Uint8Array;
  readonly qos: QoS;
  /** Set when the server sent this as a retained message, on subscribing (spec 3.3.1.3). */
  readonly retain: boolean;
  /** Set when the server resent this PUBLISH (spec 3.3.1.1). */
  readonly dup: boolean;
  /** The PUBLISH packet itself. */
  readonly packet: PublishPacket;
  /** The payload decoded as UTF-8 (invalid sequences become U+FFFD), computed on access. */
  readonly text: string;
}

class ReceivedMessage implements Message {
  readonly packet: PublishPacket;
  constructor(packet: PublishPacket) {
    this.packet = packet;
  }
  get topic(): string {
    return this.packet.topic;
  }
  get payload(): Uint8Array {
    return this.packet.payload;
  }
  get qos(): QoS {
    return this.packet.qos;
  }
  get retain(): boolean {
    return this.packet.retain;
  }
  get dup(): boolean {
    return this.packet.dup;
  }
  get text(): string {
    return utf8.decode(this.packet.payload);
  }
  toJSON(): object {
    return { topic: this.topic, qos: this.qos, retain: this.retain, dup: this.dup, payload: this.text };
  }
}

/** Wraps a received PUBLISH as a `Message`. */
export function toMessage(packet: PublishPacket): Message {
  return new ReceivedMessage(packet);
}
