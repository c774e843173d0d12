/**
 * The client against a real mosquitto started by the test (127.0.0.1, temporary config): the
 * functional suite, then TLS with a certificate made at test time, and a refused CONNECT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { cleanupTempDirs, makeTempDir, requirePeer, startMosquitto, stopAllProcesses, type MosquittoHandle } from '../helpers/peers.js';
import { makePki, type TestPki } from './fixtures.js';
import { clientSuite } from './suite.js';

const run = requirePeer('mosquitto');

clientSuite(
  'mosquitto',
  async () => {
    const mosq = await startMosquitto();
    return {
      url: `mqtt://127.0.0.1:${mosq.port}`,
      async stop() {
        await mosq.stop();
        await stopAllProcesses();
      },
    };
  },
  !run,
);

describe.skipIf(!run)('client against mosquitto: authentication and TLS', () => {
  let pki: TestPki;
  let mosq: MosquittoHandle;

  beforeAll(async () => {
    pki = makePki(makeTempDir('mqtt311-pki-'));
    mosq = await startMosquitto([`cafile ${pki.caFile}`, `certfile ${pki.certFile}`, `keyfile ${pki.keyFile}`]);
  });

  afterAll(async () => {
    await mosq?.stop();
    await stopAllProcesses();
    cleanupTempDirs();
  });

  it('connects over TLS with the test CA', async () => {
    const c = await connect(`mqtts://127.0.0.1:${mosq.port}`, { ca: pki.ca, reconnect: false });
    await c.subscribe('tls/t', { qos: 1 });
    const got = c.messages('tls/t');
    await c.publish('tls/t', 'secret', { qos: 2 });
    expect((await got.next()).value?.text).toBe('secret');
    await c.end();
  });

  it('refuses a server certificate it cannot verify', async () => {
    const error = await connect(`mqtts://127.0.0.1:${mosq.port}`, { reconnect: false }).catch((e) => e);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('rejects with ConnackError 5 when the broker refuses anonymous clients', async () => {
    const strict = await startMosquitto(['allow_anonymous false']);
    try {
      const error = await connect(`mqtt://127.0.0.1:${strict.port}`, { reconnect: false }).catch((e) => e);
      expect(error).toMatchObject({ name: 'ConnackError', code: 'CONNACK_REFUSED', returnCode: 5, message: 'CONNACK 5: not authorized' });
    } finally {
      await strict.stop();
    }
  });
});
