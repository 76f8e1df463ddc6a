// What a route of the management API is: a handler per method, given the parsed query and body,
// answering a JSON value (200) or throwing an HttpError with its status and error code. The
// server (../server.ts, ../dispatch.ts) owns everything around it: limits, auth, body, reply.
import type { ConfigIssue } from '../../config/types.js';
import { MAX_CONFIG_BODY_BYTES, type ApiErrorCode } from '../protocol.js';

/** A handler's failure that maps to a specific HTTP status. */
export class HttpError extends Error {
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

export type Method = 'GET' | 'POST';

export interface Ctx {
  body: unknown;
  /** The request's query string, parsed (routes that take none ignore it). */
  query: URLSearchParams;
}

/** `maxBodyBytes`: the largest body this handler reads (default MAX_BODY_BYTES). */
export type Handler = ((ctx: Ctx) => Promise<unknown>) & { maxBodyBytes?: number };

/** Path -> method -> handler. */
export type RouteTable = Record<string, Partial<Record<Method, Handler>>>;

/** A handler that reads a whole config file (MAX_CONFIG_BODY_BYTES) rather than a small command. */
export function bigBody(handler: (ctx: Ctx) => Promise<unknown>): Handler {
  return Object.assign(handler, { maxBodyBytes: MAX_CONFIG_BODY_BYTES });
}
