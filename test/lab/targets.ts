/**
 * The brokers `mqtt311 check` is run against in tests and for the report cards in docs/:
 * broker-mini in this process, a private mosquitto, aedes (the devDependency) in this process.
 */
import { createServer, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker } from '../../src/broker-mini/index.js';
import { startMosquitto } from '../helpers/peers.js';

/** A broker under test. */
export interface CheckTarget {
  port: number;
  /** Its name and version, for the report's title. */
  label: string;
  stop(): Promise<void>;
}

export type CheckTargetName = 'broker-mini' | 'mosquitto' | 'aedes';

const version = (pkg: string) => (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** Starts the named broker on a free port of 127.0.0.1. */
export async function startCheckTarget(name: CheckTargetName): Promise<CheckTarget> {
  switch (name) {
    case 'broker-mini': {
      const broker = await startBroker({ port: 0 });
      return { port: broker.address.port, label: 'broker-mini (this repository)', stop: () => broker.close() };
    }
    case 'mosquitto': {
      const mosq = await startMosquitto();
      return { port: mosq.port, label: 'mosquitto 2.0.11 (Debian bookworm)', stop: () => mosq.stop() };
    }
    case 'aedes': {
      const { Aedes } = await import('aedes');
      const aedes = (await Aedes.createBroker()) as unknown as { handle: (s: unknown) => void; close(cb: () => void): void };
      const sockets = new Set<import('node:net').Socket>();
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        aedes.handle(socket);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return {
        port: (server.address() as AddressInfo).port,
        label: `aedes ${version('aedes')}`,
        async stop() {
          for (const s of sockets) s.destroy();
          await new Promise<void>((resolve) => aedes.close(() => resolve()));
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    }
  }
}
