/**
 * `sub -F`: mosquitto_sub's output format language, byte for byte.
 *
 * `%` sequences print message fields (`%t` topic, `%p` payload, `%q` QoS, `%r` retain, `%m`
 * message id, `%l` length, `%x`/`%X` hex payload, `%j`/`%J` JSON, `%I` ISO-8601 time, `%U` Unix
 * time, `%%`), with optional `-` (left align), `0` (zero pad), width and `.precision`; MQTT 5
 * properties (`%A %C %D %E %F %P %R %S`) print as absent. `@X` is strftime's `%X` (`@N`
 * nanoseconds, `@@` a literal `@`); `\` escapes `\\ \0 \a \e \n \r \t \v`. Unknown sequences
 * print nothing, as in mosquitto. The format is read as bytes, so any UTF-8 passes through.
 */
import type { PublishPacket } from '../codec/index.js';
import { jsonString, parseJson, printJson } from './cjson.js';
import { strftime } from './strftime.js';

/** What printing one message produced: its bytes, and an error line for stderr (`%J` on non-JSON). */
export interface Formatted {
  out: Buffer;
  error?: string;
}

/** The message fields `-F` can show. */
export type FormatMessage = Pick<PublishPacket, 'topic' | 'payload' | 'qos' | 'retain'> & { packetId?: number | undefined };

/** The time of one message: seconds and nanoseconds, taken once per sequence as mosquitto does. */
interface Now {
  date: Date;
  ns: number;
}

function now(): Now {
  const ms = Date.now();
  const ns = Number(process.hrtime.bigint() % 1_000_000n);
  return { date: new Date(ms), ns: (ms % 1000) * 1_000_000 + ns };
}

interface Spec {
  align: '-' | '';
  pad: ' ' | '0';
  width: number;
  precision: number;
}

/** printf's `%*d` / `%-*d` / `%0*d`. */
function int(value: number, s: Spec): Buffer {
  const text = String(value);
  if (s.width === 0) return Buffer.from(text);
  if (s.align === '-') return Buffer.from(text.padEnd(s.width));
  if (s.pad === '0') return Buffer.from(value < 0 ? `-${String(-value).padStart(s.width - 1, '0')}` : text.padStart(s.width, '0'));
  return Buffer.from(text.padStart(s.width));
}

/** printf's `%*.*s` over bytes. */
function str(value: Buffer, s: Spec): Buffer {
  const cut = s.precision >= 0 ? value.subarray(0, s.precision) : value;
  const pad = Buffer.alloc(Math.max(0, s.width - cut.length), ' ');
  return s.align === '-' ? Buffer.concat([cut, pad]) : Buffer.concat([pad, cut]);
}

/**
 * mosquitto's `write_payload`, quirks included: a width also truncates the payload, and for
 * hex it counts characters of which only whole bytes are printed.
 */
function payload(bytes: Uint8Array, hex: 0 | 1 | 2, s: Spec): Buffer {
  let length = bytes.length;
  let padLength: number;
  if (s.width > 0) {
    if (length > s.width) length = s.width;
    if (hex > 0) {
      length = Math.floor(length / 2);
      padLength = s.width - length * 2;
    } else padLength = s.width - length;
  } else padLength = s.width - length;
  const shown = bytes.subarray(0, length);
  const body = hex === 0 ? Buffer.from(shown) : Buffer.from(hex === 1 ? Buffer.from(shown).toString('hex') : Buffer.from(shown).toString('hex').toUpperCase());
  // printf("%*s", padlen, "") with a negative width pads on the right by its size.
  if (s.align === '-') return Buffer.concat([body, Buffer.alloc(Math.abs(padLength), ' ')]);
  return Buffer.concat([Buffer.alloc(Math.max(0, padLength), s.pad), body]);
}

