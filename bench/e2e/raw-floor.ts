/**
 * The raw-socket floor of QoS 1 publishing: what sending a PUBLISH and reading its PUBACK costs
 * with no client library at all. PUBLISH packets are encoded once into a template; each batch
 * is one fresh buffer of copies with their packet identifiers patched in, written as soon as
 * acknowledgements free room in the window. PUBACKs are only counted (each is 4 bytes, spec
 * 3.4), never decoded. No real client can do less per message, so it is the bench's floor.
 */
import { connect, type Socket } from 'node:net';

/** A QoS 1 PUBLISH of `topic` and `payloadSize` bytes, packet id 0 at `idOffset`. */
function encodeTemplate(topic: string, payloadSize: number): { packet: Buffer; idOffset: number } {
  const topicBytes = Buffer.from(topic);
  const remaining = 2 + topicBytes.length + 2 + payloadSize;
  const lengthBytes: number[] = [];
  let n = remaining;
  do {
    lengthBytes.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  const header = Buffer.from([0x32, ...lengthBytes]); // PUBLISH, QoS 1
  const packet = Buffer.alloc(header.length + remaining);
  header.copy(packet, 0);
  packet.writeUInt16BE(topicBytes.length, header.length);
  topicBytes.copy(packet, header.length + 2);
  return { packet, idOffset: header.length + 2 + topicBytes.length };
}

/** One raw connection publishing QoS 1 with at most `window` PUBLISHes unacknowledged. */
export class RawFloor {
  readonly #socket: Socket;
  readonly #template: Buffer;
  readonly #idOffset: number;
  readonly #window: number;
  #nextId = 1;
  /** Bytes of PUBACKs received (a partial one waits for its other bytes). */
  #ackBytes = 0;
  #onAck: (() => void) | undefined;

  private constructor(socket: Socket, topic: string, payloadSize: number, window: number) {
    this.#socket = socket;
    ({ packet: this.#template, idOffset: this.#idOffset } = encodeTemplate(topic, payloadSize));
    this.#window = window;
    socket.on('data', (chunk: Buffer) => {
      this.#ackBytes += chunk.length;
      this.#onAck?.();
    });
  }

  /** Connects to 127.0.0.1:`port` and completes CONNECT/CONNACK. */
  static async connect(port: number, topic: string, payloadSize: number, window: number): Promise<RawFloor> {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const clientId = Buffer.from(`bench-raw-${process.pid}`);
    // CONNECT: "MQTT" level 4, clean session, keep-alive 0.
    const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, clientId.length >> 8, clientId.length & 0xff]), clientId]);
    socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    await new Promise<void>((resolve) => socket.once('data', () => resolve())); // the 4-byte CONNACK
    return new RawFloor(socket, topic, payloadSize, window);
  }

  /** Publishes `count` messages (no new ones after `maxMs`), resolving when all are acknowledged. */
  run(count: number, maxMs: number): Promise<number> {
    const stopAt = performance.now() + maxMs;
    const size = this.#template.length;
    this.#ackBytes = 0;
    let sent = 0;
    return new Promise<number>((resolve) => {
      const refill = () => {
        const acked = this.#ackBytes >> 2;
        if (acked === sent && (sent === count || performance.now() > stopAt)) {
          this.#onAck = undefined;
          return resolve(sent);
        }
        const n = Math.min(this.#window - (sent - acked), count - sent);
        if (n <= 0 || performance.now() > stopAt) return;
        const batch = Buffer.allocUnsafe(n * size);
        for (let k = 0; k < n; k++) {
          this.#template.copy(batch, k * size);
          batch.writeUInt16BE(this.#nextId, k * size + this.#idOffset);
          this.#nextId = this.#nextId === 65535 ? 1 : this.#nextId + 1;
        }
        sent += n;
        this.#socket.write(batch);
      };
      this.#onAck = refill;
      refill();
    });
  }

  close(): void {
    this.#socket.end();
  }
}
