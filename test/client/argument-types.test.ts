/**
 * Every public entry point of the client, the broker and the codec refuses arguments of the wrong
 * type with its typed error — `MqttError` for protocol values (topics, QoS, payload bytes),
 * `ClientError` / `BrokerError` for options and arguments — never a raw TypeError, and never
 * takes them (a string port, a number payload).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker-mini/index.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import { decode, Decoder, encode, encodeInto, topicMatches, validateTopicFilter, validateTopicName } from '../../src/codec/index.js';

let broker: Broker;
let client: MqttClient;

beforeAll(async () => {
  broker = await startBroker({ port: 0 });
  client = await connect(`mqtt://127.0.0.1:${broker.address.port}`, { reconnect: false });
});
afterAll(async () => {
  await client?.end();
  await broker?.close();
});

// Values a JavaScript caller (or a wrong cast) can hand over.
const any = (v: unknown) => v as never;
const typed = (name: string, code: string) => expect.objectContaining({ name, code });
const mqtt = (code: string) => typed('MqttError', code);

describe('client entry points', () => {
  it.each([undefined, null, 5, {}, ['a']])('[MQTT-3.3.2-1] publish refuses the topic %j with INVALID_TOPIC', async (topic) => {
    await expect(client.publish(any(topic), 'x')).rejects.toEqual(mqtt('INVALID_TOPIC'));
  });

  it('[MQTT-3.3.2-1] publish(undefined, "x") rejects even right after a valid publish (no cached topic is reused)', async () => {
    await client.publish('ok', 'x');
    await expect(client.publish(any(undefined), 'x')).rejects.toEqual(mqtt('INVALID_TOPIC'));
  });

  it('publish refuses a payload, options, retain or signal of the wrong type', async () => {
    await expect(client.publish('t', any(5))).rejects.toEqual(mqtt('INVALID_PACKET'));
    await expect(client.publish('t', 'x', any(null))).rejects.toEqual(typed('ClientError', 'INVALID_ARGUMENT'));
    await expect(client.publish('t', 'x', any({ retain: 1 }))).rejects.toEqual(typed('ClientError', 'INVALID_ARGUMENT'));
    await expect(client.publish('t', 'x', any({ signal: 'abort' }))).rejects.toEqual(typed('ClientError', 'INVALID_ARGUMENT'));
    await expect(client.publish('t', 'x', any({ qos: '1' }))).rejects.toEqual(mqtt('INVALID_QOS'));
  });

  it.each([undefined, null, 5, [5], [null], [{ qos: 1 }]])('[MQTT-3.8.3-1] subscribe refuses %j with INVALID_TOPIC_FILTER', async (request) => {
    await expect(client.subscribe(any(request))).rejects.toEqual(mqtt('INVALID_TOPIC_FILTER'));
  });

  it.each([undefined, null, 5, [1]])('[MQTT-3.10.3-1] unsubscribe refuses %j with INVALID_TOPIC_FILTER', async (filters) => {
    await expect(client.unsubscribe(any(filters))).rejects.toEqual(mqtt('INVALID_TOPIC_FILTER'));
  });

  it('subscribe, unsubscribe, handle, messages and end refuse options and handlers of the wrong type', async () => {
    await expect(client.subscribe('t', any(null))).rejects.toEqual(typed('ClientError', 'INVALID_ARGUMENT'));
    await expect(client.unsubscribe('t', any(5))).rejects.toEqual(typed('ClientError', 'INVALID_ARGUMENT'));
    expect(() => client.handle('t', any(5))).toThrow(typed('ClientError', 'INVALID_ARGUMENT'));
    expect(() => client.handle(any(undefined), () => {})).toThrow(mqtt('INVALID_TOPIC_FILTER'));
    expect(() => client.messages(any(5))).toThrow(mqtt('INVALID_TOPIC_FILTER'));
    expect(() => client.messages('t', any(null))).toThrow(typed('ClientError', 'INVALID_ARGUMENT'));
    await expect(client.end(any(null))).rejects.toEqual(typed('ClientError', 'INVALID_ARGUMENT'));
    // The refused end() did not end the client.
    await expect(client.publish('still/open', 'x', { qos: 1 })).resolves.toBeUndefined();
  });

  it.each([
    [5, undefined],
    [null, undefined],
    ['mqtt://127.0.0.1:1', 5],
    [{ host: 5 }, undefined],
    [{ clientId: 7 }, undefined],
    [{ username: 'u', password: 5 }, undefined],
    [{ cleanSession: 'yes' }, undefined],
  ])('connect(%j, %j) refuses with INVALID_OPTIONS before connecting', async (target, options) => {
    await expect(connect(any(target), any(options))).rejects.toEqual(typed('ClientError', 'INVALID_OPTIONS'));
  });
});

describe('codec entry points', () => {
  it('[MQTT-3.3.2-1] topic functions refuse non-strings with MqttError', () => {
    expect(() => validateTopicName(any(5))).toThrow(mqtt('INVALID_TOPIC'));
    expect(() => validateTopicFilter(any(null))).toThrow(mqtt('INVALID_TOPIC_FILTER'));
    expect(() => topicMatches(any(5), 'a')).toThrow(mqtt('INVALID_TOPIC_FILTER'));
    expect(() => topicMatches('a', any(undefined))).toThrow(mqtt('INVALID_TOPIC'));
    expect(() => encode(any({ cmd: 'publish', topic: 5, payload: new Uint8Array(), qos: 0, retain: false, dup: false }))).toThrow(mqtt('INVALID_TOPIC'));
  });

  it('encode, encodeInto, decode and Decoder refuse values of the wrong type with MqttError', () => {
    expect(() => encode(any(undefined))).toThrow(mqtt('INVALID_PACKET'));
    expect(() => encodeInto({ cmd: 'pingreq' }, any([0, 0]), 0)).toThrow(mqtt('INVALID_ARGUMENT'));
    expect(() => decode(any('c000'))).toThrow(mqtt('INVALID_ARGUMENT'));
    expect(() => new Decoder().push(any([0xc0, 0]))).toThrow(mqtt('INVALID_ARGUMENT'));
    expect(() => new Decoder({ maxPacketSize: any('1') })).toThrow(mqtt('INVALID_ARGUMENT'));
  });
});

describe('broker entry points', () => {
  it.each([
    [null],
    [{ port: '1883' }],
    [{ port: -1 }],
    [{ host: 5 }],
    [{ maxInflight: 'x' }],
    [{ users: 5 }],
    [{ users: { alice: 5 } }],
    [{ acl: {} }],
    [{ acl: [{ topic: 'a/#/b', access: 'read' }] }],
    [{ acl: [{ topic: 'a', access: 'all' }] }],
    [{ allowAnonymous: 'no' }],
    [{ authenticate: true }],
    [{ ws: { port: 'x' } }],
  ])('startBroker(%j) refuses with BrokerError INVALID_OPTIONS', async (options) => {
    await expect(startBroker(any(options))).rejects.toEqual(typed('BrokerError', 'INVALID_OPTIONS'));
  });

  it('[MQTT-3.3.2-1] broker.publish refuses a non-string topic, a number payload, QoS 3 and a non-boolean retain', () => {
    expect(() => broker.publish(any(undefined), 'x')).toThrow(mqtt('INVALID_TOPIC'));
    expect(() => broker.publish('t', any(5))).toThrow(typed('BrokerError', 'INVALID_ARGUMENT'));
    expect(() => broker.publish('t', 'x', any(null))).toThrow(typed('BrokerError', 'INVALID_ARGUMENT'));
    expect(() => broker.publish('t', 'x', any({ qos: 3 }))).toThrow(mqtt('INVALID_QOS'));
    expect(() => broker.publish('t', 'x', any({ retain: 'yes' }))).toThrow(typed('BrokerError', 'INVALID_ARGUMENT'));
  });
});
