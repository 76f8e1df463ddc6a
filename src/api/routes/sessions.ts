// GET /v1/sessions?address=&port=&protocol=&state=&rule=&limit=: the session table, filtered by
// the dataplane. The query is checked here (400 names the parameter); the listing is bounded in
// time on top of the source's own bound, and its answer is checked before it is passed on.
import { ROUTE_SESSIONS, type SessionsResponse } from '../protocol.js';
import { SessionQueryError, SessionsUnavailable, isSessionList, parseSessionQuery, type SessionFilter, type SessionList } from '../sessions.js';
import { HttpError, type RouteTable } from './route.js';

export interface SessionsRouteDeps {
  /** Without it the route answers 503. */
  sessions?: (filter: SessionFilter, limit: number) => Promise<SessionList>;
  sessionsTimeoutMs: number;
}

export function sessionsRoutes(d: SessionsRouteDeps): RouteTable {
  return {
    [ROUTE_SESSIONS]: {
      GET: async ({ query }): Promise<SessionsResponse> => {
        let parsed;
        try {
          parsed = parseSessionQuery(query);
        } catch (err) {
          if (err instanceof SessionQueryError) throw new HttpError(400, 'bad-query', err.message);
          throw err;
        }
        const source = d.sessions;
        if (!source) throw new HttpError(503, 'unavailable', 'this daemon does not serve a session table');
        const { filter, limit } = parsed;
        let list: SessionList;
        try {
          list = await deadline(() => source(filter, limit), d.sessionsTimeoutMs);
        } catch (err) {
          if (err instanceof SessionsUnavailable) {
            throw err.reason === 'timeout' ? new HttpError(504, 'dataplane-timeout', err.message) : new HttpError(502, 'dataplane-error', err.message);
          }
          throw err;
        }
        if (!isSessionList(list)) throw new HttpError(502, 'dataplane-error', 'the dataplane answered a malformed session list');
        return list;
      },
    },
  };
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
