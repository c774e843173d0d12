/**
 * The report card of `mqtt311 check`: as an aligned text table, Markdown, or JSON. One row per
 * statement: the rule id, the statement in short, the verdict and what shows it.
 */
import type { CheckResult } from './types.js';

/** Counts per verdict. */
export function tally(results: readonly CheckResult[]): { pass: number; fail: number; notTestable: number } {
  return {
    pass: results.filter((r) => r.status === 'PASS').length,
    fail: results.filter((r) => r.status === 'FAIL').length,
    notTestable: results.filter((r) => r.status === 'NOT TESTABLE').length,
  };
}

/** `31 PASS, 1 FAIL, 8 NOT TESTABLE`. */
export function summaryLine(results: readonly CheckResult[]): string {
  const t = tally(results);
  return `${t.pass} PASS, ${t.fail} FAIL, ${t.notTestable} NOT TESTABLE`;
}

/** One text line per row, as it completes. */
export function formatResult(r: CheckResult): string {
  return `${r.status.padEnd(12)} [${r.rule}] ${r.text}${r.detail ? `\n${' '.repeat(13)}${r.status === 'FAIL' ? 'evidence: ' : r.status === 'PASS' ? 'seen: ' : 'why: '}${r.detail}` : ''}`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The report as a Markdown document. */
export function markdownReport(results: readonly CheckResult[], title: string, notice: string): string {
  const rows = results.map((r) => `| [${r.rule}] | ${cell(r.text)} | ${r.status === 'FAIL' ? '**FAIL**' : r.status} | ${cell(r.detail)} |`);
  return [
    `# ${title}`,
    '',
    notice,
    '',
    `**${summaryLine(results)}.**`,
    '',
    '| Rule | Statement (in short) | Result | Evidence / why |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** The report as one JSON document. */
export function jsonReport(results: readonly CheckResult[], target: string): string {
  return JSON.stringify({ target, ...tally(results), results }, null, 2);
}
