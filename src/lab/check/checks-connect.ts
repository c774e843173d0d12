/**
 * CONNECT and CONNACK (spec 3.1, 3.2), sessions and keep-alive, as a server must handle them.
 */
import type { ConnackPacket } from '../../codec/index.js';
import { CheckFailure, NotTestable, evidence, type Probe } from './probe.js';
import { publish, receivePublish, sendPublish, type CheckContext } from './context.js';
import type { Check } from './types.js';

/** Connects with CleanSession 0, subscribes to `topic` at QoS 1, and disconnects: a stored session. */
async function storeSession(ctx: CheckContext, clientId: string, topic: string): Promise<void> {
  const probe = await ctx.subscriber([topic], 1, { clientId, cleanSession: false });
  await probe.disconnect();
}

/**
 * A CONNECT the server refuses with a CONNACK: protocol level 6 [MQTT-3.1.2-2], else an empty
 * ClientId with CleanSession 0 [MQTT-3.1.3-8]. NOT TESTABLE when it refuses neither that way.
 */
async function refusal(ctx: CheckContext): Promise<{ probe: Probe; connack: ConnackPacket; sent: string }> {
  const tries = [
    { sent: 'CONNECT with protocol level 6', packet: ctx.connectPacket({ protocolLevel: 6 }) },
    { sent: 'CONNECT with an empty ClientId and CleanSession 0', packet: { ...ctx.connectPacket({ clientId: '' }), cleanSession: false } },
  ];
  const seen: string[] = [];
  for (const { sent, packet } of tries) {
    const probe = await ctx.open();
    probe.send(packet);
    const answer = await probe.next();
    if (answer.kind === 'packet' && answer.packet.cmd === 'connack' && answer.packet.returnCode !== 0) return { probe, connack: answer.packet, sent };
    if (answer.kind === 'malformed') throw new CheckFailure(`${sent}: ${evidence(answer)}`);
    seen.push(`${sent}: ${evidence(answer)}`);
    await probe.close();
  }
  throw new NotTestable(`no CONNECT was refused with a CONNACK (${seen.join('; ')})`);
}

