// What the page knows between polls, and how one poll's outcome changes it. Pure (browser code:
// no imports but types, and siblings), so the unreachable and wrong-token paths are unit tested.
import type { CountersResponse, StatusResponse } from '../protocol.js';
import { computeHa3ByteRates, computeRates, type Ha3ByteRates, type Rates } from './rates.js';

/** The read-only routes the page polls (the same strings as ROUTE_STATUS and ROUTE_COUNTERS in
 * ../protocol.ts: the browser cannot import that module's values, a unit test keeps them equal). */
export const STATUS_PATH = '/v1/status';
export const COUNTERS_PATH = '/v1/counters';

/** Poll period without ?interval= (the PAN-OS dashboard refreshes on the order of seconds). */
export const DEFAULT_INTERVAL_MS = 1000;
/** Below this a page would load the daemon for nothing; above it the page is no longer "live". */
export const MIN_INTERVAL_MS = 100;
export const MAX_INTERVAL_MS = 60_000;

/** ?interval=<ms> (tests use a short one); anything unparseable is the default, out-of-range is clamped. */
export function parseInterval(search: string): number {
  const raw = new URLSearchParams(search).get('interval');
  if (raw === null || !/^\d{1,9}$/.test(raw)) return DEFAULT_INTERVAL_MS;
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Number(raw)));
}

/** A request gives up after this long, so a box that vanished mid-request shows as unreachable. */
export function requestTimeoutMs(intervalMs: number): number {
  return Math.max(2000, 2 * intervalMs);
}

export type Connection =
  /** No answer yet since the token was given. */
  | { kind: 'connecting' }
  | { kind: 'live' }
  /** The token was refused: nothing is shown and polling stops until a new one is given. */
  | { kind: 'unauthorized'; message: string }
  /** No HTTP answer at all (refused, reset, timed out): the box or its daemon went away. */
  | { kind: 'unreachable'; sinceMs: number; error: string }
  /** An HTTP answer other than 200 and 401. */
  | { kind: 'error'; sinceMs: number; httpStatus: number; message: string };

export interface PageState {
  status: StatusResponse | null;
  counters: CountersResponse | null;
  rates: Rates | null;
  /** Active/active: HA3 bytes per second each way, from the last two status answers. */
  ha3Bytes: Ha3ByteRates | null;
  connection: Connection;
  /** Wall-clock ms of the last successful poll, null before the first. */
  lastUpdatedMs: number | null;
}

export type PollResult =
  | { kind: 'ok'; atMs: number; status: StatusResponse; counters: CountersResponse | null }
  | { kind: 'http-error'; atMs: number; httpStatus: number; message: string }
  | { kind: 'network-error'; atMs: number; error: string };

export function initialState(): PageState {
  return { status: null, counters: null, rates: null, ha3Bytes: null, connection: { kind: 'connecting' }, lastUpdatedMs: null };
}

/** The message shown for a refused token (the wording, so operators can search for it). */
export const WRONG_TOKEN = '401: wrong token';

export function applyPoll(state: PageState, r: PollResult): PageState {
  switch (r.kind) {
    case 'ok': {
      // counters are optional: a daemon without the route still shows its status. A rate across
      // an outage would average over it: after one, rates start again from this sample.
      const live = state.connection.kind === 'live';
      const base = live ? state.counters : null;
      const rates = r.counters ? computeRates(base, r.counters) : null;
      const sinceS = live && state.lastUpdatedMs !== null ? (r.atMs - state.lastUpdatedMs) / 1000 : 0;
      const ha3Bytes = computeHa3ByteRates(live ? state.status : null, r.status, sinceS);
      return { status: r.status, counters: r.counters, rates, ha3Bytes, connection: { kind: 'live' }, lastUpdatedMs: r.atMs };
    }
    case 'http-error':
      if (r.httpStatus === 401) return { ...initialState(), connection: { kind: 'unauthorized', message: WRONG_TOKEN } };
      return {
        ...state,
        rates: null,
        ha3Bytes: null,
        connection: {
          kind: 'error',
          // keep when the trouble began, not when it was last seen
          sinceMs: state.connection.kind === 'error' ? state.connection.sinceMs : r.atMs,
          httpStatus: r.httpStatus,
          message: r.message,
        },
      };
    case 'network-error':
      return {
        ...state,
        rates: null,
        ha3Bytes: null,
        connection: { kind: 'unreachable', sinceMs: state.connection.kind === 'unreachable' ? state.connection.sinceMs : r.atMs, error: r.error },
      };
    default: {
      const never: never = r;
      throw new Error(`unknown poll result ${JSON.stringify(never)}`);
    }
  }
}

/** The message of an API error body ({ error: { code, message } }), or a fallback. */
export function errorMessage(httpStatus: number, body: unknown): string {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (e && typeof e.message === 'string') return `${httpStatus}: ${e.message}`;
  return `HTTP ${httpStatus}`;
}
