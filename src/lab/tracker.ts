/**
 * The protocol tracker: follows one MQTT connection from the wire, both directions, and says
 * which normative statement a packet breaks. It is sans-IO — bytes and times in, records out —
 * so the proxy, `decode --pcap` and the tests drive the same code.
 *
 * Decoding is the codec's (`Decoder`, one per direction, held in side.ts): a malformed packet is
 * reported with the codec's rule and that direction stops being decoded (its receiver must close
 * the connection, [MQTT-4.8.0-1]).
 * The tracker adds what a decoder cannot see: the order of packets, packet identifiers in flight,
 * the QoS 2 handshake, keep-alive, and which subscriptions a delivery belongs to.
 */
import { Side } from './side.js';
import { topicMatches, type MqttError, type Packet, type PublishPacket, type QoS } from '../codec/index.js';

/** `c2s`: client to server (broker); `s2c`: server to client. */
export type Direction = 'c2s' | 's2c';

/** A broken rule seen on the wire. */
export interface Violation {
  /** Normative statement id without brackets, e.g. `'MQTT-3.3.1-1'`; a codec error code when the spec names none. */
  rule: string;
  /** Which side broke it. */
  by: 'client' | 'server';
  /** What happened, in one sentence. */
  message: string;
  /** `'violation'` breaks a MUST; `'note'` is allowed but worth seeing (e.g. PUBLISH before CONNACK). */
  severity: 'violation' | 'note';
}

/** One thing the tracker saw: a packet, a malformed frame, or an event in time (keep-alive, close). */
export interface TraceRecord {
  /** Milliseconds since the epoch. */
  time: number;
  /** Who sent it; for `event` records, the side the event concerns. */
  dir: Direction;
  kind: 'packet' | 'malformed' | 'event';
  /** The decoded packet (`kind === 'packet'`). */
  packet?: Packet;
  /** The packet's bytes, or the undecodable bytes from the error on (`malformed`). */
  bytes: Uint8Array;
  /** The codec's error (`kind === 'malformed'`). */
  error?: MqttError;
  /** Text of an `event` record, e.g. `connection closed by the server`. */
  text?: string;
  violations: Violation[];
}

/** The side that sends in a direction. */
export const sender = (dir: Direction): 'client' | 'server' => (dir === 'c2s' ? 'client' : 'server');
const other = (dir: Direction): Direction => (dir === 'c2s' ? 's2c' : 'c2s');

/** A QoS 1/2 PUBLISH flow, keyed by its sender's direction and packet id. */
export interface Flow {
  qos: 1 | 2;
  /** `publish`: sent, not acknowledged; `pubrec`: PUBREC seen; `pubrel`: PUBREL seen. */
  stage: 'publish' | 'pubrec' | 'pubrel';
  topic: string;
  payload: Uint8Array;
  /** Further messages sent under the same id while this one was in flight (already flagged). */
  reused: number;
}

/** The server's keep-alive deadline is judged with this much slack for its timers and the network. */
const KEEPALIVE_SLACK_MS = 1_000;

/**
 * The flows still unfinished when a CleanSession 0 connection closed, by ClientId. Shared by the
 * trackers of one proxy (or capture), so a later connection of the same session is judged with
 * them: a re-delivery then needs DUP [MQTT-3.3.1-1], and acknowledgements of them are expected.
 */
export type SessionFlows = Map<string, Map<string, Flow>>;

/** Follows one connection; feed it both directions' bytes in the order they were seen. */
export class ProtocolTracker {
  private readonly sides: Record<Direction, Side> = { c2s: new Side(), s2c: new Side() };
  private flows = new Map<string, Flow>();

  /** @param sessions flows of earlier connections, shared between trackers (see {@link SessionFlows}). */
  constructor(private readonly sessions?: SessionFlows) {}
  /** SUBSCRIBE / UNSUBSCRIBE ids awaiting their ack: id → filters (with QoS for SUBSCRIBE). */
  private readonly subscribes = new Map<number, { topicFilter: string; qos: QoS }[]>();
  private readonly unsubscribes = new Map<number, string[]>();
  /** Filters the client subscribed to on this connection, with the QoS granted (or requested while pending). */
  private readonly filters = new Map<string, QoS>();
  private connect: Extract<Packet, { cmd: 'connect' }> | undefined;
  private connackCode: number | undefined;
  private disconnected = false;
  private pings = 0;
  private keepAliveFlagged: 'none' | 'client' | 'server' = 'none';
  private closed = false;

  /** The CONNECT's ClientId, once seen. */
  get clientId(): string | undefined {
    return this.connect?.clientId;
  }

  /** Whether `dir` stopped decoding at a malformed packet. */
  failed(dir: Direction): boolean {
    return this.sides[dir].failed;
  }

