/**
 * JSON exactly as mosquitto_sub prints it for `-F %j` / `%J` (it uses cJSON 1.7): keys in the
 * order given, strings as raw bytes with only `"`, `\` and control characters escaped, numbers
 * as C's `%d` / `%1.15g` / `%1.17g`, and `--pretty` laid out with tabs. A generic
 * `JSON.stringify` differs in all of these (and reorders integer-like keys), so byte-for-byte
 * parity needs this small printer and a parser that keeps order and bytes.
 */

/** A parsed JSON value; objects keep key order and duplicates, strings stay bytes. */
export type JsonValue =
  | { kind: 'null' | 'true' | 'false' }
  | { kind: 'number'; value: number }
  | { kind: 'string'; bytes: Buffer }
  | { kind: 'array'; items: JsonValue[] }
  | { kind: 'object'; entries: [Buffer, JsonValue][] };

/** A JSON value with a parsing cursor over `bytes`. */
class Parser {
  pos = 0;
  constructor(readonly bytes: Buffer) {}

  /** cJSON skips every byte up to and including space as whitespace. */
  skip(): void {
    while ((this.bytes[this.pos] ?? 0xff) <= 32) this.pos++; // past the end: stop
  }

  value(depth: number): JsonValue | undefined {
    // cJSON's nesting limit: deeper input is refused, never a stack overflow.
    if (depth > 1000) return undefined;
    this.skip();
    const b = this.bytes[this.pos] ?? -1; // past the end: no value starts here
    for (const word of ['null', 'true', 'false'] as const) {
      if (this.bytes.toString('latin1', this.pos, this.pos + word.length) === word) {
        this.pos += word.length;
        return { kind: word };
      }
    }
    if (b === 0x22) {
      const bytes = this.string();
      return bytes && { kind: 'string', bytes };
    }
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) return this.number();
    if (b === 0x5b) return this.array(depth);
    if (b === 0x7b) return this.object(depth);
    return undefined;
  }

  number(): JsonValue | undefined {
    // strtod over the characters cJSON collects: the longest prefix that is a number.
    const m = /^-?\d+(\.\d*)?([eE][+-]?\d+)?/.exec(this.bytes.toString('latin1', this.pos, this.pos + 64));
    if (!m) return undefined;
    this.pos += m[0].length;
    return { kind: 'number', value: Number(m[0]) };
  }

  string(): Buffer | undefined {
    const out: number[] = [];
    let i = this.pos + 1;
    for (; i < this.bytes.length && this.bytes[i] !== 0x22; i++) {
      const b = this.bytes[i]!; // i < length
      if (b !== 0x5c) {
        out.push(b);
        continue;
      }
      const e = String.fromCharCode(this.bytes[++i] ?? 0);
      const simple: Record<string, number> = { b: 8, f: 12, n: 10, r: 13, t: 9, '"': 34, '\\': 92, '/': 47 };
      if (simple[e] !== undefined) out.push(simple[e]);
      else if (e === 'u') {
        const code = this.unicode(i + 1);
        if (code === undefined) return undefined;
        i += code.length - 1;
        out.push(...Buffer.from(String.fromCodePoint(code.point)));
      } else return undefined;
    }
    if (i >= this.bytes.length) return undefined;
    this.pos = i + 1;
    return Buffer.from(out);
  }

  /** `\uXXXX` (or a surrogate pair) at `at`; `length` counts from the `u`. */
  unicode(at: number): { point: number; length: number } | undefined {
    const hex = (p: number) => {
      const t = this.bytes.toString('latin1', p, p + 4);
      return /^[0-9a-fA-F]{4}$/.test(t) ? parseInt(t, 16) : undefined;
    };
    const first = hex(at);
    if (first === undefined || (first >= 0xdc00 && first <= 0xdfff) || first === 0) return undefined;
    if (first < 0xd800 || first > 0xdbff) return { point: first, length: 5 };
    if (this.bytes[at + 4] !== 0x5c || this.bytes[at + 5] !== 0x75) return undefined;
    const second = hex(at + 6);
    if (second === undefined || second < 0xdc00 || second > 0xdfff) return undefined;
    return { point: 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00), length: 11 };
  }

  array(depth: number): JsonValue | undefined {
    this.pos++;
    const items: JsonValue[] = [];
    this.skip();
    if (this.bytes[this.pos] === 0x5d) return this.pos++, { kind: 'array', items };
    for (;;) {
      const item = this.value(depth + 1);
      if (!item) return undefined;
      items.push(item);
      this.skip();
      const b = this.bytes[this.pos++];
      if (b === 0x5d) return { kind: 'array', items };
      if (b !== 0x2c) return undefined;
    }
  }

  object(depth: number): JsonValue | undefined {
    this.pos++;
    const entries: [Buffer, JsonValue][] = [];
    this.skip();
    if (this.bytes[this.pos] === 0x7d) return this.pos++, { kind: 'object', entries };
    for (;;) {
      this.skip();
      if (this.bytes[this.pos] !== 0x22) return undefined;
      const key = this.string();
      if (!key) return undefined;
      this.skip();
      if (this.bytes[this.pos++] !== 0x3a) return undefined;
      const value = this.value(depth + 1);
      if (!value) return undefined;
      entries.push([key, value]);
      this.skip();
      const b = this.bytes[this.pos++];
      if (b === 0x7d) return { kind: 'object', entries };
      if (b !== 0x2c) return undefined;
    }
  }
}

