/**
 * The 14 MQTT 3.1.1 control packets as plain objects, a discriminated union on `cmd`.
 *
 * Each packet carries only its own fields. Field names follow the spec's vocabulary
 * (`packetId`, `keepAlive`, `cleanSession`, `sessionPresent`, `returnCode`, `topicFilter`).
 * Binary fields (payloads, passwords) are `Uint8Array`; decoded payloads may be views into the
 * bytes given to the decoder (see `Decoder`).
 */

/** Quality of service: 0 at most once, 1 at least once, 2 exactly once (spec 4.3). */
export type QoS = 0 | 1 | 2;

/** CONNACK return codes (spec 3.2.2.3, table 3.1). */
export const ConnackReturnCode = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUsernameOrPassword: 4,
  NotAuthorized: 5,
} as const;
/** A CONNACK return code, 0-5. */
export type ConnackReturnCode = (typeof ConnackReturnCode)[keyof typeof ConnackReturnCode];

/** A SUBACK return code: the granted QoS, or 0x80 for failure (spec 3.9.3). */
export type SubackReturnCode = 0 | 1 | 2 | 0x80;

/** The will message carried in a CONNECT (spec 3.1.2.5 – 3.1.2.7, 3.1.3.2 – 3.1.3.3). */
export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
}

/** CONNECT (type 1): client to server, the first packet of a connection (spec 3.1). */
export interface ConnectPacket {
  cmd: 'connect';
  /** Always `'MQTT'` for 3.1.1 (spec 3.1.2.1). */
  protocolName: string;
  /** 4 for MQTT 3.1.1 (spec 3.1.2.2). */
  protocolLevel: number;
  clientId: string;
  cleanSession: boolean;
  /** Seconds; 0 turns the keep-alive mechanism off (spec 3.1.2.10). */
  keepAlive: number;
  will?: Will;
  username?: string;
  /** Binary data in 3.1.1 (spec 3.1.3.5). */
  password?: Uint8Array;
}

/** CONNACK (type 2): server's answer to CONNECT (spec 3.2). */
export interface ConnackPacket {
  cmd: 'connack';
  sessionPresent: boolean;
  returnCode: ConnackReturnCode;
}

/** PUBLISH (type 3): an application message, either direction (spec 3.3). */
export interface PublishPacket {
  cmd: 'publish';
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present exactly when `qos > 0` [MQTT-2.3.1-5]. */
  packetId?: number;
}

/** PUBACK (type 4), QoS 1 acknowledgement (spec 3.4). */
export interface PubackPacket { cmd: 'puback'; packetId: number }
/** PUBREC (type 5), QoS 2 part 1 (spec 3.5). */
export interface PubrecPacket { cmd: 'pubrec'; packetId: number }
/** PUBREL (type 6), QoS 2 part 2 (spec 3.6). */
export interface PubrelPacket { cmd: 'pubrel'; packetId: number }
/** PUBCOMP (type 7), QoS 2 part 3 (spec 3.7). */
export interface PubcompPacket { cmd: 'pubcomp'; packetId: number }

/** One topic filter with its requested QoS in a SUBSCRIBE. */
export interface Subscription {
  topicFilter: string;
  qos: QoS;
}

/** SUBSCRIBE (type 8): client to server (spec 3.8). */
export interface SubscribePacket {
  cmd: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
}

/** SUBACK (type 9): one return code per requested filter, in order (spec 3.9). */
export interface SubackPacket {
  cmd: 'suback';
  packetId: number;
  returnCodes: SubackReturnCode[];
}

/** UNSUBSCRIBE (type 10): client to server (spec 3.10). */
export interface UnsubscribePacket {
  cmd: 'unsubscribe';
  packetId: number;
  topicFilters: string[];
}

/** UNSUBACK (type 11) (spec 3.11). */
export interface UnsubackPacket { cmd: 'unsuback'; packetId: number }
/** PINGREQ (type 12) (spec 3.12). */
export interface PingreqPacket { cmd: 'pingreq' }
/** PINGRESP (type 13) (spec 3.13). */
export interface PingrespPacket { cmd: 'pingresp' }
/** DISCONNECT (type 14) (spec 3.14). */
export interface DisconnectPacket { cmd: 'disconnect' }

/** Any MQTT 3.1.1 control packet; switch on `cmd` to narrow it. */
export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket;

/** The `cmd` of a packet: `'connect'`, `'publish'`, … */
export type PacketCmd = Packet['cmd'];

/** Packets whose only field is a packet identifier. */
export type AckPacket = PubackPacket | PubrecPacket | PubrelPacket | PubcompPacket | UnsubackPacket;

/** The control packet type number (fixed header bits 7-4) for each `cmd` (spec 2.2.1). */
export const PACKET_TYPE: Readonly<Record<PacketCmd, number>> = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
};
