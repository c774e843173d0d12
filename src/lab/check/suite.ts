/**
 * The conformance suite: every broker-side normative statement of MQTT 3.1.1 (the "broker" rows
 * of docs/normative.tsv) plus the malformed-packet rules a server enforces as a receiver, each
 * either tested from the wire or marked NOT TESTABLE with the reason. Checks run one at a time,
 * each under a deadline, and the run cleans up the retained messages and sessions it made.
 */
import { WebSocket } from 'ws';
import { CHECK_ROOT, CheckContext, publish, type CheckOptions } from './context.js';
import { CONNECT_CHECKS } from './checks-connect.js';
import { MALFORMED_CHECKS } from './checks-malformed.js';
import { PUBLISH_CHECKS } from './checks-publish.js';
import { SUBSCRIBE_CHECKS } from './checks-subscribe.js';
import { CheckFailure, NotTestable } from './probe.js';
import type { Check, CheckResult } from './types.js';

/** What every run says before it starts. */
export const CHECK_NOTICE = `mqtt311 check publishes under ${CHECK_ROOT}/# (and one message to $${CHECK_ROOT}/… for [MQTT-4.7.2-1]), creates retained messages and persistent sessions with ClientIds starting m311, and removes them at the end.`;

const find = (rule: string) => [...CONNECT_CHECKS, ...PUBLISH_CHECKS].find((c) => c.rule === rule)?.run;

/** Rows that need more than the wire, or that share another row's test. */
const OTHER_CHECKS: Check[] = [
  {
    rule: 'MQTT-3.1.3-9',
    text: 'Whenever the server refuses a ClientId it answers CONNACK 0x02, then closes.',
    run: find('MQTT-3.1.3-8'),
  },
  {
    rule: 'MQTT-3.1.4-5',
    text: 'After refusing a CONNECT, the server ignores what the client sent behind it.',
    run: async (ctx) => {
      const topic = ctx.topic('ignored');
      ctx.retained.add(topic);
      const probe = await ctx.open();
      probe.send(ctx.connectPacket({ protocolLevel: 6 }));
      probe.send(publish(topic, 'must not be kept', 0, { retain: true }));
      await probe.expectClose('a refused CONNECT followed by a retained PUBLISH', ['connack']);
      const sub = await ctx.subscriber([topic], 0);
      await sub.expectNothing('the retained PUBLISH sent behind a refused CONNECT', 500);
      await sub.disconnect();
      return 'the retained PUBLISH behind the refused CONNECT was not stored';
    },
  },
  {
    rule: 'MQTT-3.1.2-10',
    text: 'The server deletes the stored will once published or on DISCONNECT.',
    why: 'the deletion is internal; what shows on the wire is checked by MQTT-3.1.2-8 and MQTT-3.14.4-3',
  },
  { rule: 'MQTT-3.2.2-6', text: 'If no CONNACK code fits the failure, the server closes without one.', why: 'needs a server failure that no return code describes' },
  { rule: 'MQTT-3.3.5-2', text: 'An unauthorized PUBLISH is acknowledged as usual or the connection is closed.', why: 'needs an ACL that refuses a publication, which only the broker\'s operator can set up' },
  { rule: 'MQTT-3.8.3-2', text: 'A server without wildcard support refuses filters that use them.', why: 'applies only to servers without wildcards; wildcard matching itself is checked by MQTT-3.3.2-3' },
  { rule: 'MQTT-3.10.4-3', text: 'After UNSUBSCRIBE the server still completes QoS 1/2 deliveries it had begun.', why: 'needs the UNSUBSCRIBE to land while the server is mid-delivery, which the wire cannot force' },
  { rule: 'MQTT-4.6.0-5', text: 'By default every topic is an Ordered Topic.', why: 'an administrative setting; ordering itself is checked by MQTT-4.6.0-6' },
  { rule: 'MQTT-7.0.0-1', text: 'A server that bridges conforms both as client and as server.', why: 'about bridging to other servers' },
  {
    rule: 'MQTT-6.0.0-4',
    text: 'Over WebSocket the server selects the subprotocol "mqtt".',
    run: async (ctx) => {
      const t = ctx.options.target;
      if (t.wsPath === undefined) return Promise.reject(new NotTestable('run with --ws PATH against a WebSocket listener'));
      const url = `${t.tls ? 'wss' : 'ws'}://${t.host}:${t.port}${t.wsPath}`;
      const protocol = await new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(url, 'mqtt', { ...(t.tls?.ca ? { ca: t.tls.ca } : {}), rejectUnauthorized: t.tls?.rejectUnauthorized !== false });
        const timer = setTimeout(() => reject(new CheckFailure('no WebSocket handshake')), ctx.timeoutMs);
        ws.once('open', () => {
          clearTimeout(timer);
          resolve(ws.protocol);
          ws.close();
        });
        ws.once('error', (e) => {
          clearTimeout(timer);
          reject(new CheckFailure(`WebSocket handshake failed: ${e.message}`));
        });
      });
      if (protocol !== 'mqtt') throw new CheckFailure(`Sec-WebSocket-Protocol answered "${protocol}"`);
      return 'Sec-WebSocket-Protocol: mqtt';
    },
  },
  {
    rule: 'MQTT-7.1.1-1',
    text: 'The server supports a transport with ordered, lossless, two-way byte streams.',
    run: async (ctx) => {
      const { probe } = await ctx.connect();
      await probe.disconnect();
      return `connected over ${ctx.options.target.wsPath !== undefined ? 'WebSocket' : ctx.options.target.tls ? 'TLS' : 'TCP'}`;
    },
  },
];

