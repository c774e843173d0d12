/**
 * Exactly-once delivery (QoS 2): `publish` resolves only after the four-packet flow
 * PUBLISH → PUBREC → PUBREL → PUBCOMP; the `logger` prints each packet as it goes.
 *
 *   npx tsx examples/qos2.ts [mqtt://localhost:1883]      (or MQTT_URL=...)
 */
import { connect } from '../src/client/index.js';

const url = process.argv[2] ?? process.env.MQTT_URL ?? 'mqtt://localhost:1883';
const logger = (line: string) => console.log(`  ${line}`);

const client = await connect(url, { logger });
const [granted] = await client.subscribe('orders/+', { qos: 2 });
if (granted === undefined) throw new Error('SUBACK without a return code');
console.log(`subscribed to ${granted.topicFilter}, granted QoS ${granted.qos}`);

const received = new Promise<void>((resolve) =>
  client.handle('orders/+', (msg) => {
    console.log(`received ${msg.topic} "${msg.text}" at QoS ${msg.qos} (once, even if the broker resends it)`);
    resolve();
  }),
);
await client.publish('orders/42', 'one coffee', { qos: 2 });
console.log('publish complete: the broker has the message exactly once');
await received;
await client.end();
