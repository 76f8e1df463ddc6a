// `tandem lab up --tls`: a private CA of the lab's own, minted with the openssl CLI in the run dir,
// a server certificate per box (subjectAltName: the API's address and the box's name) and one
// client certificate for the operators' tools and central. Nothing here is trusted outside the
// lab: the CA lives and dies with the run dir. The argument lists are pure (unit tested); mint*
// run them.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { sh } from './exec.js';

/** Short-lived on purpose: a lab is torn down within hours; a forgotten run dir's CA soon expires. */
export const LAB_CERT_DAYS = 30;

/** Where `lab up --tls` keeps its files, under the run dir. */
export const LAB_TLS_DIR = 'tls';

/** A certificate and its key, as paths. */
export interface CertPaths {
  cert: string;
  key: string;
}

export interface CertRequest {
  /** The subject's common name. */
  cn: string;
  /** subjectAltName entries: IP addresses and DNS names (a server's). */
  sans?: readonly string[];
  usage: 'server' | 'client';
  days?: number;
}

/** The openssl arguments that make a self-signed CA (P-256 key, no passphrase). */
export function caArgs(ca: CertPaths, cn: string, days = LAB_CERT_DAYS): string[] {
  return [
    'req',
    '-x509',
    ...ecKeyArgs(ca.key),
    '-out',
    ca.cert,
    '-subj',
    `/CN=${cn}`,
    '-days',
    String(days),
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ];
}

/** The openssl arguments of a new key and its signing request. */
export function csrArgs(out: CertPaths, csr: string, cn: string): string[] {
  return ['req', '-new', ...ecKeyArgs(out.key), '-out', csr, '-subj', `/CN=${cn}`];
}

/** The openssl arguments that sign `csr` with the CA; `serial` in hex (random: each renewal differs). */
export function signArgs(csr: string, out: string, ca: CertPaths, extFile: string, serial: string, days = LAB_CERT_DAYS): string[] {
  return ['x509', '-req', '-in', csr, '-out', out, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${serial}`, '-days', String(days), '-extfile', extFile];
}

/** The X.509 v3 extensions of a leaf certificate (openssl's -extfile format). */
export function leafExtensions(req: CertRequest): string {
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${req.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
  ];
  const sans = (req.sans ?? []).map((s) => (isIP(s) ? `IP:${s}` : `DNS:${s}`));
  if (sans.length > 0) lines.push(`subjectAltName=${sans.join(',')}`);
  return `${lines.join('\n')}\n`;
}

function ecKeyArgs(keyOut: string): string[] {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyOut];
}

/** A random positive 128-bit serial, in hex (the top bit clear: serials are signed integers). */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  b[0] |= 0x10; // no leading zero byte either
  return b.toString('hex');
}

/** Mints the CA into `dir` as ca.crt and ca.key (0600). */
export async function mintCa(dir: string, cn: string): Promise<CertPaths> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await sh('openssl', caArgs(ca, cn));
  chmodSync(ca.key, 0o600);
  chmodSync(ca.cert, 0o644);
  return ca;
}

/** Mints `<name>.crt` and `<name>.key` (0600) in `dir`, signed by `ca`; paths to write elsewhere with `out`. */
export async function mintCert(dir: string, name: string, ca: CertPaths, req: CertRequest, out?: CertPaths): Promise<CertPaths> {
  const paths = out ?? { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  try {
    await sh('openssl', csrArgs(paths, csr, req.cn));
    chmodSync(paths.key, 0o600);
    writeFileSync(ext, leafExtensions(req), { mode: 0o600 });
    await sh('openssl', signArgs(csr, paths.cert, ca, ext, randomSerial(), req.days));
    chmodSync(paths.cert, 0o644);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  return paths;
}

/** What `lab up --tls` mints: the CA, each box's server certificate, the client certificate. */
export interface LabTlsFiles {
  ca: CertPaths;
  boxes: Record<string, CertPaths>;
  client: CertPaths;
}

/**
 * The lab's CA and certificates in <runDir>/tls: `servers` maps a box name (fwa) to its API
 * address and the device name it answers to (both go in its subjectAltName).
 */
export async function mintLabTls(runDir: string, labName: string, servers: Record<string, { address: string; dnsName: string }>): Promise<LabTlsFiles> {
  const dir = join(runDir, LAB_TLS_DIR);
  const ca = await mintCa(dir, `tandem lab ${labName} CA`);
  const boxes: Record<string, CertPaths> = {};
  for (const [box, s] of Object.entries(servers)) {
    boxes[box] = await mintCert(dir, box, ca, { cn: s.dnsName, sans: [s.address, s.dnsName], usage: 'server' });
  }
  const client = await mintCert(dir, 'client', ca, { cn: `tandem lab ${labName} operator`, usage: 'client' });
  return { ca, boxes, client };
}
