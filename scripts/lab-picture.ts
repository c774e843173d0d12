/**
 * Draws docs/img/qos2-flow.png, the sequence diagram in the README: our client publishes at
 * QoS 2 to broker-mini through the lab's proxy, which records the packets; the page that
 * `mqtt311 proxy --html` writes is rendered in headless Chromium and its diagram photographed.
 *
 *   npx tsx scripts/lab-picture.ts
 */
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startBroker } from '../src/broker-mini/index.js';
import { connect } from '../src/client/index.js';
import { writeTraceHtml, type TraceEntry } from '../src/lab/html.js';
import { startProxy } from '../src/lab/proxy.js';

const OUT = join(import.meta.dirname, '..', 'docs', 'img', 'qos2-flow.png');

const broker = await startBroker({ port: 0 });
const entries: TraceEntry[] = [];
const proxy = await startProxy({
  listen: { port: 0 },
  target: { host: '127.0.0.1', port: broker.address.port },
  onRecord: (record, connection, fault) => entries.push({ record, connection, fault }),
});
const client = await connect(`mqtt://127.0.0.1:${proxy.address.port}`, { clientId: 'lab-picture', keepAlive: 60 });
await client.subscribe('lab/qos2', { qos: 2 });
const got = new Promise<void>((resolve) => client.on('message', () => resolve()));
await client.publish('lab/qos2', 'exactly once', { qos: 2 });
await got;
await client.end();
await proxy.close();
await broker.close();

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  await page.setContent(writeTraceHtml(entries, 'QoS 2 through mqtt311 proxy'));
  await page.locator('svg.sequence').first().screenshot({ path: OUT });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
}
