/**
 * Delivery, retained messages and wills (spec 3.3, 3.1.2.5 – 3.1.2.7, 4.5 – 4.7), as a server
 * must handle them.
 */
import { encode, type PublishPacket, type QoS } from '../../codec/index.js';
import { CheckFailure, type Probe } from './probe.js';
import { publish, receivePublish, type CheckContext } from './context.js';
import type { Check } from './types.js';

const flags = (p: PublishPacket) => `PUBLISH q${p.qos}${p.dup ? ' dup' : ''}${p.retain ? ' retain' : ''} "${p.topic}" (${p.payload.length} B)`;

/** Every PUBLISH `probe` receives within a short while (acknowledged), for "how many came" checks. */
async function drain(probe: Probe, ms = 700): Promise<PublishPacket[]> {
  const got: PublishPacket[] = [];
  for (;;) {
    const seen = await probe.next(ms);
    if (seen.kind !== 'packet' || seen.packet.cmd !== 'publish') return got;
    const p = seen.packet;
    got.push(p);
    if (p.qos === 1) probe.send({ cmd: 'puback', packetId: p.packetId ?? 0 });
    if (p.qos === 2) probe.send({ cmd: 'pubrec', packetId: p.packetId ?? 0 });
  }
}

/** Connects with a will on `topic` and drops the connection (with DISCONNECT first if `polite`). */
async function leaveWill(ctx: CheckContext, topic: string, retain: boolean, polite: boolean): Promise<void> {
  if (retain) ctx.retained.add(topic);
  const { probe } = await ctx.connect({ will: { topic, payload: Buffer.from('gone'), qos: 1, retain } });
  if (polite) await probe.disconnect();
  else await probe.close();
}

