// Central's HTTP API, following the box API's conventions (src/api): node:http, a bearer token
// compared in constant time, bounded requests, JSON answers and errors { error: { code, message } }.
// A request rate limit per client address (the box API's defaults) comes before anything else.
// GET /v1/fleet and GET /v1/events need the token; GET /metrics does not, as on the box (the
// Prometheus convention: listen on a management address). It only reads: nothing here changes
// a pair.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { authorized, sha256 } from '../api/auth.js';
import { sendJson } from '../api/json-body.js';
import { DEFAULT_RATE_LIMIT, RateLimiter } from '../api/rate-limit.js';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log-limit.js';
import { closeHttp, listenHttp } from '../net/http-listen.js';
import type { CentralMetrics } from './metrics.js';
import { ROUTE_EVENTS, ROUTE_FLEET, ROUTE_METRICS, type EventsResponse, type FleetResponse } from './protocol.js';
import { parseEventsQuery, QueryError, type EventsQuery } from './query.js';

export interface CentralApiDeps {
  listen: string;
  token: Buffer;
  fleet: () => FleetResponse;
  events: (q: EventsQuery) => EventsResponse;
  metrics: CentralMetrics;
  log: Logger;
  now?: () => number;
}

export interface CentralApi {
  address: string;
  close(): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
/** Operators, a page and a few scrapers; beyond this connections are refused. */
const MAX_CONNECTIONS = 64;
/** Central's routes take no body: past this much of one the connection is cut. */
const MAX_IGNORED_BODY_BYTES = 64 * 1024;

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startCentralApi(d: CentralApiDeps): Promise<CentralApi> {
  if (d.token.length === 0) throw new Error('central API token is empty: refusing to serve an unauthenticated API');
  const digest = sha256(d.token);
  const log = d.log.child({ component: 'central-api' });
  const logLimit = new LogLimiter(10_000);
  const now = d.now ?? Date.now;
  const limiter = new RateLimiter(DEFAULT_RATE_LIMIT, performance.now());
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
    discardBody(req);
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'central API response failed');
      res.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    try {
      refuseOverRate(limiter, req);
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new Refusal(405, 'method-not-allowed', `${req.method} not allowed (central only reads)`, { Allow: 'GET, HEAD' });
      if (path === ROUTE_METRICS) {
        const text = await d.metrics.text(d.fleet());
        res.writeHead(200, { 'Content-Type': d.metrics.contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      if (!authorized(req.headers.authorization, digest)) {
        const logged = logLimit.allow('unauthorized');
        if (logged) log.warn({ remote: req.socket.remoteAddress, suppressed: logged.suppressed }, 'unauthorized central API request');
        throw new Refusal(401, 'unauthorized', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="tandem-central"' });
      }
      if (path === ROUTE_FLEET) return sendJson(res, 200, d.fleet(), {});
      if (path === ROUTE_EVENTS) return sendJson(res, 200, d.events(parseEventsQuery(query, now())), {});
      throw new Refusal(404, 'not-found', `no route ${path}`);
    } catch (err) {
      const e =
        err instanceof Refusal
          ? err
          : err instanceof QueryError
            ? new Refusal(400, 'bad-query', err.message)
            : new Refusal(500, 'internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
      if (e.status === 500) log.error({ err, path }, 'central API handler failed');
      sendJson(res, e.status, { error: { code: e.code, message: e.message } }, e.headers);
    }
  }

  const address = await listenHttp(server, d.listen);
  log.info({ address }, 'central API listening');
  let closed: Promise<void> | null = null;
  return { address, close: () => (closed ??= closeHttp(server, d.listen)) };
}

/** Throws the 429 when the client (or all together) is over its rate, as the box API does. */
function refuseOverRate(limiter: RateLimiter, req: IncomingMessage): void {
  const decision = limiter.check(req.socket.remoteAddress ?? 'unix', performance.now());
  if (decision.ok) return;
  throw new Refusal(429, 'rate-limited', `too many requests; retry in ${decision.retryAfterS} s`, { 'Retry-After': String(decision.retryAfterS) });
}

/** No route takes a body: read and drop it (so the answer is seen), within a bound. */
function discardBody(req: IncomingMessage): void {
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_IGNORED_BODY_BYTES) req.socket.destroy();
  });
  req.on('error', () => undefined);
}
