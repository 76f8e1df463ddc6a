// One request of the management API, in order: the rate limit (before anything else, even the
// token check: a token guesser is limited too), the status page's files (no token), the token, the
// route and its method, the body, the handler. Every answer is JSON and counted by route pattern
// (never the raw URL) and status code; a failing handler answers 500 and the daemon stays up.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { LogLimiter } from '../log-limit.js';
import type { Metrics } from '../metrics/registry.js';
import { authorized } from './auth.js';
import { readJsonBody, sendJson } from './json-body.js';
import { MAX_BODY_BYTES, type ErrorBody } from './protocol.js';
import type { RateLimiter } from './rate-limit.js';
import { HttpError, type Handler, type Method, type RouteTable } from './routes/route.js';
import { servePage } from './routes/status-page.js';
import type { StatusPage } from './status-page/page.js';

export interface DispatchDeps {
  routes: RouteTable;
  tokenDigest: Buffer;
  page: StatusPage;
  /** Null: nothing is limited (tests and tools that embed the server). */
  limiter: RateLimiter | null;
  metrics: Metrics;
  log: Logger;
  /** One log line per reason per interval: a flood of refused requests must not flood the log. */
  logLimit: LogLimiter;
}

export function requestHandler(d: DispatchDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const entry = Object.hasOwn(d.routes, path) ? d.routes[path] : undefined;
    const routeLabel = entry ? path : 'unknown';
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      d.metrics.apiRequest(routeLabel, status);
      sendJson(res, status, body, headers);
    };
    try {
      refuseOverRate(d, req, routeLabel);
      if (d.page.has(path)) return await servePage(d.page, path, req, res, d.metrics);
      // an unauthenticated client learns nothing, not even which routes exist
      refuseUnauthorized(d, req, routeLabel);
      const handler = handlerFor(entry, path, req);
      const body = await readJsonBody(req, handler.maxBodyBytes ?? MAX_BODY_BYTES);
      reply(200, await handler({ body, query }));
    } catch (err) {
      let e: HttpError;
      if (err instanceof HttpError) e = err;
      else {
        d.log.error({ err, path: routeLabel, method: req.method }, 'API handler failed');
        e = new HttpError(500, 'internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
      }
      const body: ErrorBody = { error: { code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) } };
      reply(e.status, body, e.headers);
    }
  };
}

/** Throws the 429 when the client (or all clients together) is over its rate. */
function refuseOverRate(d: DispatchDeps, req: IncomingMessage, routeLabel: string): void {
  if (!d.limiter) return;
  // unix-socket clients have no address and share one bucket
  const client = req.socket.remoteAddress ?? 'unix';
  const decision = d.limiter.check(client, performance.now());
  if (decision.ok) return;
  const logged = d.logLimit.allow('rate-limited');
  if (logged)
    d.log.warn(
      { remote: client, scope: decision.scope, path: routeLabel, suppressed: logged.suppressed, clients: d.limiter.size },
      'API request rate limit reached: answering 429',
    );
  req.resume();
  const who = decision.scope === 'client' ? `from ${client}` : 'from all clients together';
  throw new HttpError(429, 'rate-limited', `too many requests ${who}; retry in ${decision.retryAfterS} s`, { 'Retry-After': String(decision.retryAfterS) });
}

/** Throws the 401 unless the request carries the token. */
function refuseUnauthorized(d: DispatchDeps, req: IncomingMessage, routeLabel: string): void {
  if (authorized(req.headers.authorization, d.tokenDigest)) return;
  const logged = d.logLimit.allow('unauthorized');
  if (logged) d.log.warn({ remote: req.socket.remoteAddress, path: routeLabel, suppressed: logged.suppressed }, 'unauthorized API request');
  req.resume();
  throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="tandem"' });
}

/** The route's handler for the request's method; throws the 404 or the 405 (with Allow). */
function handlerFor(entry: RouteTable[string] | undefined, path: string, req: IncomingMessage): Handler {
  if (!entry) {
    req.resume();
    throw new HttpError(404, 'not-found', `no route ${path}`);
  }
  const handler = entry[req.method as Method];
  if (!handler) {
    req.resume();
    const allow = Object.keys(entry).join(', ');
    throw new HttpError(405, 'method-not-allowed', `${req.method} not allowed on ${path} (allowed: ${allow})`, { Allow: allow });
  }
  return handler;
}
