// Certificates for the TLS tests, minted once per file with the lab's own openssl helpers
// (src/lab/lab-tls.ts): a CA, server certificates for 127.0.0.1, a client certificate, and a
// second CA nobody trusts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintCa, mintCert, type CertPaths } from '../../../src/lab/lab-tls.js';

export interface TlsFixture {
  dir: string;
  ca: CertPaths;
  server: CertPaths;
  /** Another certificate for the same names, from the same CA (a renewal). */
  renewed: CertPaths;
  client: CertPaths;
  otherCa: CertPaths;
  /** A client certificate signed by otherCa. */
  strangerClient: CertPaths;
}

export async function mintFixture(): Promise<TlsFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-tls-'));
  const ca = await mintCa(join(dir, 'ca'), 'test CA');
  const otherCa = await mintCa(join(dir, 'other'), 'other CA');
  const server = await mintCert(dir, 'server', ca, { cn: 'fw-a', sans: ['127.0.0.1', 'fw-a'], usage: 'server' });
  const renewed = await mintCert(dir, 'renewed', ca, { cn: 'fw-a', sans: ['127.0.0.1', 'fw-a'], usage: 'server' });
  const client = await mintCert(dir, 'client', ca, { cn: 'operator', usage: 'client' });
  const strangerClient = await mintCert(dir, 'stranger', otherCa, { cn: 'stranger', usage: 'client' });
  return { dir, ca, server, renewed, client, otherCa, strangerClient };
}

export function read(path: string): Buffer {
  return readFileSync(path);
}
