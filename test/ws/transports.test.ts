/**
 * The WebSocket transports below the client: the `Transport` contract (data held until the owner
 * listens, one close, backpressure) for the Node (`ws`) transport and for the standard-WebSocket
 * transport — the latter driven here by `ws`'s own standard-API `WebSocket` class, so it is
 * exercised even where no browser is installed (browser.test.ts runs it in Chromium).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decode, encode } from '../../src/codec/index.js';
import { TransportCallbacks, createBrowserTransport, type WebSocketConstructor } from '../../src/client/transport-browser.js';
import { createWsTransport } from '../../src/client/transport-ws.js';
import type { Transport, TransportFactory } from '../../src/client/transport.js';
import { startScriptedWsServer, until, type ScriptedWsServer } from './helpers.js';

const servers: ScriptedWsServer[] = [];
const transports: Transport[] = [];

async function server(options: Parameters<typeof startScriptedWsServer>[0] = {}): Promise<ScriptedWsServer> {
  const s = await startScriptedWsServer(options);
  servers.push(s);
  return s;
}

/** Opens a transport with its callbacks registered (no-ops unless given); `closed` settles at its close. */
async function open(factory: TransportFactory, url: string, on: { data?: (chunk: Uint8Array) => void; drain?: () => void } = {}) {
  const u = new URL(url);
  const t = await factory({ url: u, host: u.hostname, port: Number(u.port) });
  transports.push(t);
  const closed = new Promise<Error | undefined>((resolve) => t.onClose(resolve));
  t.onData(on.data ?? (() => {}));
  t.onDrain(on.drain ?? (() => {}));
  return { t, closed };
}

afterEach(async () => {
  for (const t of transports.splice(0)) t.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('TransportCallbacks', () => {
  it('holds data that arrives before onData, then delivers it in order, then live data', async () => {
    const cb = new TransportCallbacks();
    cb.data(Uint8Array.of(1));
    cb.data(Uint8Array.of(2));
    const got: number[] = [];
    cb.setData((chunk) => got.push(...chunk));
    cb.data(Uint8Array.of(3)); // arrives while the held chunks are still waiting: stays behind them
    await Promise.resolve();
    cb.data(Uint8Array.of(4));
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('reports the close once, after held data, and drops data after it', async () => {
    const cb = new TransportCallbacks();
    cb.data(Uint8Array.of(1));
    cb.finish(new Error('first'));
    cb.finish(new Error('second'));
    cb.data(Uint8Array.of(2));
    const events: string[] = [];
    cb.setClose((error) => events.push(`close ${error?.message}`));
    cb.setData((chunk) => events.push(`data ${chunk[0]}`));
    await Promise.resolve();
    await Promise.resolve();
    expect(events).toEqual(['data 1', 'close first']);
    expect(cb.closed).toBe(true);
  });
});

const NodeWs = WebSocket as unknown as WebSocketConstructor;
const factories: Array<[string, (hwm: number) => TransportFactory, { code?: string; rule?: string }]> = [
  ['Node ws transport', (highWaterMark) => createWsTransport({ highWaterMark }), { code: 'PROTOCOL_ERROR', rule: 'MQTT-6.0.0-4' }],
  // A standard WebSocket (like a browser's) fails such a handshake itself, without saying why.
  ['standard WebSocket transport', (highWaterMark) => createBrowserTransport({ WebSocket: NodeWs, highWaterMark }), { code: 'CONNECT_FAILED' }],
];

describe.each(factories)('%s', (_name, make, refusal) => {
  it('[MQTT-6.0.0-2] delivers received bytes as Uint8Array chunks, whatever the framing', async () => {
    const s = await server({ autoConnack: false });
    const chunks: Uint8Array[] = [];
    await open(make(1 << 20), s.url, { data: (c) => chunks.push(c) });
    const conn = await s.connection(0);
    const bytes = Buffer.concat([encode({ cmd: 'pingresp' }), encode({ cmd: 'connack', sessionPresent: true, returnCode: 0 })]);
    conn.sendBinary(bytes.subarray(0, 3));
    conn.sendBinary(bytes.subarray(3));
    await until(() => chunks.reduce((n, c) => n + c.length, 0) === bytes.length);
    expect(chunks.every((c) => c instanceof Uint8Array)).toBe(true);
    expect(Buffer.concat(chunks)).toEqual(bytes);
  });

  it('[MQTT-6.0.0-1] writes [header, payload] as binary frames carrying exactly those bytes', async () => {
    const s = await server({ autoConnack: false });
    const { t } = await open(make(1 << 20), s.url);
    const conn = await s.connection(0);
    const packet = encode({ cmd: 'publish', topic: 'a', payload: Buffer.from('payload'), qos: 0, retain: false, dup: false });
    t.write([packet.subarray(0, 5), packet.subarray(5)]);
    await until(() => conn.packets.length === 1);
    expect(conn.frames.every((f) => f.isBinary)).toBe(true);
    expect(conn.packets[0]).toEqual(decode(packet));
  });

  it('[MQTT-6.0.0-1] reports a text frame from the server as PROTOCOL_ERROR and closes', async () => {
    const s = await server();
    const { t, closed } = await open(make(1 << 20), s.url);
    const conn = await s.connection(0);
    conn.ws.send('hello');
    expect(await closed).toMatchObject({ code: 'PROTOCOL_ERROR', rule: 'MQTT-6.0.0-1' });
    expect([1000, 1003]).toContain(await conn.closed);
  });

  it('[MQTT-6.0.0-4] rejects a handshake in which the server selects another subprotocol', async () => {
    const s = await server({ handleProtocols: () => 'mqttv3.1' });
    const factory = make(1 << 20);
    const u = new URL(s.url);
    await expect(factory({ url: u, host: u.hostname, port: Number(u.port) })).rejects.toMatchObject(refusal);
    await new Promise((r) => setTimeout(r, 20));
    // Refused before anything was sent: no CONNECT, no bytes at all.
    expect(s.connections.flatMap((c) => c.frames)).toEqual([]);
  });

  it('signals backpressure: write returns false past the high-water mark, then onDrain fires', async () => {
    const s = await server({ autoConnack: false });
    let drained = 0;
    const { t } = await open(make(64 * 1024), s.url, { drain: () => drained++ });
    const conn = await s.connection(0);
    conn.ws.pause(); // the server stops reading, so bytes pile up on our side
    const chunk = new Uint8Array(32 * 1024);
    let accepted = 0;
    while (t.write(chunk)) {
      accepted++;
      if (accepted > 10_000) throw new Error('write never reported a full buffer');
    }
    expect(drained).toBe(0);
    conn.ws.resume();
    await until(() => drained === 1, 10_000, 'drain');
  });

  it('ends with a normal close (no error) and stops delivering', async () => {
    const s = await server();
    const { t, closed } = await open(make(1 << 20), s.url);
    const conn = await s.connection(0);
    t.end();
    expect(await conn.closed).toBe(1000);
    expect(await closed).toBeUndefined();
  });
});
