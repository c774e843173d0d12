/**
 * What every check gets: probes to the broker, names under `mqtt311-check/<run>/` that no one
 * else uses, and bookkeeping so the run can clean up the retained messages and persistent
 * sessions it created.
 */
import type { ConnackPacket, ConnectPacket, Packet, PublishPacket, QoS } from '../../codec/index.js';
import type { TargetOptions } from '../proxy.js';
import { CheckFailure, Probe } from './probe.js';

/** The topic tree every check publishes under (said up front by `mqtt311 check`). */
export const CHECK_ROOT = 'mqtt311-check';

/** Options of a run. */
export interface CheckOptions {
  target: TargetOptions;
  username?: string;
  password?: string;
  /** Longest wait for any one answer, in ms (default 3000). */
  timeoutMs?: number;
}

/** A QoS 0-2 PUBLISH (packet id 1 unless given). */
export function publish(topic: string, payload: string, qos: QoS = 0, extra: Partial<PublishPacket> = {}): PublishPacket {
  const p: PublishPacket = { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, ...extra };
  if (qos > 0 && p.packetId === undefined) p.packetId = 1;
  return p;
}

/** The shared state of a run. */
export class CheckContext {
  readonly run = Math.random().toString(36).slice(2, 8);
  readonly timeoutMs: number;
  /** Topics that may hold a retained message of ours. */
  readonly retained = new Set<string>();
  /** ClientIds that may hold a persistent session of ours. */
  readonly sessions = new Set<string>();
  private ids = 0;
  private readonly probes = new Set<Probe>();

  constructor(readonly options: CheckOptions) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
  }

  /** A topic of this run: `mqtt311-check/<run>/<name>`. */
  topic(name: string): string {
    return `${CHECK_ROOT}/${this.run}/${name}`;
  }

  /** A fresh ClientId (1-23 letters and digits, which every server must accept [MQTT-3.1.3-5]). */
  clientId(): string {
    return `m311${this.run}${(++this.ids).toString(36)}`.slice(0, 23);
  }

  /** A CONNECT with this run's credentials. */
  connectPacket(fields: Partial<Omit<ConnectPacket, 'cmd'>> = {}): ConnectPacket {
    const p: ConnectPacket = { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: this.clientId(), cleanSession: true, keepAlive: 0, ...fields };
    if (this.options.username !== undefined && p.username === undefined) p.username = this.options.username;
    if (this.options.password !== undefined && p.password === undefined) p.password = Buffer.from(this.options.password);
    if (!p.cleanSession) this.sessions.add(p.clientId);
    return p;
  }

  /** Opens a probe without sending anything. */
  async open(): Promise<Probe> {
    const probe = await Probe.open(this.options.target, this.timeoutMs);
    this.probes.add(probe);
    return probe;
  }

  /** Opens a probe, sends CONNECT and requires CONNACK 0. */
  async connect(fields: Partial<Omit<ConnectPacket, 'cmd'>> = {}): Promise<{ probe: Probe; connack: ConnackPacket }> {
    const probe = await this.open();
    probe.send(this.connectPacket(fields));
    const connack = await probe.expect('connack', 'CONNECT');
    if (connack.returnCode !== 0) throw new CheckFailure(`CONNECT refused with return code ${connack.returnCode}`);
    return { probe, connack };
  }

  /** A connected probe subscribed to `filters` (at `qos`); checks the SUBACK grants something. */
  async subscriber(filters: string[], qos: QoS = 2, fields: Partial<Omit<ConnectPacket, 'cmd'>> = {}): Promise<Probe> {
    const { probe } = await this.connect(fields);
    probe.send({ cmd: 'subscribe', packetId: 1, subscriptions: filters.map((topicFilter) => ({ topicFilter, qos })) });
    const suback = await probe.expect('suback', 'SUBSCRIBE');
    if (suback.returnCodes.includes(0x80)) throw new CheckFailure(`subscription refused: SUBACK [${suback.returnCodes.join(', ')}]`);
    return probe;
  }

  /** Publishes `packet` on a connection of its own and waits for the QoS handshake to finish. */
  async publishOnce(packet: PublishPacket): Promise<void> {
    if (packet.retain) this.retained.add(packet.topic);
    const { probe } = await this.connect();
    await sendPublish(probe, packet);
    await probe.disconnect();
  }

  /** Closes every probe still open. */
  async closeAll(): Promise<void> {
    for (const p of this.probes) await p.close();
    this.probes.clear();
  }

  /** Clears the retained messages and discards the persistent sessions this run created. */
  async cleanup(): Promise<void> {
    await this.closeAll();
    if (this.retained.size > 0) {
      const { probe } = await this.connect();
      for (const topic of this.retained) probe.send(publish(topic, '', 0, { retain: true }));
      await probe.disconnect();
    }
    for (const clientId of this.sessions) {
      // [MQTT-3.1.2-6] connecting with CleanSession 1 discards the stored session.
      const probe = await this.open();
      probe.send(this.connectPacket({ clientId, cleanSession: true }));
      await probe.next();
      await probe.disconnect();
    }
    this.probes.clear();
  }
}

/** Sends a PUBLISH and completes its QoS 1 or QoS 2 handshake as the sender. */
export async function sendPublish(probe: Probe, packet: PublishPacket): Promise<void> {
  probe.send(packet);
  if (packet.qos === 1) await probe.expect('puback', 'PUBLISH QoS 1');
  if (packet.qos === 2) {
    await probe.expect('pubrec', 'PUBLISH QoS 2');
    probe.send({ cmd: 'pubrel', packetId: packet.packetId ?? 1 });
    await probe.expect('pubcomp', 'PUBREL');
  }
}

/** Receives one PUBLISH and acknowledges it as its QoS requires (as a well-behaved client). */
export async function receivePublish(probe: Probe, what: string, ms?: number): Promise<PublishPacket> {
  const p = await probe.expect('publish', what, ms);
  ack(probe, p);
  if (p.qos === 2) {
    await probe.expect('pubrel', `${what}: PUBREC`);
    probe.send({ cmd: 'pubcomp', packetId: p.packetId ?? 0 });
  }
  return p;
}

/** Acknowledges a received PUBLISH (QoS 1 PUBACK, QoS 2 PUBREC). */
export function ack(probe: Probe, p: Packet): void {
  if (p.cmd !== 'publish' || p.packetId === undefined) return;
  probe.send({ cmd: p.qos === 1 ? 'puback' : 'pubrec', packetId: p.packetId });
}