  /** Bytes from `dir` arrived at `now`: the packets they complete, each with its violations. */
  feed(dir: Direction, chunk: Uint8Array, now: number): TraceRecord[] {
    return this.sides[dir].read(
      chunk,
      (packet, bytes) => this.onPacket(dir, packet, bytes, now),
      (error, bytes) => this.onMalformed(dir, error, bytes, now),
    );
  }

  /**
   * Time passes: reports a client silent for longer than its keep-alive [MQTT-3.1.2-23], and a
   * server that has not closed after one and a half times it [MQTT-3.1.2-24].
   */
  tick(now: number): TraceRecord[] {
    const keepAlive = this.connect?.keepAlive ?? 0;
    if (keepAlive === 0 || this.closed || this.connackCode !== 0 || this.disconnected) return [];
    const silent = now - this.sides.c2s.last;
    const out: TraceRecord[] = [];
    if (this.keepAliveFlagged === 'none' && silent > keepAlive * 1000) {
      this.keepAliveFlagged = 'client';
      out.push(this.event('c2s', now, `client silent for ${silent} ms`, [
        violation('MQTT-3.1.2-23', 'client', `sent nothing for ${(silent / 1000).toFixed(1)} s with keep-alive ${keepAlive} s (a PINGREQ was due)`),
      ]));
    }
    if (this.keepAliveFlagged === 'client' && silent > keepAlive * 1500 + KEEPALIVE_SLACK_MS) {
      this.keepAliveFlagged = 'server';
      out.push(this.event('s2c', now, `connection still open after ${silent} ms of silence`, [
        violation('MQTT-3.1.2-24', 'server', `did not close the connection after 1.5 × keep-alive (${keepAlive * 1.5} s) without a packet`),
      ]));
    }
    return out;
  }

  /** The connection closed; `by` is the side that closed it, when known. */
  close(now: number, by?: 'client' | 'server'): TraceRecord[] {
    if (this.closed) return [];
    this.closed = true;
    const c = this.connect;
    if (c && !c.cleanSession && c.clientId !== '' && this.connackCode === 0) this.sessions?.set(c.clientId, this.flows);
    const violations: Violation[] = [];
    if (this.pings > 0 && by === 'server') violations.push(note('MQTT-3.12.4-1', 'server', `closed with ${this.pings} PINGREQ unanswered`));
    const text = `connection closed${by ? ` by the ${by}` : ''}`;
    return [this.event(by === 'server' ? 's2c' : 'c2s', now, text, violations)];
  }

  private event(dir: Direction, now: number, text: string, violations: Violation[]): TraceRecord {
    return { time: now, dir, kind: 'event', bytes: new Uint8Array(0), text, violations };
  }

  /** A malformed frame: `dir` stopped decoding (see side.ts); `bytes` are the ones from it on. */
  private onMalformed(dir: Direction, error: MqttError, bytes: Uint8Array, now: number): TraceRecord {
    const rule = error.rule ?? error.code;
    // The codec's message ends with the rule; it is printed once, in front.
    const message = error.message.replace(` [${rule}]`, '');
    return { time: now, dir, kind: 'malformed', bytes, error, violations: [violation(rule, sender(dir), `malformed packet: ${error.code}: ${message}`)] };
  }

  private onPacket(dir: Direction, packet: Packet, bytes: Uint8Array, now: number): TraceRecord {
    const side = this.sides[dir];
    const first = side.packets === 0;
    side.packets++;
    side.last = now;
    const v: Violation[] = dir === 'c2s' ? this.clientPacket(packet, first) : this.serverPacket(packet, first);
    v.push(...this.ackFlow(dir, packet));
    return { time: now, dir, kind: 'packet', packet, bytes: Uint8Array.from(bytes), violations: v };
  }

