// How a page's link to its API stands between polls: connecting, live, a refused token, no answer
// at all, an HTTP error. Shared by the box's status page (poll.ts) and central's fleet page, which
// poll the same way and say the same things. Pure (browser code: no imports), unit tested.

/** Below this a page would load its API for nothing; above it the page is no longer "live". */
export const MIN_INTERVAL_MS = 100;
export const MAX_INTERVAL_MS = 60_000;

/** ?interval=<ms> (tests use a short one); anything unparseable is `defaultMs`, out-of-range is clamped. */
export function parseInterval(search: string, defaultMs: number): number {
  const raw = new URLSearchParams(search).get('interval');
  if (raw === null || !/^\d{1,9}$/.test(raw)) return defaultMs;
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Number(raw)));
}

/** A request gives up after this long, so an API that vanished mid-request shows as unreachable. */
export function requestTimeoutMs(intervalMs: number): number {
  return Math.max(2000, 2 * intervalMs);
}

export type Connection =
  /** No answer yet since the token was given. */
  | { kind: 'connecting' }
  | { kind: 'live' }
  /** The token was refused: nothing is shown and polling stops until a new one is given. */
  | { kind: 'unauthorized'; message: string }
  /** No HTTP answer at all (refused, reset, timed out): the API's host or process went away. */
  | { kind: 'unreachable'; sinceMs: number; error: string }
  /** An HTTP answer other than 200 and 401. */
  | { kind: 'error'; sinceMs: number; httpStatus: number; message: string };

/** How one poll ended, as far as the connection is concerned (the pages add their data to 'ok'). */
export type PollEnd =
  | { kind: 'ok'; atMs: number }
  | { kind: 'http-error'; atMs: number; httpStatus: number; message: string }
  | { kind: 'network-error'; atMs: number; error: string };

/** The message shown for a refused token (the wording, so operators can search for it). */
export const WRONG_TOKEN = '401: wrong token';

export function nextConnection(prev: Connection, r: PollEnd): Connection {
  switch (r.kind) {
    case 'ok':
      return { kind: 'live' };
    case 'http-error':
      if (r.httpStatus === 401) return { kind: 'unauthorized', message: WRONG_TOKEN };
      // keep when the trouble began, not when it was last seen
      return { kind: 'error', sinceMs: prev.kind === 'error' ? prev.sinceMs : r.atMs, httpStatus: r.httpStatus, message: r.message };
    case 'network-error':
      return { kind: 'unreachable', sinceMs: prev.kind === 'unreachable' ? prev.sinceMs : r.atMs, error: r.error };
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
