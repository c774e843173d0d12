/**
 * A throw-away PKI for TLS listener tests: the CA and server certificate of the client fixtures,
 * plus a client certificate (CN `device-1` unless told otherwise) signed by the same CA.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePki, type TestPki } from '../client/fixtures.js';

/** The test PKI with a client certificate. */
export interface ClientPki extends TestPki {
  clientCertFile: string;
  clientKeyFile: string;
  /** PEM contents, for in-process clients. */
  clientCert: string;
  clientKey: string;
  serverCert: string;
  serverKey: string;
}

/** Makes the CA, the server certificate for 127.0.0.1 and a client certificate with CN `cn` in `dir`. */
export function makeClientPki(dir: string, cn = 'device-1'): ClientPki {
  const pki = makePki(dir);
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 30_000 });
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', `/CN=${cn}/O=mqtt311 tests`);
  run('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2');
  const clientCertFile = join(dir, 'client.crt');
  const clientKeyFile = join(dir, 'client.key');
  return {
    ...pki,
    clientCertFile,
    clientKeyFile,
    clientCert: readFileSync(clientCertFile, 'utf8'),
    clientKey: readFileSync(clientKeyFile, 'utf8'),
    serverCert: readFileSync(pki.certFile, 'utf8'),
    serverKey: readFileSync(pki.keyFile, 'utf8'),
  };
}
