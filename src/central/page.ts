// Serves central's fleet page (docs/central.md): an HTML shell, a stylesheet and the browser
// modules of ./page/ with the box page's shared ones (../api/status-page/), compiled in dist/. The
// modules are served under /ui/ at their path below src/, so their relative imports resolve in
// the browser as they do on disk; only the listed files are served. None holds data: they go
// without the token, with the box page's strict headers; the page calls the API with the token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shellHtml, staticPage, type StatusPage } from '../api/status-page/static-files.js';
import { FLEET_STYLE } from './page/style.js';

export const UI_PATH = '/ui';

/** The fleet page's own modules (src/central/page/), app.js first: it imports the others. */
export const PAGE_MODULES = ['app.js', 'fleet-poll.js', 'render.js', 'render-fleet.js', 'render-timeline.js', 'view.js'] as const;
/** The box page's modules the fleet page imports (src/api/status-page/). */
export const SHARED_MODULES = ['banner.js', 'connection.js', 'fetch-json.js', 'html.js', 'session.js', 'time.js'] as const;

const SHELL = shellHtml({
  title: 'tandem central',
  heading: 'tandem fleet',
  style: `${UI_PATH}/style.css`,
  script: `${UI_PATH}/central/page/app.js`,
  submit: 'Show fleet',
  tokenHelp: "The token of central's API (tokenFile in central.yaml).",
});

/** `srcDir`: the compiled src/ (default: dist/src/, where this file is compiled to). */
export function fleetPage(srcDir: string = fileURLToPath(new URL('..', import.meta.url))): StatusPage {
  const modules = new Map<string, string>([
    ...PAGE_MODULES.map((m): [string, string] => [`${UI_PATH}/central/page/${m}`, join(srcDir, 'central', 'page', m)]),
    ...SHARED_MODULES.map((m): [string, string] => [`${UI_PATH}/api/status-page/${m}`, join(srcDir, 'api', 'status-page', m)]),
  ]);
  return staticPage({ shellPaths: [UI_PATH, `${UI_PATH}/`], shell: SHELL, stylePath: `${UI_PATH}/style.css`, style: FLEET_STYLE, modules, assetsDir: srcDir });
}

const page = fleetPage();

/** Serves the path when it is one of the page's files (true), else leaves the request alone (false). */
export async function serveFleetPage(path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (!page.has(path)) return false;
  const r = await page.respond(path, req.method);
  res.writeHead(r.status, r.headers);
  res.end(req.method === 'HEAD' ? undefined : r.body);
  return true;
}
