/**
 * Regressions found by attacking the client: a server that stops reading must not make the client
 * buffer without bound, even for QoS 0 publishes, which no acknowledgement paces.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { Decoder, encode, type PublishPacket } from '../../src/codec/index.js';
import type { MqttClient } from '../../src/client/core/index.js';
import { connect } from '../../src/client/index.js';
import { connectScripted } from './scripted.js';

const clients: MqttClient[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

const outcome = (p: Promise<void>): Promise<string> => p.then(
  () => 'ok',
  (e: { code?: string }) => e.code ?? String(e),
);

describe('a server that does not read', () => {
  it('holds QoS 0 publishes in the bounded queue while the transport is full: QUEUE_FULL beyond maxQueued, the rest sent in order once it drains', async () => {
    const { conn, client } = await connectScripted({ clientId: 'q0', maxQueued: 10, reconnect: false });
    clients.push(client);

    conn.writeResult = false; // the next write fills the transport's buffer
    const first = outcome(client.publish('t', '0'));
    const rest = Array.from({ length: 15 }, (_, i) => outcome(client.publish('t', String(i + 1))));
    // only the first went to the transport; 10 wait in the queue, 5 are refused
    expect((await Promise.all(rest.slice(10))).every((r) => r === 'QUEUE_FULL')).toBe(true);
    const publishes = () => conn.received.filter((p): p is PublishPacket => p.cmd === 'publish').map((p) => new TextDecoder().decode(p.payload));
    expect(publishes()).toEqual(['0']);

    conn.drain();
    expect(await first).toBe('ok');
    expect(await Promise.all(rest.slice(0, 10))).toEqual(Array(10).fill('ok'));
    expect(publishes()).toEqual(Array.from({ length: 11 }, (_, i) => String(i))); // in order
  });

  it('refuses a flood of QoS 0 publishes with QUEUE_FULL instead of buffering them all, over a real socket', async () => {
    // A server that answers CONNECT and then never reads again.
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      const decoder = new Decoder();
      socket.on('data', (chunk) => {
        decoder.push(chunk);
        if (decoder.next()?.cmd !== 'connect') return;
        socket.write(encode({ cmd: 'connack', sessionPresent: false, returnCode: 0 }));
        socket.pause();
      });
      socket.on('error', () => {});
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const client = await connect(`mqtt://127.0.0.1:${port}`, { reconnect: false, maxQueued: 100 });
    clients.push(client);

    // 64 MiB offered at once: far more than socket buffers hold. Without the bound every byte of it
    // would wait in the client's socket buffer.
    const payload = new Uint8Array(64 * 1024);
    let refused = 0;
    for (let i = 0; i < 1024; i++) client.publish('flood', payload).catch((e: { code?: string }) => void (e.code === 'QUEUE_FULL' && refused++));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // one write filled the socket's buffer, 100 wait in the queue: the rest are refused
    expect(refused).toBeGreaterThanOrEqual(1024 - 100 - 10);
    expect(client.connected).toBe(true);
    client.destroy();
    for (const s of sockets) s.destroy();
  });
});
