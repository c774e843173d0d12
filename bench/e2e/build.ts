/**
 * Compiles the child-process entry points (load worker, broker server, client worker) with
 * esbuild before a run, so every child is plain JavaScript started by plain `node`:
 * - broker-mini and our client run as compiled code, like the published package (and like
 *   aedes and MQTT.js, which ship JavaScript) — not through a TypeScript loader;
 * - children start fast and carry no loader thread.
 *
 * The bundles go to node_modules/.cache/ so that the packages left external (aedes, mqtt) resolve
 * from the project's node_modules.
 */
import { build, stop } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './procs.js';

/** Where the compiled entry points go. */
export const BUILD_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'mqtt311-bench-e2e');

/** The child-process entry points, relative to the repository root. */
export const ENTRIES = ['bench/e2e/load-worker.ts', 'bench/e2e/broker-server.ts', 'bench/e2e/client-worker.ts'] as const;

/** The compiled file for `entry` (e.g. bench/e2e/load-worker.ts → …/load-worker.mjs). */
export function builtPath(entry: string): string {
  return join(BUILD_DIR, entry.split('/').pop()!.replace(/\.ts$/, '.mjs'));
}

/** Bundles every entry point (our sources inlined, npm packages external). */
export async function buildEntries(): Promise<void> {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  mkdirSync(BUILD_DIR, { recursive: true });
  await build({
    entryPoints: ENTRIES.map((e) => join(REPO_ROOT, e)),
    outdir: BUILD_DIR,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  // esbuild's JS API keeps a service process for later builds; there are none, so end it now.
  await stop();
}
