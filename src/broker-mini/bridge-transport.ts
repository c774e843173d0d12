/**
 * How a bridge reaches its remote broker: a client transport that picks the address (the first
 * one again after a success unless round robin, the next one after a failure), speaks TCP or
 * TLS, and rewrites the client's CONNECT for the bridge's protocol: MQTT 3.1 (`MQIsdp`, level
 * 3) and try_private (protocol level | 0x80, how a mosquitto remote learns the client is a
 * bridge and stops sending it back its own messages).
 */
import { connect as tlsConnect } from 'node:tls';
import { decode, encode, type ConnectPacket } from '../codec/index.js';
import { netTransport, wrapSocket } from '../client/transport-net.js';
import type { Transport, TransportFactory } from '../client/transport.js';
import type { BridgeTls } from './bridge-config.js';

/** What the CONNECT says about the protocol, decided afresh for every connection attempt. */
export interface ConnectRewrite {
  protocolName: 'MQTT' | 'MQIsdp';
  protocolLevel: number;
}

/** The protocol name and level of a bridge CONNECT. */
export function bridgeProtocol(version: 'mqttv311' | 'mqttv31', tryPrivate: boolean): ConnectRewrite {
  const [protocolName, level] = version === 'mqttv31' ? (['MQIsdp', 3] as const) : (['MQTT', 4] as const);
  return { protocolName, protocolLevel: tryPrivate ? level | 0x80 : level };
}

/** Rewrites the first packet written if it is a CONNECT; everything else passes untouched. */
function rewriting(transport: Transport, rewrite: ConnectRewrite): Transport {
  let first = true;
  const write = transport.write.bind(transport);
  return {
    ...transport,
    write(data) {
      if (!first) return write(data);
      first = false;
      const parts = data instanceof Uint8Array ? [data] : data;
      const bytes = parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
      // 0x10: CONNECT. Decoded with our own codec (it is our own level-4 CONNECT), re-encoded with the new header.
      if (bytes[0] !== 0x10) return write(data);
      const packet = decode(bytes) as ConnectPacket; // first byte 0x10: a CONNECT
      return write(encode({ ...packet, ...rewrite }));
    },
  };
}

/** Options of `bridgeTransport`. */
export interface BridgeTransportOptions {
  addresses: ReadonlyArray<{ host: string; port: number }>;
  roundRobin: boolean;
  tls: BridgeTls | undefined;
  /** Asked at every attempt: the CONNECT's protocol fields for this attempt. */
  protocol: () => ConnectRewrite;
  /** Called with the address of each attempt (for logs). */
  attempt?: (address: { host: string; port: number }) => void;
}

/** A transport factory for a bridge's client (see module comment). */
export function bridgeTransport(o: BridgeTransportOptions): TransportFactory {
  let index = 0;
  return async (options) => {
    const address = o.addresses[index % o.addresses.length];
    if (address === undefined) throw new RangeError('a bridge needs at least one address');
    o.attempt?.(address);
    let transport: Transport;
    try {
      transport = o.tls ? await openTls(address, o.tls, options.signal) : await netTransport({ ...options, ...address, url: new URL(`mqtt://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`) });
    } catch (e) {
      index++;
      throw e;
    }
    // After a success: round robin stays on this address; otherwise the main one comes first again.
    if (!o.roundRobin) index = 0;
    return rewriting(transport, o.protocol());
  };
}

function openTls(address: { host: string; port: number }, tls: BridgeTls, signal: AbortSignal | undefined): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: address.host,
      port: address.port,
      ca: tls.ca as string | Buffer | undefined, // PEM text or bytes, as Node's TLS options take them
      cert: tls.cert as string | Buffer | undefined, // PEM text or bytes, as Node's TLS options take them
      key: tls.key as string | Buffer | undefined, // PEM text or bytes, as Node's TLS options take them
      // bridge_insecure, as in mosquitto: the chain is checked, the host name is not.
      ...(tls.insecure ? { checkServerIdentity: () => undefined } : {}),
    });
    socket.setNoDelay(true);
    const fail = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    socket.once('error', fail);
    signal?.addEventListener('abort', () => fail(new Error('connecting was aborted')), { once: true });
    socket.once('secureConnect', () => {
      socket.off('error', fail);
      resolve(wrapSocket(socket));
    });
  });
}
