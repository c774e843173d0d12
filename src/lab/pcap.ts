/**
 * A libpcap capture reader (the classic format tcpdump and `tshark -F pcap` write) and a TCP
 * stream reassembler, for `mqtt311 decode --pcap`.
 *
 * Written by hand: the npm packages for it are either bindings to the native libpcap (`pcap`,
 * which needs a compiler at install) or parsers unmaintained for years (`pcap-parser`), and the
 * format is a 24-byte file header and a 16-byte header per packet (see pcap-savefile(5)).
 * Link types: Ethernet (1), BSD loopback (0), raw IP (101), Linux cooked (113, 276). IPv4 and
 * IPv6 without extension headers. pcapng files are refused with a hint to convert them.
 */

/** A TCP segment with payload, in capture order. */
export interface TcpSegment {
  /** Capture time in ms since the epoch (microsecond precision kept as a fraction). */
  time: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  flags: number;
  payload: Uint8Array;
}

/** TCP flag bits. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;

/** Thrown for a file that is not a capture this reader understands. */
export class PcapError extends Error {
  override readonly name = 'PcapError';
}

/** Every TCP segment of a libpcap file (payload-less ones too, for SYN/FIN/RST). */
export function readPcap(file: Uint8Array): TcpSegment[] {
  if (file.length < 24) throw new PcapError('too short for a pcap file header (24 bytes)');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = view.getUint32(0, false);
  if (magic === 0x0a0d0d0a) throw new PcapError('this is a pcapng file; convert it with: tshark -r FILE -F pcap -w FILE.pcap (or capture with dumpcap -P)');
  const formats: Record<number, { little: boolean; nano: boolean }> = {
    0xa1b2c3d4: { little: false, nano: false }, 0xd4c3b2a1: { little: true, nano: false },
    0xa1b23c4d: { little: false, nano: true }, 0x4d3cb2a1: { little: true, nano: true },
  };
  const format = formats[magic];
  if (!format) throw new PcapError(`not a pcap file (magic ${magic.toString(16)})`);
  const { little, nano } = format;
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  const segments: TcpSegment[] = [];
  for (let at = 24; at + 16 <= file.length; ) {
    const seconds = view.getUint32(at, little);
    const fraction = view.getUint32(at + 4, little);
    const captured = view.getUint32(at + 8, little);
    const start = at + 16;
    if (start + captured > file.length) break; // a capture cut short mid-packet
    const time = seconds * 1000 + (nano ? fraction / 1e6 : fraction / 1e3);
    const segment = parseFrame(file.subarray(start, start + captured), linkType, time);
    if (segment) segments.push(segment);
    at = start + captured;
  }
  return segments;
}

/** Byte `i` of `b`, 0 past its end (as a bit operation reads a missing byte). */
const u8 = (b: Uint8Array, i: number): number => b[i] ?? 0;
/** The 16-bit big-endian integer at `i`. */
const u16 = (b: Uint8Array, i: number): number => (u8(b, i) << 8) | u8(b, i + 1);

/** The IP packet inside a link-layer frame, or undefined for other traffic. */
function ipPayload(frame: Uint8Array, linkType: number): Uint8Array | undefined {
  switch (linkType) {
    case 1: { // Ethernet, possibly one 802.1Q tag
      let type = u16(frame, 12);
      let offset = 14;
      if (type === 0x8100) {
        type = u16(frame, 16);
        offset = 18;
      }
      return type === 0x0800 || type === 0x86dd ? frame.subarray(offset) : undefined;
    }
    case 0: // BSD loopback: a 4-byte address family
      return frame.subarray(4);
    case 101: // raw IP
      return frame;
    case 113: // Linux cooked capture v1: 16-byte header
      return frame.subarray(16);
    case 276: // Linux cooked capture v2: 20-byte header
      return frame.subarray(20);
    default:
      throw new PcapError(`link type ${linkType} is not supported (Ethernet, loopback, raw IP and Linux cooked are)`);
  }
}

function parseFrame(frame: Uint8Array, linkType: number, time: number): TcpSegment | undefined {
  const ip = ipPayload(frame, linkType);
  if (!ip || ip.length < 20) return undefined;
  const version = u8(ip, 0) >> 4;
  let src: string;
  let dst: string;
  let tcp: Uint8Array;
  if (version === 4) {
    if (u8(ip, 9) !== 6) return undefined; // not TCP
    const headerLength = (u8(ip, 0) & 0x0f) * 4;
    const total = u16(ip, 2);
    src = ip.subarray(12, 16).join('.');
    dst = ip.subarray(16, 20).join('.');
    tcp = ip.subarray(headerLength, Math.min(total || ip.length, ip.length));
  } else if (version === 6) {
    if (ip.length < 40 || u8(ip, 6) !== 6) return undefined; // not TCP (or behind extension headers)
    const payloadLength = u16(ip, 4);
    src = v6(ip.subarray(8, 24));
    dst = v6(ip.subarray(24, 40));
    tcp = ip.subarray(40, Math.min(40 + payloadLength, ip.length));
  } else {
    return undefined;
  }
  if (tcp.length < 20) return undefined;
  const dataOffset = (u8(tcp, 12) >> 4) * 4;
  return {
    time,
    src,
    dst,
    srcPort: u16(tcp, 0),
    dstPort: u16(tcp, 2),
    seq: ((u16(tcp, 4) << 16) | u16(tcp, 6)) >>> 0,
    flags: u8(tcp, 13),
    payload: tcp.subarray(dataOffset),
  };
}

function v6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(u16(bytes, i).toString(16));
  return `[${groups.join(':')}]`;
}

/**
 * Puts one direction of a TCP connection back in order: bytes are released once contiguous
 * from the first sequence number; retransmitted bytes are dropped, early ones held back.
 */
export class TcpStream {
  private next: number | undefined;
  private readonly early = new Map<number, Uint8Array>();

  /** The in-order bytes this segment makes available (possibly none). */
  push(segment: TcpSegment): Uint8Array[] {
    if (segment.flags & TCP_SYN) {
      this.next = (segment.seq + 1) >>> 0;
      return [];
    }
    if (segment.payload.length === 0) return [];
    // A capture that starts mid-connection begins at the first segment seen.
    this.next ??= segment.seq;
    this.early.set(segment.seq, segment.payload);
    const out: Uint8Array[] = [];
    for (;;) {
      const exact = this.early.get(this.next);
      if (exact) {
        this.early.delete(this.next);
        out.push(exact);
        this.next = (this.next + exact.length) >>> 0;
        continue;
      }
      // A segment overlapping what was already released (a retransmission that grew): keep its tail.
      let progressed = false;
      for (const [seq, data] of this.early) {
        const behind = (this.next - seq) >>> 0;
        if (behind > 0 && behind < 0x80000000) {
          this.early.delete(seq);
          if (behind < data.length) {
            this.early.set(this.next, data.subarray(behind));
            progressed = true;
          }
        }
      }
      if (!progressed) return out;
    }
  }
}
