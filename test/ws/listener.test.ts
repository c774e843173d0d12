/**
 * The broker's WebSocket listener on its own: handshake, frame rules of spec chapter 6, the byte
 * stream handed to the broker, backpressure and shutdown. The acceptor here only records bytes;
 * the tests with the real broker behind the listener are in broker-ws.test.ts.
 */
import { request } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FRAMED_BYTES_EVENT, type FramedStream } from '../../src/broker-mini/budget.js';
import { startWsListener, type WsListener } from '../../src/broker-mini/ws-listener.js';
import { RecordingAcceptor, closeCode, openMqttWs, openRaw, until } from './helpers.js';

// A CONNECT for client "a" (protocol MQTT level 4, clean session, keepAlive 60), byte by byte.
const CONNECT = Buffer.from([
  0x10, 0x0d, // CONNECT, remaining length 13
  0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
  0x04, // protocol level 4
  0x02, // connect flags: clean session
  0x00, 0x3c, // keep alive 60 s
  0x00, 0x01, 0x61, // client id "a"
]);
const PINGREQ = Buffer.from([0xc0, 0x00]);
const DISCONNECT = Buffer.from([0xe0, 0x00]);

const listeners: WsListener[] = [];
const sockets: WebSocket[] = [];

async function listen(acceptor: RecordingAcceptor, options: Parameters<typeof startWsListener>[1] = {}): Promise<WsListener> {
  const l = await startWsListener(acceptor, { port: 0, host: '127.0.0.1', ...options });
  listeners.push(l);
  return l;
}

async function open(url: string): Promise<WebSocket> {
  const ws = await openMqttWs(url);
  sockets.push(ws);
  return ws;
}

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

