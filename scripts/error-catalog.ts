/**
 * Generates docs/ERRORS.md, the one catalog of every error code, from the catalogs in the code,
 * and the README's error tables (between `<!-- errors:NAME -->` and `<!-- /errors:NAME -->`).
 *
 * The catalogs stay data in their own modules, one documented entry per code (an object property,
 * an array element or a union member, each with its TSDoc comment); this script reads them with
 * the TypeScript parser, so a new code is one added line there and shows up here on the next run.
 * The rules are the catalog's value where the value is a rule id, else the ids the comment cites.
 *
 *   npx tsx scripts/error-catalog.ts          # write docs/ERRORS.md and the README tables
 *   npx tsx scripts/error-catalog.ts --check  # exit 1 if either is out of date, or a code has no comment
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One error class and where its catalog is. */
interface Family {
  /** Key of the README markers. */
  key: string;
  className: string;
  guard: string;
  importFrom: string;
  file: string;
  /** The exported `const` or `type` holding the codes. */
  symbol: string;
  /** What the catalog's values are, if anything. */
  values?: 'action' | 'rule';
  about: string;
}

const FAMILIES: Family[] = [
  {
    key: 'codec',
    className: 'MqttError',
    guard: 'isMqttError(err, code?)',
    importFrom: 'mqtt311/codec',
    file: 'src/codec/errors.ts',
    symbol: 'MQTT_ERROR_CODES',
    values: 'action',
    about:
      'Malformed bytes (decoder) and what cannot be encoded (encoders, and the client before it sends). `action` is what ' +
      "the receiver of the bytes must do: `close` the connection, or answer `connack` with the error's `returnCode` first. " +
      'From the decoder, `offset` is the stream position.',
  },
  {
    key: 'broker',
    className: 'BrokerError',
    guard: 'isBrokerError(err, code?)',
    importFrom: 'mqtt311/broker',
    file: 'src/broker-mini/core/errors.ts',
    symbol: 'BROKER_ERROR_CODES',
    values: 'rule',
    about: 'Well-formed packets that arrive when they must not, limits a connection broke, and misuse of the API. The broker closes only the offending connection [MQTT-4.8.0-1].',
  },
  {
    key: 'client',
    className: 'ClientError',
    guard: 'isClientError(err, code?)',
    importFrom: 'mqtt311/client',
    file: 'src/client/errors.ts',
    symbol: 'CLIENT_ERROR_CODES',
    about: 'What the client refuses or gives up on. A refused CONNECT is the subclass `ConnackError` (`returnCode` 1-5).',
  },
  {
    key: 'config',
    className: 'ConfigError',
    guard: 'err instanceof ConfigError',
    importFrom: 'mqtt311/broker',
    file: 'src/broker-mini/config-syntax.ts',
    symbol: 'ConfigErrorCode',
    about: 'A broker configuration file the broker refuses; `file` and `line` say where.',
  },
  {
    key: 'cli',
    className: 'CliError',
    guard: 'err instanceof CliError',
    importFrom: 'the `mqtt311` command',
    file: 'src/cli/errors.ts',
    symbol: 'CliErrorCode',
    about: 'Failures the command line reports as one line; `exitCode` follows mosquitto_pub/mosquitto_sub.',
  },
];

interface Entry {
  code: string;
  value: string | undefined;
  meaning: string;
}

const RULES = /MQTT-\d+(?:\.\d+)*-\d+/g;

/** The last `/** … *\/` comment between `from` and `node` (its previous sibling's end), on one line. */
function docOf(node: ts.Node, text: string, from: number): string {
  const docs = text.slice(from, node.getStart()).match(/\/\*\*[\s\S]*?\*\//g);
  if (docs === null) return '';
  return (docs.at(-1) ?? '')
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, '').trim())
    .join(' ')
    .trim();
}

