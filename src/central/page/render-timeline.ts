// A pair's timeline (the drill-down): its events from central's history, newest first, with
// times: HA transitions with their reasons, members lost and back, config changes, pushes. Pure,
// like render-fleet.ts; every value goes through esc().
import type { CentralEvent } from '../protocol.js';
import { esc, stateClass } from '../../api/status-page/html.js';
import { ago, time } from '../../api/status-page/time.js';
import { formatView, type FleetView } from './view.js';
import type { Timeline } from './fleet-poll.js';

function change(e: CentralEvent): string {
  // only transitions name HA states (coloured as on the box page); other kinds are plain words
  const word = (s: string): string => (e.kind === 'transition' ? `<span class="${stateClass(s)}">${esc(s)}</span>` : esc(s));
  const show = (s: string | null): string => (e.kind === 'config' && s !== null ? `v${esc(s)}` : s === null ? '' : word(s));
  return e.from === null ? show(e.to) : `${show(e.from)} &rarr; ${show(e.to)}`;
}

function eventRow(e: CentralEvent, nowMs: number): string {
  const reason = e.kind === 'config' ? String(e.reason).slice(0, 12) : String(e.reason);
  const cells = [`${time(e.at)} <span class="muted">${esc(ago(e.at, nowMs))}</span>`, esc(e.member), esc(e.kind), change(e), esc(reason)];
  return `<tr data-kind="${esc(e.kind)}" data-member="${esc(e.member)}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

/** The open pair's section; `known`: the pair is in the fleet (a link to a removed pair says so). */
export function timelineSection(view: FleetView, timeline: Timeline | null, known: boolean, nowMs: number): string {
  if (view.pair === null) return '';
  const close = `<a href="${esc(formatView({ ...view, pair: null }))}" data-field="close-timeline">close</a>`;
  const head = `<h2>Timeline of <span data-field="timeline-pair">${esc(view.pair)}</span> ${close}</h2>`;
  let body: string;
  if (!known) body = '<p class="muted">no such pair in the fleet</p>';
  else if (!timeline || timeline.pair !== view.pair) body = '<p class="muted">loading...</p>';
  else if (timeline.error !== null || !timeline.events) body = `<p class="banner bad" role="alert">${esc(timeline.error ?? 'no events')}</p>`;
  else if (timeline.events.events.length === 0) body = '<p class="muted">no events</p>';
  else {
    const rows = [...timeline.events.events].reverse().map((e) => eventRow(e, nowMs));
    const more = timeline.events.truncated ? `<p class="muted">the newest ${rows.length} events</p>` : '';
    body =
      `<table class="timeline"><thead><tr><th>When</th><th>Member</th><th>Event</th><th>Change</th><th>Reason</th></tr></thead>` +
      `<tbody>${rows.join('')}</tbody></table>${more}`;
  }
  return `<section id="timeline">${head}${body}</section>`;
}
