/**
 * The options of one listener (`BrokerOptions.listeners`), as mosquitto's `listener` blocks have
 * them, and the per-connection policy a listener hands the broker core with each connection.
 * Types only: `listeners.ts` starts the servers.
 */
import type { AclRule } from './core/acl.js';
import type { PasswordEntry } from './passwd.js';

/** TLS for a listener (mosquitto's `certfile`, `keyfile`, `cafile`/`capath`, …), PEM contents. */
export interface ListenerTlsOptions {
  /** The server certificate chain (`certfile`). */
  cert: string | Uint8Array;
  /** Its private key (`keyfile`). */
  key: string | Uint8Array;
  /** CA certificates that client certificates must chain to (`cafile`, `capath`). */
  ca?: Array<string | Uint8Array>;
  /** Certificate revocation lists (`crlfile`). */
  crl?: string | Uint8Array;
  /** Diffie-Hellman parameters (`dhparamfile`). */
  dhparam?: string | Uint8Array;
  /** OpenSSL cipher list (`ciphers`, `ciphers_tls1.3`). */
  ciphers?: string;
  /** Lowest TLS version accepted (`tls_version`). Default Node's (TLSv1.2). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Clients must present a certificate signed by `ca` (`require_certificate`). Default false. */
  requireCertificate?: boolean;
}

/**
 * Authentication for one listener, used instead of the broker-wide settings when set
 * (mosquitto's `per_listener_settings true`).
 */
export interface ListenerAuth {
  allowAnonymous?: boolean;
  /** User name → password. */
  users?: Record<string, string | PasswordEntry>;
  acl?: AclRule[];
  allowZeroLengthClientId?: boolean;
  autoIdPrefix?: string;
}

/** One listener: TCP or WebSocket, plain or TLS. */
export interface ListenerOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Address to bind. Omitted: every interface (as mosquitto 2.0 does for `listener PORT`). */
  host?: string | undefined;
  /** `'mqtt'` (default) or `'websockets'` (spec chapter 6). */
  protocol?: 'mqtt' | 'websockets';
  /** WebSocket only: accept upgrades on this request path only. */
  path?: string;
  /** Serve TLS (mqtts / wss). */
  tls?: ListenerTlsOptions;
  /** Without `host`: bind only IPv4 (`0.0.0.0`) or only IPv6 (`::`). */
  socketDomain?: 'ipv4' | 'ipv6';
  /** Open connections on this listener; more are closed on arrival. Default: no bound of its own. */
  maxConnections?: number;
  /** Prefix added to every topic of this listener's clients and removed from what they receive. */
  mountPoint?: string;
  /** With a client certificate: its Common Name is the user name, and no password is needed. */
  useIdentityAsUsername?: boolean;
  /** With a client certificate: its whole subject (`CN=…,O=…`) is the user name, and no password is needed. */
  useSubjectAsUsername?: boolean;
  /** The CONNECT's user name is used as ClientId; a CONNECT without one gets CONNACK 5. */
  useUsernameAsClientId?: boolean;
  /** Highest QoS this listener's clients may use: SUBSCRIBEs are granted at most this, a PUBLISH above it disconnects. */
  maxQos?: 0 | 1 | 2;
  /** Authentication for this listener only (per_listener_settings). */
  auth?: ListenerAuth;
}

/** What the core needs to know about the listener a connection arrived on. */
export interface ConnectionPolicy {
  /** Listener name for logs, e.g. `mqtts://0.0.0.0:8883`. */
  readonly listener: string;
  readonly auth?: ListenerAuth | undefined;
  readonly useUsernameAsClientId?: boolean | undefined;
  readonly maxQos?: 0 | 1 | 2 | undefined;
  /** The user name taken from the client certificate, when the listener uses it. */
  readonly identity?: string;
}
