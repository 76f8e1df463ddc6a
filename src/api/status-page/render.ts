// The status page's HTML, from what the API answered: the facts `tandem status` prints
// (src/cli/format.ts), laid out like PAN-OS's dashboard HA widget. Pure: state and `now` in, an
// HTML string out. Every value from the daemon goes through esc() (a reason, a device or group
// name is operator-controlled text); class names come only from fixed words, never from data.
// Browser code: no imports but types and siblings.
import type { StatusResponse } from '../protocol.js';
import type { PageState } from './poll.js';
import { badge, esc, fields, ms, rate, section, stateClass, table, yesNo } from './html.js';
import { connectionBanner } from './banner.js';
import { activeActiveSection } from './render-pair.js';
import { ago, duration, time } from './time.js';

export { esc } from './html.js';
export { duration } from './time.js';

/** At most this many transitions are shown, newest first (as `tandem status`). */
export const TRANSITIONS_SHOWN = 10;

function localSection(s: StatusResponse, nowMs: number): string {
  const l = s.local;
  const sinceMs = Date.parse(l.since);
  const inState = Number.isFinite(sinceMs) ? ` <span class="muted">for ${esc(duration(Math.max(0, (nowMs - sinceMs) / 1000)))}</span>` : '';
  return section(
    'Local',
    'local',
    fields([
      ['Device', `${esc(l.name)} <span class="muted">(id ${esc(l.id)})</span>`, 'local-name'],
      [
        'State',
        `<span data-field="local-state" class="${stateClass(l.state)}">${esc(l.state)}</span> <span class="reason" data-field="local-reason">(reason: ${esc(l.reason)})</span>${inState}`,
      ],
      ['Priority', esc(l.priority), 'local-priority'],
      ['Preemptive', esc(yesNo(l.preempt))],
      ['Faults', l.faults.length ? l.faults.map((f) => badge(f, 'bad')).join(' ') : 'none', 'local-faults'],
      ['Uptime', esc(duration(l.uptimeS))],
    ]),
  );
}

function peerSection(s: StatusResponse): string {
  const p = s.peer;
  const heard = p.lastHeardMsAgo === null ? 'never heard' : `last heard ${ms(p.lastHeardMsAgo)} ago`;
  return section(
    'Peer',
    'peer',
    fields([
      ['Device', `${p.name === null ? 'unknown' : esc(p.name)} <span class="muted">(id ${esc(p.id)})</span>`, 'peer-name'],
      ['Connection', `${badge(p.up ? 'up' : 'down', p.up ? 'ok' : 'bad', 'peer-up')} <span class="muted">${esc(heard)}</span>`],
      [
        'State',
        p.state === null
          ? '<span data-field="peer-state" class="state state-unknown">-</span>'
          : `<span data-field="peer-state" class="${stateClass(p.state)}">${esc(p.state)}</span>${p.reason ? ` <span class="reason">(reason: ${esc(p.reason)})</span>` : ''}`,
      ],
      ['Priority', p.priority === null ? '-' : esc(p.priority)],
      ['Preemptive', esc(yesNo(p.preempt))],
    ]),
  );
}

function electionSection(s: StatusResponse): string {
  const t = s.timers;
  const pre = s.preemption;
  return section(
    'Election',
    'election',
    fields([
      ['Group', `${esc(s.groupId)} (${esc(s.mode)})`],
      ['Preemption', pre.enabled ? `enabled, hold ${esc(ms(pre.holdMs))}` : 'disabled', 'preemption'],
      ['Preemption suspended', pre.suspended === null ? 'no' : `${badge('yes', 'warn')} ${esc(pre.suspended)}`],
      ['Timers', `profile ${esc(t.profile)}`],
      [
        'Heartbeat',
        `${esc(ms(t.heartbeatIntervalMs))} x ${esc(t.heartbeatMissed)} missed (dead interval ${esc(ms(t.heartbeatIntervalMs * t.heartbeatMissed))})`,
      ],
      ['Hello interval', esc(ms(t.helloIntervalMs))],
      ['Promotion hold', esc(ms(t.promotionHoldMs))],
      ['Preempt hold', esc(ms(t.preemptHoldMs))],
      ['Flap max', esc(t.flapMax)],
      ['Initial wait', esc(ms(t.initialWaitMs))],
    ]),
  );
}

