/** The shared peer helper's own contract: skip locally, fail in CI, never leave a process behind. */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { freePort, isCI, requirePeer, runProcess, spawnProcess, stopAllProcesses } from '../helpers/peers.js';

const savedCI = process.env.CI;
afterEach(() => {
  if (savedCI === undefined) delete process.env.CI;
  else process.env.CI = savedCI;
  vi.restoreAllMocks();
});
afterAll(() => stopAllProcesses());

describe('requirePeer', () => {
  it('returns true for a binary that exists', () => {
    expect(requirePeer('sh', 'apt-get install -y dash')).toBe(true);
  });

  it('skips with a warning naming what to install when CI is not set', () => {
    delete process.env.CI;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(isCI()).toBe(false);
    expect(requirePeer('mqtt311-no-such-peer', 'apt-get install -y something')).toBe(false);
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]![0])).toContain('apt-get install -y something');
  });

  it('throws when CI is set, so a missing peer fails the run', () => {
    process.env.CI = 'true';
    expect(() => requirePeer('mqtt311-no-such-peer', 'apt-get install -y something')).toThrow(/apt-get install -y something/);
  });
});

describe('processes', () => {
  it('kills a process that outlives its timeout', async () => {
    const r = await runProcess('sleep', ['30'], { timeoutMs: 200 });
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
  });

  it('collects output and feeds stdin', async () => {
    const r = await runProcess('cat', [], { input: 'hello' });
    expect(r).toMatchObject({ code: 0, stdout: 'hello', timedOut: false });
  });

  it('waits for output of a spawned process and stops it', async () => {
    const p = spawnProcess('sh', ['-c', 'echo ready; sleep 30']);
    await p.waitForOutput('ready');
    await p.stop();
    expect((await p.exited).signal).toBe('SIGTERM');
  });

  it('finds a free port on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65_536);
  });
});
