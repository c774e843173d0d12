/**
 * SUBSCRIBE, UNSUBSCRIBE and their acknowledgements (spec 3.8 – 3.11), as a server must handle
 * them.
 */
import { CheckFailure } from './probe.js';
import { publish, receivePublish } from './context.js';
import type { Check } from './types.js';

export const SUBSCRIBE_CHECKS: Check[] = [
  {
    rule: 'MQTT-3.8.4-1',
    text: 'The server answers every SUBSCRIBE with a SUBACK.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      for (let id = 1; id <= 3; id++) probe.send({ cmd: 'subscribe', packetId: id, subscriptions: [{ topicFilter: ctx.topic(`s${id}`), qos: 0 }] });
      for (let id = 1; id <= 3; id++) await probe.expect('suback', `SUBSCRIBE ${id}`);
      await probe.disconnect();
      return 'three SUBSCRIBE, three SUBACK';
    },
  },
  {
    rule: 'MQTT-3.8.4-2',
    text: 'The SUBACK carries the SUBSCRIBE\'s packet identifier.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send({ cmd: 'subscribe', packetId: 0xbeef, subscriptions: [{ topicFilter: ctx.topic('id'), qos: 0 }] });
      const suback = await probe.expect('suback', 'SUBSCRIBE id=48879');
      await probe.disconnect();
      if (suback.packetId !== 0xbeef) throw new CheckFailure(`SUBACK id=${suback.packetId} for SUBSCRIBE id=48879`);
      return 'SUBACK id=48879';
    },
  },
  {
    rule: 'MQTT-3.8.4-5',
    text: 'The SUBACK has one return code per requested filter.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send({ cmd: 'subscribe', packetId: 1, subscriptions: [0, 2, 1].map((qos, i) => ({ topicFilter: ctx.topic(`n${i}`), qos: qos as 0 | 1 | 2 })) }); // the literals in the list are QoS values
      const suback = await probe.expect('suback', 'SUBSCRIBE with three filters');
      await probe.disconnect();
      if (suback.returnCodes.length !== 3) throw new CheckFailure(`SUBACK [${suback.returnCodes.join(', ')}] for three filters`);
      return `SUBACK [${suback.returnCodes.join(', ')}]`;
    },
  },
  {
    rule: 'MQTT-3.9.3-1',
    text: 'SUBACK return codes follow the order of the filters.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send({ cmd: 'subscribe', packetId: 1, subscriptions: [0, 2, 1].map((qos, i) => ({ topicFilter: ctx.topic(`o${i}`), qos: qos as 0 | 1 | 2 })) }); // the literals in the list are QoS values
      const suback = await probe.expect('suback', 'SUBSCRIBE q0, q2, q1');
      await probe.disconnect();
      if (suback.returnCodes.join() !== '0,2,1') throw new CheckFailure(`SUBACK [${suback.returnCodes.join(', ')}] for filters at QoS 0, 2, 1`);
      return 'SUBACK [0, 2, 1] for QoS 0, 2, 1';
    },
  },
  {
    rule: 'MQTT-3.8.4-3',
    text: 'Re-subscribing an identical filter replaces it and re-sends matching retained messages.',
    run: async (ctx) => {
      const topic = ctx.topic('resub');
      await ctx.publishOnce(publish(topic, 'kept', 1, { retain: true }));
      const { probe } = await ctx.connect();
      probe.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: topic, qos: 2 }] });
      await probe.expect('suback', 'SUBSCRIBE');
      await receivePublish(probe, 'the retained message');
      probe.send({ cmd: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: topic, qos: 0 }] });
      await probe.expect('suback', 'the second SUBSCRIBE');
      const again = await receivePublish(probe, 'the retained message after re-subscribing');
      await ctx.publishOnce(publish(topic, 'live', 2));
      const live = await receivePublish(probe, 'a live message');
      await probe.disconnect();
      if (live.qos !== 0) throw new CheckFailure(`re-subscribed at QoS 0, a QoS 2 message arrived at QoS ${live.qos}: one subscription was not replaced`);
      return `retained re-sent (q${again.qos}); live message at the new QoS 0`;
    },
  },
  {
    rule: 'MQTT-3.8.4-4',
    text: 'A multi-filter SUBSCRIBE works as several SUBSCRIBEs with one SUBACK.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: ctx.topic('ma'), qos: 0 }, { topicFilter: ctx.topic('mb'), qos: 0 }] });
      await probe.expect('suback', 'SUBSCRIBE with two filters');
      await ctx.publishOnce(publish(ctx.topic('ma'), 'a', 0));
      await ctx.publishOnce(publish(ctx.topic('mb'), 'b', 0));
      await receivePublish(probe, 'the message on the first filter');
      await receivePublish(probe, 'the message on the second filter');
      await probe.disconnect();
      return 'one SUBACK; both filters deliver';
    },
  },
  {
    rule: 'MQTT-2.3.1-7',
    text: 'SUBACK and UNSUBACK echo the identifier of the packet they answer.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send({ cmd: 'subscribe', packetId: 300, subscriptions: [{ topicFilter: ctx.topic('echo'), qos: 0 }] });
      probe.send({ cmd: 'unsubscribe', packetId: 301, topicFilters: [ctx.topic('echo')] });
      const s = await probe.expect('suback', 'SUBSCRIBE id=300');
      const u = await probe.expect('unsuback', 'UNSUBSCRIBE id=301');
      await probe.disconnect();
      if (s.packetId !== 300 || u.packetId !== 301) throw new CheckFailure(`SUBACK id=${s.packetId}, UNSUBACK id=${u.packetId} for 300, 301`);
      return 'SUBACK id=300, UNSUBACK id=301';
    },
  },
  {
    rule: 'MQTT-3.10.4-4',
    text: 'UNSUBSCRIBE is answered by UNSUBACK with the same packet identifier.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: ctx.topic('u'), qos: 0 }] });
      await probe.expect('suback', 'SUBSCRIBE');
      probe.send({ cmd: 'unsubscribe', packetId: 777, topicFilters: [ctx.topic('u')] });
      const u = await probe.expect('unsuback', 'UNSUBSCRIBE id=777');
      await probe.disconnect();
      if (u.packetId !== 777) throw new CheckFailure(`UNSUBACK id=${u.packetId} for UNSUBSCRIBE id=777`);
      return 'UNSUBACK id=777';
    },
  },
  {
    rule: 'MQTT-3.10.4-5',
    text: 'The server sends UNSUBACK even if nothing was unsubscribed.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send({ cmd: 'unsubscribe', packetId: 5, topicFilters: [ctx.topic('never')] });
      await probe.expect('unsuback', 'UNSUBSCRIBE of a filter never subscribed');
      await probe.disconnect();
      return 'UNSUBACK id=5';
    },
  },
  {
    rule: 'MQTT-3.10.4-2',
    text: 'Once unsubscribed, no new messages are queued for the subscription.',
    run: async (ctx) => {
      const topic = ctx.topic('gone');
      const sub = await ctx.subscriber([topic], 1);
      sub.send({ cmd: 'unsubscribe', packetId: 2, topicFilters: [topic] });
      await sub.expect('unsuback', 'UNSUBSCRIBE');
      await ctx.publishOnce(publish(topic, 'x', 1));
      await sub.expectNothing('a delivery after UNSUBACK', 500);
      await sub.disconnect();
      return 'nothing delivered after UNSUBACK';
    },
  },
  {
    rule: 'MQTT-3.10.4-1',
    text: 'UNSUBSCRIBE removes only filters equal character for character (no wildcard matching).',
    run: async (ctx) => {
      const topic = ctx.topic('exact/x');
      const sub = await ctx.subscriber([topic], 0);
      sub.send({ cmd: 'unsubscribe', packetId: 2, topicFilters: [ctx.topic('exact/+')] });
      await sub.expect('unsuback', 'UNSUBSCRIBE exact/+');
      await ctx.publishOnce(publish(topic, 'x', 0));
      await receivePublish(sub, 'a delivery on exact/x after unsubscribing exact/+');
      await sub.disconnect();
      return 'unsubscribing exact/+ left exact/x in place';
    },
  },
  {
    rule: 'MQTT-3.10.4-6',
    text: 'A multi-filter UNSUBSCRIBE works as several, answered by one UNSUBACK.',
    run: async (ctx) => {
      const [a, b] = [ctx.topic('ua'), ctx.topic('ub')];
      const sub = await ctx.subscriber([a, b], 0);
      sub.send({ cmd: 'unsubscribe', packetId: 2, topicFilters: [a, b] });
      await sub.expect('unsuback', 'UNSUBSCRIBE with two filters');
      await ctx.publishOnce(publish(a, 'x', 0));
      await ctx.publishOnce(publish(b, 'x', 0));
      await sub.expectNothing('a delivery after unsubscribing both', 500);
      await sub.disconnect();
      return 'one UNSUBACK; neither filter delivers';
    },
  },
];
