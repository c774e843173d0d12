/**
 * How the lab prints what the tracker saw: one line per packet (the codec's `describePacket`),
 * optionally the codec's field-by-field table under it, violations under that; or one JSON
 * object per line. Shared by `mqtt311 proxy` and `mqtt311 decode --pcap`.
 */
import { describePacket, formatInspection, inspect, type InspectedField } from '../codec/index.js';
import type { TraceRecord, Violation } from './tracker.js';

/** Output options. */
export interface FormatOptions {
  /** Field-by-field dump under each packet (`-v`). */
  verbose?: boolean;
}

const ARROW = { c2s: 'C→S', s2c: 'S→C' } as const;

/** `13:45:01.123` in UTC. */
export function clock(time: number): string {
  return new Date(time).toISOString().slice(11, 23);
}

/** The one-line summary of a record, without time or connection. */
export function summary(r: TraceRecord): string {
  if (r.kind === 'packet' && r.packet) return describePacket(r.packet);
  if (r.kind === 'malformed') return `MALFORMED ${r.error?.code ?? ''} (${r.bytes.length} B undecodable)`;
  return r.text ?? '';
}

/** `!! [MQTT-3.3.1-1] server: …` (or `note` for allowed-but-notable). */
export function formatViolation(v: Violation): string {
  return `${v.severity === 'violation' ? '!!' : 'note'} [${v.rule}] ${v.by}: ${v.message}`;
}

/** The text form of a record: `time #conn C→S size  summary`, then the dump and violations. */
export function formatRecord(r: TraceRecord, connection: number, options: FormatOptions = {}): string {
  const size = r.kind === 'event' ? '' : `${r.bytes.length} B`;
  const lines = [`${clock(r.time)} #${connection} ${ARROW[r.dir]} ${size.padStart(7)}  ${summary(r)}`];
  if (options.verbose && r.kind === 'packet') lines.push(indent(formatInspection(inspect(r.bytes))));
  for (const v of r.violations) lines.push(`    ${formatViolation(v)}`);
  return lines.join('\n');
}

/** The JSON form of a record (one line; bytes as hex; `fields` with `-v`). */
export function recordJson(r: TraceRecord, connection: number, options: FormatOptions = {}, fault?: string): string {
  const o: Record<string, unknown> = {
    time: new Date(r.time).toISOString(),
    connection,
    dir: r.dir,
    kind: r.kind,
    type: r.packet?.cmd ?? (r.kind === 'malformed' ? 'malformed' : 'event'),
    summary: summary(r),
    length: r.bytes.length,
    hex: r.kind === 'packet' ? safeHex(r.bytes) : hex(r.bytes),
    violations: r.violations,
  };
  if (fault) o.fault = fault;
  if (r.error) o.error = { code: r.error.code, rule: r.error.rule, message: r.error.message };
  if (options.verbose && r.kind === 'packet') o.fields = fieldsOf(r.bytes);
  return JSON.stringify(o);
}

/** The codec's named fields of a packet's bytes (the password stays redacted). */
export function fieldsOf(bytes: Uint8Array): InspectedField[] {
  return inspect(bytes).fields;
}

/** Bytes as space-separated hex. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Hex of a packet's bytes with the password's bytes shown as `**` (never printed, spec 3.1.3.5). */
export function safeHex(bytes: Uint8Array): string {
  if (bytes[0] !== 0x10) return hex(bytes);
  const secret = inspect(bytes).fields.find((f) => f.redacted);
  if (!secret) return hex(bytes);
  return Array.from(bytes, (b, i) => (i >= secret.offset && i < secret.offset + secret.length ? '**' : b.toString(16).padStart(2, '0'))).join(' ');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
}
