/**
 * The Node entry point: URL handling, NODE_DEBUG logging, TCP_NODELAY, transports registry.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { connect, getTransport, netTransport, registerTransport } from '../../src/client/index.js';

describe('connect() in Node', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    await broker.close();
  });

  it('NODE_DEBUG=mqtt311 logs packets to stderr, passwords redacted', async () => {
    vi.stubEnv('NODE_DEBUG', 'net,mqtt311');
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    const c = await connect(`mqtt://u:sekrit@127.0.0.1:${broker.address.port}`, { reconnect: false });
    await c.end();
    spy.mockRestore();
    vi.unstubAllEnvs();
    expect(lines.some((l) => /send CONNECT/.test(l))).toBe(true);
    expect(lines.some((l) => /recv CONNACK/.test(l))).toBe(true);
    expect(lines.join('\n')).not.toContain('sekrit');
  });

  it('logs nothing without NODE_DEBUG or a logger', async () => {
    vi.stubEnv('NODE_DEBUG', '');
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const c = await connect({ host: '127.0.0.1', port: broker.address.port, reconnect: false });
    await c.publish('t', 'x');
    await c.end();
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    vi.unstubAllEnvs();
  });

  it('[MQTT-7.1.2-1] runs over TCP (mqtt:, tcp:) and TLS (mqtts:, tls:, ssl:), and accepts a custom transport', async () => {
    const c = await connect(`tcp://127.0.0.1:${broker.address.port}`, { reconnect: false });
    await c.end();
    for (const p of ['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ssl:']) expect(getTransport(p)).toBe(netTransport);
    const opened: string[] = [];
    registerTransport('test:', async (options) => {
      opened.push(options.url.href);
      return netTransport({ ...options, url: new URL(`mqtt://${options.host}:${options.port}`) });
    }, 1);
    const d = await connect(`test://127.0.0.1:${broker.address.port}/path`, { reconnect: false });
    await d.end();
    expect(opened).toEqual([`test://127.0.0.1:${broker.address.port}/path`]);
  });

  it('turns off Nagle (TCP_NODELAY) on its sockets', async () => {
    // A bare server that answers any CONNECT with CONNACK 0 and sets no socket options itself.
    const { Socket, createServer } = await import('node:net');
    const server = createServer((s) => s.once('data', () => s.write(Uint8Array.of(0x20, 0x02, 0x00, 0x00))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const calls: Array<boolean | undefined> = [];
    const original = Socket.prototype.setNoDelay;
    const spy = vi.spyOn(Socket.prototype, 'setNoDelay').mockImplementation(function (this: InstanceType<typeof Socket>, v?: boolean) {
      calls.push(v);
      return original.call(this, v);
    });
    try {
      const c = await connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, reconnect: false });
      expect(calls).toEqual([true]);
      c.destroy();
    } finally {
      spy.mockRestore();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects with CONNECT_FAILED when nothing listens', async () => {
    const b = await startBroker({ port: 0, host: '127.0.0.1' });
    const port = b.address.port;
    await b.close();
    await expect(connect(`mqtt://127.0.0.1:${port}`, { reconnect: false })).rejects.toMatchObject({ code: 'CONNECT_FAILED', cause: { code: 'ECONNREFUSED' } });
  });
});
