// The management API: node:http, a bearer token, a tiny routing table. Every request is bounded
// (headers, body size, time) and every response is JSON, except the status page's static files
// (status-page/page.ts, the only paths served without the token). A failing handler answers 500;
// the daemon stays up. Requests are counted by route pattern (never the raw URL) and status code.
import { STATUS_CODES, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import { CommandRefused, type HaController } from '../control/status.js';
import { closeHttp, listenHttp } from '../net/http-listen.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import { statusPage } from './status-page/page.js';
import { readCounters } from './status-page/counters.js';
import { ConfigError } from '../config/errors.js';
import type { ConfigIssue } from '../config/types.js';
import {
  CommitRefused,
  ConfigApplyError,
  PeerConfigUnavailable,
  type CommitResult,
  type ConfigRecordView,
  type ConfigSyncStatus,
  type ValidateResult,
} from '../control/config-sync.js';
import {
  MAX_BODY_BYTES,
  MAX_CONFIG_BODY_BYTES,
  ROUTE_CONFIG,
  ROUTE_CONFIG_COMMIT,
  ROUTE_CONFIG_PEER,
  ROUTE_CONFIG_VALIDATE,
  ROUTE_COUNTERS,
  ROUTE_FAILOVER,
  ROUTE_FUNCTIONAL,
  ROUTE_SESSIONS,
  ROUTE_STATUS,
  ROUTE_SUSPEND,
  type ApiErrorCode,
  type CommandResponse,
  type CountersResponse,
  type CommitResponse,
  type ConfigResponse,
  type PeerConfigResponse,
  type ValidateResponse,
  type SessionsResponse,
  type StatusResponse,
} from './protocol.js';
import {
  SessionQueryError,
  SessionsUnavailable,
  isSessionList,
  parseSessionQuery,
  type SessionFilter,
  type SessionList,
} from './sessions.js';

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
}

/** The shared-config operations the API serves (src/control/config-sync.ts implements them). */
export interface ConfigApi {
  status(): ConfigSyncStatus;
  running(): ConfigRecordView;
  fetchPeer(): Promise<ConfigRecordView>;
  commit(text: string, source: string): Promise<CommitResult>;
  validate(text: string, source: string): Promise<ValidateResult>;
}

export interface ApiServer {
  /** Stop listening, drop open connections, remove the unix socket file. */
  close(): Promise<void>;
  /** Where clients reach it: "http://host:port" (the real port) or "unix:/path". */
  address: string;
}

/** A handler's failure that maps to a specific HTTP status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly issues?: ConfigIssue[],
  ) {
    super(message);
  }
}

type Method = 'GET' | 'POST';
interface Ctx {
  body: unknown;
  /** The request's query string, parsed (routes that take none ignore it). */
  query: URLSearchParams;
}
type Handler = ((ctx: Ctx) => Promise<unknown>) & { maxBodyBytes?: number };

