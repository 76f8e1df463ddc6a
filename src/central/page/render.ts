// The fleet page below the header: the banner (live, wrong token, central unreachable), the label
// filter, the fleet table and the open pair's timeline. Pure: state, view and `now` in, HTML out.
import type { PairView } from '../protocol.js';
import { connectionBanner } from '../../api/status-page/banner.js';
import { esc } from '../../api/status-page/html.js';
import type { FleetPageState } from './fleet-poll.js';
import { fleetTable } from './render-fleet.js';
import { timelineSection } from './render-timeline.js';
import { formatView, labelsPresent, pairShown, toggleLabel, type FleetView } from './view.js';

/** The labels present as links that add or take out each one (the hash keeps the filter). */
function filterBar(pairs: readonly PairView[], view: FleetView, shown: number): string {
  const labels = labelsPresent(pairs, view);
  const all = `<a href="${esc(formatView({ ...view, labels: [] }))}" class="filter${view.labels.length ? '' : ' on'}" data-label="">all</a>`;
  const links = labels.map(
    (l) => `<a href="${esc(formatView(toggleLabel(view, l)))}" class="filter${view.labels.includes(l) ? ' on' : ''}" data-label="${esc(l)}">${esc(l)}</a>`,
  );
  return `<nav class="filters">Labels: ${[all, ...links].join(' ')} <span class="muted" data-field="shown">${esc(shown)} of ${esc(pairs.length)} pairs</span></nav>`;
}

export function renderFleetPage(state: FleetPageState, view: FleetView, nowMs: number): string {
  const banner = connectionBanner(state.connection, state.lastUpdatedMs, nowMs, 'central');
  const f = state.fleet;
  if (!f) return banner;
  const pairs = f.pairs.filter((p) => pairShown(p, view));
  const stale = state.connection.kind !== 'live';
  const known = view.pair !== null && f.pairs.some((p) => p.name === view.pair);
  return (
    `${banner}<div class="sections${stale ? ' stale' : ''}">${filterBar(f.pairs, view, pairs.length)}` +
    `${fleetTable(pairs, view, nowMs)}${timelineSection(view, state.timeline, known, nowMs)}</div>`
  );
}

/** The document title: how many pairs are not ok, at a glance (a background tab shows it). */
export function fleetTitle(state: FleetPageState): string {
  const f = state.fleet;
  if (!f) return 'tandem central';
  const bad = f.pairs.filter((p) => p.health !== 'ok').length;
  const lost = state.connection.kind === 'live' ? '' : ' (central unreachable)';
  return `${bad === 0 ? 'all ok' : `${bad} of ${f.pairs.length} not ok`}${lost} - tandem central`;
}
