/**
 * The broker's counters (`broker.stats`): traffic, what the bounds refused, what authorisation
 * withheld. The core owns them; `$SYS` (sys.ts) publishes them.
 */
/** What the server-wide bounds have discarded since the broker started. */
export interface BrokerStats {
  /** Retained PUBLISHes forwarded but not retained: `maxRetainedMessages` or `maxRetainedBytes` was reached. */
  retainedRefused: number;
  /** Offline persistent sessions discarded to stay within `maxOfflineSessions`. */
  offlineSessionsDiscarded: number;
  /** Connections closed on arrival because `maxConnections` were open. */
  connectionsRefused: number;
  /**
   * Messages not written to a connection because its ACL does not let it read them: live, queued,
   * in flight or retained, including those a session held for another user before a takeover.
   */
  deniedOnDelivery: number;
  /** Subscriptions dropped because a session was taken over by a user not granted them. */
  subscriptionsDroppedOnTakeover: number;
  /** Offline persistent sessions expired by `persistentClientExpiration`. */
  sessionsExpired: number;
  /** Every MQTT packet received from clients. */
  packetsReceived: number;
  /** Every MQTT packet sent to clients. */
  packetsSent: number;
  /** PUBLISH packets received from clients. */
  publishReceived: number;
  /** PUBLISH packets sent to clients. */
  publishSent: number;
  /** Bytes received from clients (MQTT bytes, WebSocket framing excluded). */
  bytesReceived: number;
  /** Bytes of MQTT packets sent to clients. */
  bytesSent: number;
  /** PUBLISH payload bytes received. */
  publishBytesReceived: number;
  /** PUBLISH payload bytes sent. */
  publishBytesSent: number;
  /** Network connections accepted (before CONNECT). */
  socketsOpened: number;
  /** CONNECTs accepted. */
  connectsAccepted: number;
  /** Most clients connected at once. */
  clientsMaximum: number;
  /** Messages dropped by sessions that no longer exist (live sessions count their own). */
  droppedByEndedSessions: number;
}

/** A `BrokerStats` with every counter at 0. */
export function emptyStats(): BrokerStats {
  return {
    retainedRefused: 0,
    offlineSessionsDiscarded: 0,
    connectionsRefused: 0,
    sessionsExpired: 0,
    packetsReceived: 0,
    packetsSent: 0,
    publishReceived: 0,
    publishSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    publishBytesReceived: 0,
    publishBytesSent: 0,
    socketsOpened: 0,
    connectsAccepted: 0,
    clientsMaximum: 0,
    droppedByEndedSessions: 0,
    deniedOnDelivery: 0,
    subscriptionsDroppedOnTakeover: 0,
  };
}