/** mosquitto's `tst`: "2020-05-06T21:48:00.123456Z+0100" (the Z is theirs, before the offset). */
function jsonTime(t: Now): string {
  const micro = String(Math.floor(t.ns / 1000)).padStart(6, '0');
  return `${strftime('%Y-%m-%dT%H:%M:%S', t.date)}.${micro}Z${strftime('%z', t.date)}`;
}

/** `%j` (payload as a string) or `%J` (payload as JSON); undefined when `%J` meets non-JSON. */
function json(m: FormatMessage, escaped: boolean, pretty: boolean): Buffer | undefined {
  const t = now();
  // The payload is a C string to cJSON: it ends at the first NUL byte.
  const nul = m.payload.indexOf(0);
  const text = Buffer.from(nul === -1 ? m.payload : m.payload.subarray(0, nul));
  let body: Buffer;
  if (m.payload.length === 0) body = Buffer.from('null');
  else if (escaped) body = jsonString(text);
  else {
    // cJSON parses up to the NUL and then finds it short of the payload's end: not JSON.
    const parsed = nul === -1 ? parseJson(Buffer.from(m.payload)) : undefined;
    if (!parsed) return undefined;
    body = printJson(parsed, pretty, 1);
  }
  const fields: [string, Buffer][] = [
    ['tst', jsonString(Buffer.from(jsonTime(t)))],
    ['topic', jsonString(Buffer.from(m.topic))],
    ['qos', Buffer.from(String(m.qos))],
    ['retain', Buffer.from(m.retain ? '1' : '0')],
    ['payloadlen', Buffer.from(String(m.payload.length))],
  ];
  if (m.qos > 0) fields.push(['mid', Buffer.from(String(m.packetId ?? 0))]);
  fields.push(['payload', body]);
  const parts: Buffer[] = [Buffer.from(pretty ? '{\n' : '{')];
  fields.forEach(([key, value], i) => {
    parts.push(Buffer.from(`${pretty ? '\t' : ''}"${key}":${pretty ? '\t' : ''}`), value);
    if (i < fields.length - 1) parts.push(Buffer.from(','));
    if (pretty) parts.push(Buffer.from('\n'));
  });
  parts.push(Buffer.from('}'));
  return Buffer.concat(parts);
}

const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', '0': '\0', a: '\x07', e: '\x1b', n: '\n', r: '\r', t: '\t', v: '\v' };

/** One `%` sequence. */
function percent(c: string, s: Spec, m: FormatMessage, pretty: boolean, errors: string[]): Buffer {
  switch (c) {
    case '%':
      return Buffer.from('%');
    case 'A':
    case 'E':
    case 'F':
    case 'S':
      // MQTT 5 properties: never present in 3.1.1, printed as their blank field.
      return Buffer.alloc(s.width, s.pad);
    case 'C':
      return Buffer.alloc(s.width, ' ');
    case 'I': {
      return str(Buffer.from(strftime('%FT%T%z', now().date)), s);
    }
    case 'j':
    case 'J': {
      const out = json(m, c === 'j', pretty);
      if (out === undefined) errors.push(`Error: Message payload is not valid JSON on topic ${m.topic}.\n`);
      return out ?? Buffer.alloc(0);
    }
    case 'l':
      return int(m.payload.length, s);
    case 'm':
      return int(m.packetId ?? 0, s);
    case 'p':
      return payload(m.payload, 0, s);
    case 'q':
      return Buffer.from(String(m.qos));
    case 'r':
      return Buffer.from(m.retain ? '1' : '0');
    case 't':
      return str(Buffer.from(m.topic), s);
    case 'U': {
      const t = now();
      return Buffer.from(`${Math.floor(t.date.getTime() / 1000)}.${String(t.ns).padStart(9, '0')}`);
    }
    case 'x':
      return payload(m.payload, 1, s);
    case 'X':
      return payload(m.payload, 2, s);
    default:
      // %D, %P, %R (MQTT 5) and unknown letters print nothing.
      return Buffer.alloc(0);
  }
}

const FIELDS = new Set('%ACDEFIlmPpqRSrtjJUxX');
const ESCAPE_LETTERS = new Set('\\0aenrtv');

