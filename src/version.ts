/**
 * The package's version, as a constant: bundles (the browser build, the benchmarks' broker) and
 * any runtime read it without finding package.json on disk. test/version.test.ts keeps it equal
 * to package.json's.
 */
export const VERSION = '0.1.0';
