// Times and durations as the pages and the CLI print them: "1h 2m 5s", an ISO time in a <time>
// element, "42s ago". Shared by the box's status page and central's fleet page. Browser code:
// no imports but siblings.
import { esc } from './html.js';

/** "1d 2h 3m", "1h 2m 5s", "42s", "250 ms" (the CLI uses this one too: src/cli/format.ts). */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  let s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** An ISO time as HTML: a <time> element in UTC to the second, or the text escaped when unparseable. */
export function time(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return esc(iso);
  return `<time datetime="${esc(iso)}">${esc(
    new Date(t)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z'),
  )}</time>`;
}

/** "42s ago" (plain text), or '' when `iso` is not a time. */
export function ago(iso: string, nowMs: number): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `${duration(Math.max(0, (nowMs - t) / 1000))} ago` : '';
}
