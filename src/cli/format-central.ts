// `tandem central status|pairs|events|push`: central's fleet view and merged timeline as tables. Pure:
// the API's JSON (and `now`) in, text out.
import type { CentralEvent, FleetResponse, MemberView, PairView, PushResponse } from '../central/protocol.js';
import { formatDiff, type DiffEntry } from '../config/diff.js';
import { formatDuration, ms, table, yesNo } from './format.js';

/** One line per pair: the overview. */
export function formatPairs(fleet: FleetResponse): string {
  if (fleet.pairs.length === 0) return 'no pairs in the inventory';
  const rows = [['PAIR', 'HEALTH', 'ACTIVE', 'CONFIG', 'SOFTWARE', 'LABELS', 'PROBLEMS']];
  for (const p of fleet.pairs) rows.push([p.name, p.health, activeName(p), configCell(p), softwareCell(p), labels(p.labels), p.problems.join('; ') || '-']);
  return table(rows);
}

/** Every pair and member, with the facts behind the health. */
export function formatFleetStatus(fleet: FleetResponse, nowMs: number): string {
  if (fleet.pairs.length === 0) return 'no pairs in the inventory';
  return fleet.pairs.map((p) => pairSection(p, nowMs)).join('\n\n');
}

function pairSection(p: PairView, nowMs: number): string {
  const head = `Pair ${p.name}${Object.keys(p.labels).length > 0 ? ` (${labels(p.labels)})` : ''}: ${p.health}${p.problems.length > 0 ? ` - ${p.problems.join('; ')}` : ''}`;
  const facts = [
    `  roles agree: ${yesNo(p.rolesAgree)}   config: ${configCell(p)}   software: ${softwareCell(p)}`,
    `  HA2 sync lag (p99): ${ms(p.syncLagMs)}   backlog: ${p.syncBacklog ?? '-'}`,
  ];
  const rows = [['MEMBER', 'REACHABLE', 'STATE', 'SINCE', 'REASON', 'CONFIG', 'SOFTWARE', 'FAULTS', 'LAST TRANSITION']];
  for (const m of p.members) rows.push(memberRow(m, nowMs));
  return [head, ...facts, table(rows, '  ')].join('\n');
}

function memberRow(m: MemberView, nowMs: number): string[] {
  const t = m.lastTransition;
  return [
    m.name,
    reachCell(m),
    m.state ?? '-',
    m.stateSince ? ago(m.stateSince, nowMs) : '-',
    m.reason ?? '-',
    m.configVersion === null ? '-' : `v${m.configVersion} ${shortHash(m.configHash)}`,
    m.softwareVersion ?? '-',
    m.faults.length > 0 ? m.faults.join(',') : '-',
    t ? `${t.at} ${t.from} -> ${t.to} (${t.reason})` : '-',
  ];
}

function reachCell(m: MemberView): string {
  if (m.reachable === null) return m.lastOkAt ? 'not polled yet' : 'never polled';
  if (m.reachable) return 'yes';
  return `no for ${formatDuration(m.unreachableForS)} (${m.error?.code ?? 'unknown'})`;
}

function activeName(p: PairView): string {
  const active = p.members.filter((m) => m.reachable === true && m.state !== null && m.state.startsWith('active'));
  return active.length === 0 ? '-' : active.map((m) => m.name).join(',');
}

function configCell(p: PairView): string {
  if (p.configVersion === null) return '-';
  return `v${p.configVersion} ${p.configAgree === null ? '(agreement unknown)' : p.configAgree ? 'agree' : 'DIFFER'}`;
}

function softwareCell(p: PairView): string {
  const versions = [...new Set(p.members.map((m) => m.softwareVersion).filter((v): v is string => v !== null))];
  if (versions.length === 0) return '-';
  return p.versionsMatch === false ? `DIFFER (${versions.join(' / ')})` : versions.join(' / ');
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(',') : '-';
}

function shortHash(h: string | null): string {
  return h === null ? '' : h.slice(0, 8);
}

function ago(at: string, nowMs: number): string {
  const t = Date.parse(at);
  return Number.isFinite(t) ? `${formatDuration(Math.max(0, (nowMs - t) / 1000))} ago` : '-';
}

/** The merged timeline, oldest first. */
export function formatCentralEvents(events: readonly CentralEvent[], truncated: boolean): string {
  if (events.length === 0) return 'no events';
  const rows = [['TIME', 'PAIR', 'MEMBER', 'KIND', 'FROM', '', 'TO', 'REASON']];
  for (const e of events) rows.push([e.at, e.pair, e.member, e.kind, e.from ?? '-', '->', e.to, e.reason]);
  const note = truncated ? `\n(only the newest ${events.length} shown: raise --limit for older ones)` : '';
  return `${table(rows)}${note}`;
}

/** `tandem central push`: one line per pair, then each pair's diff (a dry run, or what was committed) and its issues. */
export function formatPushResults(r: PushResponse): string {
  const rows = [['PAIR', 'OUTCOME', 'ON', 'VERSION', 'BOTH RUN IT', 'WHY']];
  for (const x of r.results) {
    const version =
      x.version !== null && x.fromVersion !== null && x.version !== x.fromVersion
        ? `v${x.fromVersion} -> v${x.version}`
        : x.version !== null
          ? `v${x.version}`
          : '-';
    rows.push([x.pair, x.outcome, x.member ?? '-', version, x.inSync === null ? '-' : x.inSync ? 'yes' : 'NO', x.reason]);
  }
  const parts = [`${r.dryRun ? 'Dry run of' : 'Push of'} ${r.source}:`, table(rows)];
  for (const x of r.results) {
    if (x.diff.length > 0 && (x.outcome === 'dry-run' || x.outcome === 'committed')) {
      parts.push('', `${x.pair}:`, formatDiff(x.diff as DiffEntry[], { from: `${x.pair} v${x.fromVersion ?? '?'} (running)`, to: `${x.pair} (${r.source})` }));
    }
    if (x.issues.length > 0) parts.push('', `${x.pair}: ${x.issues.length} problem(s)`, ...x.issues.map((i) => `  ${i.path}: ${i.expected}`));
  }
  return `${parts.join('\n')}\n`;
}
