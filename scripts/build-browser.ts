/**
 * Bundles the browser client (src/client/browser.ts) into one ES module for browsers:
 * dist/browser/mqtt311.js (plus a source map), ready for
 * `<script type="module">import { connect } from './mqtt311.js'</script>`.
 *
 *   npx tsx scripts/build-browser.ts [--outfile path] [--minify]
 *
 * The bundle must not contain anything that needs Node: esbuild is told the platform is
 * `browser`, so a `node:` import reachable from the entry fails the build, and the check below
 * also refuses any Node-only transport or the `ws` package in the bundle.
 */
import { build, type Metafile } from 'esbuild';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The browser entry point, relative to the repository root. */
export const BROWSER_ENTRY = 'src/client/browser.ts';

/** Where `npm run build:browser` writes the bundle, relative to the repository root. */
export const BROWSER_OUTFILE = 'dist/browser/mqtt311.js';

/** Modules that must never be reachable from the browser entry (they need Node). */
const NODE_ONLY = [/^node:/, /node_modules\/ws\//, /src\/client\/transport-net\.ts$/, /src\/client\/transport-ws\.ts$/];

/** Options of {@link buildBrowserBundle}. */
export interface BrowserBuildOptions {
  /** Output file; default `dist/browser/mqtt311.js` under the repository root. */
  outfile?: string;
  /** Minify (default false: the bundle stays readable, like the sources). */
  minify?: boolean;
  /** Write a source map next to the bundle (default true). */
  sourcemap?: boolean;
}

/** What was built. */
export interface BrowserBuildResult {
  outfile: string;
  /** Bundle size in bytes. */
  bytes: number;
  /** Source files that went into the bundle, relative to the repository root. */
  inputs: string[];
}

/** Throws if a Node-only module ended up in the bundle. */
function checkInputs(metafile: Metafile): string[] {
  const inputs = Object.keys(metafile.inputs);
  const offending = inputs.filter((path) => NODE_ONLY.some((re) => re.test(path)));
  if (offending.length > 0) {
    throw new Error(`the browser bundle must not contain Node-only modules: ${offending.join(', ')}`);
  }
  return inputs;
}

/** Builds the browser ES module bundle with esbuild's JS API. */
export async function buildBrowserBundle(options: BrowserBuildOptions = {}): Promise<BrowserBuildResult> {
  const outfile = resolve(options.outfile ?? join(ROOT, BROWSER_OUTFILE));
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, BROWSER_ENTRY)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? false,
    sourcemap: options.sourcemap ?? true,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const inputs = checkInputs(result.metafile);
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.js'));
  return { outfile, bytes: output?.[1].bytes ?? 0, inputs };
}

/** Command line: `--outfile <path>`, `--minify`. */
async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--outfile');
  const outfile = i >= 0 ? argv[i + 1] : undefined;
  const built = await buildBrowserBundle({ ...(outfile === undefined ? {} : { outfile }), minify: argv.includes('--minify') });
  console.log(`${relative(process.cwd(), built.outfile)}  ${(built.bytes / 1024).toFixed(1)} KiB  (${built.inputs.length} modules)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
