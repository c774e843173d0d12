/**
 * Protocol versions: MQTT 3.1.1 (protocol name "MQTT", level 4) and its predecessor MQTT 3.1
 * (protocol name "MQIsdp", level 3). The CONNECT names the version; every later packet of the
 * connection follows it. The wire formats are the same; where 3.1 differs (see the README's
 * "MQTT 3.1 vs 3.1.1"), the decoder and encoders take the version and apply its rules.
 *
 * A mosquitto bridge with `try_private true` sets bit 7 of the level (0x84, or 0x83 for 3.1) so
 * that a mosquitto at the other end knows it is a bridge. mosquitto's `handle_connect.c` compares
 * `level & 0x7F` with the version the name implies and marks the connection a bridge when bit 7
 * is set; so do we. The packet keeps `protocolLevel` as it was on the wire.
 */
import { MqttError } from './errors.js';
import type { ConnectPacket } from './packets.js';

/** 3 for MQTT 3.1 ("MQIsdp"), 4 for MQTT 3.1.1 ("MQTT"). */
export type ProtocolVersion = 3 | 4;

/** The protocol name each version's CONNECT carries (spec 3.1.2.1; MQTT 3.1 section 3.1). */
export const PROTOCOL_NAMES: Readonly<Record<ProtocolVersion, string>> = { 3: 'MQIsdp', 4: 'MQTT' };

/** Bit 7 of the protocol level: set by a bridge (mosquitto's `try_private`). */
export const BRIDGE_LEVEL_BIT = 0x80;

/** MQTT 3.1 section 3.1: a client identifier is 1 to 23 characters. */
export const MQTT31_MAX_CLIENT_ID_BYTES = 23;

/** The version a protocol name stands for, or `undefined` for a name that is neither. */
export function versionOfName(name: string): ProtocolVersion | undefined {
  return name === 'MQTT' ? 4 : name === 'MQIsdp' ? 3 : undefined;
}

/**
 * The protocol version of a CONNECT: 4 for "MQTT" level 4, 3 for "MQIsdp" level 3, either also
 * with bit 7 of the level set (a bridge); `undefined` for any other name/level pair (which the
 * decoder refuses).
 */
export function protocolVersionOf(packet: Pick<ConnectPacket, 'protocolName' | 'protocolLevel'>): ProtocolVersion | undefined {
  const version = versionOfName(packet.protocolName);
  return version !== undefined && (packet.protocolLevel & ~BRIDGE_LEVEL_BIT) === version ? version : undefined;
}

/** Whether a CONNECT comes from a bridge: a supported version with bit 7 of its level set. */
export function isBridgeConnect(packet: Pick<ConnectPacket, 'protocolName' | 'protocolLevel'>): boolean {
  return (packet.protocolLevel & BRIDGE_LEVEL_BIT) !== 0 && protocolVersionOf(packet) !== undefined;
}

/**
 * The `protocolName` and `protocolLevel` of a CONNECT for `version`; with `bridge`, the level has
 * bit 7 set, as mosquitto's `try_private` bridges send it.
 */
export function connectProtocol(version: ProtocolVersion, bridge = false): Pick<ConnectPacket, 'protocolName' | 'protocolLevel'> {
  return { protocolName: PROTOCOL_NAMES[checkProtocolVersion(version)], protocolLevel: version | (bridge ? BRIDGE_LEVEL_BIT : 0) };
}

/** Throws `INVALID_PACKET` unless `version` is 3 or 4; returns it. */
export function checkProtocolVersion(version: unknown): ProtocolVersion {
  if (version !== 3 && version !== 4) {
    throw new MqttError('INVALID_PACKET', `protocol version must be 3 (MQTT 3.1) or 4 (MQTT 3.1.1), got ${String(version)}`);
  }
  return version;
}
