/**
 * The will message: the broker publishes it for a client that vanishes without DISCONNECT.
 * A watcher subscribes to `status/#`; a worker connects with a will and then drops its
 * connection abruptly (`destroy()`), as a crashed process or a cut cable would.
 *
 *   npx tsx examples/will.ts [mqtt://localhost:1883]      (or MQTT_URL=...)
 */
import { connect } from '../src/client/index.js';

const url = process.argv[2] ?? process.env.MQTT_URL ?? 'mqtt://localhost:1883';

const watcher = await connect(url);
await watcher.subscribe('status/#', { qos: 1 });
const will = new Promise<void>((resolve) =>
  watcher.on('message', (topic, payload) => {
    console.log(`watcher: ${topic} is "${payload.toString()}"`);
    if (payload.toString() === 'offline') resolve();
  }),
);

const worker = await connect(url, {
  will: { topic: 'status/worker', payload: 'offline', qos: 1, retain: true },
});
await worker.publish('status/worker', 'online', { qos: 1, retain: true });
console.log('worker: online; now dropping the connection without DISCONNECT');
worker.destroy(); // end() would send DISCONNECT, and the broker would discard the will

await will;
await watcher.publish('status/worker', '', { qos: 1, retain: true }); // clear the retained status
await watcher.end();
