// Serving a page's static files: an HTML shell, a stylesheet and compiled browser modules, with
// strict headers. Shared by the box's status page (page.ts) and central's fleet page
// (src/central/page.ts). None of the files holds data, so they are served without the token; the
// data comes from the API routes, which the page calls with the bearer token the operator types.
import { readFile } from 'node:fs/promises';

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
  // after an upgrade the page must load the new scripts, never a cached old one
  'Cache-Control': 'no-store',
};

/** The shell's words; the layout (login form, #app, the one script) is the same for every page. */
export interface ShellText {
  title: string;
  heading: string;
  /** The stylesheet's and the entry module's URLs. */
  style: string;
  script: string;
  submit: string;
  /** Which token to give, in plain words (escaped by nobody: fixed text only). */
  tokenHelp: string;
}

export function shellHtml(t: ShellText): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.title}</title>
<link rel="stylesheet" href="${t.style}">
<script type="module" src="${t.script}"></script>
</head>
<body>
<header><h1>${t.heading}</h1><button id="logout" type="button" hidden>Forget token</button></header>
<form id="login" hidden autocomplete="off">
<label for="token">API token</label>
<input id="token" type="password" autocomplete="off" spellcheck="false">
<button type="submit">${t.submit}</button>
<p class="muted">${t.tokenHelp} It is kept in this tab only and sent as a bearer header, never as a cookie.</p>
</form>
<main id="app"><noscript>This page needs JavaScript: it polls the API with your token.</noscript></main>
</body>
</html>
`;
}

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

export interface PageFiles {
  /** Exact paths of the shell (e.g. /ui and /ui/). */
  shellPaths: readonly string[];
  shell: string;
  stylePath: string;
  style: string;
  /** URL path -> the compiled module's file. */
  modules: ReadonlyMap<string, string>;
  /** Where the modules should be, for the "not built" message. */
  assetsDir: string;
}

export function staticPage(p: PageFiles): StatusPage {
  const html = async () => ({ type: 'text/html; charset=utf-8', body: p.shell });
  const files = new Map<string, () => Promise<{ type: string; body: string | Buffer }>>(p.shellPaths.map((s) => [s, html]));
  files.set(p.stylePath, async () => ({ type: 'text/css; charset=utf-8', body: p.style }));
  const cache = new Map<string, Buffer>();
  for (const [path, file] of p.modules) {
    files.set(path, async () => {
      let body = cache.get(path);
      if (!body) {
        body = await readFile(file);
        cache.set(path, body);
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
        return json(503, 'unavailable', `the page script ${path} is not built (missing in ${p.assetsDir}): run npm run build`);
      }
      return { status: 200, headers: { ...PAGE_HEADERS, 'Content-Type': file.type, 'Content-Length': String(Buffer.byteLength(file.body)) }, body: file.body };
    },
  };
}
