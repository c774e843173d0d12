/**
 * MQTT over TLS (`mqtts://`, default port 8883), trusting a given CA certificate.
 *
 *   npx tsx examples/tls.ts mqtts://localhost:8883 ca.crt      (or MQTT_URL=... MQTT_CA=...)
 *
 * For mosquitto, add a listener with `cafile`, `certfile` and `keyfile` (see its manual). With a
 * client certificate, pass `cert` and `key` too. Leave `rejectUnauthorized` on outside tests.
 */
import { readFileSync } from 'node:fs';
import { connect } from '../src/client/index.js';

const url = process.argv[2] ?? process.env.MQTT_URL ?? 'mqtts://localhost:8883';
const caFile = process.argv[3] ?? process.env.MQTT_CA;

const client = await connect(url, caFile ? { ca: readFileSync(caFile, 'utf8') } : {});
console.log(`connected to ${url} over TLS`);

client.handle('secure/#', (msg) => console.log(`${msg.topic}: ${msg.text}`));
await client.subscribe('secure/#', { qos: 1 });
await client.publish('secure/hello', 'encrypted on the wire', { qos: 1 });
await new Promise((resolve) => setTimeout(resolve, 200));
await client.end();
