/**
 * The configurable checks a CONNECT and a client's PUBLISH go through before authentication and
 * routing — mosquitto's `allow_zero_length_clientid`, `auto_id_prefix`, `clientid_prefixes`,
 * `use_username_as_clientid`, certificate identities, `max_keepalive`, `max_qos`,
 * `retain_available`, `message_size_limit`, and the broker's own `$SYS` tree — as pure functions
 * the core applies.
 */
import type { ConnectPacket, PublishPacket } from '../../codec/index.js';
import { BrokerError } from './errors.js';
import type { ConnectionPolicy } from '../listener-options.js';
import type { ResolvedOptions } from '../options.js';

/** A CONNECT that may go on to authentication, with the identity it will have. */
export interface Admitted {
  clientId: string;
  username: string | undefined;
  /** The authentication settings in force: the broker's, or the listener's own. */
  auth: ResolvedOptions;
}

/** A CONNECT refused before authentication. */
export interface Refused {
  refuse: 2 | 5;
  why: string;
}

/**
 * Decides the ClientId and user name of a CONNECT arriving through `policy`'s listener, or
 * refuses it. `generateId(prefix)` makes a ClientId for an empty one [MQTT-3.1.3-6].
 */
export function admitConnect(packet: ConnectPacket, policy: ConnectionPolicy | undefined, options: ResolvedOptions, generateId: (prefix: string) => string): Admitted | Refused {
  const auth = policy?.auth ? { ...options, ...policy.auth } : options;
  // mosquitto's use_identity_as_username: the certificate's name replaces the user name.
  const username = policy?.identity ?? packet.username;
  let clientId = packet.clientId;
  if (policy?.useUsernameAsClientId) {
    if (username === undefined) return { refuse: 5, why: 'use_username_as_clientid and no user name' };
    clientId = username;
  }
  if (clientId === '') {
    // [MQTT-3.1.3-8] an empty ClientId needs CleanSession=1, else CONNACK 2 [MQTT-3.1.3-9].
    if (!packet.cleanSession) return { refuse: 2, why: 'empty ClientId with CleanSession=0' };
    // [MQTT-3.1.3-7] a server may refuse an empty ClientId (allow_zero_length_clientid false).
    if (!auth.allowZeroLengthClientId) return { refuse: 2, why: 'empty ClientId not allowed' };
    // [MQTT-3.1.3-6] give it a unique one.
    clientId = generateId(auth.autoIdPrefix);
  } else if (options.clientIdPrefixes && !options.clientIdPrefixes.some((prefix) => clientId.startsWith(prefix))) {
    return { refuse: 5, why: 'ClientId does not start with one of clientid_prefixes' };
  }
  const max = options.maxKeepalive;
  if (max !== undefined && (packet.keepAlive === 0 || packet.keepAlive > max)) {
    // mosquitto 2.0 answers an MQTT 3.1.1 client outside max_keepalive with CONNACK 2.
    return { refuse: 2, why: `keep-alive ${packet.keepAlive} outside max_keepalive ${max}` };
  }
  // A certificate identity is already authenticated by the TLS handshake: only the hook may refuse it.
  return { clientId, username, auth: policy?.identity === undefined ? auth : { ...auth, users: undefined, allowAnonymous: true } };
}

/**
 * What the configured limits say about a client's PUBLISH: `undefined` to go on, `close` with
 * the error to disconnect, or `drop` with the reason: acknowledged as its QoS requires (the
 * session does that) but not routed or retained [MQTT-3.3.5-2].
 */
export function publishRefusal(
  packet: PublishPacket,
  policy: ConnectionPolicy | undefined,
  options: ResolvedOptions,
  fromBridge = false,
): { close: BrokerError } | { drop: string } | undefined {
  const maxQos = policy?.maxQos;
  if (maxQos !== undefined && packet.qos > maxQos) {
    return { close: new BrokerError('QOS_NOT_AVAILABLE', `PUBLISH at QoS ${packet.qos} on a listener with max_qos ${maxQos}`) };
  }
  if (packet.retain && !options.retainAvailable) return { close: new BrokerError('RETAIN_NOT_AVAILABLE', 'PUBLISH with RETAIN=1 and retain_available false') };
  // [MQTT-4.7.2-1] $SYS topics are the server's: clients may not publish to them (as in mosquitto),
  // except a bridge (protocol level bit 7), whose $SYS/broker/connection/... state is its own.
  if (packet.topic.startsWith('$SYS') && !fromBridge) return { drop: "$SYS topics are the broker's" };
  const limit = options.messageSizeLimit;
  if (limit > 0 && packet.payload.byteLength > limit) return { drop: `${packet.payload.byteLength} B over message_size_limit ${limit}` };
  return undefined;
}
