/**
 * Authorisation at the moment of delivery: every PUBLISH the broker writes — live, queued while
 * offline, resent in flight, retained on subscribe — is checked against the user of the
 * connection it goes to; and a persistent session taken over by another user carries over only
 * what that user may read (README "Security model").
 */
import { describe, expect, it } from 'vitest';
import type { Packet, PublishPacket, QoS } from '../../src/codec/index.js';
import { parseConfig } from '../../src/broker-mini/config.js';
import type { BrokerOptions } from '../../src/broker-mini/options.js';
import { connectPacket } from '../helpers/raw-client.js';
import { Harness, bytes, settle, text } from './harness.js';

const publishes = (packets: Packet[]): PublishPacket[] => packets.filter((p): p is PublishPacket => p.cmd === 'publish');
const topics = (packets: Packet[]): string[] => publishes(packets).map((p) => p.topic);
const pub = (topic: string, qos: QoS, packetId = 1): PublishPacket =>
  ({ cmd: 'publish', topic, payload: bytes(topic), qos, retain: false, dup: false, ...(qos > 0 ? { packetId } : {}) }) as PublishPacket;

/** alice may read secret/#, mallory only public/#, pub may write anywhere. */
const options = (extra: BrokerOptions = {}): BrokerOptions => ({
  users: { alice: 'a', mallory: 'm', pub: 'p' },
  acl: [
    { user: 'alice', topic: 'secret/#', access: 'read' },
    { user: 'alice', topic: 'public/#', access: 'read' },
    { user: 'mallory', topic: 'public/#', access: 'read' },
    { user: 'pub', topic: '#', access: 'write' },
  ],
  ...extra,
});
const as = (username: string, password: string) => ({ username, password: bytes(password) });

/** A connection to `shared-id` with CleanSession=0 as `user`; nothing it was sent is taken yet. */
const resume = (h: Harness, user: string, password: string, cleanSession = false) =>
  h.open().send(connectPacket({ clientId: 'shared-id', cleanSession, ...as(user, password) }));

/** alice holds a persistent session `shared-id` subscribed to secret/# and public/# at QoS 1. */
function aliceSession(h: Harness) {
  const alice = h.connect({ clientId: 'shared-id', cleanSession: false, ...as('alice', 'a') });
  alice.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'secret/#', qos: 1 }, { topicFilter: 'public/#', qos: 1 }] });
  expect(alice.takeOne('suback').returnCodes).toEqual([1, 1]);
  return alice;
}

