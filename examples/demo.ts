/**
 * `npm start`: a broker, a subscriber and a publisher talking, every packet on the wire printed.
 *
 * The broker is broker-mini on 127.0.0.1 (port 1883 when it is free, else any free port).
 * The subscriber watches `hello` and `good` (like `mosquitto_sub -v -t hello`); the publisher
 * sends `world` to `hello` at QoS 0, 1 and 2 and a retained message to `good`. Run it with
 * `npx tsx examples/demo.ts`.
 */
import { startBroker } from '../src/broker-mini/index.js';
import { connect } from '../src/client/index.js';
import { encode, formatInspection, inspect } from '../src/codec/index.js';

async function listen() {
  try {
    return await startBroker({ port: 1883, host: '127.0.0.1' });
  } catch {
    return await startBroker({ port: 0, host: '127.0.0.1' }); // 1883 is taken: any free port
  }
}

const broker = await listen();
const url = `mqtt://127.0.0.1:${broker.address.port}`;
console.log(`broker-mini listening on ${url}\n`);

// Each client logs one line per packet it sends and receives (passwords redacted).
const logger = (line: string) => console.log(`  ${line}`);

const subscriber = await connect(url, { clientId: 'subscriber', keepAlive: 60, logger });
const received = new Promise<void>((resolve) => {
  let count = 0;
  subscriber.on('message', (topic, payload, packet) => {
    console.log(`\n  subscriber got: ${topic} ${payload.toString()} (QoS ${packet.qos}${packet.retain ? ', retained' : ''})\n`);
    if (++count === 4) resolve();
  });
});
await subscriber.subscribe({ hello: 2, good: 1 });

const publisher = await connect(url, { clientId: 'publisher', keepAlive: 60, logger });
await publisher.publish('hello', 'world'); // QoS 0: resolves once written
await publisher.publish('hello', 'world', { qos: 1 }); // resolves on PUBACK
await publisher.publish('hello', 'world', { qos: 2 }); // resolves on PUBCOMP
await publisher.publish('good', 'morning', { qos: 1, retain: true });
await received;

await publisher.end();
await subscriber.end();
await broker.close();

// The same PUBLISH, byte by byte, as `mqtt311 decode` prints it.
console.log('\nThe QoS 1 PUBLISH above, field by field:\n');
const bytes = encode({ cmd: 'publish', topic: 'hello', payload: new TextEncoder().encode('world'), qos: 1, retain: false, dup: false, packetId: 1 });
console.log(formatInspection(inspect(bytes)));
