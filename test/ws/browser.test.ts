/**
 * The client in a real browser: headless Chromium (Debian `chromium`, driven by playwright-core)
 * loads pages from a tiny HTTP server on 127.0.0.1 — the example page and the ES module bundle,
 * built with esbuild at test time — and talks MQTT over its native WebSocket to broker-mini's
 * WebSocket listener, with a TCP client in the test on the other side.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildBrowserBundle, type BrowserBuildResult } from '../../scripts/build-browser.js';
import { encode } from '../../src/codec/index.js';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { startWsListener, type WsListener } from '../../src/broker-mini/ws-listener.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import { cleanupTempDirs, makeTempDir, requirePeer } from '../helpers/peers.js';
import { startScriptedWsServer, until, type ScriptedWsServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const EXAMPLE_DIR = join(import.meta.dirname, '../../examples/browser');

const haveChromium = requirePeer(CHROMIUM, 'apt-get install -y chromium');

/** Serves the example page, its script, the bundle, and a blank page, from 127.0.0.1. */
async function servePages(bundleFile: string): Promise<{ server: Server; base: string }> {
  const files: Record<string, [string, string]> = {
    '/index.html': [join(EXAMPLE_DIR, 'index.html'), 'text/html'],
    '/app.js': [join(EXAMPLE_DIR, 'app.js'), 'text/javascript'],
    '/mqtt311.js': [bundleFile, 'text/javascript'],
    '/mqtt311.js.map': [`${bundleFile}.map`, 'application/json'],
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/blank.html') {
      // The bundle as `globalThis.mqtt311`, for tests that drive the client from page.evaluate.
      res
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end('<!doctype html><title>blank</title><script type="module">import * as m from "/mqtt311.js"; globalThis.mqtt311 = m;</script>');
      return;
    }
    const file = files[path];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': file[1] }).end(readFileSync(file[0]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** What a page reports about an error (errors do not cross the page boundary as objects). */
interface PageError {
  code?: string;
  rule?: string;
  cause?: { code?: string; rule?: string };
}

describe.skipIf(!haveChromium)('the browser client in headless Chromium', () => {
  let bundle: BrowserBuildResult;
  let pages: { server: Server; base: string };
  let broker: Broker;
  let wsl: WsListener;
  let tcp: MqttClient;
  let browser: Browser;

  beforeAll(async () => {
    bundle = await buildBrowserBundle({ outfile: join(makeTempDir('mqtt311-bundle-'), 'mqtt311.js') });
    pages = await servePages(bundle.outfile);
    broker = await startBroker({ port: 0, host: '127.0.0.1' });
    wsl = await startWsListener(broker, { port: 0 });
    tcp = await connect(`mqtt://127.0.0.1:${broker.address.port}`, { reconnect: false });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await tcp?.end({ force: true });
    await wsl?.close();
    await broker?.close();
    await new Promise<void>((resolve) => (pages ? pages.server.close(() => resolve()) : resolve()));
    pages?.server.closeAllConnections();
    cleanupTempDirs();
  });

  /** A fresh page on the blank document, with the bundle loaded as `globalThis.mqtt311`. */
  async function blankPage(): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${pages.base}/blank.html`);
    await page.waitForFunction(() => (globalThis as any).mqtt311 !== undefined, undefined, { timeout: 10_000 });
    return page;
  }

  it('builds an ES module bundle with nothing from Node in it', () => {
    expect(bundle.bytes).toBeGreaterThan(0);
    expect(bundle.inputs.some((path) => path.endsWith('src/client/browser.ts'))).toBe(true);
    expect(bundle.inputs.filter((path) => /^node:|node_modules|transport-net|transport-ws/.test(path))).toEqual([]);
    expect(readFileSync(bundle.outfile, 'utf8')).toMatch(/^export \{/m);
  });

  it('the example page subscribes, shows what a TCP client publishes, and publishes to a TCP subscriber', async () => {
    const page = await browser.newPage();
    try {
      const broker = encodeURIComponent(wsl.url);
      await page.goto(`${pages.base}/index.html?broker=${broker}&topic=browser/demo`);
      await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('subscribed'), undefined, { timeout: 15_000 });
      expect(await page.textContent('#status')).toBe('subscribed (granted QoS 1)');

      // TCP -> browser
      await tcp.publish('browser/demo', 'hello from TCP', { qos: 1 });
      await page.waitForFunction(() => document.querySelectorAll('#received li').length === 1, undefined, { timeout: 10_000 });
      expect(await page.textContent('#received li')).toBe('browser/demo hello from TCP');

      // browser -> TCP
      const atTcp: string[] = [];
      tcp.on('message', (topic, payload) => atTcp.push(`${topic} ${Buffer.from(payload).toString()}`));
      await tcp.subscribe('browser/demo', { qos: 1 });
      await page.fill('#payload', 'hello from Chromium');
      await page.click('#send');
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'published to browser/demo', undefined, { timeout: 10_000 });
      await until(() => atTcp.length === 1);
      expect(atTcp).toEqual(['browser/demo hello from Chromium']);
      // The page is subscribed too, so it also shows its own message.
      await page.waitForFunction(() => document.querySelectorAll('#received li').length === 2, undefined, { timeout: 10_000 });
    } finally {
      await page.close();
    }
  });

  describe('chapter 6 rules in the browser, against a scripted server', () => {
    let server: ScriptedWsServer;
    afterAll(async () => {
      await server?.close();
    });

    /** In the page: connect to `url` with the bundle; returns the error, or null once connected. */
    async function tryConnect(page: Page, url: string): Promise<PageError | null> {
      return page.evaluate(async (url) => {
        const { connect } = (globalThis as any).mqtt311;
        try {
          const client = await connect(url, { reconnect: false, connectTimeout: 15_000 });
          (globalThis as any).client = client;
          return null;
        } catch (e: any) {
          return { code: e.code, rule: e.rule, cause: e.cause && { code: e.cause.code, rule: e.cause.rule } };
        }
      }, url);
    }

    it('[MQTT-6.0.0-3] offers "mqtt", and [MQTT-6.0.0-1] sends only binary frames', async () => {
      server = await startScriptedWsServer();
      const page = await blankPage();
      try {
        expect(await tryConnect(page, server.url)).toBeNull();
        const conn = await server.connection(0);
        expect(conn.offered?.split(',').map((s) => s.trim())).toContain('mqtt');
        await page.evaluate(async () => {
          const client = (globalThis as any).client;
          await client.publish('b/1', 'x'.repeat(100_000));
          void client.subscribe('b/#').catch(() => {});
        });
        await conn.waitFor('subscribe');
        expect(conn.packets.map((p) => p.cmd)).toEqual(['connect', 'publish', 'subscribe']);
        expect(conn.frames.every((f) => f.isBinary)).toBe(true);
      } finally {
        await page.close();
        await server.close();
      }
    });

    it('[MQTT-6.0.0-4] refuses a server that selects no subprotocol, before sending CONNECT', async () => {
      server = await startScriptedWsServer({ handleProtocols: () => false });
      const page = await blankPage();
      try {
        // Chromium itself fails such a handshake; either way connect() rejects.
        expect(await tryConnect(page, server.url)).toMatchObject({ code: 'CONNECT_FAILED' });
        expect(server.connections.flatMap((c) => c.packets)).toEqual([]);
      } finally {
        await page.close();
        await server.close();
      }
    });

    it('[MQTT-6.0.0-1] closes the connection when the server sends a text frame', async () => {
      server = await startScriptedWsServer();
      const page = await blankPage();
      try {
        expect(await tryConnect(page, server.url)).toBeNull();
        const conn = await server.connection(0);
        // Listen first (evaluate returns once the listener is in place), then provoke.
        await page.evaluate(() => {
          (globalThis as any).closeReport = new Promise<PageError>((resolve) =>
            (globalThis as any).client.once('close', (e: any) => resolve({ code: e?.code, rule: e?.rule })),
          );
        });
        conn.ws.send('text is not MQTT');
        expect(await page.evaluate(() => (globalThis as any).closeReport)).toEqual({ code: 'PROTOCOL_ERROR', rule: 'MQTT-6.0.0-1' });
        // Browsers may only send close code 1000 or 3000-4999; the reason says why.
        expect(await conn.closed).toBe(1000);
      } finally {
        await page.close();
        await server.close();
      }
    });

    it('[MQTT-6.0.0-2] decodes a CONNACK split over frames and several packets in one frame', async () => {
      server = await startScriptedWsServer({ autoConnack: false });
      const page = await blankPage();
      try {
        const connecting = tryConnect(page, server.url);
        const conn = await server.connection(0);
        await conn.waitFor('connect');
        const connack = encode({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
        conn.sendBinary(connack.subarray(0, 3));
        conn.sendBinary(connack.subarray(3));
        expect(await connecting).toBeNull();
        await page.evaluate(() => {
          (globalThis as any).received = new Promise<string[]>((resolve) => {
            const got: string[] = [];
            (globalThis as any).client.on('message', (topic: string, payload: Uint8Array) => {
              got.push(`${topic}=${new TextDecoder().decode(payload)}`);
              if (got.length === 2) resolve(got);
            });
          });
        });
        const p1 = encode({ cmd: 'publish', topic: 'x/1', payload: new TextEncoder().encode('one'), qos: 0, retain: false, dup: false });
        const p2 = encode({ cmd: 'publish', topic: 'x/2', payload: new TextEncoder().encode('two'), qos: 0, retain: false, dup: false });
        conn.sendBinary(Buffer.concat([p1, p2.subarray(0, 5)]));
        conn.sendBinary(p2.subarray(5));
        expect(await page.evaluate(() => (globalThis as any).received)).toEqual(['x/1=one', 'x/2=two']);
      } finally {
        await page.close();
        await server.close();
      }
    });
  });
});
