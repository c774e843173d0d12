/** Waiting on broker events instead of sleeping. */
import type { Broker, BrokerEvents } from '../../src/broker-mini/index.js';

/**
 * Resolves with the arguments of the first `event` for which `match` returns true; rejects after
 * `timeoutMs`. Register it before causing the event.
 */
export function waitForEvent<E extends keyof BrokerEvents>(
  broker: Broker,
  event: E,
  match: (...args: Parameters<BrokerEvents[E]>) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<Parameters<BrokerEvents[E]>> {
  return new Promise((resolve, reject) => {
    const listener = ((...args: Parameters<BrokerEvents[E]>) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      broker.off(event, listener);
      resolve(args);
    }) as BrokerEvents[E];
    const timer = setTimeout(() => {
      broker.off(event, listener);
      reject(new Error(`no matching "${String(event)}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    broker.on(event, listener);
  });
}

/** Resolves when `clientId`'s SUBSCRIBE has been answered. */
export function subscribedEvent(broker: Broker, clientId: string, timeoutMs?: number): Promise<unknown> {
  return waitForEvent(broker, 'subscribe', (_subs, client) => client.clientId === clientId, timeoutMs);
}