  private clientPacket(p: Packet, first: boolean): Violation[] {
    const v: Violation[] = [];
    if (first && p.cmd !== 'connect') v.push(violation('MQTT-3.1.0-1', 'client', `first packet is ${p.cmd.toUpperCase()}, not CONNECT`));
    if (this.disconnected) v.push(violation('MQTT-3.14.4-2', 'client', `sent ${p.cmd.toUpperCase()} after DISCONNECT`));
    if (p.cmd !== 'connect' && !first && this.connackCode === undefined && p.cmd !== 'disconnect') {
      v.push(note('MQTT-3.1.4-5', 'client', `${p.cmd.toUpperCase()} sent before CONNACK: allowed (spec 3.1.4), but a server that refuses the CONNECT must ignore it`));
    }
    switch (p.cmd) {
      case 'connect':
        if (!first) v.push(violation('MQTT-3.1.0-2', 'client', 'a second CONNECT on the same connection'));
        else {
          this.connect = p;
          // [MQTT-3.1.2-4] a CleanSession 0 connection resumes the session's unfinished flows;
          // [MQTT-3.1.2-6] CleanSession 1 discards them.
          const stored = this.sessions?.get(p.clientId);
          if (stored && !p.cleanSession) this.flows = new Map(stored);
          if (p.cleanSession) this.sessions?.delete(p.clientId);
        }
        if (p.clientId === '' && !p.cleanSession) v.push(violation('MQTT-3.1.3-7', 'client', 'empty ClientId with CleanSession 0'));
        break;
      case 'subscribe':
        v.push(...this.idInUse('c2s', p.packetId));
        this.subscribes.set(p.packetId, p.subscriptions);
        for (const s of p.subscriptions) this.filters.set(s.topicFilter, s.qos);
        break;
      case 'unsubscribe':
        v.push(...this.idInUse('c2s', p.packetId));
        this.unsubscribes.set(p.packetId, p.topicFilters);
        break;
      case 'pingreq':
        this.pings++;
        break;
      case 'disconnect':
        this.disconnected = true;
        break;
      default:
        break;
    }
    return v;
  }

  private serverPacket(p: Packet, first: boolean): Violation[] {
    const v: Violation[] = [];
    if (first && p.cmd !== 'connack') v.push(violation('MQTT-3.2.0-1', 'server', `first packet is ${p.cmd.toUpperCase()}, not CONNACK`));
    if (this.connackCode !== undefined && this.connackCode !== 0) {
      v.push(violation('MQTT-3.2.2-5', 'server', `sent ${p.cmd.toUpperCase()} after refusing the connection (CONNACK ${this.connackCode}) instead of closing`));
    }
    switch (p.cmd) {
      case 'connack':
        if (!first) v.push(violation('MQTT-3.2.0-1', 'server', 'a second CONNACK'));
        else this.connackCode = p.returnCode;
        // Session Present with a refusal [MQTT-3.2.2-4] is refused by the codec already.
        if (p.returnCode === 0 && p.sessionPresent && this.connect?.cleanSession) v.push(violation('MQTT-3.2.2-1', 'server', 'Session Present 1 for a CleanSession 1 connection'));
        break;
      case 'suback': {
        const asked = this.subscribes.get(p.packetId);
        if (asked === undefined) {
          v.push(violation('MQTT-3.8.4-2', 'server', `SUBACK id=${p.packetId} answers no SUBSCRIBE in flight`));
          break;
        }
        this.subscribes.delete(p.packetId);
        if (asked.length !== p.returnCodes.length) {
          v.push(violation('MQTT-3.8.4-5', 'server', `${p.returnCodes.length} return codes for ${asked.length} topic filters`));
        }
        asked.forEach((s, i) => {
          const rc = p.returnCodes[i];
          if (rc === undefined) return;
          if (rc === 0x80) this.filters.delete(s.topicFilter);
          else this.filters.set(s.topicFilter, rc);
        });
        break;
      }
      case 'unsuback': {
        const filters = this.unsubscribes.get(p.packetId);
        if (filters === undefined) v.push(violation('MQTT-3.10.4-4', 'server', `UNSUBACK id=${p.packetId} answers no UNSUBSCRIBE in flight`));
        else {
          this.unsubscribes.delete(p.packetId);
          for (const f of filters) this.filters.delete(f);
        }
        break;
      }
      case 'pingresp':
        if (this.pings === 0) v.push(note('MQTT-3.12.4-1', 'server', 'PINGRESP without a PINGREQ'));
        else this.pings--;
        break;
      case 'publish':
        v.push(...this.delivery(p));
        break;
      default:
        break;
    }
    return v;
  }

  /**
   * A delivery on a clean session must match a filter of this connection [MQTT-3.3.2-3] at no
   * more than the highest QoS granted for it ([MQTT-3.8.4-6], [MQTT-3.3.5-1]). A resumed session
   * may hold subscriptions made earlier, so it is not judged.
   */
  private delivery(p: PublishPacket): Violation[] {
    if (!this.connect?.cleanSession) return [];
    let max = -1;
    for (const [filter, qos] of this.filters) if (topicMatches(filter, p.topic)) max = Math.max(max, qos);
    if (max < 0) return [violation('MQTT-3.3.2-3', 'server', `PUBLISH on "${p.topic}" matches no subscription of this connection`)];
    if (p.qos > max) return [violation('MQTT-3.8.4-6', 'server', `delivered at QoS ${p.qos}, above the QoS ${max} granted`)];
    return [];
  }

