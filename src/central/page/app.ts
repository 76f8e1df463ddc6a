// The fleet page's driver in the browser: central's poll (the fleet, and the open pair's events)
// and rendering handed to the shared session (token, timer, redraw), and the view kept in the
// URL's hash. Everything it shows is computed by the pure modules. Loaded as
// /ui/central/page/app.js (compiled by the normal build, no bundler).
import { requestTimeoutMs, parseInterval, errorMessage } from '../../api/status-page/connection.js';
import { getJson, networkError } from '../../api/status-page/fetch-json.js';
import { startSession } from '../../api/status-page/session.js';
import {
  DEFAULT_INTERVAL_MS,
  FLEET_PATH,
  applyFleetPoll,
  eventsPath,
  initialFleetState,
  isFleet,
  timelineOf,
  type FleetPageState,
  type FleetPoll,
} from './fleet-poll.js';
import { fleetTitle, renderFleetPage } from './render.js';
import { parseView, type FleetView } from './view.js';

declare const location: { search: string; hash: string };
declare const window: { addEventListener(type: 'hashchange', listener: () => void): void };

const intervalMs = parseInterval(location.search, DEFAULT_INTERVAL_MS);
const timeoutMs = requestTimeoutMs(intervalMs);
let view: FleetView = parseView(location.hash);

async function pollOnce(bearer: string, pair: string | null): Promise<FleetPoll> {
  try {
    const events = pair === null ? null : getJson(eventsPath(pair), bearer, timeoutMs).catch((err: unknown) => ({ failed: networkError(err) }));
    const f = await getJson(FLEET_PATH, bearer, timeoutMs);
    const atMs = Date.now();
    if (f.status !== 200) return { kind: 'http-error', atMs, httpStatus: f.status, message: errorMessage(f.status, f.body) };
    if (!isFleet(f.body)) return { kind: 'http-error', atMs, httpStatus: f.status, message: 'central answered a fleet this page does not understand' };
    return { kind: 'ok', atMs, fleet: f.body, timeline: pair === null || events === null ? null : timelineOf(pair, await events) };
  } catch (err) {
    return { kind: 'network-error', atMs: Date.now(), error: networkError(err) };
  }
}

const session = startSession<FleetPageState>({
  tokenKey: 'tandem.centralToken',
  intervalMs,
  prompt: 'enter the API token of tandem central',
  initial: initialFleetState,
  poll: async (bearer, state) => applyFleetPoll(state, await pollOnce(bearer, view.pair)),
  connection: (state) => state.connection,
  render: (state, nowMs) => renderFleetPage(state, view, nowMs),
  title: fleetTitle,
});

// a filter applies at once; a newly opened timeline needs its events now, not at the next poll
window.addEventListener('hashchange', () => {
  const before = view.pair;
  view = parseView(location.hash);
  session.redraw();
  if (view.pair !== null && view.pair !== before) session.pollNow();
});