function linksSection(s: StatusResponse): string {
  if (s.links.length === 0) return section('HA links', 'links', '<p>none</p>');
  const up = (v: boolean): string => badge(v ? 'up' : 'down', v ? 'ok' : 'bad');
  const rows = s.links.map((l) => [
    `<span data-link="${esc(l.name)}">${esc(l.name)}</span>`,
    esc(l.local),
    esc(l.peer),
    up(l.heartbeatUp),
    l.heartbeatOnly ? '<span class="muted">heartbeats only</span>' : up(l.sessionUp),
    l.lastHeardMsAgo === null ? 'never' : `${esc(ms(l.lastHeardMsAgo))} ago`,
    esc(ms(l.rttMs)),
  ]);
  return section('HA links', 'links', table(['Link', 'Local', 'Peer', 'Heartbeat', 'Session', 'Last heard', 'RTT'], rows));
}

function syncSection(s: StatusResponse): string {
  if (!s.sync) return section('Session sync (HA2)', 'sync', '<p class="muted">off</p>');
  const y = s.sync as Record<string, unknown>;
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const lag = y.lagMs as { p50?: number; p99?: number; max?: number } | undefined;
  const bulk = y.bulk as { inProgress?: boolean; lastCompleteAt?: string | null; lastSessions?: number | null } | undefined;
  const bulkText = bulk?.inProgress
    ? 'in progress'
    : bulk?.lastCompleteAt
      ? `complete at ${time(bulk.lastCompleteAt)}${typeof bulk.lastSessions === 'number' ? ` (${esc(bulk.lastSessions)} sessions)` : ''}`
      : 'none yet';
  return section(
    'Session sync (HA2)',
    'sync',
    fields([
      ['Connection', badge(y.connected ? 'up' : 'down', y.connected ? 'ok' : 'bad', 'sync-connected')],
      ['Role', esc(typeof y.role === 'string' ? y.role : '-')],
      ['Backlog', `${esc(num(y.backlog))} records`],
      ['Lag', lag ? `p50 ${esc(ms(lag.p50))}, p99 ${esc(ms(lag.p99))}, max ${esc(ms(lag.max))}` : '-'],
      ['Records', `${esc(num(y.recordsSent))} sent, ${esc(num(y.recordsReceived))} received`],
      ['Bulk sync', bulkText],
      ['Resyncs', esc(num(y.resyncs))],
    ]),
  );
}

function configSection(s: StatusResponse): string {
  const c = s.config;
  if (!c) return section('Configuration', 'config', '<p class="muted">not reported</p>');
  const short = (h: string | null): string => (h ? esc(h.slice(0, 12)) : '-');
  const peer = !c.peer.up
    ? badge('peer down', 'off', 'config-sync')
    : c.peer.inSync
      ? `${badge('in sync', 'ok', 'config-sync')} peer runs v${esc(c.peer.version)}`
      : `${badge('NOT in sync', 'bad', 'config-sync')} peer runs v${esc(c.peer.version ?? '?')} (hash ${short(c.peer.hash)})${c.peer.lastError ? `: ${esc(c.peer.lastError)}` : ''}`;
  const rows: [string, string, string?][] = [
    ['Running', `v${esc(c.version)} <span class="muted">hash ${short(c.hash)}</span>`, 'config-version'],
    ['Origin', c.origin === 'file' ? 'the config file' : `committed ${time(c.committedAt)} on ${esc(c.committedBy)}`],
    ['Peer', peer],
  ];
  if (c.restartRequired.length > 0) rows.push(['Restart required', esc(c.restartRequired.join(', '))]);
  if (c.keptAside.length > 0) rows.push(['Kept aside', `${esc(c.keptAside.length)} config(s), newest ${esc(c.keptAside[0].file)}`]);
  return section('Configuration', 'config', fields(rows));
}