  /** Is `id` already used by something `dir`'s sender has in flight? ([MQTT-2.3.1-2], [MQTT-2.3.1-4]) */
  private idInUse(dir: Direction, id: number): Violation[] {
    const rule = dir === 'c2s' ? 'MQTT-2.3.1-2' : 'MQTT-2.3.1-4';
    const busy = this.flows.has(`${dir}:${id}`) || (dir === 'c2s' && (this.subscribes.has(id) || this.unsubscribes.has(id)));
    return busy ? [violation(rule, sender(dir), `packet id ${id} reused while still in flight`)] : [];
  }

  /** PUBLISH and its acknowledgements: the QoS 1 and QoS 2 handshakes (spec 4.3). */
  private ackFlow(dir: Direction, p: Packet): Violation[] {
    const by = sender(dir);
    switch (p.cmd) {
      case 'publish': {
        if (p.qos === 0 || p.packetId === undefined) return [];
        const key = `${dir}:${p.packetId}`;
        const flow = this.flows.get(key);
        if (flow === undefined) {
          const v = dir === 'c2s' ? this.idInUse(dir, p.packetId) : [];
          this.flows.set(key, { qos: p.qos, stage: 'publish', topic: p.topic, payload: Uint8Array.from(p.payload), reused: 0 });
          return v;
        }
        const same = flow.topic === p.topic && flow.qos === p.qos && equalBytes(flow.payload, p.payload);
        if (!same) {
          this.flows.set(key, { qos: p.qos, stage: 'publish', topic: p.topic, payload: Uint8Array.from(p.payload), reused: flow.reused + 1 });
          return [violation(dir === 'c2s' ? 'MQTT-2.3.1-2' : 'MQTT-2.3.1-4', by, `packet id ${p.packetId} reused for a new message while the previous one is unacknowledged`)];
        }
        if (flow.stage === 'pubrel') return [violation('MQTT-4.3.3-1', by, `PUBLISH id=${p.packetId} re-sent after its PUBREL`)];
        if (!p.dup) return [violation('MQTT-3.3.1-1', by, `PUBLISH id=${p.packetId} re-delivered without the DUP flag`)];
        return [];
      }
      case 'puback': {
        const key = `${other(dir)}:${p.packetId}`;
        const flow = this.flows.get(key);
        if (flow === undefined) return this.unknownAck(dir, p.cmd, p.packetId);
        if (flow.qos !== 1) return [violation('MQTT-3.3.4-1', by, `PUBACK for the QoS 2 PUBLISH id=${p.packetId} (PUBREC was due)`)];
        // A receiver acknowledges each message of a reused id; only the last ack ends the flow.
        if (flow.reused > 0) flow.reused--;
        else this.flows.delete(key);
        return [];
      }
      case 'pubrec': {
        const flow = this.flows.get(`${other(dir)}:${p.packetId}`);
        if (flow === undefined) return this.unknownAck(dir, p.cmd, p.packetId);
        if (flow.qos !== 2) return [violation('MQTT-3.3.4-1', by, `PUBREC for the QoS 1 PUBLISH id=${p.packetId} (PUBACK was due)`)];
        if (flow.stage === 'publish') flow.stage = 'pubrec';
        return [];
      }
      case 'pubrel': {
        const flow = this.flows.get(`${dir}:${p.packetId}`);
        if (flow === undefined) return this.unknownAck(dir, p.cmd, p.packetId);
        if (flow.stage === 'publish') return [violation('MQTT-4.3.3-1', by, `PUBREL id=${p.packetId} before the PUBREC`)];
        flow.stage = 'pubrel';
        return [];
      }
      case 'pubcomp': {
        const key = `${other(dir)}:${p.packetId}`;
        const flow = this.flows.get(key);
        if (flow === undefined) return this.unknownAck(dir, p.cmd, p.packetId);
        if (flow.stage !== 'pubrel') return [violation('MQTT-4.3.3-2', by, `PUBCOMP id=${p.packetId} before the PUBREL`)];
        this.flows.delete(key);
        return [];
      }
      default:
        return [];
    }
  }

  /**
   * An acknowledgement for nothing in flight: wrong on a clean session [MQTT-2.3.1-6]; on a
   * resumed one it may finish a flow begun on an earlier connection, so it is only a note.
   */
  private unknownAck(dir: Direction, cmd: string, id: number): Violation[] {
    const text = `${cmd.toUpperCase()} id=${id} matches no flow in progress`;
    if (this.connect?.cleanSession) return [violation('MQTT-2.3.1-6', sender(dir), text)];
    return [note('MQTT-2.3.1-6', sender(dir), `${text} on this connection (may finish one from an earlier connection of the session)`)];
  }
}

/** A broken MUST. */
export function violation(rule: string, by: 'client' | 'server', message: string): Violation {
  return { rule, by, message, severity: 'violation' };
}

/** Allowed, but worth showing. */
export function note(rule: string, by: 'client' | 'server', message: string): Violation {
  return { rule, by, message, severity: 'note' };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
