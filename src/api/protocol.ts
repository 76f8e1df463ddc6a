// The management API's wire shapes, shared by the server and the client. Every response is JSON;
// every error is { "error": { "code", "message" } } with one of the codes below.
import type { HaStatus, TransitionRecord } from '../control/status.js';
import type { SessionList } from './sessions.js';
import type { CommitResult, ConfigRecordView, ConfigSyncStatus, ValidateResult } from '../control/config-sync.js';
import type { ConfigIssue, SharedConfig } from '../config/types.js';

/** Default TCP listener of the API (DESIGN: device.api.listen). */
export const DEFAULT_API_URL = 'http://127.0.0.1:9480';
export const DEFAULT_TOKEN_FILE = '/etc/tandem/api.token';

/** Largest request body the server reads; larger ones get 413. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Config commit and validate carry a whole config file (at most 1 MiB of YAML), JSON-escaped. */
export const MAX_CONFIG_BODY_BYTES = 3 * 1024 * 1024;

/** One entry of StatusResponse.transitions (re-exported: the CLI reads the daemon through this file only). */
export type { TransitionRecord };

/** GET /v1/status */
export type StatusResponse = HaStatus & {
  /** What the dataplane reported, or { error } when it did not answer in time. */
  dataplane?: unknown;
};

/**
 * GET /v1/counters: the dataplane's cumulative counters, read from the metrics registry (the same
 * values Prometheus scrapes). The status page polls it and computes rates from two samples.
 */
export interface CountersResponse {
  /** The daemon's monotonic clock (ms) when the counters were read: rates divide by its differences. */
  sampledAtMs: number;
  /** tandem_dataplane_packets_total by event (rx, tx, forwarded, ...). */
  packets: Record<string, number>;
  /** tandem_dataplane_drops_total by reason (every reason, zeros included). */
  drops: Record<string, number>;
  sessions: {
    /** tandem_sessions_active by protocol. */
    active: Record<string, number>;
    /** tandem_sessions_created_total by protocol. */
    created: Record<string, number>;
    /** tandem_sessions_table_full_total. */
    tableFull: number;
  };
}

/** POST /v1/suspend, /v1/functional, /v1/failover */
export interface CommandResponse {
  message: string;
}

/**
 * GET /v1/sessions?address=&port=&protocol=&state=&rule=&limit= (see sessions.ts for what each
 * parameter accepts; limit defaults to 100, at most 10 000, 0 for the counts only).
 */
export type SessionsResponse = SessionList;

/** GET /v1/config: the running shared config, its identity and the pair's sync state. */
export type ConfigResponse = ConfigSyncStatus & { shared: SharedConfig };

/** GET /v1/config/peer: the peer's running shared config, asked for over HA1. */
export type PeerConfigResponse = ConfigRecordView;

/** POST /v1/config/commit and /v1/config/validate: { text: <the file's content>, source?: <its name, for messages> }. */
export interface ConfigTextRequest {
  text: string;
  source?: string;
}

export type CommitResponse = CommitResult;
export type ValidateResponse = ValidateResult;

export type ApiErrorCode =
  | 'unauthorized' //       401: no bearer token or a wrong one
  | 'not-found' //          404: no such route
  | 'method-not-allowed' // 405: the route exists, not with this method
  | 'body-too-large' //     413: request body over MAX_BODY_BYTES
  | 'bad-json' //           400: request body is not a JSON object
  | 'bad-request' //        400/431: not parseable HTTP, or headers over 16 KiB
  | 'bad-query' //          400: a query parameter is unknown, repeated or invalid (the message names it)
  | 'timeout' //            408: the request did not arrive within the server's request timeout
  | 'rate-limited' //       429: too many requests from this address (or from all together); Retry-After says when to retry
  | 'command-refused' //    409: the HA state machine refused the command (e.g. failover while passive, commit on the passive)
  | 'invalid-config' //     422: the config does not validate; error.issues lists every problem
  | 'apply-failed' //       409: the config validated but the box could not apply it; the previous one still runs
  | 'peer-unavailable' //   503: the peer is not reachable over HA1
  | 'peer-timeout' //       504: the peer did not answer over HA1 in time
  | 'internal' //           500: a handler failed; the daemon stays up
  | 'dataplane-error' //    502: the dataplane answered a query with an error
  | 'unavailable' //        503: the daemon is shutting down, or this daemon has no session table
  | 'dataplane-timeout'; // 504: the dataplane did not answer in time (a saturated packet path)

export interface ErrorBody {
  error: { code: ApiErrorCode | string; message: string; issues?: ConfigIssue[] };
}

/** The routes, for building URLs and metric labels. */
export const ROUTE_STATUS = '/v1/status';
export const ROUTE_SUSPEND = '/v1/suspend';
export const ROUTE_FUNCTIONAL = '/v1/functional';
export const ROUTE_FAILOVER = '/v1/failover';
export const ROUTE_SESSIONS = '/v1/sessions';
export const ROUTE_CONFIG = '/v1/config';
export const ROUTE_CONFIG_PEER = '/v1/config/peer';
export const ROUTE_CONFIG_COMMIT = '/v1/config/commit';
export const ROUTE_CONFIG_VALIDATE = '/v1/config/validate';
export const ROUTE_COUNTERS = '/v1/counters';
