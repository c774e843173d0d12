/**
 * No silent options: every key of `connect()`'s options must be one the client knows. A typo, or
 * an option name from another library, would otherwise be ignored and the client would connect
 * with defaults — e.g. MQTT.js's `servers: [...]` quietly becoming `localhost:1883`.
 */
import { ClientError } from '../errors.js';

/** Every key `ClientOptions` (with its TLS options) accepts. */
const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'protocol',
  'host',
  'port',
  'servers',
  'clientId',
  'cleanSession',
  'keepAlive',
  'username',
  'password',
  'will',
  'connectTimeout',
  'pingTimeout',
  'reconnect',
  'signal',
  'logger',
  'maxInflight',
  'maxQueued',
  'maxPacketSize',
  'transport',
  'protocolVersion',
  // The persistent message store of the client (its own module); accepted here so one list stays true.
  'store',
  'ca',
  'cert',
  'key',
  'rejectUnauthorized',
  'servername',
]);

/**
 * MQTT.js option names (and close misspellings) with what to use here instead. The answer is
 * part of the error message, so someone coming from MQTT.js learns the new name at once.
 */
const HINTS: Readonly<Record<string, string>> = {
  keepalive: 'did you mean keepAlive?',
  clean: 'did you mean cleanSession?',
  clientid: 'did you mean clientId?',
  hostname: 'did you mean host?',
  reconnectPeriod: 'use reconnect: { initialDelay } (milliseconds), or reconnect: false',
  connectTimeOut: 'did you mean connectTimeout?',
  protocolId: 'use protocolVersion: 3 (MQIsdp) or 4 (MQTT)',
  path: 'put the path in the URL (ws://host:port/mqtt)',
  resubscribe: 'subscriptions are always restored after a reconnect without a stored session',
  queueQoSZero: 'use maxQueued (QoS 0 publishes wait in the same bounded queue)',
  incomingStore: 'use store',
  outgoingStore: 'use store',
  manualConnect: 'create the client with new MqttClient(factory, resolveOptions(...)) and call start()',
  wsOptions: 'pass transport: createWsTransport(options)',
  properties: 'MQTT 5 properties are not in MQTT 3.1.1',
  autoUseTopicAlias: 'topic aliases are MQTT 5, not in MQTT 3.1.1',
  autoAssignTopicAlias: 'topic aliases are MQTT 5, not in MQTT 3.1.1',
  customHandleAcks: 'MQTT 5 reason codes are not in MQTT 3.1.1',
  keepAliveInterval: 'did you mean keepAlive? (seconds)',
  will_topic: 'use will: { topic, payload, qos, retain }',
};

/**
 * Throws `INVALID_OPTIONS` naming the first key of `options` the client does not know, with a
 * hint for MQTT.js names ("keepalive — did you mean keepAlive?").
 */
export function checkOptionKeys(options: object): void {
  for (const key of Object.keys(options)) {
    if (KNOWN_KEYS.has(key)) continue;
    const hint = HINTS[key] ?? nearName(key);
    throw new ClientError('INVALID_OPTIONS', `unknown option ${key}${hint ? ` — ${hint}` : ''}`);
  }
}

/** A known key spelled the same but for case ("cleansession" → cleanSession). */
function nearName(key: string): string | undefined {
  const lower = key.toLowerCase();
  for (const known of KNOWN_KEYS) if (known.toLowerCase() === lower) return `did you mean ${known}?`;
  return undefined;
}
