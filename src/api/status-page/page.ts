// Serves the status page's static files: an HTML shell, a stylesheet and the browser modules
// compiled next to this file. None of them holds data, so they are served without the token; the
// data comes from the API routes, which the page calls with the bearer token the operator types.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STYLE } from './style.js';

/** The page's address on the management listener. */
export const UI_PATH = '/ui';

/** The compiled browser modules (app.js imports the others by relative URL). */
export const BROWSER_MODULES = ['app.js', 'html.js', 'poll.js', 'rates.js', 'render.js', 'render-pair.js'] as const;

/**
 * Nothing from anywhere else, no inline script or style (so even an escaping bug could not run
 * injected code), requests only to this origin, never framed (clickjacking), and no form
 * submission: the token field is read by the script, never sent as a form (it would land in a URL).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // after a daemon upgrade the page must load the new scripts, never a cached old one
  'Cache-Control': 'no-store',
};

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tandem</title>
<link rel="stylesheet" href="${UI_PATH}/style.css">
<script type="module" src="${UI_PATH}/app.js"></script>
</head>
<body>
<header><h1>tandem HA status</h1><button id="logout" type="button" hidden>Forget token</button></header>
<form id="login" hidden autocomplete="off">
<label for="token">API token</label>
<input id="token" type="password" autocomplete="off" spellcheck="false">
<button type="submit">Show status</button>
<p class="muted">The token of this box's API (device.api.tokenFile). It is kept in this tab only and sent as a bearer header, never as a cookie.</p>
</form>
<main id="app"><noscript>This page needs JavaScript: it polls the API with your token.</noscript></main>
</body>
</html>
`;

export interface PageResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface StatusPage {
  /** The exact paths served without the token; any other path goes through the API's auth. */
  has(path: string): boolean;
  respond(path: string, method: string | undefined): Promise<PageResponse>;
}

/** `assetsDir`: where the compiled browser modules are (default: next to this file, in dist/). */
export function statusPage(assetsDir: string = fileURLToPath(new URL('.', import.meta.url))): StatusPage {
  const files = new Map<string, () => Promise<{ type: string; body: string | Buffer }>>([
    [UI_PATH, async () => ({ type: 'text/html; charset=utf-8', body: SHELL })],
    [`${UI_PATH}/`, async () => ({ type: 'text/html; charset=utf-8', body: SHELL })],
    [`${UI_PATH}/style.css`, async () => ({ type: 'text/css; charset=utf-8', body: STYLE })],
  ]);
  const cache = new Map<string, Buffer>();
  for (const name of BROWSER_MODULES) {
    files.set(`${UI_PATH}/${name}`, async () => {
      let body = cache.get(name);
      if (!body) {
        body = await readFile(join(assetsDir, name));
        cache.set(name, body);
      }
      return { type: 'text/javascript; charset=utf-8', body };
    });
  }
  return {
    has: (path) => files.has(path),
    async respond(path, method) {
      const json = (status: number, code: string, message: string, extra: Record<string, string> = {}): PageResponse => ({
        status,
        headers: { ...PAGE_HEADERS, 'Content-Type': 'application/json; charset=utf-8', ...extra },
        body: `${JSON.stringify({ error: { code, message } })}\n`,
      });
      const load = files.get(path);
      if (!load) return json(404, 'not-found', `no route ${path}`);
      if (method !== 'GET' && method !== 'HEAD')
        return json(405, 'method-not-allowed', `${method} not allowed on ${path} (allowed: GET, HEAD)`, { Allow: 'GET, HEAD' });
      let file;
      try {
        file = await load();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') throw err;
        // run from the TypeScript sources (not dist/): the browser modules are not compiled
        return json(503, 'unavailable', `the status page script ${path} is not built (missing in ${assetsDir}): run npm run build`);
      }
      return { status: 200, headers: { ...PAGE_HEADERS, 'Content-Type': file.type, 'Content-Length': String(Buffer.byteLength(file.body)) }, body: file.body };
    },
  };
}
