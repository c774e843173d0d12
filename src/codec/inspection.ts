/**
 * What the packet inspector (inspect.ts) returns, and what its text forms (inspect-format.ts)
 * print: each packet's fields with their offsets, lengths, values and spec sections.
 */
import type { MqttError } from './errors.js';
import type { Packet } from './packets.js';

/** One field of a packet's byte layout. */
export interface InspectedField {
  /** Offset of the field's first byte in the bytes given to `inspect` / `inspectStream`. */
  offset: number;
  /** Length in bytes; 0 for a part of a byte (see `bits`). */
  length: number;
  /** Field name, in the spec's words ("remaining length", "keep alive", "topic filter"). */
  field: string;
  /** The decoded value. Passwords are never shown: their value is `<redacted>` with the length. */
  value: string | number;
  /** Spec section defining the field, e.g. `'2.2.3'` or `'3.1.2.4'`. */
  section: string;
  /** For a flag inside the byte at `offset`: its bit positions, e.g. `'3'` or `'2-1'`. */
  bits?: string;
  /** The bytes are a secret (the password): a dump must not show them, not even as hex. */
  redacted?: boolean;
}

/** The annotated dump of one packet. */
export interface Inspection {
  /** The decoded packet (as `decode` returns it). */
  packet: Packet;
  /** Offset of the packet's first byte in the bytes given to `inspect` / `inspectStream`. */
  offset: number;
  /** The packet's bytes (a view into the input). */
  bytes: Uint8Array;
  /** Every field in wire order; flag bits follow the byte that holds them. */
  fields: InspectedField[];
}

/** The result of `inspectStream`: the packets decoded, then the first error, if any. */
export interface StreamInspection {
  inspections: Inspection[];
  /** Bytes taken by the packets in `inspections`; decoding stopped here. */
  consumed: number;
  /** Why decoding stopped before the end of the input, if it did (the codec's typed error). */
  error?: MqttError;
  /** Offset in the input where the error was found (the packet's start plus the codec's offset). */
  errorOffset?: number;
}