export const PUBLISH_CHECKS: Check[] = [
  {
    rule: 'MQTT-2.3.1-4',
    text: 'The server gives each QoS 1/2 PUBLISH it sends a packet identifier not in use.',
    run: async (ctx) => {
      const topic = ctx.topic('ids');
      const sub = await ctx.subscriber([topic], 1);
      for (let i = 0; i < 3; i++) await ctx.publishOnce(publish(topic, String(i), 1));
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) ids.push((await sub.expect('publish', `delivery ${i + 1}, none acknowledged`)).packetId ?? 0);
      await sub.close();
      if (new Set(ids).size !== 3) throw new CheckFailure(`three unacknowledged deliveries with packet ids ${ids.join(', ')}`);
      return `three deliveries in flight with ids ${ids.join(', ')}`;
    },
  },
  {
    rule: 'MQTT-3.3.1-3',
    text: 'The server does not copy DUP from an inbound to an outbound PUBLISH.',
    run: async (ctx) => {
      const topic = ctx.topic('dup-copy');
      const sub = await ctx.subscriber([topic], 1);
      await ctx.publishOnce(publish(topic, 'x', 1, { dup: true }));
      const p = await receivePublish(sub, 'the delivery');
      await sub.disconnect();
      if (p.dup) throw new CheckFailure(`published with DUP 1, delivered as ${flags(p)}`);
      return `published with DUP 1, delivered with DUP 0`;
    },
  },
  {
    rule: 'MQTT-3.3.1-5',
    text: 'A PUBLISH with RETAIN 1 is stored for future subscribers.',
    run: async (ctx) => {
      const topic = ctx.topic('retained');
      await ctx.publishOnce(publish(topic, 'kept', 1, { retain: true }));
      const sub = await ctx.subscriber([topic], 1);
      const p = await receivePublish(sub, 'the retained message');
      await sub.disconnect();
      return `a later subscriber got ${flags(p)}`;
    },
  },
  {
    rule: 'MQTT-3.3.1-6',
    text: 'A new subscription gets the retained message of every matching topic.',
    run: async (ctx) => {
      const [a, b] = [ctx.topic('many/a'), ctx.topic('many/b')];
      await ctx.publishOnce(publish(a, 'a', 0, { retain: true }));
      await ctx.publishOnce(publish(b, 'b', 0, { retain: true }));
      const sub = await ctx.subscriber([ctx.topic('many/+')], 0);
      const got = await drain(sub);
      await sub.disconnect();
      const topics = got.map((p) => p.topic).sort();
      if (topics.join() !== [a, b].join()) throw new CheckFailure(`subscribing to many/+ brought ${got.map(flags).join(', ') || 'nothing'}`);
      return 'both retained messages of many/+ arrived';
    },
  },
  {
    rule: 'MQTT-3.3.1-8',
    text: 'Retained messages sent because of a new subscription have RETAIN 1.',
    run: async (ctx) => {
      const topic = ctx.topic('retain-flag');
      await ctx.publishOnce(publish(topic, 'kept', 0, { retain: true }));
      const sub = await ctx.subscriber([topic], 0);
      const p = await receivePublish(sub, 'the retained message');
      await sub.disconnect();
      if (!p.retain) throw new CheckFailure(`delivered as ${flags(p)}`);
      return flags(p);
    },
  },
  {
    rule: 'MQTT-3.3.1-9',
    text: 'Forwarding to an existing subscription, the server sets RETAIN 0.',
    run: async (ctx) => {
      const topic = ctx.topic('live');
      const sub = await ctx.subscriber([topic], 0);
      await ctx.publishOnce(publish(topic, 'live', 0, { retain: true }));
      const p = await receivePublish(sub, 'the live delivery');
      await sub.disconnect();
      if (p.retain) throw new CheckFailure(`delivered as ${flags(p)}`);
      return flags(p);
    },
  },
  {
    rule: 'MQTT-3.3.1-10',
    text: 'RETAIN 1 with an empty payload is forwarded and clears the retained message.',
    run: async (ctx) => {
      const topic = ctx.topic('clear');
      await ctx.publishOnce(publish(topic, 'old', 0, { retain: true }));
      const live = await ctx.subscriber([topic], 0);
      await receivePublish(live, 'the retained message');
      await ctx.publishOnce(publish(topic, '', 0, { retain: true }));
      const p = await receivePublish(live, 'the empty retained PUBLISH');
      await live.disconnect();
      const later = await ctx.subscriber([topic], 0);
      await later.expectNothing('a retained message after clearing it', 500);
      await later.disconnect();
      return `forwarded as ${flags(p)}; a later subscriber got nothing`;
    },
  },
  {
    rule: 'MQTT-3.3.1-11',
    text: 'The server never keeps an empty-payload message as the retained message.',
    run: async (ctx) => {
      const topic = ctx.topic('empty');
      await ctx.publishOnce(publish(topic, '', 0, { retain: true }));
      const sub = await ctx.subscriber([topic], 0);
      await sub.expectNothing('a retained message with an empty payload', 500);
      await sub.disconnect();
      return 'nothing retained';
    },
  },
  {
    rule: 'MQTT-3.3.1-12',
    text: 'A PUBLISH with RETAIN 0 neither stores nor touches the retained message.',
    run: async (ctx) => {
      const topic = ctx.topic('untouched');
      await ctx.publishOnce(publish(topic, 'kept', 0, { retain: true }));
      await ctx.publishOnce(publish(topic, 'passing', 0));
      const sub = await ctx.subscriber([topic], 0);
      const p = await receivePublish(sub, 'the retained message');
      await sub.disconnect();
      const payload = Buffer.from(p.payload).toString();
      if (payload !== 'kept') throw new CheckFailure(`retained payload is now "${payload}"`);
      return 'the retained message is still "kept"';
    },
  },
  {
    rule: 'MQTT-3.3.1-7',
    text: 'A retained QoS 0 PUBLISH replaces the older retained message.',
    run: async (ctx) => {
      const topic = ctx.topic('replace');
      await ctx.publishOnce(publish(topic, 'old', 1, { retain: true }));
      await ctx.publishOnce(publish(topic, 'new', 0, { retain: true }));
      const sub = await ctx.subscriber([topic], 1);
      const got = await drain(sub);
      await sub.disconnect();
      const payloads = got.map((p) => Buffer.from(p.payload).toString());
      if (payloads.join() !== 'new') throw new CheckFailure(`a new subscriber got ${JSON.stringify(payloads)}`);
      return 'only "new" is retained';
    },
  },
  {
    rule: 'MQTT-3.1.2-7',
    text: 'Retained messages survive the end of the session that published them.',
    run: async (ctx) => {
      const topic = ctx.topic('survives');
      await ctx.publishOnce(publish(topic, 'kept', 0, { retain: true })); // its CleanSession 1 session ended
      const sub = await ctx.subscriber([topic], 0);
      await receivePublish(sub, 'the retained message');
      await sub.disconnect();
      return 'retained after the publishing session ended';
    },
  },
  {
    rule: 'MQTT-3.3.2-3',
    text: 'The Topic Name delivered to a subscriber matches its filter.',
    run: async (ctx) => {
      const sub = await ctx.subscriber([ctx.topic('m/+/x')], 0);
      await ctx.publishOnce(publish(ctx.topic('m/1/y'), 'no', 0));
      await ctx.publishOnce(publish(ctx.topic('m/1/x'), 'yes', 0));
      const p = await receivePublish(sub, 'the matching publication');
      await sub.disconnect();
      if (p.topic !== ctx.topic('m/1/x')) throw new CheckFailure(`filter m/+/x got ${flags(p)}`);
      return `m/+/x got only m/1/x`;
    },
  },
  {
    rule: 'MQTT-3.3.5-1',
    text: 'With overlapping subscriptions the server delivers at the highest QoS granted.',
    run: async (ctx) => {
      // The QoS 2 grant sits on the exact filter, then on a wildcard one: a server may favour either.
      const shapes: Array<[string, QoS, string, QoS]> = [['#', 1, 'x', 2], ['+', 2, 'x', 1], ['#', 2, 'x', 1]];
      const seen: string[] = [];
      for (const [n, [wild, wq, exact, eq]] of shapes.entries()) {
        const [wf, ef] = [ctx.topic(`overlap${n}/${wild}`), ctx.topic(`overlap${n}/${exact}`)];
        const { probe: sub } = await ctx.connect();
        sub.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: wf, qos: wq }, { topicFilter: ef, qos: eq }] });
        const suback = await sub.expect('suback', 'SUBSCRIBE');
        await ctx.publishOnce(publish(ef, 'x', 2));
        const got = await drain(sub);
        await sub.disconnect();
        const shown = got.map((p) => `q${p.qos}`).join(' + ') || 'nothing';
        const what = `overlap${n}/${wild} q${wq} and overlap${n}/${exact} q${eq} (SUBACK [${suback.returnCodes.join(', ')}]): a QoS 2 publication on overlap${n}/x arrived as ${shown}`;
        if (Math.max(-1, ...got.map((p) => p.qos)) < 2) {
          const bytes = got[0] ? ` = ${Buffer.from(encode(got[0])).subarray(0, 4).toString('hex').replace(/(..)/g, '$1 ').trim()} …` : '';
          throw new CheckFailure(`${what}${bytes}`);
        }
        seen.push(what);
      }
      return seen.join('; ');
    },
  },
  {
    rule: 'MQTT-3.8.4-6',
    text: 'Delivered QoS is the lower of the publication\'s and the granted QoS.',
    run: async (ctx) => {
      const topic = ctx.topic('min');
      const sub = await ctx.subscriber([topic], 1);
      await ctx.publishOnce(publish(topic, 'two', 2));
      await ctx.publishOnce(publish(topic, 'zero', 0));
      const got = await drain(sub);
      await sub.disconnect();
      const qos = got.map((p) => p.qos).join(',');
      if (qos !== '1,0') throw new CheckFailure(`subscribed at QoS 1; QoS 2 and QoS 0 publications arrived as ${got.map(flags).join(', ')}`);
      return 'QoS 2 arrived at QoS 1, QoS 0 at QoS 0';
    },
  },
  {
    rule: 'MQTT-4.5.0-1',
    text: 'A message the server owns goes to every client with a matching subscription.',
    run: async (ctx) => {
      const topic = ctx.topic('fanout');
      const subs = [await ctx.subscriber([topic], 1), await ctx.subscriber([topic], 1), await ctx.subscriber([ctx.topic('#')], 1)];
      await ctx.publishOnce(publish(topic, 'all', 1));
      for (const [i, s] of subs.entries()) await receivePublish(s, `subscriber ${i + 1}`);
      await Promise.all(subs.map((s) => s.disconnect()));
      return 'all three subscribers got it';
    },
  },
  {
    rule: 'MQTT-4.6.0-6',
    text: 'Messages from one publisher on a topic are forwarded in the order they arrived.',
    run: async (ctx) => {
      const topic = ctx.topic('order');
      const sub = await ctx.subscriber([topic], 1);
      const { probe } = await ctx.connect();
      for (let i = 1; i <= 20; i++) probe.send(publish(topic, String(i), 1, { packetId: i }));
      for (let i = 1; i <= 20; i++) await probe.expect('puback', `PUBLISH ${i}`);
      const got: string[] = [];
      for (let i = 1; i <= 20; i++) got.push(Buffer.from((await receivePublish(sub, `message ${i}`)).payload).toString());
      await Promise.all([probe.disconnect(), sub.disconnect()]);
      if (got.join() !== Array.from({ length: 20 }, (_, i) => String(i + 1)).join()) throw new CheckFailure(`arrived as ${got.join(' ')}`);
      return '20 QoS 1 messages in order';
    },
  },
  {
    rule: 'MQTT-4.7.2-1',
    text: 'Filters starting with + or # do not match topic names starting with $.',
    run: async (ctx) => {
      const dollar = `$${ctx.topic('dollar')}`;
      const sub = await ctx.subscriber([`+/${ctx.run}/dollar`, `+/${ctx.run}/#`], 0);
      const { probe } = await ctx.connect();
      probe.send(publish(dollar, 'x', 1));
      // A server may refuse the $ topic (close, or PUBACK and drop); either way nothing may match.
      await probe.next();
      // Retained messages of earlier rows match +/<run>/#; only a $ topic would break the rule.
      const wrong = (await drain(sub)).filter((p) => p.topic.startsWith('$'));
      await Promise.all([probe.close(), sub.disconnect()]);
      if (wrong.length > 0) throw new CheckFailure(`+/… filters got ${wrong.map(flags).join(', ')}`);
      return `nothing delivered for ${dollar}`;
    },
  },
  {
    rule: 'MQTT-4.7.3-4',
    text: 'Matching compares raw strings: no normalisation of characters.',
    run: async (ctx) => {
      const composed = ctx.topic('caf\u00e9');
      const decomposed = ctx.topic('cafe\u0301');
      const sub = await ctx.subscriber([composed], 0);
      await ctx.publishOnce(publish(decomposed, 'no', 0));
      await ctx.publishOnce(publish(composed, 'yes', 0));
      const p = await receivePublish(sub, 'the exact match');
      await sub.disconnect();
      if (p.topic !== composed) throw new CheckFailure(`a filter with U+00E9 got a topic with U+0065 U+0301: ${flags(p)}`);
      return 'U+00E9 and e + U+0301 stayed different topics';
    },
  },
  {
    rule: 'MQTT-3.1.2-8',
    text: 'The will is published when the connection closes without DISCONNECT.',
    run: async (ctx) => {
      const topic = ctx.topic('will/abrupt');
      const sub = await ctx.subscriber([topic], 1);
      await leaveWill(ctx, topic, false, false);
      const p = await receivePublish(sub, 'the will');
      await sub.disconnect();
      return `will delivered: ${flags(p)}`;
    },
  },
  {
    rule: 'MQTT-3.14.4-3',
    text: 'On DISCONNECT the server discards the will without publishing it.',
    run: async (ctx) => {
      const topic = ctx.topic('will/polite');
      const sub = await ctx.subscriber([topic], 1);
      await leaveWill(ctx, topic, false, true);
      await sub.expectNothing('the will after a DISCONNECT', 700);
      await sub.disconnect();
      return 'no will after DISCONNECT';
    },
  },
  {
    rule: 'MQTT-3.1.2-12',
    text: 'Without a will, nothing is published when the connection ends.',
    run: async (ctx) => {
      const sub = await ctx.subscriber([ctx.topic('#')], 1);
      const { probe } = await ctx.connect();
      await probe.close();
      // Retained messages of earlier rows arrive for '#'; only a live (RETAIN 0) one would be a will.
      const live = (await drain(sub)).filter((p) => !p.retain);
      await sub.disconnect();
      if (live.length > 0) throw new CheckFailure(`after a client without a will vanished: ${live.map(flags).join(', ')}`);
      return 'nothing published';
    },
  },
  {
    rule: 'MQTT-3.1.2-16',
    text: 'Will Retain 0: the will is published as a normal, non-retained message.',
    run: async (ctx) => {
      const topic = ctx.topic('will/plain');
      await leaveWill(ctx, topic, false, false);
      const sub = await ctx.subscriber([topic], 1);
      await sub.expectNothing('a retained will', 700);
      await sub.disconnect();
      return 'not retained';
    },
  },
  {
    rule: 'MQTT-3.1.2-17',
    text: 'Will Retain 1: the will is published as a retained message.',
    run: async (ctx) => {
      const topic = ctx.topic('will/retained');
      const live = await ctx.subscriber([topic], 1);
      await leaveWill(ctx, topic, true, false);
      await receivePublish(live, 'the will');
      await live.disconnect();
      const sub = await ctx.subscriber([topic], 1);
      const p = await receivePublish(sub, 'the retained will');
      await sub.disconnect();
      return `a later subscriber got ${flags(p)}`;
    },
  },
];
