/**
 * Opening a connection: the store read first, the transport for a server, opened bounded in
 * time and abortable, with failures as typed errors.
 */
import { ClientError } from '../errors.js';
import { getTransport, type Transport, type TransportFactory } from '../transport.js';
import type { ResolvedOptions, ServerAddress } from './options.js';
import type { ClientSession } from './session.js';

/** The error for an operation stopped by its `AbortSignal`. */
export function abortedError(): ClientError {
  return new ClientError('ABORTED', 'the operation was aborted');
}

/**
 * Opens a transport with `factory`. Rejects with `ClientError` `CONNECT_TIMEOUT` after
 * `connectTimeout` ms (0: no limit), `ABORTED` when `signal` fires, or `CONNECT_FAILED` (the
 * factory's error as `cause`). A transport that opens too late is destroyed, never leaked.
 */
export function openTransport(factory: TransportFactory, config: ResolvedOptions, signal?: AbortSignal): Promise<Transport> {
  const { url, host, port, tls } = config;
  const limit = config.session.connectTimeout ?? 30_000;
  const controller = new AbortController();
  return new Promise<Transport>((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | undefined, transport?: Transport) => {
      if (settled) return void transport?.destroy();
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        controller.abort();
        reject(error);
      } else resolve(transport!); // no error means the transport opened
    };
    const onAbort = () => settle(abortedError());
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = limit > 0 ? setTimeout(() => settle(new ClientError('CONNECT_TIMEOUT', `no connection to ${url.href} within ${limit} ms`)), limit) : undefined;
    factory({ url, host, port, tls, signal: controller.signal }).then(
      (transport) => settle(undefined, transport),
      (cause: unknown) => settle(new ClientError('CONNECT_FAILED', `cannot connect to ${url.href}: ${(cause as Error)?.message ?? String(cause)}`, { cause })), // what is caught here is an Error (Node's or ours)
    );
  });
}

/**
 * The transport factory for `server`: the client's own for the first server's protocol (or
 * whenever the `transport` option was given), the registered one for another protocol.
 */
export function factoryFor(config: ResolvedOptions, factory: TransportFactory, server: ServerAddress): TransportFactory {
  if (config.transport || server.url.protocol === config.url.protocol) return factory;
  const registered = getTransport(server.url.protocol);
  if (!registered) throw new ClientError('INVALID_OPTIONS', `no transport registered for ${server.url.protocol} (pass the transport option)`);
  return registered;
}

/**
 * Reads the store before the first connection: with cleanSession the old session is discarded
 * [MQTT-3.1.2-6], otherwise its unfinished flows are resumed [MQTT-4.4.0-1].
 */
export async function openStore(config: ResolvedOptions, session: ClientSession): Promise<void> {
  const store = config.store;
  if (!store) return;
  const state = await store.open(config.session.clientId);
  if (config.session.cleanSession) {
    store.clear();
    await store.commit();
  } else {
    session.restore(state);
  }
}
