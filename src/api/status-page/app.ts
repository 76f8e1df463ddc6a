// The status page's driver in the browser: the box's poll (status and counters) and rendering
// handed to the shared session (session.ts: token, timer, redraw). Everything it shows is computed
// by the pure modules (poll.ts, render.ts). Loaded as /ui/app.js (compiled by the normal build, no
// bundler).
import type { CountersResponse, StatusResponse } from '../protocol.js';
import { getJson, networkError } from './fetch-json.js';
import { COUNTERS_PATH, STATUS_PATH, applyPoll, errorMessage, initialState, parseInterval, requestTimeoutMs, type PageState, type PollResult } from './poll.js';
import { pageTitle, renderPage } from './render.js';
import { startSession } from './session.js';

declare const location: { search: string };

const intervalMs = parseInterval(location.search);
const timeoutMs = requestTimeoutMs(intervalMs);

function isStatus(body: unknown): body is StatusResponse {
  const b = body as StatusResponse | null;
  return (
    b !== null &&
    typeof b === 'object' &&
    typeof b.local?.state === 'string' &&
    typeof b.peer === 'object' &&
    Array.isArray(b.links) &&
    Array.isArray(b.transitions)
  );
}

async function pollOnce(bearer: string): Promise<PollResult> {
  try {
    const [st, ct] = await Promise.all([getJson(STATUS_PATH, bearer, timeoutMs), getJson(COUNTERS_PATH, bearer, timeoutMs).catch(() => null)]);
    const atMs = Date.now();
    if (st.status !== 200) return { kind: 'http-error', atMs, httpStatus: st.status, message: errorMessage(st.status, st.body) };
    if (!isStatus(st.body)) return { kind: 'http-error', atMs, httpStatus: st.status, message: 'the daemon answered a status this page does not understand' };
    const counters = ct?.status === 200 ? (ct.body as CountersResponse) : null;
    return { kind: 'ok', atMs, status: st.body, counters };
  } catch (err) {
    return { kind: 'network-error', atMs: Date.now(), error: networkError(err) };
  }
}

startSession<PageState>({
  tokenKey: 'tandem.apiToken',
  intervalMs,
  prompt: 'enter the API token of this box',
  initial: initialState,
  poll: async (bearer, state) => applyPoll(state, await pollOnce(bearer)),
  connection: (state) => state.connection,
  render: renderPage,
  title: pageTitle,
});
