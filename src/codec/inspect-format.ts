/**
 * The inspector's text forms: how a field's value reads (quoted strings, payload previews, return
 * code meanings), the aligned dump `mqtt311 decode` prints, and the one-line `describePacket` for
 * logs. The field walk itself lives in inspect.ts; this module only turns its results into text.
 */
import type { Inspection, StreamInspection } from './inspection.js';
import type { Packet, PublishPacket } from './packets.js';

/** CONNACK return codes and their meaning (spec 3.2.2.3, table 3.1). */
export const CONNACK_MEANING = ['accepted', 'unacceptable protocol version', 'identifier rejected', 'server unavailable', 'bad user name or password', 'not authorized'];

export const hex2 = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

/** Quote a string for display; control and invisible characters (U+FEFF included) become escapes. */
export function quote(s: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return `"${s.replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028\u2029\ufeff"\\]/g, (c) =>
    c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

const PREVIEW_CHARS = 24;
const PREVIEW_BYTES = PREVIEW_CHARS * 4;
// ignoreBOM: a leading U+FEFF is part of the data [MQTT-1.5.3-3], shown as \ufeff.
const previewDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The start of `payload` as text, or `undefined` when it is not UTF-8 (or not printable). */
function previewText(payload: Uint8Array): string | undefined {
  const window = payload.subarray(0, PREVIEW_BYTES);
  // A window that cuts a multi-byte character short is retried without its last 1-3 bytes.
  const minLength = payload.length > PREVIEW_BYTES ? window.length - 3 : window.length;
  for (let end = window.length; end >= minLength && end > 0; end--) {
    let text: string;
    try {
      text = previewDecoder.decode(window.subarray(0, end));
    } catch {
      continue;
    }
    // eslint-disable-next-line no-control-regex -- text with control characters is shown as bytes
    return /[\u0000-\u0008\u000e-\u001f\u007f-\u009f]/.test(text) ? undefined : text;
  }
  return undefined;
}

/** `16 B "hello…"`: a payload's size, plus a preview when it is printable UTF-8 text. */
export function payloadValue(payload: Uint8Array): string {
  const size = `${payload.length} B`;
  const text = payload.length === 0 ? undefined : previewText(payload);
  if (text === undefined) return size;
  const chars = [...text];
  const more = chars.length > PREVIEW_CHARS || payload.length > PREVIEW_BYTES;
  return `${size} ${quote(chars.slice(0, PREVIEW_CHARS).join(''))}${more ? '…' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Text forms

const MAX_VALUE = 40;
const MAX_HEX_BYTES = 4;
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

function hexBytes(bytes: Uint8Array, from: number, length: number): string {
  const shown = Array.from(bytes.subarray(from, from + Math.min(length, MAX_HEX_BYTES)), (b) => b.toString(16).padStart(2, '0'));
  return shown.join(' ') + (length > MAX_HEX_BYTES ? '…' : '');
}

const title = (p: Packet, size: number) => `${p.cmd.toUpperCase()} (${p.cmd === 'publish' ? `QoS ${p.qos}, ` : ''}${size} bytes)`;

/**
 * The dump as an aligned text table: offset, bytes (hex, long fields cut with …), field, value,
 * spec section. Flag bits are indented under the byte that holds them.
 */
export function formatInspection(inspection: Inspection): string {
  const rows = inspection.fields.map((f) => [
    f.bits === undefined ? String(f.offset) : '',
    f.bits !== undefined ? '' : f.redacted ? '<redacted>' : hexBytes(inspection.bytes, f.offset - inspection.offset, f.length),
    f.bits === undefined ? f.field : `  ${f.field} (bit${f.bits.includes('-') ? 's' : ''} ${f.bits})`,
    clip(String(f.value), MAX_VALUE),
    f.section,
  ]);
  const header = ['offset', 'bytes', 'field', 'value', 'spec'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c] ?? 0))).join('  ').trimEnd();
  return [title(inspection.packet, inspection.bytes.length), line(header), ...rows.map(line)].join('\n');
}

/**
 * Every packet of a `StreamInspection`, then the error line if decoding stopped early:
 * `error INVALID_HEADER_FLAGS [MQTT-2.2.2-2] at offset 12: …`.
 */
export function formatStreamInspection(result: StreamInspection): string {
  const parts = result.inspections.map(formatInspection);
  if (result.error) {
    const e = result.error;
    const rule = e.rule ? ` [${e.rule}]` : '';
    const reply = e.action === 'connack' ? ` (answer CONNACK ${hex2(e.returnCode ?? 0)}, then close)` : '';
    const message = e.rule ? e.message.replace(` [${e.rule}]`, '') : e.message; // the rule is printed once
    parts.push(`error ${e.code}${rule} at offset ${result.errorOffset ?? result.consumed}: ${message}${reply}`);
  }
  return parts.join('\n\n');
}

const MAX_STRING = 80;
/** A string field for a log line: quoted, escaped, cut after 80 characters. */
const str = (s: string) => quote(clip(s, MAX_STRING));

function describePublish(p: PublishPacket): string {
  let s = `PUBLISH q${p.qos}`;
  if (p.packetId !== undefined) s += ` id=${p.packetId}`;
  if (p.dup) s += ' dup';
  if (p.retain) s += ' retain';
  return `${s} ${str(p.topic)} (${p.payload.length} B)`;
}

/**
 * One line describing a packet, for logs: the password is redacted and payloads are shown by
 * size only. E.g. `PUBLISH q1 id=7 retain "a/b" (16 B)`, `SUBACK id=3 [1, 0x80]`.
 */
export function describePacket(packet: Packet): string {
  const p = packet;
  switch (p.cmd) {
    case 'connect': {
      let s = `CONNECT clientId=${str(p.clientId)}`;
      if (p.protocolLevel !== 4) s += ` level=${p.protocolLevel}`;
      if (p.cleanSession) s += ' clean';
      s += ` keepAlive=${p.keepAlive}`;
      if (p.username !== undefined) s += ` username=${str(p.username)}`;
      if (p.password !== undefined) s += ' password=<redacted>';
      if (p.will) s += ` will=${str(p.will.topic)} q${p.will.qos}${p.will.retain ? ' retain' : ''} (${p.will.payload.length} B)`;
      return s;
    }
    case 'connack':
      return `CONNACK ${hex2(p.returnCode)} ${CONNACK_MEANING[p.returnCode] ?? 'reserved'}${p.sessionPresent ? ' sessionPresent' : ''}`;
    case 'publish':
      return describePublish(p);
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp': case 'unsuback':
      return `${p.cmd.toUpperCase()} id=${p.packetId}`;
    case 'subscribe':
      return `SUBSCRIBE id=${p.packetId} [${p.subscriptions.map((s) => `${str(s.topicFilter)} q${s.qos}`).join(', ')}]`;
    case 'suback':
      return `SUBACK id=${p.packetId} [${p.returnCodes.map((rc) => (rc === 0x80 ? '0x80' : String(rc))).join(', ')}]`;
    case 'unsubscribe':
      return `UNSUBSCRIBE id=${p.packetId} [${p.topicFilters.map(str).join(', ')}]`;
    case 'pingreq': case 'pingresp': case 'disconnect':
      return p.cmd.toUpperCase();
    default: {
      const never: never = p;
      const cmd = (never as { cmd?: unknown }).cmd; // only a value outside the Packet union gets here
      return typeof cmd === 'string' ? cmd.toUpperCase() : 'UNKNOWN PACKET';
    }
  }
}
