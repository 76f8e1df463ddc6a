// GET /v1/sessions: the query string, parsed and validated once for the server, the client and
// the CLI. A bad parameter is a SessionQueryError naming the parameter, its value and what was
// expected (the server answers it as 400 bad-query; the CLI exits 2 with the same words).
import { isIpv4 } from '../net/ipv4.js';
import {
  DEFAULT_RULE_LABEL,
  DEFAULT_SESSIONS_LIMIT,
  MAX_SESSIONS_LIMIT,
  SESSION_PROTOCOLS,
  type SessionFilter,
  type SessionList,
  type SessionProtocol,
} from '../wire/session-view.js';

// The listing itself (views, filter, limits) is the dataplane's: the server, the client and the CLI
// take it from here with the query.
export * from '../wire/session-view.js';

/** The query parameters of GET /v1/sessions, in the order the CLI documents them. */
export const SESSION_QUERY_PARAMS = ['address', 'port', 'protocol', 'state', 'rule', 'limit'] as const;
export type SessionQueryParam = (typeof SESSION_QUERY_PARAMS)[number];

export interface SessionQuery {
  filter: SessionFilter;
  limit: number;
}

export class SessionQueryError extends Error {
  constructor(
    readonly param: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super(`${param}: got ${JSON.stringify(value)}, expected ${expected}`);
    this.name = 'SessionQueryError';
  }
}

/** Session states are short words ("established", "syn-sent", "time-wait", "new"). */
const STATE_RE = /^[a-z][a-z0-9-]{0,31}$/;
/** Rule names as the config allows them (src/config/schema.ts NAME_RE), or "(default)". */
const RULE_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

/** What each parameter accepts, in words (for errors and `--help`). */
export const SESSION_PARAM_EXPECTED: Record<SessionQueryParam, string> = {
  address: 'an IPv4 address like 10.0.1.10',
  port: 'a port number from 0 to 65535',
  protocol: `one of ${SESSION_PROTOCOLS.join(', ')}`,
  state: 'a session state like established or syn-sent (lower case letters, digits and "-", up to 32)',
  rule: `a rule name (1-63 letters, digits, "_", "-" or ".", starting with a letter) or ${DEFAULT_RULE_LABEL}`,
  limit: `an integer from 0 to ${MAX_SESSIONS_LIMIT} (0: counts only)`,
};

function isSessionQueryParam(name: string): name is SessionQueryParam {
  return (SESSION_QUERY_PARAMS as readonly string[]).includes(name);
}

/** Validates one parameter's text and returns its typed value; throws SessionQueryError. */
export function parseSessionParam(param: SessionQueryParam, value: string): string | number {
  const bad = (): never => {
    throw new SessionQueryError(param, value, SESSION_PARAM_EXPECTED[param]);
  };
  switch (param) {
    case 'address':
      return isIpv4(value) ? value : bad();
    case 'port': {
      if (!/^\d{1,5}$/.test(value)) return bad();
      const n = Number(value);
      return n <= 65535 ? n : bad();
    }
    case 'protocol': {
      const p = value.toLowerCase();
      return (SESSION_PROTOCOLS as readonly string[]).includes(p) ? p : bad();
    }
    case 'state':
      return STATE_RE.test(value) ? value : bad();
    case 'rule':
      return value === DEFAULT_RULE_LABEL || RULE_RE.test(value) ? value : bad();
    case 'limit': {
      if (!/^\d{1,6}$/.test(value)) return bad();
      const n = Number(value);
      return n <= MAX_SESSIONS_LIMIT ? n : bad();
    }
    default: {
      const never: never = param;
      throw new Error(`unknown session parameter ${String(never)}`);
    }
  }
}

/**
 * Parses the query of GET /v1/sessions. Unknown and repeated parameters are errors too: a typo
 * (`adress=`) must not silently list every session.
 */
export function parseSessionQuery(params: URLSearchParams): SessionQuery {
  const seen = new Set<string>();
  const filter: SessionFilter = {};
  let limit = DEFAULT_SESSIONS_LIMIT;
  for (const [name, value] of params) {
    if (!isSessionQueryParam(name)) {
      throw new SessionQueryError(name, value, `no such parameter (known: ${SESSION_QUERY_PARAMS.join(', ')})`);
    }
    if (seen.has(name)) throw new SessionQueryError(name, value, 'the parameter at most once');
    seen.add(name);
    const v = parseSessionParam(name, value);
    switch (name) {
      case 'address':
      case 'state':
      case 'rule':
        filter[name] = v as string;
        break;
      case 'protocol':
        filter.protocol = v as SessionProtocol;
        break;
      case 'port':
        filter.port = v as number;
        break;
      case 'limit':
        limit = v as number;
        break;
    }
  }
  return { filter, limit };
}

/** The query string (with its "?", or "" when empty) for a filter and a limit. */
export function sessionQueryString(filter: SessionFilter, limit?: number): string {
  const params = new URLSearchParams();
  for (const name of ['address', 'port', 'protocol', 'state', 'rule'] as const) {
    const v = filter[name];
    if (v !== undefined) params.set(name, String(v));
  }
  if (limit !== undefined) params.set('limit', String(limit));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** A shallow shape check of an answer (the client refuses anything else as bad-response). */
export function isSessionList(value: unknown): value is SessionList {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<SessionList>;
  return (
    typeof v.total === 'number' &&
    typeof v.matched === 'number' &&
    typeof v.truncated === 'boolean' &&
    Array.isArray(v.sessions) &&
    v.sessions.every((s) => s !== null && typeof s === 'object' && typeof s.id === 'number')
  );
}

/**
 * The failure of a `sessions` source (DataplaneClient.sessions): `timeout` when the dataplane did
 * not answer in time (the API answers 504), `error` when it answered with an error (502).
 */
export class SessionsUnavailable extends Error {
  constructor(
    readonly reason: 'timeout' | 'error',
    message: string,
  ) {
    super(message);
    this.name = 'SessionsUnavailable';
  }
}
