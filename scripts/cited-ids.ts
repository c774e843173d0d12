/**
 * The spec ids the source cites, checked against the list of normative statements: every id
 * written in src/ must be one the standard has, and written whole (`[MQTT-3.1.4-3] [MQTT-3.1.4-4]`,
 * never `[MQTT-3.1.4-3/4]` or `-16/17`), so that grepping for an id finds every place it is enforced.
 * Used by scripts/conformance.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A whole id, and a whole id followed by a short form of another (`/4`, `/-4`, `, -4`, `–4`). */
const WHOLE_ID = /MQTT-\d+\.\d+\.\d+-\d+/g;
const SHORT_FORM = /MQTT-\d+\.\d+\.\d+-\d+(?:\s*(?:\/|,|–|\bto\b|\band\b|\bor\b)\s*-?\d+\b)+(?!\.\d)/g;

/** What is wrong with the ids of one tree: unknown ids and short forms, each with `file:line`. */
export interface CitedIdProblems {
  unknown: string[];
  short: string[];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

/** Checks every id cited under `dir` (relative to `root` in the report) against `known`. */
export function checkCitedIds(root: string, dir: string, known: ReadonlySet<string>): CitedIdProblems {
  const problems: CitedIdProblems = { unknown: [], short: [] };
  for (const file of sourceFiles(dir)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const where = `${relative(root, file)}:${i + 1}`;
      for (const m of line.matchAll(WHOLE_ID)) if (!known.has(m[0])) problems.unknown.push(`${m[0]} (${where})`);
      for (const m of line.matchAll(SHORT_FORM)) problems.short.push(`${m[0]} (${where})`);
    });
  }
  return problems;
}
