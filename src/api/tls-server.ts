// An HTTPS listener from checked TLS files, renewed without a restart (tls-watch.ts): the box's
// management API (device.api.tls) and tandem central's own (its inventory's tls) both serve this
// way. With a client CA the handshake itself refuses a client without a certificate signed by it
// (requestCert + rejectUnauthorized): such a client never reaches the token check or any route.
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import type { RequestListener } from 'node:http';
import type { ApiTlsConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { LogLimiter } from '../log-limit.js';
import { DEVICE_API_TLS, readTlsFiles, tlsMaterial } from './tls-context.js';
import { reportServed, watchTlsFiles, type TlsMetrics, type TlsWatchOptions } from './tls-watch.js';

/**
 * The files are read and checked now (a bad one throws TlsFileError naming `where`.<key>); the
 * server serves them and follows their renewals. `http`: the listener's own options (timeouts),
 * a handshake bounded like the headers.
 */
export function createTlsServer(
  tls: ApiTlsConfig & { watch?: TlsWatchOptions },
  http: ServerOptions,
  onRequest: RequestListener,
  deps: { log: Logger; logLimit: LogLimiter; metrics: TlsMetrics },
  where = DEVICE_API_TLS,
): { server: HttpsServer; stopWatching: () => void } {
  const material = tlsMaterial(tls, readTlsFiles(tls, where), where);
  const mutual = tls.clientCaFile !== undefined;
  const server = createHttpsServer({ ...http, ...material.options, requestCert: mutual, rejectUnauthorized: mutual }, onRequest);
  // node:tls destroys the socket itself after this event; here it is only told
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
    const logged = deps.logLimit.allow('tls-handshake');
    if (logged) deps.log.warn({ reason: err.code ?? err.message, suppressed: logged.suppressed }, 'API TLS handshake failed');
  });
  reportServed(material, tls.certFile, deps.log, deps.metrics, 'loaded');
  return { server, stopWatching: watchTlsFiles(tls, material, server, deps, { ...tls.watch, where }) };
}
