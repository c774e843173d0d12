/**
 * Where a Node broker spent its CPU: the functions with the most self time in a V8 CPU profile
 * (`--profile` makes the harness write one per broker run into bench/results/profiles/).
 *
 *   tsx bench/e2e/profile.ts bench/results/profiles/mini-….cpuprofile [top]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of the samples. */
export interface Hotspot {
  share: number;
  name: string;
}

/**
 * Names the source module of a line in one of our esbuild bundles: esbuild starts each module's
 * code with a `// src/…/x.ts` comment, so the last such comment above the line names it.
 */
function moduleOfLine(): (url: string, line: number) => string | undefined {
  const cache = new Map<string, { line: number; path: string }[]>();
  return (url, line) => {
    if (!url.startsWith('file://') || !url.endsWith('.mjs')) return undefined;
    let marks = cache.get(url);
    if (!marks) {
      marks = [];
      try {
        readFileSync(fileURLToPath(url), 'utf8')
          .split('\n')
          .forEach((text, i) => {
            const m = /^\/\/ ((?:src|bench)\/\S+\.ts)$/.exec(text);
            if (m?.[1] !== undefined) marks!.push({ line: i, path: m[1] });
          });
      } catch {
        /* not readable: keep the bundle's name */
      }
      cache.set(url, marks);
    }
    let found: string | undefined;
    for (const mark of marks) {
      if (mark.line > line) break;
      found = mark.path;
    }
    return found;
  };
}

/** The `top` functions by self time; idle time is left out of the total. */
export function hotspots(file: string, top = 15): Hotspot[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const sourceOf = moduleOfLine();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    if (!node || node.callFrame.functionName === '(idle)') return;
    const cf = node.callFrame;
    const where = cf.url ? ` ${sourceOf(cf.url, cf.lineNumber) ?? `${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`}` : '';
    const name = `${cf.functionName || '(anonymous)'}${where}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, t]) => ({ share: total > 0 ? t / total : 0, name }));
}

/** The hotspots as text, one line each. */
export function formatHotspots(file: string, top = 15): string {
  return [`${basename(file)}:`, ...hotspots(file, top).map((h) => `  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.name}`)].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: tsx bench/e2e/profile.ts <file.cpuprofile> [top]\n');
    process.exitCode = 2;
  } else process.stdout.write(formatHotspots(file, top ? Number(top) : 20) + '\n');
}
