// The query of GET /v1/events, parsed and bounded: `since` (a duration back from now, "90s",
// "30m", "1h", "7d", or an ISO time), `pair`, `limit`. The CLI checks --since with the same
// function, so a typo is a usage error before any request.

export const DEFAULT_EVENTS_LIMIT = 1000;
export const MAX_EVENTS_LIMIT = 100_000;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

/** The time `text` names, in ms since the epoch: a duration before `nowMs`, or an ISO time. */
export function parseSince(text: string, nowMs: number): number {
  const d = /^(\d{1,9})([smhd])$/.exec(text);
  if (d) return nowMs - Number(d[1]) * UNIT_MS[d[2]];
  // an ISO date or date-time only: Date.parse alone would take "1" or "May 5" too
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  throw new QueryError(`since ${JSON.stringify(text)}: expected a duration such as 90s, 30m, 1h or 7d, or an ISO time such as 2026-12-07T16:00:00Z`);
}

export interface EventsQuery {
  sinceMs?: number;
  pair?: string;
  limit: number;
}

const KNOWN = new Set(['since', 'pair', 'limit']);

export function parseEventsQuery(query: URLSearchParams, nowMs: number): EventsQuery {
  for (const key of new Set(query.keys())) {
    if (!KNOWN.has(key)) throw new QueryError(`unknown query parameter ${JSON.stringify(key)} (known: since, pair, limit)`);
    if (query.getAll(key).length > 1) throw new QueryError(`query parameter ${key} given more than once`);
  }
  const out: EventsQuery = { limit: DEFAULT_EVENTS_LIMIT };
  const since = query.get('since');
  if (since !== null) out.sinceMs = parseSince(since, nowMs);
  const pair = query.get('pair');
  if (pair !== null) {
    if (pair === '' || pair.length > 63) throw new QueryError('pair: expected a pair name');
    out.pair = pair;
  }
  const limit = query.get('limit');
  if (limit !== null) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_EVENTS_LIMIT)
      throw new QueryError(`limit: expected an integer from 1 to ${MAX_EVENTS_LIMIT}`);
    out.limit = Number(limit);
  }
  return out;
}
