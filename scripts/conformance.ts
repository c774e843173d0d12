/**
 * Conformance report: which tests check which normative statement of MQTT 3.1.1.
 *
 * The statements are data (docs/normative.tsv: id, section, applies_to, paraphrase). A test
 * claims a statement by carrying its id in square brackets in its own name, e.g.
 * `it('[MQTT-3.3.2-2] rejects a wildcard in a PUBLISH topic', …)`. This script finds those
 * names two ways and merges them:
 *
 * - `vitest list --json`: the names exactly as vitest sees them, with `it.each` tables expanded.
 *   It only lists tests that would run here, so a test skipped for a missing peer is absent.
 * - a static scan of test/**\/*.test.ts: the first string argument of every test call. It also
 *   sees tests that are conditionally skipped (`it.skipIf`, a peer helper) and still works when
 *   one test file does not load. `it.skip` and `it.todo` never count.
 *
 * Usage: `npx tsx scripts/conformance.ts [--static] [--check codec[,broker,…]] [--out FILE]`.
 * Writes docs/CONFORMANCE.md and prints the summary. With `--check`, exits 1 when a statement
 * of a listed part has no test. Always exits 1 when src/ cites an id that docs/normative.tsv does
 * not have, or writes one in short form (`MQTT-3.1.4-3/4`).
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCitedIds } from './cited-ids.js';

/** One row of docs/normative.tsv. */
interface Statement {
  id: string;
  section: string;
  part: string;
  paraphrase: string;
}

/** A test that names one or more statement ids. */
interface TestRef {
  file: string;
  name: string;
  ids: string[];
  source: 'vitest' | 'static';
}

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PARTS = ['codec', 'client', 'broker', 'both'] as const;
/** An id inside a bracket group of a test name: `[MQTT-3.8.3-4]` or `[MQTT-4.3.2-1, MQTT-4.3.2-2]`. */
const ID_IN_GROUP = /MQTT-\d+\.\d+\.\d+-\d+/g;
const BRACKET_GROUP = /\[([^\]]*)\]/g;

/** Every statement id cited in square brackets within `name`, in order, without repeats. */
function idsIn(name: string): string[] {
  const ids: string[] = [];
  for (const group of name.matchAll(BRACKET_GROUP)) {
    for (const id of (group[1] ?? '').matchAll(ID_IN_GROUP)) if (!ids.includes(id[0])) ids.push(id[0]);
  }
  return ids;
}

function readStatements(path: string): Statement[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const [header, ...rows] = lines;
  if (!header?.startsWith('id\t')) throw new Error(`${path}: expected a header row starting with "id"`);
  return rows.map((line, i) => {
    const [id, section, part, paraphrase] = line.split('\t');
    if (!id || section === undefined || !part || paraphrase === undefined) throw new Error(`${path}:${i + 2}: expected 4 tab-separated columns`);
    return { id, section, part, paraphrase };
  });
}

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...testFiles(path));
    } else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// Static scan: a small lexer (strings, identifiers, punctuation; comments and regexes skipped)
// and a pass over its tokens that finds `it(…)`, `test.each(table)(…)`, `peerIt(…)` and so on.

type Token = { kind: 'id' | 'str' | 'punct'; text: string };

/** What `tok` reads past either end of the token list: a punctuation token with no text. */
const NO_TOKEN: Token = { kind: 'punct', text: '' };
/** Token `k`, or `NO_TOKEN` when `k` is out of range (so lookahead needs no bounds checks). */
const tok = (tokens: readonly Token[], k: number): Token => tokens[k] ?? NO_TOKEN;

const REGEX_MAY_FOLLOW = new Set(['(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^']);