describe('handshake', () => {
  it('[MQTT-6.0.0-4] selects and returns the subprotocol "mqtt"', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    const ws = await open(l.url);
    expect(ws.protocol).toBe('mqtt');
    await acceptor.connection(0);
  });

  it('[MQTT-6.0.0-4] selects "mqtt" when the client offers it among others', async () => {
    const l = await listen(new RecordingAcceptor());
    const r = await openRaw(l.url, ['chat', 'mqtt', 'mqttv3.1']);
    expect(r.ok).toBe(true);
    if (r.ok) {
      sockets.push(r.ws);
      expect(r.ws.protocol).toBe('mqtt');
    }
  });

  it('[MQTT-6.0.0-3] refuses a handshake that does not offer "mqtt" (HTTP 400), before the broker sees it', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    expect(await openRaw(l.url)).toMatchObject({ ok: false, status: 400 });
    expect(await openRaw(l.url, ['mqttv3.1', 'chat'])).toMatchObject({ ok: false, status: 400 });
    expect(acceptor.connections).toHaveLength(0);
  });

  it('accepts any request path by default (the URI has no impact on MQTT, spec 6.0)', async () => {
    const l = await listen(new RecordingAcceptor());
    for (const path of ['/', '/mqtt', '/some/where?x=1']) {
      const ws = await open(`ws://127.0.0.1:${l.address.port}${path}`);
      expect(ws.protocol).toBe('mqtt');
    }
  });

  it('with `path`, accepts only that path (query ignored) and refuses others with 400', async () => {
    const l = await listen(new RecordingAcceptor(), { path: '/mqtt' });
    expect(l.url).toBe(`ws://127.0.0.1:${l.address.port}/mqtt`);
    expect(l.address.path).toBe('/mqtt');
    await open(`ws://127.0.0.1:${l.address.port}/mqtt?token=1`);
    expect(await openRaw(`ws://127.0.0.1:${l.address.port}/other`, 'mqtt')).toMatchObject({ ok: false, status: 400 });
  });

  it('answers a plain HTTP request with 426 Upgrade Required', async () => {
    const l = await listen(new RecordingAcceptor());
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request(l.url.replace('ws:', 'http:'), (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(426);
  });

  it('rejects with the listen error when the port is taken', async () => {
    const l = await listen(new RecordingAcceptor());
    await expect(startWsListener(new RecordingAcceptor(), { port: l.address.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('frames', () => {
  it('[MQTT-6.0.0-1] closes the connection on a text frame and delivers none of it', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    ws.send(CONNECT); // binary: delivered
    await until(() => conn.bytes().length === CONNECT.length);
    const closing = closeCode(ws);
    ws.send('\xc0\x00'); // a PINGREQ's bytes, but in a text frame
    ws.send(PINGREQ); // anything after the text frame is not delivered either
    expect(await closing).toBe(1003); // 1003: unsupported data
    await conn.closed;
    expect(conn.error).toMatchObject({ code: 'WS_TEXT_FRAME', rule: 'MQTT-6.0.0-1' });
    expect(conn.bytes()).toEqual(CONNECT);
  });

  it('[MQTT-6.0.0-1] sends what the broker writes in binary frames', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    const got = new Promise<{ data: Buffer; isBinary: boolean }>((resolve) =>
      ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
    );
    conn.stream.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK accepted
    expect(await got).toEqual({ data: Buffer.from([0x20, 0x02, 0x00, 0x00]), isBinary: true });
  });

  it('[MQTT-6.0.0-2] packets split across frames, and several packets in one frame, reach the broker as one byte stream', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    const stream = Buffer.concat([CONNECT, PINGREQ, PINGREQ, DISCONNECT]);
    // A frame ending mid-packet, a one-byte frame, and a frame holding the rest of one packet
    // plus two whole ones.
    for (const [from, to] of [[0, 5], [5, 6], [6, 11], [11, stream.length]]) ws.send(stream.subarray(from, to));
    await until(() => conn.bytes().length === stream.length);
    expect(conn.bytes()).toEqual(stream);
  });

  it('[MQTT-6.0.0-2] one write of several packets, or a packet in parts, leaves in frames the client reassembles', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    const received: Buffer[] = [];
    ws.on('message', (d) => received.push(d as Buffer));
    const header = Buffer.from([0x30, 0x07, 0x00, 0x01, 0x74]); // PUBLISH q0 "t", remaining 7
    const payload = Buffer.from('abcd');
    // Corked writes are flushed together (_writev): header and payload go out as one frame.
    conn.stream.cork();
    conn.stream.write(header);
    conn.stream.write(payload);
    conn.stream.uncork();
    await until(() => Buffer.concat(received).length === 9);
    expect(received).toHaveLength(1);
    expect(Buffer.concat(received)).toEqual(Buffer.concat([header, payload]));
  });

  it('closes with 1009 and reports an error on a frame larger than maxFrameSize, without delivering it', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor, { maxFrameSize: 1024 });
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    const closing = closeCode(ws);
    ws.send(Buffer.alloc(4096));
    expect(await closing).toBe(1009);
    await conn.closed;
    expect(conn.error).toMatchObject({ code: 'WS_CONNECTION_ERROR' });
    expect(conn.bytes().length).toBe(0);
  });
});

describe('stream semantics', () => {
  it('exposes the remote address like a TCP socket', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    await open(l.url);
    const conn = await acceptor.connection(0);
    expect((conn.stream as unknown as { remoteAddress: string }).remoteAddress).toBe('127.0.0.1');
  });

  it('a slow reader pauses the WebSocket: buffered bytes stay bounded and nothing is lost', async () => {
    const acceptor = new RecordingAcceptor(false);
    const l = await listen(acceptor);
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    const frame = Buffer.alloc(16 * 1024);
    const frames = 256; // 4 MiB in total
    for (let i = 0; i < frames; i++) {
      frame.writeUInt32BE(i, 0);
      ws.send(Buffer.from(frame));
    }
    // Let the sender push as much as the network and the server will take.
    await new Promise((r) => setTimeout(r, 300));
    // Without the pause all 4 MiB would sit in the stream's buffer.
    expect(conn.stream.readableLength).toBeLessThan(1024 * 1024);
    // Now read everything: all frames arrive, in order.
    const chunks: Buffer[] = [];
    conn.stream.on('data', (c: Buffer) => chunks.push(c));
    await until(() => chunks.reduce((n, c) => n + c.length, 0) === frames * frame.length, 10_000, 'all bytes');
    const all = Buffer.concat(chunks);
    for (let i = 0; i < frames; i++) expect(all.readUInt32BE(i * frame.length)).toBe(i);
  });

  it('the client closing ends the stream', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    const ended = new Promise<void>((resolve) => conn.stream.once('end', () => resolve()));
    ws.close(1000);
    await ended;
    await conn.closed;
    expect(conn.error).toBeUndefined();
  });

  it('the broker ending the stream closes the WebSocket normally (1000)', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    const closing = closeCode(ws);
    conn.stream.end();
    expect(await closing).toBe(1000);
  });

  it('the broker destroying the stream closes the WebSocket', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    const closing = closeCode(ws);
    conn.stream.destroy();
    expect(await closing).toBe(1000);
  });

  it('reports the bytes of an incomplete frame as framedBytes, and destroying the stream mid-frame drops the connection', async () => {
    const acceptor = new RecordingAcceptor();
    // A close handshake would wait this long for the peer: the test would time out.
    const l = await listen(acceptor, { closeTimeout: 60_000 });
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    const stream = conn.stream as Duplex & FramedStream;
    const grew = new Promise<void>((resolve) => stream.on(FRAMED_BYTES_EVENT, () => stream.framedBytes >= 300 && resolve()));
    // A masked binary frame announcing 1000 bytes (header: 2 + 2 length + 4 mask bytes), then 300 of them.
    const raw = (ws as unknown as { _socket: Socket })._socket;
    raw.write(Buffer.concat([Buffer.from([0x82, 0x80 | 126, 0x03, 0xe8, 0, 0, 0, 0]), Buffer.alloc(300, 0x61)]));
    await grew;
    expect(stream.framedBytes).toBe(300); // the parsed header is no longer held
    expect(conn.bytes().length).toBe(0);
    // The peer cannot answer a close frame before finishing its frame: no close handshake is awaited.
    const closing = closeCode(ws);
    stream.destroy();
    expect(await closing).toBe(1006);
    expect(stream.framedBytes).toBe(0);
  });

  it('close() drops open connections, stops listening and is idempotent', async () => {
    const acceptor = new RecordingAcceptor();
    const l = await listen(acceptor);
    const ws = await open(l.url);
    const conn = await acceptor.connection(0);
    expect(l.connectionCount).toBe(1);
    const closing = closeCode(ws);
    await Promise.all([l.close(), l.close()]);
    expect(await closing).toBe(1006); // dropped without a close frame
    await conn.closed;
    expect(await openRaw(l.url, 'mqtt')).toMatchObject({ ok: false });
  });
});
