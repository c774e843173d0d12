/**
 * Topic names and topic filters (spec 4.7).
 *
 * A topic name is what a PUBLISH is sent to; a topic filter is what a SUBSCRIBE asks for and may
 * hold the wildcards `+` (exactly one level) and `#` (this level and every level below). Levels are
 * separated by `/`; empty levels are allowed (`a//b`, `/a`).
 */
import type { BodyWriter } from './body-writer.js';
import { MqttError } from './errors.js';
import { knownTopicNameBytes, rememberTopicName } from './topic-cache.js';
import { loneSurrogate, MAX_STRING_BYTES, putUtf8 } from './utf8.js';

const SLASH = 0x2f;
// The wildcards, single bytes in UTF-8; the frame reader scans for them too (internal, not in index.ts).
export const PLUS = 0x2b;
export const HASH = 0x23;
const DOLLAR = 0x24;

/** ASCII characters that need a closer look in a topic: U+0000 and the wildcards. */
const SPECIAL_ASCII = new Uint8Array(128);
SPECIAL_ASCII[0] = 1;
SPECIAL_ASCII[PLUS] = 1;
SPECIAL_ASCII[HASH] = 1;

/** Rule cited for a wildcard in a topic name that is not a PUBLISH topic (will topic, API calls). */
const NAME_WILDCARD_RULE = 'MQTT-4.7.1-1';

/**
 * Checks a topic name or filter and returns its UTF-8 byte length, in one pass over the string.
 * `wildcardRule` is the rule cited for a wildcard in a name: [MQTT-3.3.2-2] in a PUBLISH,
 * [MQTT-4.7.1-1] elsewhere. `offset` is attached to errors when the string came off the wire.
 * @internal
 */
export function topicByteLength(topic: string, isFilter: boolean, wildcardRule: string, offset?: number): number {
  // Fast path, small enough to be inlined: an ASCII topic whose only special characters are
  // well-placed wildcards in a filter. Anything else takes the full check below.
  if (typeof topic === 'string') {
    const n = topic.length;
    let i = 0;
    for (; i < n; i++) {
      const c = topic.charCodeAt(i);
      if (c < 0x80 && SPECIAL_ASCII[c] === 0) continue;
      // A well-placed wildcard in a filter is fine; anything else needs the full check.
      if (!isFilter || (c !== PLUS && c !== HASH) || !wildcardPlaced(topic, i, c)) break;
    }
    if (i === n && n !== 0 && n <= MAX_STRING_BYTES) return n;
  }
  return checkedTopicByteLength(topic, isFilter, wildcardRule, offset);
}

/** The full check behind `topicByteLength`: multi-byte characters, and every error. */
function checkedTopicByteLength(topic: string, isFilter: boolean, wildcardRule: string, offset?: number): number {
  const what = isFilter ? 'topic filter' : 'topic name';
  const code = isFilter ? 'INVALID_TOPIC_FILTER' : 'INVALID_TOPIC';
  if (typeof topic !== 'string') throw new MqttError(code, `${what} must be a string`, { offset });
  const n = topic.length;
  // [MQTT-4.7.3-1] topic names and filters are at least one character long.
  if (n === 0) throw new MqttError(code, `${what} is empty`, { rule: 'MQTT-4.7.3-1', offset });
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i);
    if (c < 0x80) {
      if (SPECIAL_ASCII[c] === 0) continue; // the common case: one load, one test
      if (c === 0) {
        // [MQTT-4.7.3-2] no U+0000 in a topic.
        throw new MqttError('NULL_CHARACTER', `${what} contains U+0000`, { rule: 'MQTT-4.7.3-2', offset });
      }
      // A wildcard: [MQTT-4.7.1-1] in filters only; [MQTT-3.3.2-2] never in a PUBLISH topic.
      if (!isFilter) {
        throw new MqttError('INVALID_TOPIC', `topic name contains the wildcard '${topic[i]}'`, { rule: wildcardRule, offset });
      }
      checkWildcard(topic, i, c, offset);
    } else if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? topic.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) {
        const err = loneSurrogate(what);
        throw offset === undefined ? err : new MqttError(err.code, err.message, { rule: err.rule, offset });
      }
      bytes += 2;
      i++;
    } else {
      bytes += 2;
    }
  }
  if (bytes > MAX_STRING_BYTES) {
    // [MQTT-4.7.3-3] a topic fits a UTF-8 string field: at most 65,535 bytes.
    throw new MqttError('STRING_TOO_LONG', `${what} is ${bytes} bytes; the limit is ${MAX_STRING_BYTES}`, {
      rule: 'MQTT-4.7.3-3',
      offset,
    });
  }
  return bytes;
}

