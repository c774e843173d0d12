/**
 * The sequence-diagram page in headless Chromium: it renders, draws one arrow per packet with
 * violations in red and their rule id, and shows a packet's annotated bytes when its arrow is
 * clicked. A screenshot goes to test-artifacts/lab/ for people (and CI) to look at.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { encode, type Packet } from '../../src/codec/index.js';
import { writeTraceHtml, type TraceEntry } from '../../src/lab/html.js';
import { ProtocolTracker, type Direction } from '../../src/lab/tracker.js';
import { requirePeer } from '../helpers/peers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'lab');

/** A QoS 2 exchange in which the broker re-delivers without DUP (one violation). */
function entries(): TraceEntry[] {
  const tracker = new ProtocolTracker();
  const pub = (dup: boolean): Packet => ({ cmd: 'publish', topic: 'lab/x', payload: Buffer.from('hi'), qos: 2, retain: false, dup, packetId: 1 });
  const steps: Array<[Direction, Packet]> = [
    ['c2s', { cmd: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'html', cleanSession: true, keepAlive: 0, username: 'u', password: Buffer.from('sekret') }],
    ['s2c', { cmd: 'connack', sessionPresent: false, returnCode: 0 }],
    ['c2s', { cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'lab/#', qos: 2 }] }],
    ['s2c', { cmd: 'suback', packetId: 1, returnCodes: [2] }],
    ['s2c', pub(false)],
    ['s2c', pub(false)],
    ['c2s', { cmd: 'pubrec', packetId: 1 }],
    ['s2c', { cmd: 'pubrel', packetId: 1 }],
    ['c2s', { cmd: 'pubcomp', packetId: 1 }],
  ];
  return steps.flatMap(([dir, p], i) => tracker.feed(dir, encode(p), 1_700_000_000_000 + i).map((record) => ({ record, connection: 1 })));
}

const haveChromium = requirePeer(CHROMIUM, 'apt-get install -y chromium');

describe.skipIf(!haveChromium)('the sequence diagram in Chromium', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('[MQTT-3.3.1-1] renders one arrow per packet, the violation in red, and the bytes of a clicked arrow', { timeout: 60_000 }, async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'], timeout: 60_000 });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const list = entries();
    const html = writeTraceHtml(list, 'lab test');
    expect(html).not.toContain('sekret');
    await page.setContent(html);
    expect(await page.locator('svg.sequence').count()).toBe(1);
    expect(await page.locator('.arrow').count()).toBe(9);
    expect(await page.locator('.arrow').evaluateAll((as) => as.map((a) => (a as HTMLElement).dataset.type))).toEqual([
      'connect', 'connack', 'subscribe', 'suback', 'publish', 'publish', 'pubrec', 'pubrel', 'pubcomp',
    ]);
    const bad = page.locator('.arrow[data-rules]');
    expect(await bad.count()).toBe(1);
    expect(await bad.getAttribute('data-rules')).toBe('MQTT-3.3.1-1');
    expect(await bad.locator('line').getAttribute('stroke')).toBe('#d62728');
    await expect.poll(() => page.locator('text.violation').textContent()).toBe('[MQTT-3.3.1-1]');

    await bad.click();
    const detail = await page.locator('#detail').textContent();
    expect(detail).toContain('[MQTT-3.3.1-1] server: PUBLISH id=1 re-delivered without the DUP flag');
    expect(detail).toMatch(/topic name\s+"lab\/x"/);
    await page.locator('.arrow').first().click();
    expect(await page.locator('#detail').textContent()).toContain('<redacted>');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'sequence.png'), fullPage: true });
  });
});
