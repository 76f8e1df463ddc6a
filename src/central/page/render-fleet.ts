// The fleet table: one block per pair (its health, peer agreement, last transition, config, HA2
// sync, faults, software) and a row for each of its two members, coloured by state. Pure: data and
// `now` in, an HTML string out. Every value from central goes through esc() (pair, member and
// label names and reasons are operator- or box-controlled text); classes come only from fixed
// words. Browser code: no imports but types and the shared building blocks.
import type { MemberView, PairHealth, PairView } from '../protocol.js';
import { badge, esc, ms, stateClass, type Tone } from '../../api/status-page/html.js';
import { ago, duration } from '../../api/status-page/time.js';
import { formatView, labelText, type FleetView } from './view.js';

/** The issue's colours: active green, passive yellow, suspended / non-functional / tentative red, unreachable grey. */
export type MemberTone = 'active' | 'passive' | 'failed' | 'unreachable' | 'unknown';

const ACTIVE = new Set(['active', 'active-primary', 'active-secondary']);
const FAILED = new Set(['suspended', 'non-functional', 'tentative']);

export function memberTone(m: Pick<MemberView, 'reachable' | 'state'>): MemberTone {
  if (m.reachable === false) return 'unreachable';
  if (m.reachable !== true || typeof m.state !== 'string') return 'unknown';
  if (ACTIVE.has(m.state)) return 'active';
  if (m.state === 'passive') return 'passive';
  return FAILED.has(m.state) ? 'failed' : 'unknown';
}

const HEALTH_TONE: Record<PairHealth, Tone> = { ok: 'ok', degraded: 'warn', down: 'bad', unknown: 'off' };

/** A badge tone from central's word; an unknown word (a newer central) is grey, never a class of its own. */
function healthTone(h: unknown): Tone {
  return typeof h === 'string' && Object.prototype.hasOwnProperty.call(HEALTH_TONE, h) ? HEALTH_TONE[h as PairHealth] : 'off';
}

export const COLUMNS = ['Pair / member', 'State', 'Roles', 'Last transition', 'Config', 'HA2 sync', 'Faults', 'Software'] as const;

const dash = '<span class="muted">-</span>';
const num = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? esc(v) : '-');

/** yes / NO / unknown as a badge: agreement is good news, disagreement bad, not knowing grey. */
function agreement(v: boolean | null | undefined, yes: string, no: string, field: string): string {
  return v === true ? badge(yes, 'ok', field) : v === false ? badge(no, 'bad', field) : badge('unknown', 'off', field);
}

function transitionText(t: MemberView['lastTransition'], nowMs: number, who?: string): string {
  if (!t) return dash;
  return (
    `${who ? `${esc(who)}: ` : ''}<span class="${stateClass(t.from)}">${esc(t.from)}</span> &rarr; <span class="${stateClass(t.to)}">${esc(t.to)}</span>` +
    ` <span class="reason" data-field="reason">(${esc(t.reason)})</span> <span class="muted">${esc(ago(t.at, nowMs))}</span>`
  );
}

/** The pair's newest transition, whichever member made it. */
function newestTransition(p: PairView): { member: string; t: NonNullable<MemberView['lastTransition']> } | null {
  let best: { member: string; t: NonNullable<MemberView['lastTransition']> } | null = null;
  for (const m of p.members) {
    const t = m.lastTransition;
    if (t && (!best || Date.parse(t.at) > Date.parse(best.t.at))) best = { member: m.name, t };
  }
  return best;
}

function labelsHtml(p: PairView): string {
  return Object.entries(p.labels ?? {})
    .map(([k, v]) => `<span class="label">${esc(labelText(k, String(v)))}</span>`)
    .join(' ');
}

