// The management API's TLS material (device.api.tls): reading the three files, checking that they
// make a usable server identity, and deciding what a reload does. Reading is the only I/O here;
// tlsMaterial and planReload are pure, so every broken-file case is unit tested without a server.
import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { ApiTlsConfig } from '../config/types.js';
import { readPrivateFile } from '../wire/keyfile.js';

/**
 * TLS 1.2 and 1.3 only. Node's default minimum is already 1.2, but a NODE_OPTIONS
 * --tls-min-v1.0 would lower it for the whole process: the API states its own floor. The cipher
 * list is left at Node's default on purpose: it is OpenSSL's forward-secret AEAD suites (ECDHE with
 * AES-GCM or ChaCha20-Poly1305; TLS 1.3's own suites) and is kept current by every Node release,
 * where a list pinned here would only age.
 */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** The key of device.api.tls a file was named by, which every error names. */
export type TlsFileRole = 'certFile' | 'keyFile' | 'clientCaFile';

/** The files' contents, as read (compared byte for byte to tell a real change from a touch). */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Where the three files are named in a config: the daemon's device.api.tls (the default), or tandem central's tls. */
export const DEVICE_API_TLS = 'device.api.tls';

export class TlsFileError extends Error {
  readonly code = 'tls-file';
  constructor(
    readonly role: TlsFileRole,
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
    readonly where: string = DEVICE_API_TLS,
  ) {
    super(`${where}.${role} ${file}: ${message}`, options);
    this.name = 'TlsFileError';
  }
}

/** What a good set of files gives: the server's TLS options and what operators want to know of the certificate. */
export interface TlsMaterial {
  files: TlsFiles;
  /** For https.createServer and server.setSecureContext. */
  options: SecureContextOptions;
  notAfter: Date;
  /** Hex, as openssl prints it: tells a renewed certificate from the old one in logs. */
  serial: string;
  subject: string;
}

/** Reads the three files; the key file must be private to the daemon's user (as the token file). */
export function readTlsFiles(cfg: ApiTlsConfig, where = DEVICE_API_TLS): TlsFiles {
  const read = (role: TlsFileRole, file: string): Buffer => {
    try {
      return role === 'keyFile' ? readPrivateFile(file, 'TLS key') : readFileSync(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // the private-file check words its own message (mode, chmod hint); plain reads say their code
      const why = e.name === 'SecretFileError' ? e.message.replace(/^TLS key file \S+ /, '') : `cannot be read (${e.code ?? e.message})`;
      throw new TlsFileError(role, file, why, { cause: err }, where);
    }
  };
  const files: TlsFiles = { cert: read('certFile', cfg.certFile), key: read('keyFile', cfg.keyFile) };
  if (cfg.clientCaFile !== undefined) files.ca = read('clientCaFile', cfg.clientCaFile);
  return files;
}

/**
 * The server identity the files make, or a TlsFileError naming the file at fault: a certificate
 * or CA that is not PEM, a key that is not one, or a key that does not belong to the certificate.
 */
export function tlsMaterial(cfg: ApiTlsConfig, files: TlsFiles, where = DEVICE_API_TLS): TlsMaterial {
  const cert = parseCertificate('certFile', cfg.certFile, files.cert, where);
  const key = parseKey(cfg.keyFile, files.key, where);
  if (!cert.checkPrivateKey(key))
    throw new TlsFileError('keyFile', cfg.keyFile, `is not the private key of the certificate in ${cfg.certFile}`, undefined, where);
  if (files.ca !== undefined && cfg.clientCaFile !== undefined) parseCertificate('clientCaFile', cfg.clientCaFile, files.ca, where);
  const options: SecureContextOptions = { cert: files.cert, key: files.key, minVersion: TLS_MIN_VERSION, ...(files.ca ? { ca: files.ca } : {}) };
  try {
    // what the server will do with them: catches what the parsers above let through (a bad chain)
    createSecureContext(options);
  } catch (err) {
    throw new TlsFileError('certFile', cfg.certFile, `unusable with ${cfg.keyFile}: ${(err as Error).message}`, { cause: err }, where);
  }
  return { files, options, notAfter: new Date(cert.validTo), serial: cert.serialNumber, subject: cert.subject.replace(/\n/g, ', ') };
}

function parseCertificate(role: TlsFileRole, file: string, pem: Buffer, where: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsFileError(role, file, `is not a PEM certificate (${(err as Error).message})`, { cause: err }, where);
  }
}

function parseKey(file: string, pem: Buffer, where: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new TlsFileError('keyFile', file, `is not a PEM private key (${(err as Error).message})`, { cause: err }, where);
  }
}

/** The reloader's memory: what is served, and the last failure already reported (reported once). */
export interface ReloadState {
  served: TlsMaterial;
  /** The failed files' contents, or the read error's message: the same failure is not logged and counted again. */
  lastFailure: string | null;
}

export type ReloadPlan =
  /** Nothing new: the files are the served ones (a touch), or the failure already reported. */
  | { action: 'keep' }
  | { action: 'apply'; material: TlsMaterial }
  /** Report it once; the served certificate stays. */
  | { action: 'reject'; error: TlsFileError; failure: string };

/**
 * What to do once the files changed on disk: `next` is what reading them gave (readTlsFiles'
 * contents or its error). A broken set never replaces a working one.
 */
export function planReload(cfg: ApiTlsConfig, state: ReloadState, next: TlsFiles | TlsFileError, where = DEVICE_API_TLS): ReloadPlan {
  if (next instanceof TlsFileError) {
    return next.message === state.lastFailure ? { action: 'keep' } : { action: 'reject', error: next, failure: next.message };
  }
  if (sameFiles(next, state.served.files)) return { action: 'keep' };
  const failure = fingerprint(next);
  if (failure === state.lastFailure) return { action: 'keep' };
  try {
    return { action: 'apply', material: tlsMaterial(cfg, next, where) };
  } catch (err) {
    if (err instanceof TlsFileError) return { action: 'reject', error: err, failure };
    throw err;
  }
}

function sameFiles(a: TlsFiles, b: TlsFiles): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key) && (a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca));
}

/** A failed set's identity, compared with the next read (a digest: no second copy of the key is kept). */
function fingerprint(f: TlsFiles): string {
  const h = createHash('sha256');
  for (const b of [f.cert, f.key, f.ca ?? Buffer.alloc(0)]) h.update(createHash('sha256').update(b).digest());
  return `files ${h.digest('hex')}`;
}
