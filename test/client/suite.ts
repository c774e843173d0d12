/**
 * The client's functional suite, run against each real broker (mosquitto.test.ts,
 * broker-mini.test.ts): every QoS, handlers, retained messages, wills, persistent sessions,
 * keep-alive, unsubscribe, async iteration and the one-shot helpers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, publishSingle, subscribeSimple, type Message, type MqttClient } from '../../src/client/index.js';
import type { ClientOptions } from '../../src/client/index.js';
import type { Packet } from '../../src/codec/index.js';
import { until } from './fixtures.js';

/** Defines the suite against the broker `start` launches (skipped when `skip`). */
export function clientSuite(name: string, start: () => Promise<{ url: string; stop(): Promise<void> }>, skip = false): void {
  describe.skipIf(skip)(`client against ${name}`, () => {
    let server: { url: string; stop(): Promise<void> };
    let url: string;
    const open: MqttClient[] = [];

    async function client(options: ClientOptions = {}): Promise<MqttClient> {
      const c = await connect(url, { reconnect: false, ...options });
      open.push(c);
      return c;
    }

    /** Collects messages on `c` until `n` arrived. */
    function collect(c: MqttClient, n: number, ms = 10_000): Promise<Message[]> {
      const got: Message[] = [];
      const stream = c.messages();
      return (async () => {
        const timer = setTimeout(() => void stream.return(), ms);
        for await (const m of stream) {
          got.push(m);
          if (got.length >= n) break;
        }
        clearTimeout(timer);
        return got;
      })();
    }

    beforeAll(async () => {
      server = await start();
      url = server.url;
    });

    afterAll(async () => {
      await Promise.all(open.map((c) => c.end({ force: true })));
      await server?.stop();
    });

    it('[MQTT-4.3.1-1] [MQTT-4.3.2-1] [MQTT-4.3.3-1] publishes and receives at QoS 0, 1 and 2', async () => {
      const sub = await client();
      const granted = await sub.subscribe('q/#', { qos: 2 });
      expect(granted).toEqual([{ topicFilter: 'q/#', refused: false, qos: 2, returnCode: 2 }]);
      const got = collect(sub, 3);
      const pub = await client();
      for (const qos of [0, 1, 2] as const) await pub.publish(`q/${qos}`, `m${qos}`, { qos });
      const messages = await got;
      expect(messages.map((m) => [m.topic, m.text, m.qos])).toEqual([
        ['q/0', 'm0', 0],
        ['q/1', 'm1', 1],
        ['q/2', 'm2', 2],
      ]);
      expect(Buffer.isBuffer(messages[0]!.payload)).toBe(true);
    });

    it('per-filter handlers get matching messages, and the message event gets all', async () => {
      const c = await client();
      const handled: string[] = [];
      const all: string[] = [];
      c.handle('good', (m) => void handled.push(m.text));
      c.on('message', (topic, payload) => all.push(`${topic}=${payload.toString()}`));
      await c.subscribe(['good', 'bad']);
      await c.publish('bad', 'x', { qos: 1 });
      await c.publish('good', 'world', { qos: 1 });
      await until(() => all.length === 2, 5000, 'two messages');
      expect(handled).toEqual(['world']);
      expect(all).toEqual(['bad=x', 'good=world']);
    });

    it('delivers retained messages with retain set to new subscribers', async () => {
      const pub = await client();
      await pub.publish('r/x', 'kept', { qos: 1, retain: true });
      const sub = await client();
      const got = collect(sub, 1);
      await sub.subscribe('r/x', { qos: 1 });
      const [m] = await got;
      expect([m!.text, m!.retain]).toEqual(['kept', true]);
      await pub.publish('r/x', '', { qos: 1, retain: true }); // clear it
    });

    it('the server publishes the will when the client drops without DISCONNECT, not after end()', async () => {
      const watcher = await client();
      await watcher.subscribe('w/#', { qos: 1 });
      const got: string[] = [];
      watcher.on('message', (t, p) => got.push(`${t}=${p.toString()}`));
      const polite = await client({ will: { topic: 'w/polite', payload: 'gone', qos: 1 } });
      await polite.end();
      const rude = await client({ will: { topic: 'w/rude', payload: 'gone', qos: 1, retain: false } });
      rude.destroy();
      await until(() => got.length >= 1, 5000, 'the will');
      await new Promise((r) => setTimeout(r, 200));
      expect(got).toEqual(['w/rude=gone']);
    });

    it('[MQTT-3.1.2-4] [MQTT-3.1.3-2] [MQTT-4.1.0-1] resumes a persistent session: sessionPresent, and messages queued while away arrive', async () => {
      const id = `persist-${Date.now()}`;
      const first = await client({ clientId: id, cleanSession: false });
      expect(first.sessionPresent).toBe(false);
      await first.subscribe('p/t', { qos: 1 });
      await first.end();
      const pub = await client();
      for (let i = 0; i < 5; i++) await pub.publish('p/t', `q${i}`, { qos: 1 });
      const again = await client({ clientId: id, cleanSession: false });
      const texts: string[] = [];
      again.on('message', (_t, p) => texts.push(p.toString()));
      expect(again.sessionPresent).toBe(true);
      await until(() => texts.length === 5, 5000, 'queued messages');
      expect(texts).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
      await again.end();
      // [MQTT-3.1.2-6] cleanSession true discards it.
      const clean = await client({ clientId: id, cleanSession: true });
      expect(clean.sessionPresent).toBe(false);
    });

    it('[MQTT-3.1.3-7] connects with an empty clientId and cleanSession true', async () => {
      const c = await client({ clientId: '' });
      expect(c.connected).toBe(true);
      await expect(connect(url, { clientId: '', cleanSession: false })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', rule: 'MQTT-3.1.3-7' });
    });

    it('[MQTT-3.1.2-23] keeps an idle connection alive with PINGREQ', async () => {
      const sent: Packet[] = [];
      const received: Packet[] = [];
      const c = await client({ keepAlive: 1 });
      c.on('packetsend', (p) => sent.push(p));
      c.on('packetreceive', (p) => received.push(p));
      await until(() => received.filter((p) => p.cmd === 'pingresp').length >= 2, 6000, 'two PINGRESPs');
      expect(sent.filter((p) => p.cmd === 'pingreq').length).toBeGreaterThanOrEqual(2);
      expect(c.connected).toBe(true);
    });

    it('stops receiving after unsubscribe', async () => {
      const c = await client();
      const got: string[] = [];
      c.on('message', (t) => got.push(t));
      await c.subscribe('u/t', { qos: 1 });
      await c.publish('u/t', 'a', { qos: 1 });
      await until(() => got.length === 1, 5000, 'first message');
      await c.unsubscribe('u/t');
      await c.publish('u/t', 'b', { qos: 1 });
      await c.publish('u/other', 'sync', { qos: 1 });
      await new Promise((r) => setTimeout(r, 200));
      expect(got).toEqual(['u/t']);
    });

    it('messages() iterates and ends with the client', async () => {
      const c = await client();
      await c.subscribe('it/#', { qos: 1 });
      const stream = c.messages('it/#');
      for (let i = 0; i < 3; i++) await c.publish(`it/${i}`, String(i), { qos: 1 });
      const topics: string[] = [];
      for await (const m of stream) {
        topics.push(m.topic);
        if (topics.length === 3) void c.end();
      }
      expect(topics).toEqual(['it/0', 'it/1', 'it/2']);
    });

    it('publishSingle and subscribeSimple', async () => {
      const waiting = subscribeSimple(url, 's/one', { count: 2, qos: 1, timeout: 5000 });
      // The subscriber must be subscribed before publishing: retry until both arrive.
      const sender = (async () => {
        for (let i = 0; i < 50; i++) {
          await publishSingle(url, 's/one', `hello`, { qos: 1 });
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const got = (await waiting) as Message[];
      expect(got.map((m) => m.text)).toEqual(['hello', 'hello']);
      await sender;
      await expect(subscribeSimple(url, 's/none', { timeout: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    });
  });
}