/**
 * Parses `bytes` as one JSON value with nothing but whitespace after it, as cJSON does with
 * "require null terminated"; `undefined` when it is not JSON.
 */
export function parseJson(bytes: Buffer): JsonValue | undefined {
  const parser = new Parser(bytes);
  const value = parser.value(0);
  if (!value) return undefined;
  parser.skip();
  return parser.pos === bytes.length ? value : undefined;
}

/** C's `%1.<precision>g`. */
function formatG(d: number, precision: number): string {
  const [mantissa = '', exp] = d.toExponential(precision - 1).split('e');
  const x = Number(exp);
  const strip = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (x < -4 || x >= precision) return `${strip(mantissa)}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  return strip(d.toFixed(precision - 1 - x));
}

/** A number as cJSON prints it. */
function formatNumber(d: number): string {
  if (!Number.isFinite(d)) return 'null';
  // cJSON keeps an int copy saturated to 32 bits; a number equal to it prints as "%d".
  const asInt = d >= 2147483647 ? 2147483647 : d <= -2147483648 ? -2147483648 : Math.trunc(d);
  if (d === asInt) return String(asInt);
  const short = formatG(d, 15);
  return Number(short) === d ? short : formatG(d, 17);
}

const ESCAPES: Readonly<Record<number, string>> = { 0x22: '\\"', 0x5c: '\\\\', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t' };

/** A string as cJSON prints it: bytes at or above 0x20 as they are (UTF-8 or not). */
export function jsonString(bytes: Uint8Array): Buffer {
  const parts: Buffer[] = [Buffer.from('"')];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!; // i < length
    if (b >= 0x20 && b !== 0x22 && b !== 0x5c) continue;
    parts.push(Buffer.from(bytes.subarray(start, i)), Buffer.from(ESCAPES[b] ?? `\\u${b.toString(16).padStart(4, '0')}`));
    start = i + 1;
  }
  parts.push(Buffer.from(bytes.subarray(start)), Buffer.from('"'));
  return Buffer.concat(parts);
}

/** Prints `value`; `depth` is the nesting of the enclosing object, as cJSON counts it. */
export function printJson(value: JsonValue, pretty: boolean, depth = 0): Buffer {
  switch (value.kind) {
    case 'null':
    case 'true':
    case 'false':
      return Buffer.from(value.kind);
    case 'number':
      return Buffer.from(formatNumber(value.value));
    case 'string':
      return jsonString(value.bytes);
    case 'array': {
      // Arrays count as a level but are never broken over lines.
      const items = value.items.map((item) => printJson(item, pretty, depth + 1));
      return Buffer.concat([Buffer.from('['), ...items.flatMap((b, i) => (i === 0 ? [b] : [Buffer.from(pretty ? ', ' : ','), b])), Buffer.from(']')]);
    }
    case 'object': {
      const inner = depth + 1;
      const tabs = (n: number) => Buffer.from('\t'.repeat(pretty ? n : 0));
      const parts: Buffer[] = [Buffer.from(pretty ? '{\n' : '{')];
      value.entries.forEach(([key, item], i) => {
        parts.push(tabs(inner), jsonString(key), Buffer.from(pretty ? ':\t' : ':'), printJson(item, pretty, inner));
        if (i < value.entries.length - 1) parts.push(Buffer.from(','));
        if (pretty) parts.push(Buffer.from('\n'));
      });
      parts.push(tabs(inner - 1), Buffer.from('}'));
      return Buffer.concat(parts);
    }
  }
}
