// Central's HTTP API, following the box API's conventions (src/api): node:http, a bearer token
// compared in constant time, bounded requests, JSON answers and errors { error: { code, message } }.
// A request rate limit per client address (the box API's defaults) comes before anything else.
// GET /v1/fleet and GET /v1/events need the token; GET /metrics does not, as on the box (the
// Prometheus convention: listen on a management address). It only reads: nothing here changes
// a pair.
import { createServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { ApiTlsConfig } from '../config/types.js';
import { createTlsServer } from '../api/tls-server.js';
import type { TlsWatchOptions } from '../api/tls-watch.js';
import { authorized, sha256 } from '../api/auth.js';
import { readJsonBody, sendJson } from '../api/json-body.js';
import { HttpError } from '../api/routes/route.js';
import { DEFAULT_RATE_LIMIT, RateLimiter } from '../api/rate-limit.js';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log-limit.js';
import { closeHttp, listenHttp } from '../net/http-listen.js';
import type { CentralMetrics } from './metrics.js';
import { serveFleetPage } from './page.js';
import {
  ROUTE_EVENTS,
  ROUTE_FLEET,
  ROUTE_METRICS,
  ROUTE_PUSH,
  type EventsResponse,
  type FleetResponse,
  type PushRequest,
  type PushResponse,
} from './protocol.js';
import { UnknownPairs } from './push.js';
import { TemplateError } from './template.js';
import { parseEventsQuery, QueryError, type EventsQuery } from './query.js';

export interface CentralApiDeps {
  listen: string;
  token: Buffer;
  fleet: () => FleetResponse;
  events: (q: EventsQuery) => EventsResponse;
  metrics: CentralMetrics;
  /** HTTPS (the inventory's tls): checked at start (TlsFileError naming tls.<key>), renewed on change. */
  tls?: ApiTlsConfig & { watch?: TlsWatchOptions };
  /** POST /v1/push (push.ts through the service); absent: 503. Throws TemplateError, UnknownPairs. */
  push?: (req: PushRequest) => Promise<PushResponse>;
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
/** A push request: the template text and a few names. */
const MAX_PUSH_BODY_BYTES = 1024 * 1024;
/** Central's other routes take no body: past this much of one the connection is cut. */
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
  const onRequest: RequestListener = (req, res) => {
    // a push's body is read by its route (after the token); every other body is dropped
    if (req.method !== 'POST') discardBody(req);
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'central API response failed');
      res.destroy();
    });
  };
  const { server, stopWatching } = listener(d, onRequest, log, logLimit);
  server.maxConnections = MAX_CONNECTIONS;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    try {
      refuseOverRate(limiter, req);
      const isPush = path === ROUTE_PUSH;
      if (isPush ? req.method !== 'POST' : req.method !== 'GET' && req.method !== 'HEAD') {
        if (req.method === 'POST') req.resume();
        const allow = isPush ? 'POST' : 'GET, HEAD';
        throw new Refusal(405, 'method-not-allowed', `${req.method} not allowed on ${path} (allowed: ${allow})`, { Allow: allow });
      }
      if (await serveFleetPage(path, req, res)) return;
      if (path === ROUTE_METRICS) {
        const text = await d.metrics.text(d.fleet());
        res.writeHead(200, { 'Content-Type': d.metrics.contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      if (!authorized(req.headers.authorization, digest)) {
        if (req.method === 'POST') req.resume();
        const logged = logLimit.allow('unauthorized');
        if (logged) log.warn({ remote: req.socket.remoteAddress, suppressed: logged.suppressed }, 'unauthorized central API request');
        throw new Refusal(401, 'unauthorized', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="tandem-central"' });
      }
      if (path === ROUTE_FLEET) return sendJson(res, 200, d.fleet(), {});
      if (path === ROUTE_EVENTS) return sendJson(res, 200, d.events(parseEventsQuery(query, now())), {});
      if (isPush) return sendJson(res, 200, await pushFrom(d, await readJsonBody(req, MAX_PUSH_BODY_BYTES)), {});
      throw new Refusal(404, 'not-found', `no route ${path}`);
    } catch (err) {
      const e =
        err instanceof Refusal
          ? err
          : err instanceof HttpError
            ? new Refusal(err.status, err.code, err.message)
            : err instanceof QueryError
              ? new Refusal(400, 'bad-query', err.message)
              : new Refusal(500, 'internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
      if (e.status === 500) log.error({ err, path }, 'central API handler failed');
      sendJson(res, e.status, { error: { code: e.code, message: e.message } }, e.headers);
    }
  }

  let address: string;
  try {
    address = await listenHttp(server, d.listen);
  } catch (err) {
    stopWatching();
    throw err;
  }
  log.info({ address, ...(d.tls ? { mutualTls: d.tls.clientCaFile !== undefined } : {}) }, 'central API listening');
  let closed: Promise<void> | null = null;
  return {
    address,
    close: () => {
      stopWatching();
      return (closed ??= closeHttp(server, d.listen));
    },
  };
}

/** node:http, or node:https from the inventory's tls files, renewed without a restart (as the box's API). */
function listener(
  d: CentralApiDeps,
  onRequest: RequestListener,
  log: Logger,
  logLimit: LogLimiter,
): { server: HttpServer | HttpsServer; stopWatching: () => void } {
  const options = { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS };
  if (d.tls === undefined) return { server: createServer(options, onRequest), stopWatching: () => undefined };
  return createTlsServer(d.tls, { ...options, handshakeTimeout: HEADERS_TIMEOUT_MS }, onRequest, { log, logLimit, metrics: d.metrics }, 'tls');
}

/** POST /v1/push: the body checked (PushRequest), then the push (a template that does not parse: 422 naming every problem). */
async function pushFrom(d: CentralApiDeps, body: unknown): Promise<PushResponse> {
  if (d.push === undefined) throw new Refusal(503, 'unavailable', 'this central does not push');
  const req = pushRequestOf(body);
  try {
    return await d.push(req);
  } catch (err) {
    if (err instanceof TemplateError) throw new Refusal(422, 'invalid-template', err.message);
    if (err instanceof UnknownPairs) throw new Refusal(400, 'bad-request', err.message);
    throw err;
  }
}

function pushRequestOf(body: unknown): PushRequest {
  const b = (body ?? {}) as Record<string, unknown>;
  const extra = Object.keys(b).filter((k) => !['template', 'source', 'pairs', 'dryRun'].includes(k));
  const problems = [
    ...(typeof b.template === 'string' && b.template.length > 0 ? [] : ['template: the template file text']),
    ...(b.source === undefined || (typeof b.source === 'string' && b.source.length <= 4096) ? [] : ['source: a name of at most 4096 characters']),
    ...(b.pairs === undefined || (Array.isArray(b.pairs) && b.pairs.every((p) => typeof p === 'string')) ? [] : ['pairs: a list of pair names']),
    ...(b.dryRun === undefined || typeof b.dryRun === 'boolean' ? [] : ['dryRun: true or false']),
    ...extra.map((k) => `unknown field ${k} (expected template, source, pairs, dryRun)`),
  ];
  if (problems.length > 0) throw new Refusal(400, 'bad-json', `a push request: ${problems.join('; ')}`);
  return b as unknown as PushRequest;
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
