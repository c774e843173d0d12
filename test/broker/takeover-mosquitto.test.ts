/**
 * Issue 11's scenario, over real sockets, against broker-mini and against real mosquitto 2.0.11
 * (password_file from `mosquitto_passwd`, acl_file): alice (may read `secret/#`) leaves a
 * persistent session `shared-id` subscribed to `secret/#`; three QoS 1 messages are queued for it;
 * mallory (may read only `public/#`) connects as `shared-id` with CleanSession=0. What each broker
 * then writes to mallory — queued, live, resent in flight, retained on subscribe — is recorded;
 * broker-mini must write nothing on `secret/…`, and mosquitto's record is asserted as observed,
 * so the README's comparison ("Session takeover") stays true.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Packet, PublishPacket } from '../../src/codec/index.js';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { makeTempDir, requirePeer, runProcess, startMosquitto, stopAllProcesses, type MosquittoHandle } from '../helpers/peers.js';
import { RawClient, closeAllRawClients } from '../helpers/raw-client.js';

const run = requirePeer('mosquitto') && requirePeer('mosquitto_passwd', 'apt-get install -y mosquitto');
const PASSWORDS = { alice: 'alice-pw', mallory: 'mallory-pw', pub: 'pub-pw' } as const;
type User = keyof typeof PASSWORDS;
const ACL_FILE = 'user alice\ntopic read secret/#\ntopic read public/#\n\nuser mallory\ntopic read public/#\n\nuser pub\ntopic write #\n';

/** What one broker wrote to mallory, step by step. */
interface Record {
  sessionPresent: boolean;
  queued: string[];
  live: string[];
  inflight: string[];
  retainedSubAck: number[];
  retained: string[];
}

async function client(port: number, user: User, clientId: string, cleanSession: boolean): Promise<{ c: RawClient; sessionPresent: boolean }> {
  const c = await RawClient.connect(port);
  const connack = await c.handshake({ clientId, cleanSession, username: user, password: new TextEncoder().encode(PASSWORDS[user]) });
  if (connack.returnCode !== 0) throw new Error(`${user} refused: CONNACK ${connack.returnCode}`);
  return { c, sessionPresent: connack.sessionPresent };
}

/** Reads until `until` matches, acknowledging QoS 1 PUBLISHes; returns the topics published. */
async function readUntil(c: RawClient, until: (p: Packet) => boolean): Promise<string[]> {
  const topics: string[] = [];
  for (;;) {
    const p = await c.next(3_000);
    if (p.cmd === 'publish') {
      topics.push(p.topic);
      if (p.qos === 1) c.send({ cmd: 'puback', packetId: p.packetId! });
    }
    if (until(p)) return topics;
  }
}

/** Everything the broker sends before answering a PINGREQ: what it had for us on connecting. */
const drain = (c: RawClient) => {
  c.send({ cmd: 'pingreq' });
  return readUntil(c, (p) => p.cmd === 'pingresp');
};

const publish = async (c: RawClient, topic: string, packetId: number, retain = false) => {
  c.send({ cmd: 'publish', topic, payload: new TextEncoder().encode('x'), qos: 1, retain, dup: false, packetId } as PublishPacket);
  await c.expect('puback');
};

const subscribe = async (c: RawClient, topicFilter: string) => {
  c.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos: 1 }] });
  return (await c.expect('suback')).returnCodes;
};

async function scenario(port: number): Promise<Record> {
  const pub = (await client(port, 'pub', 'publisher', true)).c;
  // alice's persistent session, subscribed to secret/#, left without a connection.
  const alice = (await client(port, 'alice', 'shared-id', false)).c;
  await subscribe(alice, 'secret/#');
  alice.send({ cmd: 'disconnect' });
  await alice.closed;
  for (let i = 1; i <= 3; i++) await publish(pub, `secret/${i}`, i);
  // mallory resumes it: the queued messages, then live ones.
  const { c: mallory, sessionPresent } = await client(port, 'mallory', 'shared-id', false);
  const queued = await drain(mallory);
  await subscribe(mallory, 'public/#');
  await publish(pub, 'secret/live', 4);
  await publish(pub, 'public/marker', 5);
  const live = await readUntil(mallory, (p) => p.cmd === 'publish' && p.topic === 'public/marker');
  // A delivery in flight to alice (never acknowledged) when mallory takes the session over.
  const alice2 = (await client(port, 'alice', 'inflight-id', false)).c;
  await subscribe(alice2, 'secret/#');
  await publish(pub, 'secret/inflight', 6);
  await alice2.expect('publish');
  alice2.destroy();
  await alice2.closed;
  const mallory2 = (await client(port, 'mallory', 'inflight-id', false)).c;
  const inflight = await drain(mallory2);
  // A retained message on a topic she may not read.
  await publish(pub, 'secret/retained', 7, true);
  const retainedSubAck = await subscribe(mallory2, 'secret/#');
  const retained = await drain(mallory2);
  await closeAllRawClients();
  return { sessionPresent, queued, live, inflight, retainedSubAck, retained };
}

describe.skipIf(!run)('session takeover by another user: broker-mini beside mosquitto', () => {
  let mosquitto: MosquittoHandle;
  let broker: Broker;
  const logs: string[] = [];

  beforeAll(async () => {
    const dir = makeTempDir('mqtt311-takeover-');
    const passwd = join(dir, 'passwd');
    for (const [i, [user, password]] of Object.entries(PASSWORDS).entries()) {
      const r = await runProcess('mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', passwd, user, password]);
      if (r.code !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
    }
    writeFileSync(join(dir, 'acl'), ACL_FILE);
    [mosquitto, broker] = await Promise.all([
      startMosquitto([`password_file ${passwd}`, `acl_file ${join(dir, 'acl')}`]),
      startBroker({
        port: 0,
        users: { ...PASSWORDS },
        acl: [
          { user: 'alice', topic: 'secret/#', access: 'read' },
          { user: 'alice', topic: 'public/#', access: 'read' },
          { user: 'mallory', topic: 'public/#', access: 'read' },
          { user: 'pub', topic: '#', access: 'write' },
        ],
        logger: (l) => logs.push(l),
      }),
    ]);
  });
  afterAll(async () => {
    await closeAllRawClients();
    await Promise.all([mosquitto?.stop(), broker?.close()]);
    await stopAllProcesses();
  });

  it('broker-mini writes mallory nothing on secret/…: not queued, live, in flight or retained', async () => {
    const r = await scenario(broker.address.port);
    expect(r).toEqual({ sessionPresent: true, queued: [], live: ['public/marker'], inflight: [], retainedSubAck: [0x80], retained: [] });
    expect(broker.stats.subscriptionsDroppedOnTakeover).toBe(2);
    expect(broker.stats.deniedOnDelivery).toBe(4);
    expect(logs.filter((l) => l.includes('taken over by user "mallory"'))).toHaveLength(2);
  });

  it('mosquitto 2.0.11, for comparison (recorded as observed)', async () => {
    const r = await scenario(mosquitto.port);
    console.log('mosquitto 2.0.11 on takeover by another user:', JSON.stringify(r));
    expect(r).toEqual({ sessionPresent: true, queued: [], live: ['public/marker'], inflight: [], retainedSubAck: [1], retained: [] });
  });
});
