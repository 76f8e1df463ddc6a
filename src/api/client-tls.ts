// The API client's side of TLS: the options built from files (also what tandem central uses per
// member, each with the CA file its inventory names), and the words for a failed handshake.
import { readFileSync } from 'node:fs';
import { ApiError } from './api-error.js';

/** Files as an operator names them (--ca, --cert, --key; TANDEM_API_CA, ...). */
export interface ApiTlsFiles {
  /** PEM CA(s) the server's certificate must chain to; without it, the system's trusted CAs. */
  caFile?: string;
  /** PEM client certificate for mutual TLS (with keyFile). */
  certFile?: string;
  keyFile?: string;
}

/** What node:https takes: the files' contents. */
export interface ClientTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Reads the files named (synchronously: a client is built once per command or member). A file
 * that cannot be read, or a certificate without its key, is an ApiError 'bad-tls-file' naming it.
 */
export function clientTlsOptions(files: ApiTlsFiles): ClientTlsOptions {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    const [given, missing] = files.certFile === undefined ? ['key', 'certificate'] : ['certificate', 'key'];
    throw new ApiError(0, 'bad-tls-file', `a client ${given} was given without its ${missing}: mutual TLS needs both (--cert and --key)`);
  }
  const read = (what: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      const content = readFileSync(file);
      if (!content.includes('-----BEGIN ')) throw Object.assign(new Error('not a PEM file (no -----BEGIN line)'), { code: 'not PEM' });
      return content;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ApiError(0, 'bad-tls-file', `cannot use the ${what} file ${file}: ${e.code === 'not PEM' ? e.message : (e.code ?? e.message)}`, { cause: err });
    }
  };
  const out: ClientTlsOptions = {};
  const ca = read('CA', files.caFile);
  const cert = read('client certificate', files.certFile);
  const key = read('client key', files.keyFile);
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  return out;
}

/** True when the options carry anything (an http:// URL must not be given TLS files). */
export function hasTlsFiles(files: ApiTlsFiles): boolean {
  return files.caFile !== undefined || files.certFile !== undefined || files.keyFile !== undefined;
}

/** OpenSSL's verification results (err.code of a rejected server certificate), in words. */
const VERIFY_REASONS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by a trusted CA (give the CA with --ca)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the CA of its certificate is not trusted (give it with --ca)',
  UNABLE_TO_GET_ISSUER_CERT: 'the CA of its certificate is not trusted (give it with --ca)',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in an untrusted self-signed CA (give that CA with --ca)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not trusted (give it with --ca)',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet (check the clocks)',
  CERT_SIGNATURE_FAILURE: 'its certificate signature does not verify',
  CERT_REVOKED: 'its certificate is revoked',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is not for this host name or address (subjectAltName)',
};

const REFUSED_CLIENT_CERT = 'the server refused our client certificate (mutual TLS: give one signed by its client CA with --cert and --key)';

/**
 * The reason a connection failed in TLS, or null when the error is not a TLS one. err.code is
 * OpenSSL's verify result or Node's ERR_TLS_* / ERR_SSL_* (an alert from the server, such as
 * "certificate required" when mutual TLS refused us), or EPROTO (the other end does not speak TLS).
 * `afterHandshakeWithCert`: the handshake had completed on our side, with a client certificate
 * sent; a reset then, before any answer, is TLS 1.3's way of refusing that certificate.
 */
export function tlsFailureReason(err: NodeJS.ErrnoException, afterHandshakeWithCert = false): string | null {
  const code = err.code;
  if (code === undefined) return null;
  if (afterHandshakeWithCert && code === 'ECONNRESET')
    return `the server closed the connection after the handshake: most likely ${REFUSED_CLIENT_CERT.slice(4)}`;
  if (Object.hasOwn(VERIFY_REASONS, code)) return `the server was not verified: ${VERIFY_REASONS[code]}`;
  if (/^ERR_SSL_.*ALERT_CERTIFICATE_REQUIRED$/.test(code) || /^ERR_SSL_.*(ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA)$/.test(code)) {
    return REFUSED_CLIENT_CERT;
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') return `TLS handshake failed: ${firstLine(err.message)}`;
  return null;
}

function firstLine(text: string): string {
  return text
    .split('\n')[0]
    .replace(/^[\w:]*error:[0-9A-F]+:/i, '')
    .trim();
}
