/**
 * MQTT in a capture: the TCP connections to the MQTT port, reassembled and followed by a
 * {@link ProtocolTracker} each, in capture order — the same records the proxy prints.
 */
import { readPcap, TcpStream, TCP_FIN, TCP_RST, type TcpSegment } from './pcap.js';
import { ProtocolTracker, type SessionFlows, type TraceRecord } from './tracker.js';

/** A record and the number of the connection it belongs to (1 for the first one seen). */
export interface CaptureRecord {
  record: TraceRecord;
  connection: number;
}

interface Connection {
  n: number;
  tracker: ProtocolTracker;
  c2s: TcpStream;
  s2c: TcpStream;
  closed: boolean;
}

/** Decodes every MQTT connection to `port` in a libpcap file. */
export function decodeCapture(file: Uint8Array, port = 1883): CaptureRecord[] {
  const connections = new Map<string, Connection>();
  const sessions: SessionFlows = new Map();
  const out: CaptureRecord[] = [];
  let count = 0;
  for (const s of readPcap(file)) {
    const toServer = s.dstPort === port;
    if (!toServer && s.srcPort !== port) continue;
    const key = toServer ? `${s.src}:${s.srcPort}>${s.dst}` : `${s.dst}:${s.dstPort}>${s.src}`;
    let c = connections.get(key);
    // A new SYN on a used address pair starts a new connection.
    if (!c || (c.closed && toServer && s.flags & 0x02)) {
      c = { n: ++count, tracker: new ProtocolTracker(sessions), c2s: new TcpStream(), s2c: new TcpStream(), closed: false };
      connections.set(key, c);
    }
    const conn = c;
    // Time in a capture is the capture's: judge keep-alive of every open connection as it passes.
    for (const other of connections.values()) if (!other.closed) for (const record of other.tracker.tick(s.time)) out.push({ record, connection: other.n });
    const dir = toServer ? 'c2s' : 's2c';
    for (const bytes of conn[dir].push(s)) for (const record of conn.tracker.feed(dir, bytes, s.time)) out.push({ record, connection: conn.n });
    if (!conn.closed && s.flags & (TCP_FIN | TCP_RST)) {
      conn.closed = true;
      for (const record of conn.tracker.close(s.time, toServer ? 'client' : 'server')) out.push({ record, connection: conn.n });
    }
  }
  return out;
}

export type { TcpSegment };
