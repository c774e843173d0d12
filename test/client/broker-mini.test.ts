/**
 * The client's functional suite against broker-mini, the project's own broker.
 */
import { startBroker } from '../../src/broker-mini/index.js';
import { clientSuite } from './suite.js';

clientSuite('broker-mini', async () => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1' });
  return { url: `mqtt://127.0.0.1:${broker.address.port}`, stop: () => broker.close() };
});
