/**
 * The classic first MQTT program (as in Paho's tutorial): publish "world" to `hello`, and
 * print what arrives on `good` through a per-topic handler.
 *
 *   npx tsx examples/paho-tutorial.ts [mqtt://localhost:1883]      (or MQTT_URL=...)
 *
 * Try `mosquitto_pub -t good -m hi` while it runs; Ctrl-C to stop.
 */
import { connect } from '../src/client/index.js';

const url = process.argv[2] ?? process.env.MQTT_URL ?? 'mqtt://localhost:1883';

const client = await connect(url, { keepAlive: 60 });
console.log(`connected to ${url} as ${client.clientId}`);

client.handle('good', (msg) => console.log(`${msg.topic}: ${msg.text}`));
await client.subscribe('good');
await client.publish('hello', 'world');
await client.publish('good', 'a message for myself', { qos: 1 });

process.once('SIGINT', () => void client.end());