/** Whole requests must arrive within this (slowloris bound); headers within HEADERS_TIMEOUT_MS. */
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
/** After a 413 we read (and discard) at most this much more, so the client can read the answer. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;
/** Concurrent connections (CLI, lab, monitoring): far above real use, far below exhaustion. */
export const API_MAX_CONNECTIONS = 64;
/** A refused CONNECT's socket is cut this long after the answer, whatever the client does. */
const CONNECT_LINGER_MS = 2_000;
/** At most one unauthorized-request log line per this interval (counters are never limited). */
const AUTH_LOG_INTERVAL_MS = 10_000;
/** At most one rate-limit log line per this interval. */
const RATE_LOG_INTERVAL_MS = 10_000;

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  if (opts.token.length === 0) throw new Error('API token is empty: refusing to serve an unauthenticated API');
  const { controller, metrics } = opts;
  const log = opts.log.child({ component: 'api' });
  const tokenDigest = sha256(opts.token);
  const dataplaneTimeoutMs = opts.dataplaneTimeoutMs ?? 1000;
  const sessionsTimeoutMs = opts.sessionsTimeoutMs ?? 3000;
  const page = statusPage(opts.statusPageDir);
  let lastAuthLogMs = 0;
  let suppressedAuthLogs = 0;
  const limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit, performance.now()) : null;
  let lastRateLogMs = -Infinity;
  let suppressedRateLogs = 0;

  const command = (fn: () => Promise<string>): Handler => {
    return async () => {
      try {
        return { message: await fn() } satisfies CommandResponse;
      } catch (err) {
        if (err instanceof CommandRefused) throw new HttpError(409, 'command-refused', err.message);
        throw err;
      }
    };
  };

  const routes: Record<string, Partial<Record<Method, Handler>>> = {
    [ROUTE_STATUS]: {
      GET: async (): Promise<StatusResponse> => {
        const status = controller.status();
        if (!opts.dataplaneStatus) return status;
        return { ...status, dataplane: await withTimeout(opts.dataplaneStatus, dataplaneTimeoutMs) };
      },
    },
    [ROUTE_SESSIONS]: {
      GET: async ({ query }): Promise<SessionsResponse> => {
        let parsed;
        try {
          parsed = parseSessionQuery(query);
        } catch (err) {
          if (err instanceof SessionQueryError) throw new HttpError(400, 'bad-query', err.message);
          throw err;
        }
        const source = opts.sessions;
        if (!source) throw new HttpError(503, 'unavailable', 'this daemon does not serve a session table');
        const { filter, limit } = parsed;
        let list: SessionList;
        try {
          list = await deadline(() => source(filter, limit), sessionsTimeoutMs);
        } catch (err) {
          if (err instanceof SessionsUnavailable) {
            throw err.reason === 'timeout'
              ? new HttpError(504, 'dataplane-timeout', err.message)
              : new HttpError(502, 'dataplane-error', err.message);
          }
          throw err;
        }
        if (!isSessionList(list)) throw new HttpError(502, 'dataplane-error', 'the dataplane answered a malformed session list');
        return list;
      },
    },
    [ROUTE_CONFIG]: { GET: async (): Promise<ConfigResponse> => ({ ...configApi().status(), shared: configApi().running().shared }) },
    [ROUTE_CONFIG_PEER]: {
      GET: async (): Promise<PeerConfigResponse> => {
        try {
          return await configApi().fetchPeer();
        } catch (err) {
          if (err instanceof PeerConfigUnavailable)
            throw err.reason === 'timeout' ? new HttpError(504, 'peer-timeout', err.message) : new HttpError(503, 'peer-unavailable', err.message);
          throw err;
        }
      },
    },
    [ROUTE_CONFIG_COMMIT]: {
      POST: bigBody(async ({ body }): Promise<CommitResponse> => {
        const { text, source } = configText(body);
        try {
          return await configApi().commit(text, source);
        } catch (err) {
          if (err instanceof ConfigError) throw new HttpError(422, 'invalid-config', `${err.issues.length} problem(s) in ${source}; nothing was applied`, {}, err.issues);
          if (err instanceof CommitRefused) throw new HttpError(409, 'command-refused', err.message);
          if (err instanceof ConfigApplyError) throw new HttpError(409, 'apply-failed', err.message);
          throw err;
        }
      }),
    },
    [ROUTE_CONFIG_VALIDATE]: {
      POST: bigBody(async ({ body }): Promise<ValidateResponse> => {
        const { text, source } = configText(body);
        return configApi().validate(text, source);
      }),
    },
    [ROUTE_COUNTERS]: { GET: (): Promise<CountersResponse> => readCounters(metrics.registry) },
    [ROUTE_SUSPEND]: { POST: command(() => controller.suspend()) },
    [ROUTE_FUNCTIONAL]: { POST: command(() => controller.functional()) },
    [ROUTE_FAILOVER]: { POST: command(() => controller.failover()) },
  };

  const configApi = (): ConfigApi => {
    if (!opts.config) throw new HttpError(503, 'unavailable', 'this daemon does not serve its config');
    return opts.config;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const entry = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const routeLabel = entry ? path : 'unknown';
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      metrics.apiRequest(routeLabel, status);
      sendJson(res, status, body, headers);
    };
    const fail = (e: HttpError): void =>
      reply(e.status, { error: { code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) } }, e.headers);

    try {
      // Before anything else, even the token check: a token guesser is limited too. Unix-socket
      // clients have no address and share one bucket.
      if (limiter) {
        const client = req.socket.remoteAddress ?? 'unix';
        const now = performance.now();
        const d = limiter.check(client, now);
        if (!d.ok) {
          if (now - lastRateLogMs >= RATE_LOG_INTERVAL_MS) {
            log.warn({ remote: client, scope: d.scope, path: routeLabel, suppressed: suppressedRateLogs, clients: limiter.size }, 'API request rate limit reached: answering 429');
            lastRateLogMs = now;
            suppressedRateLogs = 0;
          } else suppressedRateLogs++;
          req.resume();
          const who = d.scope === 'client' ? `from ${client}` : 'from all clients together';
          return fail(new HttpError(429, 'rate-limited', `too many requests ${who}; retry in ${d.retryAfterS} s`, { 'Retry-After': String(d.retryAfterS) }));
        }
      }
      // The status page's shell and scripts hold no data (the page asks for the token, then calls
      // the routes below with it): the only paths served without the token.
      if (page.has(path)) {
        req.resume();
        const r = await page.respond(path, req.method);
        metrics.apiRequest(path, r.status);
        res.writeHead(r.status, r.headers);
        res.end(req.method === 'HEAD' ? undefined : r.body);
        return;
      }
      // Authenticate before anything else: an unauthenticated client learns nothing, not even
      // which routes exist.
      if (!authorized(req.headers.authorization, tokenDigest)) {
        const now = Date.now();
        if (now - lastAuthLogMs >= AUTH_LOG_INTERVAL_MS) {
          log.warn({ remote: req.socket.remoteAddress, path: routeLabel, suppressed: suppressedAuthLogs }, 'unauthorized API request');
          lastAuthLogMs = now;
          suppressedAuthLogs = 0;
        } else suppressedAuthLogs++;
        req.resume();
        return fail(
          new HttpError(401, 'unauthorized', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="tandem"' }),
        );
      }
      if (!entry) {
        req.resume();
        return fail(new HttpError(404, 'not-found', `no route ${path}`));
      }
      const method = req.method as Method;
      const handler = entry[method];
      if (!handler) {
        req.resume();
        const allow = Object.keys(entry).join(', ');
        return fail(new HttpError(405, 'method-not-allowed', `${req.method} not allowed on ${path} (allowed: ${allow})`, { Allow: allow }));
      }
      const body = await readJsonBody(req, handler.maxBodyBytes ?? MAX_BODY_BYTES);
      const result = await handler({ body, query });
      reply(200, result);
    } catch (err) {
      if (err instanceof HttpError) {
        return fail(err);
      }
      log.error({ err, path: routeLabel, method: req.method }, 'API handler failed');
      fail(new HttpError(500, 'internal', `internal error: ${err instanceof Error ? err.message : String(err)}`));
    }
  };

  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
    handle(req, res).catch((err) => {
      // only reached if writing the response itself failed
      log.error({ err }, 'API response failed');
      res.destroy();
    });
  });
  // an operator API: a handful of clients at most; beyond this, connections are refused
  server.maxConnections = API_MAX_CONNECTIONS;
  let lastDropLogMs = -Infinity;
  let suppressedDropLogs = 0;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    metrics.connectionRefused('api');
    const now = performance.now();
    if (now - lastDropLogMs >= RATE_LOG_INTERVAL_MS) {
      log.warn({ remote: data?.remoteAddress, max: API_MAX_CONNECTIONS, suppressed: suppressedDropLogs }, 'API connection limit reached: connection refused');
      lastDropLogMs = now;
      suppressedDropLogs = 0;
    } else suppressedDropLogs++;
  });
  // Requests node:http cannot parse (bad request line, headers over 16 KiB, too slow): still a
  // JSON answer, still counted.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
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
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  // CONNECT never reaches the request handler: node:http hands over the raw socket, and with no
  // listener closes it unanswered and uncounted (found by test/fuzz/api.test.ts).
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    metrics.apiRequest('unknown', 405);
    const body = JSON.stringify({ error: { code: 'method-not-allowed', message: 'CONNECT is not supported' } });
    // the client may still be sending a body: read and drop it, so its close is seen (a socket
    // nobody reads never learns its peer left, and would hold its connection slot for good)
    socket.on('error', () => socket.destroy());
    socket.resume();
    setTimeout(() => socket.destroy(), CONNECT_LINGER_MS).unref();
    socket.end(
      `HTTP/1.1 405 ${STATUS_CODES[405]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  const address = await listenHttp(server, opts.listen);
  log.info({ address }, 'management API listening');
  let closed: Promise<void> | null = null;
  return {
    address,
    close: () => (closed ??= closeHttp(server, opts.listen)),
  };
}

function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Constant-time: both sides are hashed to 32 bytes first, so even the length is not leaked. */
function authorized(header: string | undefined, tokenDigest: Buffer): boolean {
  if (header === undefined) return false;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  if (!m) return false;
  return timingSafeEqual(sha256(m[1]), tokenDigest);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/**
 * Reads at most MAX_BODY_BYTES; an empty body is `undefined`; anything else must be a JSON object.
 *
 * Past the limit the rest of the body is still arriving. Closing at once would make the kernel
 * reset the connection and the client would see ECONNRESET instead of our 413, so the rest is read
 * and discarded, up to DRAIN_LIMIT_BYTES, then the connection is cut (requestTimeout bounds time).
 */
function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let drained = 0;
    let draining = false;
    const startDraining = (): void => {
      draining = true;
      chunks.length = 0;
      reject(tooLarge(maxBytes));
    };
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) startDraining();
    req.on('data', (chunk: Buffer) => {
      if (draining) {
        drained += chunk.length;
        if (drained > DRAIN_LIMIT_BYTES) req.socket.destroy();
        return;
      }
      size += chunk.length;
      if (size > maxBytes) return startDraining();
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (!draining) reject(err);
    });
    req.on('end', () => {
      if (draining) return;
      if (size === 0) return resolve(undefined);
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        return reject(new HttpError(400, 'bad-json', `request body is not valid JSON: ${(err as Error).message}`));
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        return reject(new HttpError(400, 'bad-json', 'request body must be a JSON object'));
      }
      resolve(parsed);
    });
  });
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'body-too-large', `request body exceeds ${maxBytes} bytes`);
}

function bigBody(handler: (ctx: Ctx) => Promise<unknown>): Handler {
  return Object.assign(handler, { maxBodyBytes: MAX_CONFIG_BODY_BYTES });
}

/** { text, source? } of a config commit or validate request. */
function configText(body: unknown): { text: string; source: string } {
  const b = body as { text?: unknown; source?: unknown } | undefined;
  if (b === undefined || typeof b.text !== 'string')
    throw new HttpError(400, 'bad-json', 'expected a JSON object { "text": "<the config file>", "source": "<its name>" }');
  const extra = Object.keys(b).filter((k) => k !== 'text' && k !== 'source');
  if (extra.length > 0) throw new HttpError(400, 'bad-json', `unknown field(s) ${extra.join(', ')} (expected text and source)`);
  if (b.source !== undefined && (typeof b.source !== 'string' || b.source.length > 4096))
    throw new HttpError(400, 'bad-json', 'source must be a string of at most 4096 characters');
  return { text: b.text, source: typeof b.source === 'string' && b.source !== '' ? b.source : '<commit>' };
}

/** fn(), or a SessionsUnavailable('timeout') after `ms`. */
async function deadline<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SessionsUnavailable('timeout', `the dataplane did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(fn), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function withTimeout(fn: () => Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<unknown>((resolve) => {
    timer = setTimeout(() => resolve({ error: 'timeout' }), ms);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(fn)
        .catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
