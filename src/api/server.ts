// The management API: node:http (node:https with device.api.tls), a bearer token, a tiny routing
// table. Every request is bounded (headers, body size, time, rate, connections, the TLS handshake)
// and every response is JSON, except the status
// page's static files. This file owns the listener and what node:http answers before a request
// exists (unparseable requests, CONNECT, the connection limit); dispatch.ts runs each request, and
// routes/ holds the handlers, one file per route group.
import { STATUS_CODES, createServer, type IncomingMessage, type RequestListener, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ApiTlsConfig } from '../config/types.js';
import type { HaController } from '../control/status.js';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log-limit.js';
import type { Metrics } from '../metrics/registry.js';
import { closeHttp, listenHttp } from '../net/http-listen.js';
import { sha256 } from './auth.js';
import { requestHandler } from './dispatch.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import { commandRoutes } from './routes/commands.js';
import { configRoutes, type ConfigApi } from './routes/config.js';
import { counterRoutes } from './routes/counters.js';
import type { RouteTable } from './routes/route.js';
import { sessionsRoutes } from './routes/sessions.js';
import { statusRoutes } from './routes/status.js';
import type { SessionFilter, SessionList } from './sessions.js';
import { statusPage } from './status-page/page.js';
import { createTlsServer } from './tls-server.js';
import type { TlsWatchOptions } from './tls-watch.js';

export interface ApiServerOptions {
  /** "host:port" or "unix:/abs/path" (see listen.ts). */
  listen: string;
  /** The bearer token clients must present (the token file's content, trimmed). */
  token: Buffer;
  controller: HaController;
  metrics: Metrics;
  log: Logger;
  /** Asked on every GET /v1/status; may be slow or hang: it is given `dataplaneTimeoutMs`. */
  dataplaneStatus?: () => Promise<unknown>;
  /** Default 1000 ms. */
  dataplaneTimeoutMs?: number;
  /**
   * Serves GET /v1/sessions (the daemon passes DataplaneClient.sessions). Without it the route
   * answers 503. A SessionsUnavailable rejection is a 504 (timeout) or a 502 (error).
   */
  sessions?: (filter: SessionFilter, limit: number) => Promise<SessionList>;
  /** Bound on one sessions listing, on top of the source's own. Default 3000 ms. */
  sessionsTimeoutMs?: number;
  /** Serves /v1/config*; without it those routes answer 503. */
  config?: ConfigApi;
  /** Where the status page's compiled browser modules are (default: dist/src/api/status-page). */
  statusPageDir?: string;
  /**
   * Requests per client address and in all (device.api.rateLimit; the daemon always passes it).
   * Without it nothing is limited: tests and tools that embed the server decide for themselves.
   */
  rateLimit?: Partial<RateLimitOptions>;
  /**
   * HTTPS (device.api.tls): the files are read and checked at start (a bad one refuses to start,
   * naming it), then watched, and a good new set serves new connections without a restart.
   */
  tls?: ApiTlsConfig & { watch?: TlsWatchOptions };
}

export interface ApiServer {
  /** Stop listening, drop open connections, remove the unix socket file. */
  close(): Promise<void>;
  /** Where clients reach it: "http://host:port" or "https://host:port" (the real port), or "unix:/path". */
  address: string;
}

/** Whole requests must arrive within this (slowloris bound); headers within HEADERS_TIMEOUT_MS. */
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
/** Concurrent connections (CLI, lab, monitoring): far above real use, far below exhaustion. */
export const API_MAX_CONNECTIONS = 64;
/** A refused CONNECT's socket is cut this long after the answer, whatever the client does. */
const CONNECT_LINGER_MS = 2_000;
/**
 * At most one log line per reason (unauthorized, rate-limited, connection limit) per this
 * interval; the suppressed count rides on the next line. Counters are never limited.
 */
