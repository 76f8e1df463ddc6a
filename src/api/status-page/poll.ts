// What the page knows between polls, and how one poll's outcome changes it. Pure (browser code:
// no imports but types, and siblings), so the unreachable and wrong-token paths are unit tested.
import type { CountersResponse, StatusResponse } from '../protocol.js';
import { nextConnection, parseInterval as parseIntervalOr, type Connection, type PollEnd } from './connection.js';
import { computeHa3ByteRates, computeRates, type Ha3ByteRates, type Rates } from './rates.js';

/** The read-only routes the page polls (the same strings as ROUTE_STATUS and ROUTE_COUNTERS in
 * ../protocol.ts: the browser cannot import that module's values, a unit test keeps them equal). */
export const STATUS_PATH = '/v1/status';
export const COUNTERS_PATH = '/v1/counters';

/** Poll period without ?interval= (the PAN-OS dashboard refreshes on the order of seconds). */
export const DEFAULT_INTERVAL_MS = 1000;

export { MAX_INTERVAL_MS, MIN_INTERVAL_MS, WRONG_TOKEN, errorMessage, requestTimeoutMs, type Connection } from './connection.js';

/** ?interval=<ms>: see connection.ts. */
export function parseInterval(search: string): number {
  return parseIntervalOr(search, DEFAULT_INTERVAL_MS);
}

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

export type PollResult = Exclude<PollEnd, { kind: 'ok' }> | { kind: 'ok'; atMs: number; status: StatusResponse; counters: CountersResponse | null };

export function initialState(): PageState {
  return { status: null, counters: null, rates: null, ha3Bytes: null, connection: { kind: 'connecting' }, lastUpdatedMs: null };
}

export function applyPoll(state: PageState, r: PollResult): PageState {
  const connection = nextConnection(state.connection, r);
  if (r.kind === 'ok') {
    // counters are optional: a daemon without the route still shows its status. A rate across
    // an outage would average over it: after one, rates start again from this sample.
    const live = state.connection.kind === 'live';
    const base = live ? state.counters : null;
    const rates = r.counters ? computeRates(base, r.counters) : null;
    const sinceS = live && state.lastUpdatedMs !== null ? (r.atMs - state.lastUpdatedMs) / 1000 : 0;
    const ha3Bytes = computeHa3ByteRates(live ? state.status : null, r.status, sinceS);
    return { status: r.status, counters: r.counters, rates, ha3Bytes, connection, lastUpdatedMs: r.atMs };
  }
  // a refused token shows no data at all; otherwise the last data stays (rates would span the gap)
  if (connection.kind === 'unauthorized') return { ...initialState(), connection };
  return { ...state, rates: null, ha3Bytes: null, connection };
}
