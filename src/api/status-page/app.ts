// The status page's driver in the browser: asks for the token, polls the API with it, redraws.
// Everything it shows is computed by the pure modules (poll.ts, render.ts); this file only holds
// the DOM, fetch and timers. Loaded as /ui/app.js (compiled by the normal build, no bundler).
import type { CountersResponse, StatusResponse } from '../protocol.js';
import { COUNTERS_PATH, STATUS_PATH, applyPoll, errorMessage, initialState, parseInterval, requestTimeoutMs, type PageState, type PollResult } from './poll.js';
import { pageTitle, renderPage } from './render.js';

// The few DOM parts used, declared here rather than adding the DOM library to the whole
// (node-only) project's type environment.
interface Element {
  innerHTML: string;
  hidden: boolean;
  value: string;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
  focus(): void;
}
declare const document: { getElementById(id: string): Element | null; title: string };
declare const sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void };
declare const location: { search: string };

/** sessionStorage: the tab's own, gone when it closes; never a cookie (so no CSRF). */
const TOKEN_KEY = 'tandem.apiToken';

function must(id: string): Element {
  const el = document.getElementById(id);
  if (!el) throw new Error(`status page: #${id} is missing from the page`);
  return el;
}

const root = must('app');
const form = must('login');
const input = must('token');
const logout = must('logout');
const intervalMs = parseInterval(location.search);
const timeoutMs = requestTimeoutMs(intervalMs);

let token: string | null = sessionStorage.getItem(TOKEN_KEY);
let state: PageState = initialState();
/** Bumped on every login and logout: a poll started under an older token is dropped on arrival. */
let generation = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

async function getJson(path: string, bearer: string): Promise<{ status: number; body: unknown }> {
  const ctrl = new AbortController();
  const t = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${bearer}` }, signal: ctrl.signal, credentials: 'omit' });
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      // not JSON (a proxy's error page): the status code still tells what happened
    }
    return { status: res.status, body };
  } catch (err) {
    if (ctrl.signal.aborted) throw new Error(`no answer within ${timeoutMs} ms`, { cause: err });
    throw err;
  } finally {
    clearTimeout(t);
  }
}

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
    const [st, ct] = await Promise.all([getJson(STATUS_PATH, bearer), getJson(COUNTERS_PATH, bearer).catch(() => null)]);
    const atMs = Date.now();
    if (st.status !== 200) return { kind: 'http-error', atMs, httpStatus: st.status, message: errorMessage(st.status, st.body) };
    if (!isStatus(st.body)) return { kind: 'http-error', atMs, httpStatus: st.status, message: 'the daemon answered a status this page does not understand' };
    const counters = ct?.status === 200 ? (ct.body as CountersResponse) : null;
    return { kind: 'ok', atMs, status: st.body, counters };
  } catch (err) {
    // fetch rejects only when no HTTP answer came: refused, reset, timed out
    return { kind: 'network-error', atMs: Date.now(), error: err instanceof Error ? err.message : String(err) };
  }
}

function draw(): void {
  try {
    root.innerHTML =
      token === null && state.connection.kind !== 'unauthorized'
        ? '<div class="banner off" data-field="connection">enter the API token of this box</div>'
        : renderPage(state, Date.now());
    document.title = pageTitle(state);
  } catch (err) {
    // a payload this version cannot draw must not leave a blank or frozen page
    root.innerHTML = `<div class="banner bad" role="alert">cannot show this status: ${String(err).replace(/[&<>"']/g, '')}</div>`;
  }
  const needToken = token === null || state.connection.kind === 'unauthorized';
  form.hidden = !needToken;
  logout.hidden = token === null;
  if (needToken) input.focus();
}

async function tick(gen: number): Promise<void> {
  if (gen !== generation || token === null) return;
  const result = await pollOnce(token);
  if (gen !== generation) return;
  state = applyPoll(state, result);
  if (state.connection.kind === 'unauthorized') {
    // a refused token is not kept: a reload asks again
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
  }
  draw();
  if (token !== null) timer = setTimeout(() => void tick(gen), intervalMs);
}

function start(newToken: string | null): void {
  generation++;
  clearTimeout(timer);
  token = newToken;
  if (newToken === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, newToken);
  // keep the wrong-token message visible until the next answer replaces it
  if (!(newToken === null && state.connection.kind === 'unauthorized')) state = initialState();
  draw();
  if (newToken !== null) void tick(generation);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const value = input.value.trim();
  input.value = '';
  if (value !== '') start(value);
});
logout.addEventListener('click', () => start(null));
start(token);
