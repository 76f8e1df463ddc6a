// The management API's wire shapes, shared by the server and the client. Every response is JSON;
// every error is { "error": { "code", "message" } } with one of the codes below.
import type { HaStatus } from '../control/status.js';
import type { SessionList } from './sessions.js';

/** Default TCP listener of the API (DESIGN: device.api.listen). */
export const DEFAULT_API_URL = 'http://127.0.0.1:9480';
export const DEFAULT_TOKEN_FILE = '/etc/tandem/api.token';

/** Largest request body the server reads; larger ones get 413. */
export const MAX_BODY_BYTES = 64 * 1024;

/** GET /v1/status */
export type StatusResponse = HaStatus & {
  /** What the dataplane reported, or { error } when it did not answer in time. */
  dataplane?: unknown;
};

/** POST /v1/suspend, /v1/functional, /v1/failover */
export interface CommandResponse {
  message: string;
}

/**
 * GET /v1/sessions?address=&port=&protocol=&state=&rule=&limit= (see sessions.ts for what each
 * parameter accepts; limit defaults to 100, at most 10 000, 0 for the counts only).
 */
export type SessionsResponse = SessionList;

export type ApiErrorCode =
  | 'unauthorized' //       401: no bearer token or a wrong one
  | 'not-found' //          404: no such route
  | 'method-not-allowed' // 405: the route exists, not with this method
  | 'body-too-large' //     413: request body over MAX_BODY_BYTES
  | 'bad-json' //           400: request body is not a JSON object
  | 'bad-request' //        400/431: not parseable HTTP, or headers over 16 KiB
  | 'bad-query' //          400: a query parameter is unknown, repeated or invalid (the message names it)
  | 'timeout' //            408: the request did not arrive within the server's request timeout
  | 'command-refused' //    409: the HA state machine refused the command (e.g. failover while passive)
  | 'internal' //           500: a handler failed; the daemon stays up
  | 'dataplane-error' //    502: the dataplane answered a query with an error
  | 'unavailable' //        503: the daemon is shutting down, or this daemon has no session table
  | 'dataplane-timeout'; // 504: the dataplane did not answer in time (a saturated packet path)

export interface ErrorBody {
  error: { code: ApiErrorCode | string; message: string };
}

/** The routes, for building URLs and metric labels. */
export const ROUTE_STATUS = '/v1/status';
export const ROUTE_SUSPEND = '/v1/suspend';
export const ROUTE_FUNCTIONAL = '/v1/functional';
export const ROUTE_FAILOVER = '/v1/failover';
export const ROUTE_SESSIONS = '/v1/sessions';
