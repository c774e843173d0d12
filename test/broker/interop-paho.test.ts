/**
 * Paho Python 1.6.1 (Debian's python3-paho-mqtt, run with /usr/bin/python3) against the broker.
 * Each script prints one JSON object per line, flushed, so the test can follow along.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { requirePeer, runPython, spawnPython, stopAllProcesses, cleanupTempDirs } from '../helpers/peers.js';
import { subscribedEvent, waitForEvent } from './wait.js';

const run = requirePeer('paho');

/** Shared preamble: connect, wait for CONNACK, print events as JSON lines. */
const PRELUDE = `
import json, sys, threading, time
import paho.mqtt.client as mqtt
port = int(sys.argv[1])
def out(**kw):
    print(json.dumps(kw), flush=True)
connected = threading.Event()
def on_connect(client, userdata, flags, rc):
    out(event="connack", rc=rc, session_present=flags.get("session present", 0))
    connected.set()
`;

function lines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!run)('Paho Python against the broker', () => {
  let broker: Broker;
  let port: number;

  beforeAll(async () => {
    broker = await startBroker({ port: 0, authorizeSubscribe: (_c, filter) => !filter.startsWith('forbidden') });
    port = broker.address.port;
  });
  afterAll(async () => {
    await stopAllProcesses();
    await broker.close();
    cleanupTempDirs();
  });

  it('[MQTT-7.0.0-2] [MQTT-3.8.4-6] subscribes and publishes at QoS 0, 1 and 2, receiving each at its own QoS', async () => {
    const script = `${PRELUDE}
got = []
done = threading.Event()
def on_message(client, userdata, msg):
    got.append(dict(topic=msg.topic, payload=msg.payload.decode(), qos=msg.qos, retain=bool(msg.retain)))
    if len(got) == 3: done.set()
subscribed = threading.Event()
c = mqtt.Client(client_id="paho-qos", clean_session=True)
c.on_connect = on_connect
c.on_message = on_message
c.on_subscribe = lambda client, userdata, mid, granted: subscribed.set()
c.connect("127.0.0.1", port, 30)
c.loop_start()
connected.wait(10)
c.subscribe("paho/#", 2)
subscribed.wait(10)
for q in (0, 1, 2):
    c.publish("paho/q%d" % q, "m%d" % q, qos=q).wait_for_publish()
done.wait(10)
out(event="messages", got=got)
c.disconnect()
c.loop_stop()
`;
    const r = await runPython(script, [String(port)], { timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    const events = lines(r.stdout);
    expect(events[0]).toEqual({ event: 'connack', rc: 0, session_present: 0 });
    expect(events[1]).toEqual({
      event: 'messages',
      got: [
        { topic: 'paho/q0', payload: 'm0', qos: 0, retain: false },
        { topic: 'paho/q1', payload: 'm1', qos: 1, retain: false },
        { topic: 'paho/q2', payload: 'm2', qos: 2, retain: false },
      ],
    });
  });

  it('[MQTT-3.1.2-5] [MQTT-3.2.2-2] resumes a clean_session=False session with the messages queued while it was away', async () => {
    const script = `${PRELUDE}
mode = sys.argv[2]
got = []
done = threading.Event()
def on_message(client, userdata, msg):
    got.append(dict(payload=msg.payload.decode(), qos=msg.qos))
    if len(got) == 2: done.set()
subscribed = threading.Event()
c = mqtt.Client(client_id="paho-persist", clean_session=False)
c.on_connect = on_connect
c.on_message = on_message
c.on_subscribe = lambda client, userdata, mid, granted: subscribed.set()
c.connect("127.0.0.1", port, 30)
c.loop_start()
connected.wait(10)
if mode == "subscribe":
    c.subscribe("paho/persist", 1)
    subscribed.wait(10)
else:
    done.wait(10)
    out(event="messages", got=got)
c.disconnect()
c.loop_stop()
`;
    const first = await runPython(script, [String(port), 'subscribe'], { timeoutMs: 20_000 });
    expect(first.code, first.stderr).toBe(0);
    expect(lines(first.stdout)[0]).toMatchObject({ rc: 0, session_present: 0 });
    expect(broker.sessionInfo('paho-persist')).toMatchObject({ connected: false, persistent: true });
    broker.publish('paho/persist', 'while-away-1', { qos: 1 });
    broker.publish('paho/persist', 'while-away-2', { qos: 2 });
    const second = await runPython(script, [String(port), 'resume'], { timeoutMs: 20_000 });
    expect(second.code, second.stderr).toBe(0);
    const events = lines(second.stdout);
    expect(events[0]).toMatchObject({ rc: 0, session_present: 1 });
    expect(events[1]).toEqual({ event: 'messages', got: [{ payload: 'while-away-1', qos: 1 }, { payload: 'while-away-2', qos: 1 }] });
  });

  it('[MQTT-3.1.2-8] [MQTT-3.1.2-17] publishes the will of a Paho client killed with SIGKILL', async () => {
    const script = `${PRELUDE}
c = mqtt.Client(client_id="paho-doomed", clean_session=True)
c.on_connect = on_connect
c.will_set("paho/will/doomed", "killed", qos=1, retain=True)
c.connect("127.0.0.1", port, 30)
c.loop_start()
connected.wait(10)
out(event="ready")
time.sleep(60)
`;
    const connected = waitForEvent(broker, 'connect', (c) => c.clientId === 'paho-doomed');
    const p = spawnPython(script, [String(port)], { timeoutMs: 30_000 });
    await connected;
    await p.waitForOutput('"ready"');
    const will = waitForEvent(broker, 'publish', (topic) => topic === 'paho/will/doomed');
    p.child.kill('SIGKILL');
    const [, packet, client] = await will;
    expect(new TextDecoder().decode(packet.payload)).toBe('killed');
    expect(packet).toMatchObject({ qos: 1, retain: true });
    expect(client?.clientId).toBe('paho-doomed');
    expect(broker.retained.get('paho/will/doomed')).toBeDefined();
  });

  it('[MQTT-3.8.4-5] reports a refused subscription to Paho as granted QoS 128', async () => {
    const script = `${PRELUDE}
granted_box = []
subscribed = threading.Event()
def on_subscribe(client, userdata, mid, granted):
    granted_box.append(list(granted))
    subscribed.set()
c = mqtt.Client(client_id="paho-denied", clean_session=True)
c.on_connect = on_connect
c.on_subscribe = on_subscribe
c.connect("127.0.0.1", port, 30)
c.loop_start()
connected.wait(10)
c.subscribe([("forbidden/x", 1), ("allowed/x", 2)])
subscribed.wait(10)
out(event="suback", granted=granted_box[0])
c.disconnect()
c.loop_stop()
`;
    const seen = subscribedEvent(broker, 'paho-denied');
    const r = await runPython(script, [String(port)], { timeoutMs: 20_000 });
    await seen;
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)[1]).toEqual({ event: 'suback', granted: [128, 2] });
  });
});
