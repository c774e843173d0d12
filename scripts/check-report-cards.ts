/**
 * Writes the report cards of `mqtt311 check` in docs/: against broker-mini, mosquitto (a private
 * one on a free port; needs Debian's `mosquitto`) and aedes (the devDependency).
 *
 *   npx tsx scripts/check-report-cards.ts            # all three
 *   npx tsx scripts/check-report-cards.ts mosquitto  # one
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECK_NOTICE, runChecks } from '../src/lab/check/suite.js';
import { markdownReport, summaryLine } from '../src/lab/check/report.js';
import { startCheckTarget, type CheckTargetName } from '../test/lab/targets.js';

const DOCS = join(import.meta.dirname, '..', 'docs');
const names = (process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['broker-mini', 'mosquitto', 'aedes']) as CheckTargetName[];

for (const name of names) {
  const target = await startCheckTarget(name);
  try {
    const results = await runChecks({ target: { host: '127.0.0.1', port: target.port } });
    const title = `mqtt311 check against ${target.label}`;
    const notice = `${CHECK_NOTICE}\n\nWritten by \`npx tsx scripts/check-report-cards.ts ${name}\`; \`test/lab/check.test.ts\` asserts the same verdicts.`;
    writeFileSync(join(DOCS, `CHECK-${name}.md`), markdownReport(results, title, notice));
    console.log(`${name}: ${summaryLine(results)}`);
  } finally {
    await target.stop();
  }
}
