/**
 * `maxPacketSize`: the largest packet the client accepts from a server. A server announcing a
 * bigger one is refused from the packet's fixed header alone, so it cannot make the client buffer
 * up to the protocol's 256 MB for one packet.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/index.js';
import type { MqttClient } from '../../src/client/core/index.js';
import { resolveOptions } from '../../src/client/core/options.js';
import { connectScripted } from './scripted.js';

const clients: MqttClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

/** The fixed header of a QoS 0 PUBLISH whose Remaining Length is `length` (spec 2.2.3). */
function publishHeader(length: number): Uint8Array {
  const out = [0x30];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    out.push(byte);
  } while (length > 0);
  return Uint8Array.from(out);
}

describe('client maxPacketSize', () => {
  it('refuses a packet larger than maxPacketSize before buffering it: the connection closes with PACKET_TOO_LARGE', async () => {
    const { conn, client } = await connectScripted({ clientId: 'small', maxPacketSize: 1024, reconnect: false });
    clients.push(client);
    const closed = new Promise<unknown>((resolve) => client.on('close', resolve));

    // a packet of exactly 1024 bytes is accepted: 3-byte fixed header + 1021 bytes of body
    const fits = encode({ cmd: 'publish', topic: 't', payload: new Uint8Array(1021 - 3), qos: 0, retain: false, dup: false });
    expect(fits.length).toBe(1024);
    const got = new Promise<Uint8Array>((resolve) => client.on('message', (_t, payload) => resolve(payload)));
    conn.send(fits);
    expect((await got).length).toBe(1018);

    // one announcing 10 MiB: only its header and a few bytes of body ever arrive
    conn.send(publishHeader(10 * 1024 * 1024));
    conn.send(new Uint8Array([0, 1, 0x74]));
    expect(await closed).toMatchObject({ name: 'MqttError', code: 'PACKET_TOO_LARGE' });
    expect(client.connected).toBe(false);
  });

  it('defaults to 64 MiB, and refuses a limit the protocol cannot frame', () => {
    expect(resolveOptions('mqtt://localhost').maxPacketSize).toBe(64 * 1024 * 1024);
    expect(() => resolveOptions('mqtt://localhost', { maxPacketSize: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => resolveOptions('mqtt://localhost', { maxPacketSize: 268_435_461 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