describe('authorisation at delivery, on takeover of a persistent session by another user', () => {
  it('[MQTT-3.1.2-5] mallory resuming alice’s session gets none of the QoS 1 messages queued on secret/…', () => {
    const logs: string[] = [];
    const h = new Harness(options({ logger: (l) => logs.push(l) }));
    aliceSession(h).send({ cmd: 'disconnect' });
    const p = h.connect({ clientId: 'p', ...as('pub', 'p') });
    for (let i = 1; i <= 3; i++) p.send(pub(`secret/${i}`, 1, i));
    p.send(pub('public/1', 1, 4));
    const mallory = resume(h, 'mallory', 'm');
    const got = mallory.take();
    expect(got[0]).toMatchObject({ cmd: 'connack', returnCode: 0, sessionPresent: true });
    expect(topics(got)).toEqual(['public/1']);
    expect(h.core.stats.subscriptionsDroppedOnTakeover).toBe(1);
    expect(h.core.stats.deniedOnDelivery).toBe(3);
    expect(logs.some((l) => /shared-id of user "alice" taken over by user "mallory": 1 subscription\(s\) dropped, 3 /.test(l))).toBe(true);
    // The dropped subscription is gone: a live message on secret/… does not reach her either.
    p.send(pub('secret/live', 1, 5), pub('public/2', 1, 6));
    expect(topics(mallory.take())).toEqual(['public/2']);
    expect(h.core.sessions.get('shared-id')!.subscriptions.has('secret/#')).toBe(false);
  });

  it('[MQTT-4.4.0-1] does not resend to another user a delivery left in flight by the previous one', () => {
    const h = new Harness(options());
    const alice = aliceSession(h);
    const p = h.connect({ clientId: 'p', ...as('pub', 'p') });
    p.send(pub('secret/a', 1, 1), pub('secret/b', 2, 2), pub('public/a', 1, 3));
    expect(topics(alice.take())).toEqual(['secret/a', 'secret/b', 'public/a']);
    alice.drop(); // nothing acknowledged: all three are in flight
    const got = resume(h, 'mallory', 'm').take();
    expect(got[0]).toMatchObject({ cmd: 'connack', sessionPresent: true });
    expect(publishes(got)).toMatchObject([{ topic: 'public/a', dup: true }]);
    expect(h.core.stats.deniedOnDelivery).toBe(2);
  });

  it('resends alice’s in-flight delivery to alice herself, as before', () => {
    const h = new Harness(options());
    const alice = aliceSession(h);
    h.connect({ clientId: 'p', ...as('pub', 'p') }).send(pub('secret/a', 1));
    expect(topics(alice.take())).toEqual(['secret/a']);
    alice.drop();
    const back = resume(h, 'alice', 'a');
    expect(publishes(back.take())).toMatchObject([{ topic: 'secret/a', dup: true }]);
    expect(h.core.stats.deniedOnDelivery).toBe(0);
  });

  it('takes over an online session: the first connection is closed and its secrets stay behind', () => {
    const h = new Harness(options());
    const alice = aliceSession(h);
    h.connect({ clientId: 'p', ...as('pub', 'p') }).send(pub('secret/a', 1));
    alice.take();
    const mallory = resume(h, 'mallory', 'm');
    expect(alice.isClosed).toBe(true);
    expect(publishes(mallory.take())).toEqual([]);
  });

  it('re-checks the subscriptions with an asynchronous authorizeSubscribe hook, too', async () => {
    const h = new Harness({
      users: { alice: 'a', mallory: 'm' },
      authorizeSubscribe: async (client, filter) => client.username === 'alice' || !filter.startsWith('secret/'),
    });
    const alice = h.connect({ clientId: 'shared-id', cleanSession: false, ...as('alice', 'a') });
    alice.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'secret/#', qos: 1 }, { topicFilter: 'public/#', qos: 1 }] });
    await settle();
    expect(alice.takeOne('suback').returnCodes).toEqual([1, 1]);
    alice.send({ cmd: 'disconnect' });
    h.core.publish('secret/x', 's', { qos: 1 });
    h.core.publish('public/x', 'p', { qos: 1 });
    const mallory = resume(h, 'mallory', 'm');
    await settle();
    expect(topics(mallory.take())).toEqual(['public/x']);
    expect(h.core.stats.subscriptionsDroppedOnTakeover).toBe(1);
    h.core.publish('secret/y', 's', { qos: 1 });
    expect(mallory.take()).toEqual([]);
  });

  it('takeoverByOtherUser "refuse": CONNACK 5 for another user, the session stays intact for its owner', () => {
    const h = new Harness(options({ takeoverByOtherUser: 'refuse' }));
    aliceSession(h).send({ cmd: 'disconnect' });
    h.core.publish('secret/x', 's', { qos: 1 });
    for (const cleanSession of [false, true]) {
      const mallory = resume(h, 'mallory', 'm', cleanSession);
      expect(mallory.take()).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 5 }]);
      expect(mallory.isClosed).toBe(true);
    }
    const back = resume(h, 'alice', 'a');
    const got = back.take();
    expect(got[0]).toMatchObject({ cmd: 'connack', returnCode: 0, sessionPresent: true });
    expect(publishes(got).map((p) => [p.topic, text(p.payload)])).toEqual([['secret/x', 's']]);
  });

  it('rejects an unknown takeoverByOtherUser value; config key takeover_by_other_user sets it', () => {
    expect(() => new Harness({ takeoverByOtherUser: 'maybe' as 'allow' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(parseConfig('takeover_by_other_user refuse').takeoverByOtherUser).toBe('refuse');
    expect(parseConfig('takeover_by_other_user allow').takeoverByOtherUser).toBe('allow');
    expect(() => parseConfig('takeover_by_other_user maybe')).toThrow(expect.objectContaining({ code: 'INVALID_VALUE', line: 1 }));
  });
});

describe('authorisation at delivery, for every way a PUBLISH goes out', () => {
  it('live: a broad subscription gets only what the ACL lets the user read', () => {
    const h = new Harness({ acl: [{ topic: '#', access: 'readwrite' }, { user: 'u', topic: 'secret/#', access: 'deny' }], users: { u: 'x' } });
    const s = h.subscriber('s', '#', 1, as('u', 'x'));
    const p = h.connect({ clientId: 'p' });
    p.send(pub('secret/a', 0), pub('secret/b', 1), pub('open/a', 1, 2));
    expect(topics(s.take())).toEqual(['open/a']);
    expect(h.core.stats.deniedOnDelivery).toBe(2);
  });

  it('[MQTT-3.3.1-6] retained on subscribe: skips the retained topics the user may not read', () => {
    const h = new Harness({ acl: [{ topic: '#', access: 'readwrite' }, { user: 'u', topic: 'secret/#', access: 'deny' }], users: { u: 'x' } });
    h.core.publish('secret/a', 's', { retain: true, qos: 1 });
    h.core.publish('open/a', 'o', { retain: true, qos: 1 });
    const s = h.connect({ clientId: 's', ...as('u', 'x') });
    s.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 1 }] });
    const got = s.take();
    expect(got[0]).toMatchObject({ cmd: 'suback', returnCodes: [1] });
    expect(publishes(got)).toMatchObject([{ topic: 'open/a', retain: true }]);
  });

  it('queued while offline: only what the session’s user may read is queued', () => {
    const h = new Harness({ acl: [{ topic: '#', access: 'readwrite' }, { user: 'u', topic: 'secret/#', access: 'deny' }], users: { u: 'x' } });
    h.subscriber('s', '#', 1, { cleanSession: false, ...as('u', 'x') }).send({ cmd: 'disconnect' });
    h.core.publish('secret/a', 's', { qos: 1 });
    h.core.publish('open/a', 'o', { qos: 1 });
    expect(h.core.sessions.get('s')!.queue.map((m) => m.topic)).toEqual(['open/a']);
  });
});