function monitorsSection(s: StatusResponse): string {
  const m = s.monitors;
  if (!m || (!m.link && !m.path)) return section('Monitors', 'monitors', '<p class="muted">none</p>');
  const state = (g: { failed: boolean; faulted: boolean; failedForMs: number | null }): string =>
    g.faulted ? badge(`failed (${ms(g.failedForMs)})`, 'bad') : g.failed ? badge(`failing, in hold-up (${ms(g.failedForMs)})`, 'warn') : badge('ok', 'ok');
  const rows: string[][] = [];
  for (const g of m.link?.groups ?? []) {
    const members = g.interfaces
      .map((i) => `${esc(i.name)}${i.device ? ` (${esc(i.device)})` : ''} ${i.up === null ? '?' : i.up ? 'up' : esc(i.why ?? 'down')}`)
      .join(', ');
    rows.push(['link', esc(g.name), esc(g.failureCondition), state(g), members]);
  }
  for (const g of m.path?.groups ?? []) {
    const members = g.targets.map((t) => `${esc(t.address)} ${t.up ? `up ${esc(ms(t.lastRttMs))}` : `down (${esc(t.consecutiveFailures)} lost)`}`).join(', ');
    rows.push(['path', esc(g.name), `${esc(g.failureCondition)}, ${esc(g.failures)} x ${esc(ms(g.intervalMs))}`, state(g), members]);
  }
  const head = `<p>Hold-up ${esc(ms(m.holdUpMs))}${m.faults.length ? `; faults: ${m.faults.map((f) => badge(f, 'bad')).join(' ')}` : ''}</p>`;
  const prober = m.path && !m.path.prober.running ? `<p>${badge('ICMP prober not running', 'bad')} restarts: ${esc(m.path.prober.restarts)}</p>` : '';
  return section('Monitors', 'monitors', head + table(['Type', 'Group', 'Condition', 'State', 'Members'], rows) + prober);
}

function transitionsSection(s: StatusResponse, nowMs: number): string {
  if (s.transitions.length === 0) return section('Recent transitions', 'transitions', '<p>none</p>');
  const recent = s.transitions.slice(-TRANSITIONS_SHOWN).reverse();
  const rows = recent.map((t) => [
    `${time(t.at)} <span class="muted">${esc(ago(t.at, nowMs))}</span>`,
    `<span class="${stateClass(t.from)}">${esc(t.from)}</span> &rarr; <span class="${stateClass(t.to)}">${esc(t.to)}</span>`,
    esc(t.reason),
  ]);
  return section('Recent transitions', 'transitions', table(['When', 'Transition', 'Reason'], rows, 'transitions'));
}

function countersSection(state: PageState): string {
  const c = state.counters;
  if (!c) return section('Live counters', 'counters', '<p class="muted">no sample yet</p>');
  const r = state.rates;
  const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
  const activeByProto = Object.entries(c.sessions.active)
    .filter(([, n]) => n > 0)
    .map(([p, n]) => `${esc(p)} ${esc(n)}`)
    .join(', ');
  const top = fields([
    [
      'Forwarded',
      `<span data-field="rate-forwarded">${esc(rate(r?.packets.forwarded))}</span> <span class="muted">(<span data-field="total-forwarded">${esc(c.packets.forwarded ?? 0)}</span> total)</span>`,
    ],
    ['Received', `${esc(rate(r?.packets.rx))} <span class="muted">(${esc(c.packets.rx ?? 0)} total)</span>`],
    ['Sent', `${esc(rate(r?.packets.tx))} <span class="muted">(${esc(c.packets.tx ?? 0)} total)</span>`],
    [
      'Sessions',
      `<span data-field="sessions-active">${esc(sum(c.sessions.active))}</span> active${activeByProto ? ` (${activeByProto})` : ''}, ${esc(sum(c.sessions.created))} created`,
    ],
    ['Session table full', esc(c.sessions.tableFull)],
    ['Drops', `${esc(rate(r ? sum(r.drops) : undefined))} <span class="muted">(${esc(sum(c.drops))} total)</span>`],
  ]);
  const dropped = Object.entries(c.drops)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  const drops = dropped.length
    ? table(
        ['Drop reason', 'Rate', 'Total'],
        dropped.map(([reason, n]) => [`<span data-drop="${esc(reason)}">${esc(reason)}</span>`, esc(rate(r?.drops[reason])), esc(n)]),
      )
    : '<p class="muted">no drops</p>';
  return section('Live counters', 'counters', top + drops);
}

