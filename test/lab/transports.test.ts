/**
 * `mqtt311 proxy` on every transport it offers: WebSocket and TLS on the listening side, TLS and
 * WebSocket towards the broker, with our own client on one end and broker-mini on the other.
 */
import { createServer as createTlsServer } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker } from '../../src/broker-mini/index.js';
import { startWsListener } from '../../src/broker-mini/ws-listener.js';
import { connect } from '../../src/client/index.js';
import { runChecks } from '../../src/lab/check/suite.js';
import { closeAllRawClients, RawClient } from '../helpers/raw-client.js';
import { cleanupTempDirs, makeTempDir, requirePeer } from '../helpers/peers.js';
import { makeCertificate } from '../ws/helpers.js';
import { startProxyCli } from './helpers.js';

afterAll(async () => {
  await closeAllRawClients();
  cleanupTempDirs();
});

describe.skipIf(!requirePeer('openssl', 'apt-get install -y openssl'))('proxy transports', () => {
  it('accepts MQTT over secure WebSocket and forwards it over TLS (--listen-ws --cert --key, --tls --cafile)', { timeout: 30_000 }, async () => {
    const { cert, key } = makeCertificate();
    const dir = makeTempDir('mqtt311-lab-tls-');
    for (const [name, data] of [['cert.pem', cert], ['key.pem', key]] as const) writeFileSync(join(dir, name), data);
    const broker = await startBroker({ port: 0 });
    const tlsServer = createTlsServer({ cert, key }, (socket) => broker.handleConnection(socket));
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    const tlsPort = (tlsServer.address() as AddressInfo).port;
    const proxy = await startProxyCli(['--to', `127.0.0.1:${tlsPort}`, '--tls', '--cafile', join(dir, 'cert.pem'), '--listen-ws', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')]);
    try {
      expect(proxy.stderr.text).toMatch(/listening on ws\+tls:\/\/127\.0\.0\.1:\d+/);
      const client = await connect(`wss://127.0.0.1:${proxy.port}/`, { clientId: 'wss-through', ca: cert, reconnect: false });
      await client.subscribe('t', { qos: 1 });
      const got = new Promise<string>((resolve) => client.on('message', (_t, payload) => resolve(payload.toString())));
      await client.publish('t', 'over wss and tls', { qos: 1 });
      expect(await got).toBe('over wss and tls');
      await client.end();
      const out = await proxy.stdout.waitFor(/connection closed/);
      // mqtt311 check reaches the same broker over TLS, and the proxy over secure WebSocket.
      const checks = await runChecks({ target: { host: '127.0.0.1', port: tlsPort, tls: { ca: cert } } }, undefined, (r) => r.startsWith('MQTT-7.1.1-1'));
      expect(checks).toMatchObject([{ status: 'PASS', detail: 'connected over TLS' }]);
      const viaWs = await runChecks({ target: { host: '127.0.0.1', port: proxy.port, tls: { ca: cert }, wsPath: '/' } }, undefined, (r) => ['MQTT-6.0.0-4', 'MQTT-3.12.4-1'].includes(r));
      expect(viaWs.map((r) => r.status)).toEqual(['PASS', 'PASS']);
      expect(out).toMatch(/C→S +\d+ B +CONNECT clientId="wss-through"/);
      expect(out).toMatch(/S→C +\d+ B +PUBLISH q1 id=\d+ "t" \(16 B\)/);
      expect(out).not.toMatch(/!!/);
    } finally {
      await proxy.stop();
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
      await broker.close();
    }
  });

  it('reaches a broker over WebSocket (--ws PATH)', { timeout: 30_000 }, async () => {
    const broker = await startBroker({ port: 0 });
    const ws = await startWsListener(broker, { port: 0, host: '127.0.0.1', path: '/mqtt' });
    const port = Number(new URL(ws.url).port);
    const proxy = await startProxyCli(['--to', `127.0.0.1:${port}`, '--ws', '/mqtt']);
    try {
      const client = await RawClient.connect(proxy.port);
      expect((await client.handshake({ clientId: 'tcp-to-ws' })).returnCode).toBe(0);
      client.send({ cmd: 'pingreq' });
      expect((await client.next()).cmd).toBe('pingresp');
      await client.close();
      const out = await proxy.stdout.waitFor(/connection closed/);
      expect(out).toMatch(/S→C +2 B +PINGRESP/);
    } finally {
      await proxy.stop();
      await ws.close();
      await broker.close();
    }
  });
});