/**
 * Whether the wildcard `c` at `i` is where it may be: [MQTT-4.7.1-3] `+` fills a whole level;
 * [MQTT-4.7.1-2] `#` fills a whole level and is the filter's last character.
 */
function wildcardPlaced(filter: string, i: number, c: number): boolean {
  const n = filter.length;
  if (i !== 0 && filter.charCodeAt(i - 1) !== SLASH) return false;
  return i === n - 1 || (c === PLUS && filter.charCodeAt(i + 1) === SLASH);
}

/** Throws unless the wildcard `c` at `i` is where it may be (see `wildcardPlaced`). */
function checkWildcard(filter: string, i: number, c: number, offset: number | undefined): void {
  if (wildcardPlaced(filter, i, c)) return;
  if (c === HASH) {
    // [MQTT-4.7.1-2] '#' is alone in its level and is the filter's last character.
    throw new MqttError('INVALID_TOPIC_FILTER', "'#' must be the last level and alone in it", {
      rule: 'MQTT-4.7.1-2',
      offset,
    });
  }
  // [MQTT-4.7.1-3] '+' fills a whole level.
  throw new MqttError('INVALID_TOPIC_FILTER', "'+' must fill a whole level", { rule: 'MQTT-4.7.1-3', offset });
}

/**
 * Checks a topic name and returns its UTF-8 byte length, as `topicByteLength` does, but answers
 * from the memo of valid names (topic-cache.ts) when it can, and remembers a name found valid.
 * `wildcardRule` as for `topicByteLength`.
 * @internal
 */
export function topicNameByteLength(topic: string, wildcardRule: string): number {
  const known = knownTopicNameBytes(topic);
  if (known !== undefined) return known;
  const bytes = topicByteLength(topic, false, wildcardRule);
  rememberTopicName(topic, bytes);
  return bytes;
}

/**
 * Writes a topic name or filter as a string field, checking it as it is copied (the checks and
 * errors of `topicByteLength`); returns its UTF-8 byte length.
 * @internal
 */
export function putTopic(w: BodyWriter, topic: string, isFilter: boolean, wildcardRule: string): number {
  // Fast path: a plain ASCII topic whose only special characters are well-placed wildcards in a
  // filter, each character read once. Anything else takes the full check.
  if (typeof topic === 'string' && topic.length !== 0 && topic.length <= MAX_STRING_BYTES) {
    const n = topic.length;
    w.room(2 + n);
    const buf = w.buf;
    const start = w.pos + 2;
    let i = 0;
    for (; i < n; i++) {
      const c = topic.charCodeAt(i);
      if (c >= 0x80 || SPECIAL_ASCII[c] !== 0) {
        // A well-placed wildcard in a filter is fine; anything else needs the full check.
        if (!isFilter || (c !== PLUS && c !== HASH) || !wildcardPlaced(topic, i, c)) break;
      }
      buf[start + i] = c;
    }
    if (i === n) {
      buf[start - 2] = n >>> 8;
      buf[start - 1] = n & 0xff;
      w.pos = start + n;
      return n;
    }
  }
  const bytes = checkedTopicByteLength(topic, isFilter, wildcardRule);
  putUtf8(w, topic, bytes);
  return bytes;
}

/**
 * Writes a topic name as `putTopic` does, but a name the memo of valid names (topic-cache.ts)
 * knows is copied without a check, and a name found valid is remembered: a client publishing to
 * a few topics over and over checks each once.
 * @internal
 */