function pairRow(p: PairView, view: FleetView, nowMs: number): string {
  const last = newestTransition(p);
  const faults = p.members.reduce((n, m) => n + m.faults.length, 0);
  const roles = `${agreement(p.rolesAgree, 'agree', 'DISAGREE', 'roles')} <span class="muted">${esc(num(p.activeMembers))} active</span>`;
  const cells = [
    `<a href="${esc(formatView({ ...view, pair: p.name }))}" data-field="pair-link">${esc(p.name)}</a> ${labelsHtml(p)}`,
    `${badge(String(p.health), healthTone(p.health), 'health')}${p.problems.length ? ` <span class="problems">${p.problems.map((x) => esc(x)).join('; ')}</span>` : ''}`,
    roles,
    last ? transitionText(last.t, nowMs, last.member) : dash,
    `${p.configVersion === null ? '' : `v${num(p.configVersion)} `}${agreement(p.configAgree, 'agree', 'DIFFER', 'config-agree')}`,
    p.syncLagMs === null && p.syncBacklog === null ? dash : `lag p99 ${esc(ms(p.syncLagMs))}, backlog ${num(p.syncBacklog)}`,
    faults ? badge(`${faults} fault${faults > 1 ? 's' : ''}`, 'bad', 'faults') : 'none',
    agreement(p.versionsMatch, 'match', 'DIFFER', 'versions'),
  ];
  return `<tr class="pair-row">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

function stateCell(m: MemberView, tone: MemberTone, nowMs: number): string {
  if (tone === 'unreachable') {
    const code = m.error?.code ?? 'unreachable';
    const last = m.state ? ` <span class="muted">last known ${esc(m.state)}</span>` : '';
    return `<span class="tone tone-unreachable" data-field="state">unreachable</span> <span data-field="unreachable">for ${esc(duration(m.unreachableForS))} (${esc(code)})</span>${last}`;
  }
  if (m.reachable === null) return `<span class="tone tone-unknown" data-field="state">not polled yet</span>`;
  const since = m.stateSince ? ` <span class="muted">for ${esc(duration(Math.max(0, (nowMs - Date.parse(m.stateSince)) / 1000)))}</span>` : '';
  const error = m.error ? ` ${badge(m.error.code, 'bad')}` : '';
  return `<span class="tone tone-${tone}" data-field="state">${esc(m.state ?? '-')}</span> <span class="reason">(${esc(m.reason ?? '-')})</span>${since}${error}`;
}

function memberRow(p: PairView, m: MemberView, nowMs: number): string {
  const tone = memberTone(m);
  const sync = m.sync
    ? `${badge(m.sync.connected ? 'up' : 'down', m.sync.connected ? 'ok' : 'bad')} lag ${esc(ms(m.sync.lagP99Ms))}, backlog ${num(m.sync.backlog)}`
    : dash;
  const faults = [...m.faults.map((f) => badge(String(f), 'bad')), ...m.health.map((h) => badge(String(h), 'warn'))].join(' ') || 'none';
  const cells = [
    `<span class="member-name">${esc(m.name)}</span> <span class="muted">${esc(m.api)}</span>`,
    stateCell(m, tone, nowMs),
    m.mode ? esc(m.mode) : dash,
    transitionText(m.lastTransition, nowMs),
    m.configVersion === null ? dash : `v${num(m.configVersion)} <span class="muted">${esc((m.configHash ?? '').slice(0, 12))}</span>`,
    sync,
    faults,
    m.softwareVersion === null ? dash : esc(m.softwareVersion),
  ];
  return `<tr class="member" data-pair="${esc(p.name)}" data-member="${esc(m.name)}" data-tone="${tone}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

/** The table of the pairs given (already filtered), each pair a tbody of its own. */
export function fleetTable(pairs: readonly PairView[], view: FleetView, nowMs: number): string {
  if (pairs.length === 0) return '<p class="muted" data-field="no-pairs">no pair matches</p>';
  const head = `<thead><tr>${COLUMNS.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`;
  const bodies = pairs.map(
    (p) =>
      `<tbody class="pair-block${view.pair === p.name ? ' open' : ''}" data-pair="${esc(p.name)}" data-health="${esc(p.health)}">` +
      `${pairRow(p, view, nowMs)}${p.members.map((m) => memberRow(p, m, nowMs)).join('')}</tbody>`,
  );
  return `<table class="fleet">${head}${bodies.join('')}</table>`;
}