/** The entries of one catalog: an object literal, an array literal, or a union of string literals. */
function readCatalog(family: Family): Entry[] {
  const text = readFileSync(join(root, family.file), 'utf8');
  const source = ts.createSourceFile(family.file, text, ts.ScriptTarget.ES2022, true);
  let found: ts.Node | undefined;
  source.forEachChild((node) => {
    if (ts.isVariableStatement(node)) {
      for (const d of node.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && d.name.text === family.symbol) found = d.initializer;
      }
    } else if (ts.isTypeAliasDeclaration(node) && node.name.text === family.symbol) {
      found = node.type;
    }
  });
  while (found !== undefined && (ts.isAsExpression(found) || ts.isParenthesizedExpression(found))) found = found.expression;
  if (found === undefined) throw new Error(`${family.file}: no catalog ${family.symbol}`);
  const entries: Entry[] = [];
  if (ts.isObjectLiteralExpression(found)) {
    let from = found.getStart();
    for (const p of found.properties) {
      if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) {
        const value = ts.isStringLiteral(p.initializer) ? p.initializer.text : undefined;
        entries.push({ code: p.name.text, value, meaning: docOf(p, text, from) });
      }
      from = p.getEnd();
    }
  } else if (ts.isArrayLiteralExpression(found)) {
    let from = found.getStart();
    for (const e of found.elements) {
      if (ts.isStringLiteral(e)) entries.push({ code: e.text, value: undefined, meaning: docOf(e, text, from) });
      from = e.getEnd();
    }
  } else if (ts.isUnionTypeNode(found)) {
    let from = found.getFullStart();
    for (const t of found.types) {
      if (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) {
        entries.push({ code: t.literal.text, value: undefined, meaning: docOf(t, text, from) });
      }
      from = t.getEnd();
    }
  } else {
    throw new Error(`${family.file}: ${family.symbol} is not an object, array or union of codes`);
  }
  return entries;
}

function ruleOf(family: Family, e: Entry): string {
  const ids = family.values === 'rule' && e.value !== undefined ? [e.value] : [...new Set(e.meaning.match(RULES) ?? [])];
  return ids.map((id) => `[${id}]`).join(' ');
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** The Markdown table of one family. */
function table(family: Family, entries: Entry[]): string {
  const action = family.values === 'action';
  const head = action ? '| code | rule | action | meaning |\n| --- | --- | --- | --- |' : '| code | rule | meaning |\n| --- | --- | --- |';
  const rows = entries.map((e) => {
    const cells = [`\`${e.code}\``, ruleOf(family, e), ...(action ? [e.value ?? ''] : []), cell(e.meaning)];
    return `| ${cells.join(' | ')} |`;
  });
  return [head, ...rows].join('\n');
}

function catalog(all: Array<[Family, Entry[]]>): string {
  const parts = [
    '# Error catalog',
    '',
    '<!-- Generated by `npm run catalog` (scripts/error-catalog.ts) from the catalogs in the code. Do not edit. -->',
    '',
    'Every error mqtt311 throws on purpose is an `MqttError`: the codec\'s own, and as subclasses',
    '`BrokerError`, `ClientError` (and `ConnackError`), `ConfigError` and `CliError`. So',
    '`err instanceof MqttError`, or `isMqttError(err, code?)`, answers for all of them. Each carries a',
    'stable `code`, the spec `rule` it enforces where there is one (written whole, e.g. `MQTT-3.3.2-2`),',
    'and the underlying `cause` where there is one. Match on `code`, never on message text.',
    '',
  ];
  for (const [family, entries] of all) {
    parts.push(`## ${family.className}`, '', `\`${family.guard}\`, from ${family.importFrom}. ${family.about}`, '', table(family, entries), '');
  }
  return parts.join('\n');
}

/** `readme` with each family's table put between its markers (families without markers are skipped). */
function withReadmeTables(readme: string, all: Array<[Family, Entry[]]>): string {
  for (const [family, entries] of all) {
    const open = `<!-- errors:${family.key} -->`;
    const close = `<!-- /errors:${family.key} -->`;
    const a = readme.indexOf(open);
    const b = readme.indexOf(close);
    if (a < 0 || b < a) continue;
    readme = `${readme.slice(0, a + open.length)}\n${table(family, entries)}\n${readme.slice(b)}`;
  }
  return readme;
}

const all = FAMILIES.map((f): [Family, Entry[]] => [f, readCatalog(f)]);
const undocumented = all.flatMap(([f, entries]) => entries.filter((e) => e.meaning === '').map((e) => `${f.className} ${e.code}`));
const docPath = join(root, 'docs/ERRORS.md');
const readmePath = join(root, 'README.md');
const doc = catalog(all);
const readme = withReadmeTables(readFileSync(readmePath, 'utf8'), all);

if (process.argv.includes('--check')) {
  const stale = [
    ...(existsSync(docPath) && readFileSync(docPath, 'utf8') === doc ? [] : ['docs/ERRORS.md']),
    ...(readFileSync(readmePath, 'utf8') === readme ? [] : ['README.md']),
  ];
  for (const s of stale) console.error(`${s} is out of date: run npm run catalog`);
  for (const u of undocumented) console.error(`${u} has no TSDoc comment saying what it means`);
  process.exit(stale.length + undocumented.length === 0 ? 0 : 1);
}
writeFileSync(docPath, doc);
writeFileSync(readmePath, readme);
const count = all.reduce((n, [, entries]) => n + entries.length, 0);
console.log(`docs/ERRORS.md: ${count} codes in ${all.length} classes`);
for (const u of undocumented) console.warn(`warning: ${u} has no TSDoc comment saying what it means`);