export function putTopicName(w: BodyWriter, topic: string, wildcardRule: string): void {
  const known = knownTopicNameBytes(topic);
  if (known === undefined) rememberTopicName(topic, putTopic(w, topic, false, wildcardRule));
  else putUtf8(w, topic, known);
}

/**
 * Throws unless `topic` is a valid topic name (spec 4.7): non-empty [MQTT-4.7.3-1], no wildcard
 * [MQTT-4.7.1-1], no U+0000 [MQTT-4.7.3-2], well-formed [MQTT-1.5.3-1], at most 65,535 bytes
 * [MQTT-4.7.3-3]. Error codes: `INVALID_TOPIC`, `NULL_CHARACTER`, `INVALID_UTF8`, `STRING_TOO_LONG`.
 */
export function validateTopicName(topic: string): void {
  // A name found valid before is valid now (topic-cache.ts).
  topicNameByteLength(topic, NAME_WILDCARD_RULE);
}

/**
 * Throws unless `filter` is a valid topic filter (spec 4.7): as a topic name, but `#` may be the
 * last level [MQTT-4.7.1-2] and `+` may fill any level [MQTT-4.7.1-3]. Error codes:
 * `INVALID_TOPIC_FILTER`, `NULL_CHARACTER`, `INVALID_UTF8`, `STRING_TOO_LONG`.
 */
export function validateTopicFilter(filter: string): void {
  topicByteLength(filter, true, NAME_WILDCARD_RULE);
}

/** Whether `topic` is a valid topic name; see {@link validateTopicName}. */
export function isValidTopicName(topic: string): boolean {
  try {
    validateTopicName(topic);
    return true;
  } catch {
    return false;
  }
}

/** Whether `filter` is a valid topic filter; see {@link validateTopicFilter}. */
export function isValidTopicFilter(filter: string): boolean {
  try {
    validateTopicFilter(filter);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the topic filter `filter` matches the topic name `name` (spec 4.7). Both are assumed
 * valid (a value that is not a string throws `MqttError`). Levels are compared as raw strings,
 * with no normalisation [MQTT-4.7.3-4].
 *
 * - `+` matches exactly one level, which may be empty: `a/+` matches `a/b` and `a/`, not `a`.
 * - `#` matches its parent level and everything below: `sport/#` matches `sport`, `sport/x/y`.
 * - [MQTT-4.7.2-1] a filter starting with a wildcard does not match a name starting with `$`
 *   (`#` does not match `$SYS/uptime`; `$SYS/#` does).
 */
export function topicMatches(filter: string, name: string): boolean {
  if (typeof filter !== 'string') throw new MqttError('INVALID_TOPIC_FILTER', 'topic filter must be a string');
  if (typeof name !== 'string') throw new MqttError('INVALID_TOPIC', 'topic name must be a string');
  const f0 = filter.charCodeAt(0);
  if ((f0 === PLUS || f0 === HASH) && name.charCodeAt(0) === DOLLAR) return false;
  const fLen = filter.length;
  const nLen = name.length;
  let fi = 0; // start of the current filter level
  let ni = 0; // start of the current name level; nLen + 1 once every name level is used
  for (;;) {
    let fe = filter.indexOf('/', fi);
    if (fe < 0) fe = fLen;
    const level = fe - fi;
    // '#' swallows the rest of the name, including "nothing left" (the parent level).
    if (level === 1 && filter.charCodeAt(fi) === HASH) return true;
    if (ni > nLen) return false; // the filter has levels the name lacks
    let ne = name.indexOf('/', ni);
    if (ne < 0) ne = nLen;
    const isPlus = level === 1 && filter.charCodeAt(fi) === PLUS;
    if (!isPlus && (ne - ni !== level || !sameChars(filter, fi, name, ni, level))) return false;
    fi = fe + 1;
    ni = ne + 1;
    if (fi > fLen) return ni > nLen; // filter used up: a match only if the name is too
  }
}

/** Whether `a[ai, ai + len)` and `b[bi, bi + len)` hold the same UTF-16 units (no substring copies). */
function sameChars(a: string, ai: number, b: string, bi: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a.charCodeAt(ai + k) !== b.charCodeAt(bi + k)) return false;
  return true;
}