function dataplaneSection(s: StatusResponse): string {
  const dp = s.dataplane as Record<string, unknown> | undefined | null;
  if (dp === undefined) return '';
  if (dp === null || typeof dp !== 'object' || typeof dp.role !== 'string') {
    const why = dp && typeof dp === 'object' && typeof dp.error === 'string' ? dp.error : 'no data';
    return section('Dataplane', 'dataplane', `<p>${badge('unavailable', 'bad')} ${esc(why)}</p>`);
  }
  const fips = Array.isArray(dp.floatingIps) ? (dp.floatingIps as { interface?: unknown; address?: unknown; announced?: unknown }[]) : [];
  const rows: [string, string, string?][] = [
    ['Role', esc(dp.role), 'dataplane-role'],
    ['May act as active', esc(yesNo(typeof dp.mayActAsActive === 'boolean' ? dp.mayActAsActive : null))],
  ];
  const itfs = Array.isArray(dp.interfaces)
    ? (dp.interfaces as { name?: unknown; device?: unknown; vlan?: unknown; capture?: { open?: unknown; error?: unknown } }[])
    : [];
  if (itfs.length) {
    // the frame I/O backend and each capture handle: open, or closed and why (docs/packet-io.md)
    rows.push([
      `Capture (${typeof dp.io === 'string' ? dp.io : '?'})`,
      itfs
        .map(
          (i) =>
            `${esc(i.name)} (${esc(i.device)}${typeof i.vlan === 'number' ? ` vlan ${esc(i.vlan)}` : ''}) ${i.capture?.open === false ? `${badge('closed', 'bad')} ${esc(i.capture.error)}` : badge('open', 'ok')}`,
        )
        .join('<br>'),
      'dataplane-capture',
    ]);
  }
  if (fips.length) {
    rows.push([
      'Floating IPs',
      fips.map((f) => `${esc(f.address)} on ${esc(f.interface)} ${f.announced ? badge('owned', 'ok') : badge('not owned', 'off')}`).join('<br>'),
    ]);
  }
  return section('Dataplane', 'dataplane', fields(rows));
}

/** The banner: how fresh the data is, or why there is none. */
export function renderBanner(state: PageState, nowMs: number): string {
  return connectionBanner(state.connection, state.lastUpdatedMs, nowMs, 'API');
}

/** The whole page body below the header: the banner, then every section (stale data greyed). */
export function renderPage(state: PageState, nowMs: number): string {
  const banner = renderBanner(state, nowMs);
  const s = state.status;
  if (!s) return banner;
  const stale = state.connection.kind !== 'live';
  const body = [
    `<div class="pair">${localSection(s, nowMs)}${peerSection(s)}</div>`,
    activeActiveSection(s, state),
    linksSection(s),
    `<div class="pair">${syncSection(s)}${configSection(s)}</div>`,
    countersSection(state),
    monitorsSection(s),
    transitionsSection(s, nowMs),
    `<div class="pair">${electionSection(s)}${dataplaneSection(s)}</div>`,
  ].join('');
  return `${banner}<div class="sections${stale ? ' stale' : ''}">${body}</div>`;
}

/** The document title: the box and its state at a glance (a background tab shows it). */
export function pageTitle(state: PageState): string {
  const s = state.status;
  if (!s) return 'tandem';
  const lost = state.connection.kind === 'live' ? '' : ' (unreachable)';
  return `${s.local.name}: ${s.local.state}${lost} - tandem`;
}
