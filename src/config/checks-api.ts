// The semantic checks of device.api that the schema cannot express alone.
import { collect } from './checks-util.js';
import type { ConfigIssue, TandemConfig } from './types.js';

/**
 * TLS needs a TCP listener: a unix socket is already private to the daemon's user and root (mode
 * 0600), and no client would verify a certificate for a path. Refused rather than silently served
 * in clear text, so an operator who asked for TLS never gets less.
 */
export function apiTlsListener({ device }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  if (device.api.tls && device.api.listen.startsWith('unix:')) {
    add(
      'device.api.tls',
      device.api.tls,
      `no tls on a unix: listener (device.api.listen is ${device.api.listen}); HTTPS needs device.api.listen "<host>:<port>"`,
    );
  }
  return issues;
}