const API_LOG_INTERVAL_MS = 10_000;

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  if (opts.token.length === 0) throw new Error('API token is empty: refusing to serve an unauthenticated API');
  const { metrics } = opts;
  const log = opts.log.child({ component: 'api' });
  const logLimit = new LogLimiter(API_LOG_INTERVAL_MS);
  const handle = requestHandler({
    routes: routeTable(opts),
    tokenDigest: sha256(opts.token),
    page: statusPage(opts.statusPageDir),
    limiter: opts.rateLimit ? new RateLimiter(opts.rateLimit, performance.now()) : null,
    metrics,
    log,
    logLimit,
  });

  const onRequest: RequestListener = (req, res) => {
    handle(req, res).catch((err) => {
      // only reached if writing the response itself failed
      log.error({ err }, 'API response failed');
      res.destroy();
    });
  };
  const { server, stopWatching } = createApiServer(opts, onRequest, log, logLimit);
  // an operator API: a handful of clients at most; beyond this, connections are refused
  server.maxConnections = API_MAX_CONNECTIONS;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    metrics.connectionRefused('api');
    const logged = logLimit.allow('connection-limit');
    if (logged)
      log.warn({ remote: data?.remoteAddress, max: API_MAX_CONNECTIONS, suppressed: logged.suppressed }, 'API connection limit reached: connection refused');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, metrics));
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => refuseConnect(socket, metrics));

  let address: string;
  try {
    address = await listenHttp(server, opts.listen);
  } catch (err) {
    stopWatching();
    throw err;
  }
  log.info({ address, ...(opts.tls ? { mutualTls: opts.tls.clientCaFile !== undefined } : {}) }, 'management API listening');
  let closed: Promise<void> | null = null;
  return {
    address,
    close: () => {
      stopWatching();
      return (closed ??= closeHttp(server, opts.listen));
    },
  };
}

const HTTP_OPTIONS = { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS };

/** node:http, or node:https with the checked TLS files and their watcher (tls-server.ts). */
function createApiServer(
  opts: ApiServerOptions,
  onRequest: RequestListener,
  log: Logger,
  logLimit: LogLimiter,
): { server: HttpServer | HttpsServer; stopWatching: () => void } {
  const tls = opts.tls;
  if (!tls) return { server: createServer(HTTP_OPTIONS, onRequest), stopWatching: () => undefined };
  if (opts.listen.startsWith('unix:')) throw new Error('device.api.tls needs a "host:port" listener, not a unix: socket');
  return createTlsServer(tls, { ...HTTP_OPTIONS, handshakeTimeout: HEADERS_TIMEOUT_MS }, onRequest, { log, logLimit, metrics: opts.metrics });
}

/** Every route, by group (routes/). */
function routeTable(opts: ApiServerOptions): RouteTable {
  return {
    ...statusRoutes({ controller: opts.controller, dataplaneStatus: opts.dataplaneStatus, dataplaneTimeoutMs: opts.dataplaneTimeoutMs ?? 1000 }),
    ...sessionsRoutes({ sessions: opts.sessions, sessionsTimeoutMs: opts.sessionsTimeoutMs ?? 3000 }),
    ...configRoutes(opts.config),
    ...counterRoutes(opts.metrics),
    ...commandRoutes(opts.controller),
  };
}

/**
 * Requests node:http cannot parse (bad request line, headers over 16 KiB, too slow): still a JSON
 * answer, still counted.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, metrics: Metrics): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'bad-request', 'request headers too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'timeout', 'request not received in time']
        : [400, 'bad-request', 'malformed HTTP request'];
  metrics.apiRequest('unknown', status);
  socket.end(rawJsonAnswer(status, { error: { code, message } }));
}

/**
 * CONNECT never reaches the request handler: node:http hands over the raw socket, and with no
 * listener closes it unanswered and uncounted (found by test/fuzz/api.test.ts).
 */
function refuseConnect(socket: Duplex, metrics: Metrics): void {
  metrics.apiRequest('unknown', 405);
  // the client may still be sending a body: read and drop it, so its close is seen (a socket
  // nobody reads never learns its peer left, and would hold its connection slot for good)
  socket.on('error', () => socket.destroy());
  socket.resume();
  setTimeout(() => socket.destroy(), CONNECT_LINGER_MS).unref();
  socket.end(rawJsonAnswer(405, { error: { code: 'method-not-allowed', message: 'CONNECT is not supported' } }));
}

/** A whole HTTP/1.1 answer for a socket node:http has handed over (no ServerResponse exists). */
function rawJsonAnswer(status: number, body: unknown): string {
  const text = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
  );
}
