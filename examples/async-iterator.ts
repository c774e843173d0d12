/**
 * Reading messages with `for await`: subscribe to `sensors/#`, publish a few readings, and
 * consume them as a stream. The loop ends with `break` (or when the client ends).
 *
 *   npx tsx examples/async-iterator.ts [mqtt://localhost:1883]      (or MQTT_URL=...)
 */
import { connect } from '../src/client/index.js';

const url = process.argv[2] ?? process.env.MQTT_URL ?? 'mqtt://localhost:1883';
const client = await connect(url);

await client.subscribe('sensors/#', { qos: 1 });
// Create the stream before publishing so no reading is missed.
const readings = client.messages('sensors/#');

for (const [room, celsius] of [['kitchen', 21.5], ['hall', 19], ['attic', 24.25]] as const) {
  await client.publish(`sensors/${room}/temperature`, String(celsius), { qos: 1 });
}

let seen = 0;
for await (const msg of readings) {
  console.log(`${msg.topic} = ${msg.text} °C`);
  if (++seen === 3) break;
}
await client.end();