/**
 * Checks a `-F` format as mosquitto_sub does before connecting; returns what is wrong, or
 * undefined. Unknown `%` letters and `\` escapes, and a format ending inside a sequence, are errors.
 */
export function checkFormat(format: string | Uint8Array): string | undefined {
  const f = Buffer.from(format).toString('latin1');
  const len = f.length;
  const digit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  for (let i = 0; i < len; i++) {
    if (f[i] === '%') {
      if (i === len - 1) return 'incomplete format specifier';
      if (f[i + 1] === '0' || f[i + 1] === '-') if (++i === len - 1) return 'incomplete format specifier';
      while (digit(f[i + 1])) if (++i === len - 1) return 'incomplete format specifier';
      if (f[i + 1] === '.') {
        if (++i === len - 1) return 'incomplete format specifier';
        while (digit(f[i + 1])) if (++i === len - 1) return 'incomplete format specifier';
      }
      if (!FIELDS.has(f.charAt(i + 1))) return `invalid format specifier '${f.charAt(i + 1)}'`;
      i++;
    } else if (f[i] === '@') {
      if (i === len - 1) return 'incomplete format specifier';
      i++;
    } else if (f[i] === '\\') {
      if (i === len - 1) return 'incomplete escape specifier';
      if (!ESCAPE_LETTERS.has(f.charAt(i + 1))) return `invalid escape specifier '${f.charAt(i + 1)}'`;
      i++;
    }
  }
  return undefined;
}

/**
 * Formats one message with `format` (mosquitto_sub's `-F`), adding "\n" unless `eol` is false
 * (`-N`). Walks the format with mosquitto's own index rules, so odd formats ("%-", a trailing
 * "%") print what mosquitto prints.
 */
export function formatWith(format: string | Uint8Array, m: FormatMessage, options: { eol: boolean; pretty: boolean }): Formatted {
  const f = Buffer.from(format);
  const len = f.length;
  const out: Buffer[] = [];
  const errors: string[] = [];
  // Every index read is below len; `?? 0` only satisfies the type (fromCharCode(undefined) is '\0' too).
  const byte = (i: number): number => f[i] ?? 0;
  const at = (i: number) => String.fromCharCode(byte(i));
  const digit = (i: number) => byte(i) >= 0x30 && byte(i) <= 0x39;
  for (let i = 0; i < len; i++) {
    const c = at(i);
    if (c === '%') {
      const s: Spec = { align: '', pad: ' ', width: 0, precision: -1 };
      if (i >= len - 1) continue;
      i++;
      if (at(i) === '-') {
        s.align = '-';
        if (i < len - 1) i++;
      }
      if (at(i) === '0') {
        s.pad = '0';
        if (i < len - 1) i++;
      }
      while (i < len - 1 && digit(i)) s.width = s.width * 10 + (byte(i++) - 0x30);
      if (at(i) === '.' && i < len - 1) {
        i++;
        s.precision = 0;
        while (i < len - 1 && digit(i)) s.precision = s.precision * 10 + (byte(i++) - 0x30);
      }
      out.push(percent(at(i), s, m, options.pretty, errors));
    } else if (c === '@') {
      if (i >= len - 1) continue;
      i++;
      const x = at(i);
      if (x === '@') out.push(Buffer.from('@'));
      else if (x === 'N') out.push(Buffer.from(String(now().ns).padStart(9, '0')));
      else out.push(Buffer.from(strftime(`%${x}`, now().date)));
    } else if (c === '\\') {
      if (i >= len - 1) continue;
      i++;
      const e = ESCAPES[at(i)];
      if (e !== undefined) out.push(Buffer.from(e, 'latin1'));
    } else {
      out.push(f.subarray(i, i + 1));
    }
  }
  if (options.eol) out.push(Buffer.from('\n'));
  const result: Formatted = { out: Buffer.concat(out) };
  if (errors.length > 0) result.error = errors.join('');
  return result;
}
