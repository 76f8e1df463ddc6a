// Serves the status page's static files (static-files.ts): an HTML shell, a stylesheet and the
// browser modules compiled next to this file. None of them holds data, so they are served without
// the token; the data comes from the API routes, which the page calls with the bearer token the
// operator types.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shellHtml, staticPage, type StatusPage } from './static-files.js';
import { STYLE } from './style.js';

export { CONTENT_SECURITY_POLICY, PAGE_HEADERS, type PageResponse, type StatusPage } from './static-files.js';

/** The page's address on the management listener. */
export const UI_PATH = '/ui';

/** The compiled browser modules (app.js imports the others by relative URL). */
export const BROWSER_MODULES = [
  'app.js',
  'banner.js',
  'connection.js',
  'fetch-json.js',
  'html.js',
  'poll.js',
  'rates.js',
  'render.js',
  'render-pair.js',
  'session.js',
  'time.js',
] as const;

const SHELL = shellHtml({
  title: 'tandem',
  heading: 'tandem HA status',
  style: `${UI_PATH}/style.css`,
  script: `${UI_PATH}/app.js`,
  submit: 'Show status',
  tokenHelp: "The token of this box's API (device.api.tokenFile).",
});

/** `assetsDir`: where the compiled browser modules are (default: next to this file, in dist/). */
export function statusPage(assetsDir: string = fileURLToPath(new URL('.', import.meta.url))): StatusPage {
  return staticPage({
    shellPaths: [UI_PATH, `${UI_PATH}/`],
    shell: SHELL,
    stylePath: `${UI_PATH}/style.css`,
    style: STYLE,
    modules: new Map(BROWSER_MODULES.map((name) => [`${UI_PATH}/${name}`, join(assetsDir, name)])),
    assetsDir,
  });
}
