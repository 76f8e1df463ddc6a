// The banner at the top of a page: how fresh the data is, or why there is none. Shared by the box's
// status page and central's fleet page. Pure; browser code: no imports but siblings.
import type { Connection } from './connection.js';
import { esc } from './html.js';
import { duration } from './time.js';

/** `what` names the API in "<what> unreachable" (the box page: "API"; central's page: "central"). */
export function connectionBanner(connection: Connection, lastUpdatedMs: number | null, nowMs: number, what: string): string {
  const updated = lastUpdatedMs === null ? 'never' : `${duration(Math.max(0, (nowMs - lastUpdatedMs) / 1000))} ago`;
  const c = connection;
  switch (c.kind) {
    case 'connecting':
      return `<div class="banner off" data-field="connection">connecting...</div>`;
    case 'live':
      return `<div class="banner ok" data-field="connection">live <span class="muted">last updated <span data-field="updated">${esc(updated)}</span></span></div>`;
    case 'unauthorized':
      return `<div class="banner bad" data-field="connection" role="alert">${esc(c.message)}</div>`;
    case 'unreachable':
      return (
        `<div class="banner bad" data-field="connection" role="alert">${esc(what)} unreachable for ${esc(duration(Math.max(0, (nowMs - c.sinceMs) / 1000)))} ` +
        `(${esc(c.error)}); the data below is from ${esc(updated)}</div>`
      );
    case 'error':
      return `<div class="banner bad" data-field="connection" role="alert">${esc(c.message)}; the data below is from ${esc(updated)}</div>`;
    default: {
      const never: never = c;
      return esc(never);
    }
  }
}