function lex(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (/\s/.test(c)) { i++; continue; }
    if (src.startsWith('//', i)) { i = src.indexOf('\n', i); if (i < 0) break; continue; }
    if (src.startsWith('/*', i)) { const end = src.indexOf('*/', i + 2); i = end < 0 ? src.length : end + 2; continue; }
    if (c === '"' || c === "'") {
      let text = '';
      for (i++; i < src.length && src.charAt(i) !== c && src.charAt(i) !== '\n'; i++) text += src.charAt(i) === '\\' ? src.charAt(++i) : src.charAt(i);
      i++;
      tokens.push({ kind: 'str', text });
      continue;
    }
    if (c === '`') {
      // Keep the literal parts; an interpolation becomes `${}` so placeholders stay visible.
      let text = '';
      for (i++; i < src.length && src.charAt(i) !== '`'; i++) {
        if (src.charAt(i) === '\\') { text += src.charAt(++i); continue; }
        if (src.startsWith('${', i)) {
          let depth = 1;
          for (i += 2; i < src.length && depth > 0; i++) {
            if (src.charAt(i) === '{') depth++;
            else if (src.charAt(i) === '}') depth--;
          }
          i--;
          text += '${}';
          continue;
        }
        text += src.charAt(i);
      }
      i++;
      tokens.push({ kind: 'str', text });
      continue;
    }
    const prev = tokens.at(-1);
    if (c === '/' && (!prev || (prev.kind === 'punct' && REGEX_MAY_FOLLOW.has(prev.text)) || prev.text === 'return')) {
      let inClass = false;
      for (i++; i < src.length && src.charAt(i) !== '\n'; i++) {
        if (src.charAt(i) === '\\') { i++; continue; }
        if (src.charAt(i) === '[') inClass = true;
        else if (src.charAt(i) === ']') inClass = false;
        else if (src.charAt(i) === '/' && !inClass) break;
      }
      for (i++; /[a-z]/.test(src.charAt(i) ?? ''); i++);
      tokens.push({ kind: 'punct', text: 'regex' });
      continue;
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(src.slice(i, i + 200));
    if (word) { tokens.push({ kind: 'id', text: word[0] }); i += word[0].length; continue; }
    tokens.push({ kind: 'punct', text: c });
    i++;
  }
  return tokens;
}

/** Index just past the bracket that closes the one at `open` (a `(` or `[`). */
function skipBalanced(tokens: Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const t = tok(tokens, k).text;
    if (tok(tokens, k).kind !== 'punct') continue;
    if (t === '(' || t === '[' || t === '{') depth++;
    else if (t === ')' || t === ']' || t === '}') depth--;
    if (depth === 0) return k + 1;
  }
  return tokens.length;
}

const TEST_FUNCTIONS = new Set(['it', 'test']);
/** Modifiers that take an argument and return the test function: `it.each(table)(name, fn)`. */
const CURRIED = new Set(['each', 'for', 'skipIf', 'runIf']);

function idsInRange(tokens: Token[], from: number, to: number): string[] {
  const ids: string[] = [];
  for (let m = from; m < to; m++) if (tok(tokens, m).kind === 'str') for (const id of tok(tokens, m).text.matchAll(ID_IN_GROUP)) ids.push(id[0]);
  return ids;
}

/** Ids in the initializer of `const|let|var <name> = …` (up to the end of its bracketed value). */
function idsOfDeclaration(tokens: Token[], name: string): string[] {
  for (let k = 1; k + 2 < tokens.length; k++) {
    if (tok(tokens, k).text !== name || !['const', 'let', 'var'].includes(tok(tokens, k - 1).text)) continue;
    let v = k + 1;
    if (tok(tokens, v).text === ':') while (v < tokens.length && tok(tokens, v).text !== '=') v++; // skip a type annotation
    if (tok(tokens, v).text !== '=') continue;
    const open = tokens.findIndex((t, m) => m > v && (t.text === '[' || t.text === '{' || t.text === '('));
    return open < 0 ? [] : idsInRange(tokens, open, skipBalanced(tokens, open));
  }
  return [];
}
const NEVER_RUN = new Set(['skip', 'todo']);

