// What the fleet page knows between polls (the fleet, the open pair's timeline, the connection to
// central) and how one poll changes it. Pure (browser code: no imports but types and the shared
// connection states), so the wrong-token and unreachable paths are unit tested.
import type { EventsResponse, FleetResponse } from '../protocol.js';
import { errorMessage, nextConnection, type Connection, type PollEnd } from '../../api/status-page/connection.js';

/** The routes the page polls (the same strings as ROUTE_FLEET and ROUTE_EVENTS in ../protocol.ts:
 * the browser cannot import that module's values, a unit test keeps them equal). */
export const FLEET_PATH = '/v1/fleet';
export const EVENTS_PATH = '/v1/events';

/** The fleet view changes on the order of central's own poll (pollIntervalMs, 2 s by default). */
export const DEFAULT_INTERVAL_MS = 2000;
/** The newest this many events of the open pair are shown. */
export const TIMELINE_LIMIT = 200;

export function eventsPath(pair: string): string {
  return `${EVENTS_PATH}?pair=${encodeURIComponent(pair)}&limit=${TIMELINE_LIMIT}`;
}

export interface Timeline {
  pair: string;
  events: EventsResponse | null;
  /** Why there are no events: central refused the query or did not answer. */
  error: string | null;
}

export interface FleetPageState {
  fleet: FleetResponse | null;
  timeline: Timeline | null;
  connection: Connection;
  /** Wall-clock ms of the last successful poll, null before the first. */
  lastUpdatedMs: number | null;
}

export type FleetPoll = Exclude<PollEnd, { kind: 'ok' }> | { kind: 'ok'; atMs: number; fleet: FleetResponse; timeline: Timeline | null };

export function initialFleetState(): FleetPageState {
  return { fleet: null, timeline: null, connection: { kind: 'connecting' }, lastUpdatedMs: null };
}

export function applyFleetPoll(state: FleetPageState, r: FleetPoll): FleetPageState {
  const connection = nextConnection(state.connection, r);
  if (r.kind === 'ok') return { fleet: r.fleet, timeline: r.timeline, connection, lastUpdatedMs: r.atMs };
  // a refused token shows no data at all; central gone keeps the last data, marked stale
  if (connection.kind === 'unauthorized') return { ...initialFleetState(), connection };
  return { ...state, connection };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Enough of a FleetResponse for the page to draw (every value is escaped when drawn). */
export function isFleet(body: unknown): body is FleetResponse {
  if (!isObject(body) || !Array.isArray(body.pairs)) return false;
  return body.pairs.every(
    (p) =>
      isObject(p) &&
      typeof p.name === 'string' &&
      isObject(p.labels) &&
      Array.isArray(p.problems) &&
      Array.isArray(p.members) &&
      p.members.every((m) => isObject(m) && typeof m.name === 'string' && Array.isArray(m.faults) && Array.isArray(m.health)),
  );
}

export function isEvents(body: unknown): body is EventsResponse {
  return (
    isObject(body) &&
    Array.isArray(body.events) &&
    body.events.every((e) => isObject(e) && typeof e.at === 'string' && typeof e.member === 'string' && typeof e.kind === 'string' && typeof e.to === 'string')
  );
}

/** The open pair's timeline from central's answer to eventsPath(pair), or the fetch's failure. */
export function timelineOf(pair: string, answer: { status: number; body: unknown } | { failed: string }): Timeline {
  if ('failed' in answer) return { pair, events: null, error: `central did not answer: ${answer.failed}` };
  if (answer.status !== 200) return { pair, events: null, error: errorMessage(answer.status, answer.body) };
  if (!isEvents(answer.body)) return { pair, events: null, error: 'central answered events this page does not understand' };
  return { pair, events: answer.body, error: null };
}
