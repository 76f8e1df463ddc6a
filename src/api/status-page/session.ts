// A page's session in the browser: asks for the token, polls the API with it on a timer, redraws,
// drops a refused token, forgets it on request. Shared by the box's status page (app.ts) and
// central's fleet page (src/central/page/app.ts): each gives its own poll and rendering. This file
// only holds the DOM, storage and timers; what a poll means is decided by the pure modules.
import type { Connection } from './connection.js';

// The few DOM parts used, declared here rather than adding the DOM library to the whole
// (node-only) project's type environment.
export interface Element {
  innerHTML: string;
  hidden: boolean;
  value: string;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
  focus(): void;
}
declare const document: { getElementById(id: string): Element | null; title: string };
declare const sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void };

export interface SessionPage<S> {
  /** sessionStorage key: the tab's own, gone when it closes; never a cookie (so no CSRF). */
  tokenKey: string;
  intervalMs: number;
  /** Shown instead of data while no token is given. */
  prompt: string;
  initial(): S;
  /** One poll with `bearer`: the new state from the old (never throws: failures are states). */
  poll(bearer: string, state: S): Promise<S>;
  connection(state: S): Connection;
  render(state: S, nowMs: number): string;
  title(state: S): string;
}

export interface Session {
  /** Draws again now (the view changed), without waiting for the next poll. */
  redraw(): void;
  /** Polls now (the view needs other data), keeping what is shown. */
  pollNow(): void;
}

export function must(id: string): Element {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: #${id} is missing from the page`);
  return el;
}

export function startSession<S>(page: SessionPage<S>): Session {
  const root = must('app');
  const form = must('login');
  const input = must('token');
  const logout = must('logout');
  let token: string | null = sessionStorage.getItem(page.tokenKey);
  let state = page.initial();
  /** Bumped on every login, logout and pollNow: a poll started before is dropped on arrival. */
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refused = (): boolean => page.connection(state).kind === 'unauthorized';

  function draw(): void {
    try {
      root.innerHTML = token === null && !refused() ? `<div class="banner off" data-field="connection">${page.prompt}</div>` : page.render(state, Date.now());
      document.title = page.title(state);
    } catch (err) {
      // a payload this version cannot draw must not leave a blank or frozen page
      root.innerHTML = `<div class="banner bad" role="alert">cannot show this: ${String(err).replace(/[&<>"']/g, '')}</div>`;
    }
    const needToken = token === null || refused();
    form.hidden = !needToken;
    logout.hidden = token === null;
    if (needToken) input.focus();
  }

  async function tick(gen: number): Promise<void> {
    if (gen !== generation || token === null) return;
    const next = await page.poll(token, state);
    if (gen !== generation) return;
    state = next;
    if (refused()) {
      // a refused token is not kept: a reload asks again
      sessionStorage.removeItem(page.tokenKey);
      token = null;
    }
    draw();
    if (token !== null) timer = setTimeout(() => void tick(gen), page.intervalMs);
  }

  function restartPolling(): void {
    generation++;
    clearTimeout(timer);
    if (token !== null) void tick(generation);
  }

  function start(newToken: string | null): void {
    token = newToken;
    if (newToken === null) sessionStorage.removeItem(page.tokenKey);
    else sessionStorage.setItem(page.tokenKey, newToken);
    // keep the wrong-token message visible until the next answer replaces it
    if (!(newToken === null && refused())) state = page.initial();
    draw();
    restartPolling();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    input.value = '';
    if (value !== '') start(value);
  });
  logout.addEventListener('click', () => start(null));
  start(token);
  return { redraw: draw, pollNow: restartPolling };
}