export const CONNECT_CHECKS: Check[] = [
  {
    rule: 'MQTT-3.1.0-2',
    text: 'A second CONNECT on a connection is a protocol violation: the server drops the client.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send(ctx.connectPacket());
      await probe.expectClose('second CONNECT');
      return 'the connection closed after the second CONNECT';
    },
  },
  {
    rule: 'MQTT-3.1.2-1',
    text: 'Wrong protocol name: the server never continues as MQTT 3.1.1.',
    run: async (ctx) => {
      const probe = await ctx.open();
      probe.send(ctx.connectPacket({ protocolName: 'MQTX' }));
      const seen = await probe.next();
      if (seen.kind === 'packet' && seen.packet.cmd === 'connack' && seen.packet.returnCode === 0) {
        throw new CheckFailure('CONNECT with protocol name "MQTX" was accepted: CONNACK 0x00');
      }
      return seen.kind === 'closed' ? 'the connection closed' : `answered ${seen.kind === 'packet' ? seen.packet.cmd.toUpperCase() : seen.kind}, not CONNACK 0`;
    },
  },
  {
    rule: 'MQTT-3.1.2-2',
    text: 'Unsupported protocol level: CONNACK 0x01, then disconnect.',
    run: async (ctx) => {
      const probe = await ctx.open();
      probe.send(ctx.connectPacket({ protocolLevel: 6 }));
      const connack = await probe.expect('connack', 'CONNECT with protocol level 6');
      if (connack.returnCode !== 1) throw new CheckFailure(`CONNECT with protocol level 6: CONNACK return code ${connack.returnCode}, not 1`);
      await probe.expectClose('after CONNACK 0x01');
      return 'CONNACK 0x01, then the connection closed';
    },
  },
  {
    rule: 'MQTT-3.1.2-24',
    text: 'Keep Alive set: after 1.5 times it without a packet, the server drops the connection.',
    run: async (ctx) => {
      // Three silent clients with keep-alive 1 s, connected 1.7 s apart, so a server that checks
      // keep-alive only every few seconds is caught by at least one of them. Each must be closed
      // within 1.5 s plus 1 s of slack for timers.
      const limit = 2_500;
      const lines = await Promise.all(
        [0, 1_700, 3_400].map(async (offset) => {
          await new Promise((resolve) => setTimeout(resolve, offset));
          const { probe } = await ctx.connect({ keepAlive: 1 });
          const start = Date.now();
          const seen = await probe.next(limit + 8_000);
          const after = Date.now() - start;
          const closed = seen.kind === 'closed' ? `closed after ${after} ms` : `still open after ${after} ms`;
          return { late: seen.kind !== 'closed' || after > limit, text: `client at +${offset / 1000} s: ${closed}` };
        }),
      );
      const text = lines.map((l) => l.text).join('; ');
      if (lines.some((l) => l.late)) throw new CheckFailure(`keep-alive 1 s, silent clients, limit ${limit} ms: ${text}`);
      return text;
    },
  },
  {
    rule: 'MQTT-3.1.3-5',
    text: 'The server accepts ClientIds of 1-23 ASCII letters and digits.',
    run: async (ctx) => {
      const clientId = `A1${ctx.run}${'x'.repeat(23)}`.slice(0, 23);
      const { probe } = await ctx.connect({ clientId });
      await probe.disconnect();
      return `accepted "${clientId}"`;
    },
  },
  {
    rule: 'MQTT-3.1.3-6',
    text: 'An empty ClientId, if allowed, gets a unique id of its own.',
    run: async (ctx) => {
      const a = await ctx.open();
      a.send(ctx.connectPacket({ clientId: '' }));
      const connack = await a.expect('connack', 'CONNECT with an empty ClientId');
      if (connack.returnCode === 2) return 'empty ClientIds refused (CONNACK 0x02): allowed';
      // Two such clients at once must not take each other over [MQTT-3.1.4-2].
      const { probe: b } = await ctx.connect({ clientId: '' });
      a.send({ cmd: 'pingreq' });
      await a.expect('pingresp', 'the first client with an empty ClientId, after a second one connected');
      await Promise.all([a.disconnect(), b.disconnect()]);
      return 'two clients with empty ClientIds stayed connected side by side';
    },
  },
  {
    rule: 'MQTT-3.1.3-8',
    text: 'Empty ClientId with CleanSession 0: CONNACK 0x02, then close.',
    run: async (ctx) => {
      const probe = await ctx.open();
      probe.send({ ...ctx.connectPacket({ clientId: '' }), cleanSession: false });
      const connack = await probe.expect('connack', 'CONNECT with an empty ClientId and CleanSession 0');
      if (connack.returnCode !== 2) throw new CheckFailure(`CONNACK return code ${connack.returnCode}, not 2`);
      await probe.expectClose('after CONNACK 0x02');
      return 'CONNACK 0x02, then the connection closed';
    },
  },
  {
    rule: 'MQTT-3.1.4-1',
    text: 'A CONNECT that breaks section 3.1 is closed without any CONNACK.',
    run: async (ctx) => {
      const probe = await ctx.open();
      const id = [...Buffer.from(ctx.clientId())];
      // Will Flag 0 with Will QoS 1: flags 0x0a ([MQTT-3.1.2-13]).
      probe.send([0x10, 12 + id.length, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x0a, 0x00, 0x00, id.length >> 8, id.length & 0xff, ...id]);
      await probe.expectClose('CONNECT with Will QoS 1 and no will');
      return 'no CONNACK; the connection closed';
    },
  },
  {
    rule: 'MQTT-3.1.4-2',
    text: 'A second connection with the same ClientId closes the first (takeover).',
    run: async (ctx) => {
      const clientId = ctx.clientId();
      const { probe: first } = await ctx.connect({ clientId });
      const { probe: second } = await ctx.connect({ clientId });
      await first.expectClose('the first connection after the takeover');
      await second.disconnect();
      return 'the first connection closed when the second connected';
    },
  },
  {
    rule: 'MQTT-3.1.4-4',
    text: 'A valid CONNECT is accepted with CONNACK return code 0.',
    run: async (ctx) => {
      const { probe, connack } = await ctx.connect();
      await probe.disconnect();
      return `CONNACK ${connack.returnCode}`;
    },
  },
  {
    rule: 'MQTT-3.2.0-1',
    text: 'The first packet the server sends is CONNACK.',
    run: async (ctx) => {
      // SUBSCRIBE and PINGREQ right behind the CONNECT: still CONNACK first.
      const probe = await ctx.open();
      probe.send(ctx.connectPacket());
      probe.send({ cmd: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: ctx.topic('first'), qos: 0 }] });
      probe.send({ cmd: 'pingreq' });
      await probe.expect('connack', 'CONNECT followed at once by SUBSCRIBE and PINGREQ');
      await probe.disconnect();
      return 'CONNACK came first, though SUBSCRIBE and PINGREQ followed the CONNECT at once';
    },
  },
  {
    rule: 'MQTT-3.2.2-1',
    text: 'Accepting CleanSession 1: CONNACK has Session Present 0.',
    run: async (ctx) => {
      const clientId = ctx.clientId();
      await storeSession(ctx, clientId, ctx.topic('sp1'));
      const { probe, connack } = await ctx.connect({ clientId, cleanSession: true });
      await probe.disconnect();
      if (connack.sessionPresent) throw new CheckFailure('CleanSession 1 after a stored session: CONNACK 20 02 01 00 (Session Present 1)');
      return 'Session Present 0 even with a session stored before';
    },
  },
  {
    rule: 'MQTT-3.2.2-2',
    text: 'Accepting CleanSession 0 with a stored session: Session Present 1.',
    run: async (ctx) => {
      const clientId = ctx.clientId();
      await storeSession(ctx, clientId, ctx.topic('sp2'));
      const { probe, connack } = await ctx.connect({ clientId, cleanSession: false });
      await probe.disconnect();
      if (!connack.sessionPresent) throw new CheckFailure('CleanSession 0 with a stored session: CONNACK 20 02 00 00 (Session Present 0)');
      return 'Session Present 1';
    },
  },
  {
    rule: 'MQTT-3.2.2-3',
    text: 'Accepting CleanSession 0 without a stored session: Session Present 0.',
    run: async (ctx) => {
      const { probe, connack } = await ctx.connect({ cleanSession: false });
      await probe.disconnect();
      if (connack.sessionPresent) throw new CheckFailure('a new ClientId with CleanSession 0: CONNACK 20 02 01 00 (Session Present 1)');
      return 'Session Present 0';
    },
  },
  {
    rule: 'MQTT-3.1.2-5',
    text: 'While a CleanSession 0 client is offline, the server queues its QoS 1/2 messages.',
    run: async (ctx) => {
      const clientId = ctx.clientId();
      const topic = ctx.topic('offline');
      await storeSession(ctx, clientId, topic);
      await ctx.publishOnce(publish(topic, 'queued', 1));
      const { probe } = await ctx.connect({ clientId, cleanSession: false });
      const p = await receivePublish(probe, 'the message published while offline');
      await probe.disconnect();
      return `delivered on reconnect: PUBLISH q${p.qos} "${p.topic}"`;
    },
  },
  {
    rule: 'MQTT-3.1.4-3',
    text: 'After a valid CONNECT the server resumes or discards the session as CleanSession says.',
    run: async (ctx) => {
      const clientId = ctx.clientId();
      const topic = ctx.topic('discard');
      await storeSession(ctx, clientId, topic);
      const clean = await ctx.connect({ clientId, cleanSession: true });
      await clean.probe.disconnect();
      // The subscription went with the discarded session: nothing arrives now.
      const { probe, connack } = await ctx.connect({ clientId, cleanSession: false });
      if (connack.sessionPresent) throw new CheckFailure('after a CleanSession 1 connection, CleanSession 0 found the old session: Session Present 1');
      await ctx.publishOnce(publish(topic, 'x', 1));
      await probe.expectNothing('a delivery on a subscription of the discarded session', 500);
      await probe.disconnect();
      return 'the session was discarded by CleanSession 1, and its subscription with it';
    },
  },
  {
    rule: 'MQTT-4.4.0-1',
    text: 'On reconnect with CleanSession 0, unacknowledged QoS 1/2 PUBLISHes are re-sent.',
    run: async (ctx) => {
      const clientId = ctx.clientId();
      const topic = ctx.topic('resend');
      const sub = await ctx.subscriber([topic], 1, { clientId, cleanSession: false });
      await ctx.publishOnce(publish(topic, 'unacked', 1));
      const first = await sub.expect('publish', 'the delivery');
      await sub.close(); // no PUBACK
      const { probe } = await ctx.connect({ clientId, cleanSession: false });
      const again = await probe.expect('publish', 'the re-delivery after reconnecting');
      probe.send({ cmd: 'puback', packetId: again.packetId ?? 0 });
      await probe.disconnect();
      if (again.packetId !== first.packetId) throw new CheckFailure(`re-sent with packet id ${again.packetId}, first sent as ${first.packetId}`);
      return `re-sent with the same packet id ${again.packetId}${again.dup ? ' and DUP 1' : ''}`;
    },
  },
  {
    rule: 'MQTT-3.3.1-1',
    text: 'The sender sets DUP 1 when it re-delivers a PUBLISH.',
    run: async (ctx) => {
      const clientId = ctx.clientId();
      const topic = ctx.topic('dup');
      const sub = await ctx.subscriber([topic], 1, { clientId, cleanSession: false });
      await ctx.publishOnce(publish(topic, 'unacked', 1));
      await sub.expect('publish', 'the delivery');
      await sub.close();
      const { probe } = await ctx.connect({ clientId, cleanSession: false });
      const seen = await probe.next();
      if (seen.kind !== 'packet' || seen.packet.cmd !== 'publish') throw new CheckFailure(`expected the re-delivery after reconnecting, got: ${evidence(seen)}`);
      probe.send({ cmd: 'puback', packetId: seen.packet.packetId ?? 0 });
      await probe.disconnect();
      if (!seen.packet.dup) throw new CheckFailure(`re-delivered without DUP: ${Buffer.from(seen.bytes).toString('hex').replace(/(..)/g, '$1 ').trim()}`);
      return 're-delivered with DUP 1';
    },
  },
  {
    rule: 'MQTT-3.2.2-4',
    text: 'A CONNACK with a non-zero return code has Session Present 0.',
    run: async (ctx) => {
      // The codec refuses a refusal with Session Present 1, so `refusal` reports it as malformed.
      const { connack, sent } = await refusal(ctx);
      return `${sent}: CONNACK ${connack.returnCode} with Session Present 0`;
    },
  },
  {
    rule: 'MQTT-3.2.2-5',
    text: 'After a CONNACK with a non-zero return code the server closes the connection.',
    run: async (ctx) => {
      const { probe, connack, sent } = await refusal(ctx);
      await probe.expectClose(`after CONNACK ${connack.returnCode}`);
      return `${sent}: CONNACK ${connack.returnCode}, then the connection closed`;
    },
  },
  {
    rule: 'MQTT-3.12.4-1',
    text: 'The server answers each PINGREQ with a PINGRESP.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send({ cmd: 'pingreq' });
      probe.send({ cmd: 'pingreq' });
      await probe.expect('pingresp', 'first PINGREQ');
      await probe.expect('pingresp', 'second PINGREQ');
      await probe.disconnect();
      return 'two PINGREQ, two PINGRESP';
    },
  },
  {
    rule: 'MQTT-4.3.2-2',
    text: 'The QoS 1 receiver answers PUBACK with the same packet id.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send(publish(ctx.topic('q1'), 'x', 1, { packetId: 4242 }));
      const ack = await probe.expect('puback', 'PUBLISH QoS 1 id=4242');
      await probe.disconnect();
      if (ack.packetId !== 4242) throw new CheckFailure(`PUBACK id=${ack.packetId} for PUBLISH id=4242`);
      return 'PUBACK id=4242';
    },
  },
  {
    rule: 'MQTT-4.3.3-2',
    text: 'The QoS 2 receiver delivers once: a duplicate before PUBREL is not delivered again.',
    run: async (ctx) => {
      const topic = ctx.topic('exactly-once');
      const sub = await ctx.subscriber([topic], 2);
      const { probe } = await ctx.connect();
      const p = publish(topic, 'once', 2, { packetId: 7 });
      probe.send(p);
      await probe.expect('pubrec', 'PUBLISH QoS 2');
      probe.send({ ...p, dup: true });
      await probe.expect('pubrec', 'the duplicate PUBLISH QoS 2');
      probe.send({ cmd: 'pubrel', packetId: 7 });
      await probe.expect('pubcomp', 'PUBREL');
      await receivePublish(sub, 'the delivery');
      await sub.expectNothing('a second delivery of the QoS 2 message', 500);
      await Promise.all([probe.disconnect(), sub.disconnect()]);
      return 'PUBREC for both copies, one delivery';
    },
  },
  {
    rule: 'MQTT-3.3.4-1',
    text: 'The receiver of a PUBLISH answers as its QoS requires: nothing, PUBACK, or PUBREC.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      probe.send(publish(ctx.topic('q0'), 'x', 0));
      await sendPublish(probe, publish(ctx.topic('q1'), 'x', 1, { packetId: 1 }));
      await sendPublish(probe, publish(ctx.topic('q2'), 'x', 2, { packetId: 2 }));
      await probe.disconnect();
      return 'QoS 0: nothing; QoS 1: PUBACK; QoS 2: PUBREC, PUBCOMP';
    },
  },
];