/** Test names (and the ids they claim) found by reading the source of one test file. */
export function scanSource(src: string): { name: string; ids: string[] }[] {
  const tokens = lex(src);
  const found: { name: string; ids: string[] }[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tok(tokens, k);
    if (t.kind !== 'id' || (k > 0 && tok(tokens, k - 1).text === '.')) continue;
    // Walk the call chain: it.concurrent.each(table)(name, …) / test.skipIf(cond)(name, …) / f(name, …)
    let j = k + 1;
    const modifiers: string[] = [];
    const tableIds: string[] = [];
    while (tok(tokens, j).text === '.' && tok(tokens, j + 1).kind === 'id') {
      modifiers.push(tok(tokens, j + 1).text);
      j += 2;
      if (tok(tokens, j).text === '(' && CURRIED.has(modifiers.at(-1) ?? '')) {
        const end = skipBalanced(tokens, j);
        tableIds.push(...idsInRange(tokens, j, end));
        // `it.each(cases)(…)`: the table is declared elsewhere in the file as `const cases = [...]`.
        if (end === j + 3 && tok(tokens, j + 1).kind === 'id') tableIds.push(...idsOfDeclaration(tokens, tok(tokens, j + 1).text));
        j = end;
      }
    }
    if (tok(tokens, j).text !== '(' || tok(tokens, j + 1).kind !== 'str') continue;
    const name = tok(tokens, j + 1).text;
    const isTestCall = TEST_FUNCTIONS.has(t.text);
    // Outside it()/test(), only a name that starts with an id counts (a project's own test helper).
    if (!isTestCall && !/^\s*\[MQTT-/.test(name)) continue;
    if (modifiers.some((m) => NEVER_RUN.has(m))) continue;
    let ids = idsIn(name);
    // A table-driven test whose name is a template (`[%s] …`, `[$id] …`, `${}`) claims the table's ids.
    if (tableIds.length > 0 && /%[sdi#$]|\$\w|\$\{\}/.test(name)) ids = [...new Set([...ids, ...tableIds])];
    if (ids.length > 0) found.push({ name, ids });
  }
  return found;
}

function staticRefs(files: string[]): TestRef[] {
  return files.flatMap((file) =>
    scanSource(readFileSync(file, 'utf8')).map((t) => ({ file: relative(ROOT, file), ...t, source: 'static' as const })),
  );
}

// ---------------------------------------------------------------------------------------------
// vitest list

function vitestRefs(): Promise<TestRef[] | string> {
  const bin = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  return new Promise((done) => {
    execFile(process.execPath, [bin, 'list', '--json'], { cwd: ROOT, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) return done(`vitest list failed (${err.code ?? err.message}); using the static scan alone`);
      try {
        const rows = JSON.parse(stdout) as { name: string; file: string }[];
        // "describe > describe > test": the id must be in the test's own name, the last segment.
        done(rows.map((r) => {
          const name = r.name.split(' > ').pop() ?? r.name;
          return { file: relative(ROOT, r.file), name, ids: idsIn(name), source: 'vitest' as const };
        }).filter((r) => r.ids.length > 0));
      } catch {
        done('vitest list printed no JSON; using the static scan alone');
      }
    });
  });
}

/** vitest's names win; the static scan adds the (file, id) pairs vitest did not list (skipped here). */
function merge(listed: TestRef[], scanned: TestRef[]): TestRef[] {
  const seen = new Set(listed.flatMap((r) => r.ids.map((id) => `${r.file}\0${id}`)));
  const extra = scanned
    .map((r) => ({ ...r, ids: r.ids.filter((id) => !seen.has(`${r.file}\0${id}`)) }))
    .filter((r) => r.ids.length > 0);
  return [...listed, ...extra];
}

// ---------------------------------------------------------------------------------------------
// The report

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const MAX_TESTS_LISTED = 4;

function summaryRows(statements: Statement[], covered: Set<string>): { part: string; covered: number; total: number }[] {
  const parts = [...PARTS, ...new Set(statements.map((s) => s.part).filter((p) => !(PARTS as readonly string[]).includes(p)))];
  const rows = parts.map((part) => {
    const of = statements.filter((s) => s.part === part);
    return { part, covered: of.filter((s) => covered.has(s.id)).length, total: of.length };
  }).filter((r) => r.total > 0);
  rows.push({ part: 'all', covered: statements.filter((s) => covered.has(s.id)).length, total: statements.length });
  return rows;
}

/** Tests reordered so that each file's first test comes before any file's second one. */
function spreadAcrossFiles(tests: TestRef[]): TestRef[] {
  const byFile = new Map<string, TestRef[]>();
  for (const t of tests) byFile.set(t.file, [...(byFile.get(t.file) ?? []), t]);
  const out: TestRef[] = [];
  for (let round = 0; out.length < tests.length; round++) {
    for (const list of byFile.values()) {
      const t = list[round];
      if (t !== undefined) out.push(t);
    }
  }
  return out;
}

const pct = (n: number, d: number) => (d === 0 ? '–' : `${Math.round((100 * n) / d)}%`);

function renderMarkdown(statements: Statement[], refs: Map<string, TestRef[]>, note: string): string {
  const covered = new Set([...refs.keys()].filter((id) => (refs.get(id) ?? []).length > 0));
  const out: string[] = [
    '# MQTT 3.1.1 conformance',
    '',
    'Each normative statement of the specification (`docs/normative.tsv`), the part of mqtt311 it',
    'applies to, and the tests whose names cite it. Generated by `npm run conformance`',
    '(`scripts/conformance.ts`); do not edit by hand. A test claims a statement by carrying its id in',
    'square brackets in its own name; a statement is covered when at least one test claims it.',
    '',
    `Sources: ${note}.`,
    '',
    '## Summary',
    '',
    '| part | covered | total | share |',
    '| --- | ---: | ---: | ---: |',
    ...summaryRows(statements, covered).map((r) => `| ${r.part} | ${r.covered} | ${r.total} | ${pct(r.covered, r.total)} |`),
    '',
    '## Statements',
    '',
    '| id | part | statement | tests | covered |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const s of statements) {
    const tests = refs.get(s.id) ?? [];
    const shown = spreadAcrossFiles(tests).slice(0, MAX_TESTS_LISTED).map((t) => `\`${t.file}\`: ${cell(t.name)}`);
    if (tests.length > MAX_TESTS_LISTED) shown.push(`(+${tests.length - MAX_TESTS_LISTED} more)`);
    out.push(`| ${s.id} | ${s.part} | ${cell(s.paraphrase)} | ${shown.join('<br>') || '—'} | ${tests.length > 0 ? 'yes' : 'no'} |`);
  }
  out.push('');
  return out.join('\n');
}

function parseArgs(argv: string[]): { staticOnly: boolean; check: string[]; out: string } {
  const opts = { staticOnly: false, check: [] as string[], out: join(ROOT, 'docs', 'CONFORMANCE.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--static') opts.staticOnly = true;
    else if (a === '--check') opts.check.push(...(argv[++i] ?? '').split(',').filter(Boolean));
    else if (a.startsWith('--check=')) opts.check.push(...a.slice(8).split(',').filter(Boolean));
    else if (a === '--out') opts.out = resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${a}; usage: conformance [--static] [--check codec[,both…]] [--out FILE]`);
  }
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const statements = readStatements(join(ROOT, 'docs', 'normative.tsv'));
  const known = new Set(statements.map((s) => s.id));
  const scanned = staticRefs(testFiles(join(ROOT, 'test')));
  let found = scanned;
  let note = 'a static scan of `test/**/*.test.ts`';
  if (!opts.staticOnly) {
    const listed = await vitestRefs();
    if (typeof listed === 'string') console.warn(listed);
    else {
      found = merge(listed, scanned);
      note = '`vitest list`, plus a static scan of `test/**/*.test.ts` for tests that are skipped where the report was made';
    }
  }

  const refs = new Map<string, TestRef[]>();
  const unknown = new Set<string>();
  for (const r of found) {
    for (const id of r.ids) {
      if (!known.has(id)) { unknown.add(`${id} (${r.file})`); continue; }
      const list = refs.get(id) ?? [];
      if (!list.some((x) => x.file === r.file && x.name === r.name)) list.push(r);
      refs.set(id, list);
    }
  }

  writeFileSync(opts.out, renderMarkdown(statements, refs, note));
  const covered = new Set(refs.keys());
  console.log(`MQTT 3.1.1 conformance (${relative(ROOT, opts.out)})`);
  for (const r of summaryRows(statements, covered)) {
    console.log(`  ${r.part.padEnd(7)} ${String(r.covered).padStart(3)} / ${String(r.total).padEnd(3)} ${pct(r.covered, r.total)}`);
  }
  if (unknown.size > 0) console.warn(`ids cited by tests but not in docs/normative.tsv: ${[...unknown].join(', ')}`);

  // Every id the source cites exists, and is written whole (scripts/cited-ids.ts).
  const cited = checkCitedIds(ROOT, join(ROOT, 'src'), known);
  if (cited.unknown.length > 0) console.error(`ids cited in src/ but not in docs/normative.tsv: ${cited.unknown.join(', ')}`);
  if (cited.short.length > 0) console.error(`ids in src/ written in short form (write each whole): ${cited.short.join(', ')}`);
  let failed = cited.unknown.length + cited.short.length > 0;
  for (const part of opts.check) {
    const missing = statements.filter((s) => s.part === part && !covered.has(s.id));
    if (!statements.some((s) => s.part === part)) { console.error(`--check ${part}: no statements apply to "${part}"`); failed = true; }
    if (missing.length > 0) {
      console.error(`--check ${part}: ${missing.length} statement(s) without a test: ${missing.map((s) => s.id).join(', ')}`);
      failed = true;
    }
  }
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  });
}
