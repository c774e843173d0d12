/**
 * One direction of a tracked connection, as the tracker decodes it: the codec's `Decoder`, the
 * bytes it has not yet returned as packets, and what the tracker needs to know of that sender's
 * stream (how many packets, when the last one came, whether it broke).
 *
 * The decoder only reports offsets; the bytes themselves are kept beside it in a `ChunkQueue`, so
 * each packet is handed on with its exact bytes. A malformed frame ends the direction for good:
 * its receiver must close the connection [MQTT-4.8.0-1], so nothing after it is decoded.
 */
import { ChunkQueue } from './chunk-queue.js';
import { Decoder, isMqttError, MqttError, type Packet } from '../codec/index.js';

/** Per-direction decoding state: the codec's decoder and the bytes not yet returned as packets. */
export class Side {
  readonly decoder = new Decoder();
  /** Bytes pushed but not yet returned as packets, as they came (copied only when a packet spans chunks). */
  readonly pending = new ChunkQueue();
  failed = false;
  packets = 0;
  last = 0;

  /**
   * Bytes arrived: `onPacket` gets each packet they complete, in order, with its bytes (a view
   * into the pushed chunks, or one copy when it spans them; copy to keep). A malformed frame — or an exception from `onPacket` — goes
   * to `onMalformed` with the codec's error and the bytes from that packet on, and the side stops.
   */
  read<R>(chunk: Uint8Array, onPacket: (packet: Packet, bytes: Uint8Array) => R, onMalformed: (error: MqttError, bytes: Uint8Array) => R): R[] {
    if (this.failed || chunk.length === 0) return [];
    const out: R[] = [];
    // The decoder's offset where `pending` starts; each packet's length is the offset it moved.
    let at = this.decoder.offset;
    this.pending.push(chunk);
    try {
      this.decoder.push(chunk);
      for (let p = this.decoder.next(); p !== undefined; p = this.decoder.next()) {
        const length = this.decoder.offset - at;
        at = this.decoder.offset;
        out.push(onPacket(p, this.pending.take(length)));
      }
    } catch (err) {
      this.failed = true;
      const error = isMqttError(err) ? err : new MqttError('INVALID_PACKET', String(err));
      out.push(onMalformed(error, this.pending.take(this.pending.length)));
    }
    return out;
  }
}
