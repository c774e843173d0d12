/**
 * The broker's socket-free core (src/broker-mini/core/, like src/client/core/) stays free of I/O:
 * neither it nor anything it imports, transitively, loads a network, file-system or WebSocket
 * module, so it can be driven without sockets (test/broker/harness.ts) and persisted by a
 * storage layer it only sees as an interface.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CORE = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/broker-mini/core');
const FORBIDDEN = /^(node:)?(net|tls|fs|fs\/promises|http|https|dgram|child_process|ws)$/;

/** Every module specifier `file` imports or re-exports (static and dynamic). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
}

/** The files reachable from `roots` through relative imports, with every bare specifier they use. */
function closure(roots: string[]): { files: Set<string>; external: Map<string, string> } {
  const files = new Set<string>();
  const external = new Map<string, string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else external.set(spec, file);
    }
  };
  roots.forEach(visit);
  return { files, external };
}

describe('src/broker-mini/core', () => {
  it('imports no network, file-system or WebSocket module, directly or through what it imports', () => {
    const roots = readdirSync(CORE).filter((f) => f.endsWith('.ts')).map((f) => join(CORE, f));
    const { files, external } = closure(roots);
    expect(files.size).toBeGreaterThan(roots.length - 1);
    const bad = [...external].filter(([spec]) => FORBIDDEN.test(spec)).map(([spec, file]) => `${file}: ${spec}`);
    expect(bad).toEqual([]);
  });
});
