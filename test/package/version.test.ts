import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { SYS_VERSION } from '../../src/broker-mini/sys.js';

describe('the package version', () => {
  it('is the one package.json names, and $SYS/broker/version reports it', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(SYS_VERSION).toBe(`mqtt311 version ${pkg.version}`);
  });
});