/** Every row of the report card, in spec order. */
export const CHECKS: readonly Check[] = [...CONNECT_CHECKS, ...PUBLISH_CHECKS, ...SUBSCRIBE_CHECKS, ...MALFORMED_CHECKS, ...OTHER_CHECKS].sort((a, b) => compareRules(a.rule, b.rule));

function compareRules(a: string, b: string): number {
  const parts = (r: string) => r.replace('MQTT-', '').split(/[.-]/).map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** What a run left behind before its clean-up: the topics it retained on, the ClientIds of its persistent sessions. */
export interface CheckTraces {
  retained: string[];
  sessions: string[];
}

/**
 * Runs the suite; `onResult` hears each row as it completes, `traces` (if given) is filled with
 * what the run created, for whoever wants to verify the clean-up.
 */
export async function runChecks(
  options: CheckOptions,
  onResult?: (r: CheckResult) => void,
  only?: (rule: string) => boolean,
  traces?: CheckTraces,
): Promise<CheckResult[]> {
  const ctx = new CheckContext(options);
  const results: CheckResult[] = [];
  // A check has many bounded waits; this bounds the whole of it too.
  const deadline = 12 * ctx.timeoutMs;
  try {
    for (const check of CHECKS) {
      if (only && !only(check.rule)) continue;
      const result = await runOne(check, ctx, deadline);
      await ctx.closeAll();
      results.push(result);
      onResult?.(result);
    }
  } finally {
    traces?.retained.push(...ctx.retained);
    traces?.sessions.push(...ctx.sessions);
    await ctx.cleanup().catch(() => {});
  }
  return results;
}

async function runOne(check: Check, ctx: CheckContext, deadline: number): Promise<CheckResult> {
  const row = { rule: check.rule, text: check.text };
  if (!check.run) return { ...row, status: 'NOT TESTABLE', detail: check.why ?? '' };
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      check.run(ctx),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new CheckFailure(`no verdict within ${deadline} ms`)), deadline))),
    ]);
    return { ...row, status: 'PASS', detail: detail ?? '' };
  } catch (err) {
    if (err instanceof NotTestable) return { ...row, status: 'NOT TESTABLE', detail: err.message };
    return { ...row, status: 'FAIL', detail: err instanceof CheckFailure ? err.message : `error: ${(err as Error).message}` }; // what is caught here is an Error (Node's or ours)
  } finally {
    clearTimeout(timer);
  }
}
