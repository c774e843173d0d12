/**
 * Runs the browser example end to end on this machine:
 * - broker-mini on mqtt://127.0.0.1:1883 and ws://127.0.0.1:8080 (sharing sessions and retained
 *   messages between the two),
 * - the browser bundle built into dist/browser/mqtt311.js,
 * - this folder and the bundle served on http://127.0.0.1:8000.
 *
 *   npx tsx examples/browser/serve.ts
 *   # open http://127.0.0.1:8000/ and, in another terminal:
 *   npx tsx src/cli/main.ts pub -t mqtt311/browser/demo -m hello   (or mosquitto_pub -t … -m …)
 *
 * Ports come from MQTT_PORT, WS_PORT and HTTP_PORT. Stop with Ctrl-C.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startBroker } from '../../src/broker-mini/index.js';
import { startWsListener } from '../../src/broker-mini/ws-listener.js';
import { buildBrowserBundle } from '../../scripts/build-browser.js';

const mqttPort = Number(process.env.MQTT_PORT ?? 1883);
const wsPort = Number(process.env.WS_PORT ?? 8080);
const httpPort = Number(process.env.HTTP_PORT ?? 8000);

const bundle = await buildBrowserBundle();
const broker = await startBroker({ port: mqttPort, host: '127.0.0.1' });
const ws = await startWsListener(broker, { port: wsPort, host: '127.0.0.1' });

const here = import.meta.dirname;
const files: Record<string, [string, string]> = {
  '/': [join(here, 'index.html'), 'text/html'],
  '/index.html': [join(here, 'index.html'), 'text/html'],
  '/app.js': [join(here, 'app.js'), 'text/javascript'],
  '/mqtt311.js': [bundle.outfile, 'text/javascript'],
  '/mqtt311.js.map': [`${bundle.outfile}.map`, 'application/json'],
};
const http = createServer((req, res) => {
  const file = files[new URL(req.url ?? '/', 'http://127.0.0.1').pathname];
  if (!file) return void res.writeHead(404).end('not found\n');
  readFile(file[0]).then(
    (body) => res.writeHead(200, { 'Content-Type': file[1] }).end(body),
    () => res.writeHead(500).end(),
  );
});
await new Promise<void>((resolve) => http.listen(httpPort, '127.0.0.1', resolve));

console.log(`broker   mqtt://127.0.0.1:${broker.address.port}  ${ws.url}`);
console.log(`page     http://127.0.0.1:${httpPort}/?broker=${encodeURIComponent(ws.url)}`);

process.once('SIGINT', () => {
  http.close();
  void ws.close().then(() => broker.close());
});
