/**
 * better-sqlite3 is optional: the codec, the client with its memory store and the in-memory
 * broker never load it, and the browser bundle does not contain it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcess, stopAllProcesses } from '../helpers/peers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the optional database module', () => {
  it('is not loaded by the package root, a client with the memory store and a broker in memory', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const m = await import(${JSON.stringify(`${root}src/index.ts`)});
      const broker = await m.startBroker({ port: 0, host: '127.0.0.1' });
      const client = await m.connect('mqtt://127.0.0.1:' + broker.address.port, { clientId: 'opt', cleanSession: false, store: new m.MemoryClientStore() });
      await client.publish('t', 'x', { qos: 2 });
      await client.end();
      await broker.close();
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('better-sqlite3'));
      console.log('loaded=' + JSON.stringify(loaded));
    `;
    const r = await runProcess(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, timeoutMs: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('loaded=[]');
  });

  it.skipIf(!existsSync(`${root}dist/browser/mqtt311.js`))('is not in the browser bundle', () => {
    expect(readFileSync(`${root}dist/browser/mqtt311.js`, 'utf8')).not.toContain('better-sqlite3');
  });
});

afterAll(() => stopAllProcesses());
