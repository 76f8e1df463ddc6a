// A pair as central shows it, from its two member records: each member's facts, and the pair's
// health by the definitions of the tandem_central_pairs metric (docs/central.md):
//   ok        both members reachable, exactly one active (active/active: one active-primary and
//             one active-secondary), configs agree
//   degraded  an active member, but not ok (a member unreachable, configs differ, roles disagree)
//   down      no member reachable, or no member active
//   unknown   a member not polled yet since central started
import type { PairEntry } from './inventory.js';
import type { MemberRecord } from './member-record.js';
import type { MemberView, PairHealth, PairView } from './protocol.js';

const ACTIVE_STATES: ReadonlySet<string> = new Set(['active', 'active-primary', 'active-secondary']);

export function isActiveState(state: string | null | undefined): boolean {
  return state !== null && state !== undefined && ACTIVE_STATES.has(state);
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function memberView(rec: MemberRecord, api: string, nowMs: number): MemberView {
  const s = rec.status;
  const since = rec.reachable === false ? rec.unreachableSinceMs : null;
  return {
    name: rec.member,
    api,
    reachable: rec.reachable,
    unreachableSince: iso(since),
    unreachableForS: since === null ? 0 : Math.max(0, Math.round((nowMs - since) / 1000)),
    error: rec.error,
    lastPollAt: iso(rec.lastPollAtMs),
    lastOkAt: iso(rec.lastOkAtMs),
    state: s?.state ?? null,
    reason: s?.reason ?? null,
    stateSince: s?.since ?? null,
    mode: s?.mode ?? null,
    lastTransition: rec.lastTransition,
    configVersion: s?.configVersion ?? null,
    configHash: s?.configHash ?? null,
    softwareVersion: s?.softwareVersion ?? null,
    sync: s?.sync ?? null,
    faults: s?.faults ?? [],
    health: s?.health ?? [],
  };
}

/** `polled`: each member has answered or failed at least once since central started. */
export function pairView(entry: PairEntry, records: readonly [MemberRecord, MemberRecord], polled: readonly [boolean, boolean], nowMs: number): PairView {
  const members = entry.members.map((m, i) => memberView(records[i], m.api, nowMs));
  const up = members.filter((m) => m.reachable === true);
  const active = up.filter((m) => isActiveState(m.state));
  const rolesAgree = up.length === 2 ? rolesFit(up[0].state, up[1].state, up[0].mode ?? up[1].mode) : null;
  const [a, b] = members;
  const configAgree = a.configHash !== null && b.configHash !== null ? a.configHash === b.configHash : null;
  const versionsMatch = a.softwareVersion !== null && b.softwareVersion !== null ? a.softwareVersion === b.softwareVersion : null;
  const lagFrom = active.filter((m) => m.sync !== null);
  const problems = pairProblems(members, up.length, active.length, rolesAgree, configAgree);
  return {
    name: entry.name,
    labels: entry.labels ?? {},
    health: healthOf(polled, up.length, active.length, problems),
    problems,
    activeMembers: active.length,
    rolesAgree,
    configAgree,
    configVersion: Math.max(a.configVersion ?? -1, b.configVersion ?? -1) < 0 ? null : Math.max(a.configVersion ?? -1, b.configVersion ?? -1),
    versionsMatch,
    syncLagMs: lagFrom.length > 0 ? Math.max(...lagFrom.map((m) => m.sync!.lagP99Ms)) : null,
    syncBacklog: lagFrom.length > 0 ? Math.max(...lagFrom.map((m) => m.sync!.backlog)) : null,
    members,
  };
}

/** Active/passive: exactly one active. Active/active: one active-primary and one active-secondary. */
function rolesFit(x: string | null, y: string | null, mode: string | null): boolean {
  if (mode === 'active-active') return (x === 'active-primary' && y === 'active-secondary') || (x === 'active-secondary' && y === 'active-primary');
  return (x === 'active') !== (y === 'active') && !(isActiveState(x) && isActiveState(y));
}

function pairProblems(members: readonly MemberView[], up: number, active: number, rolesAgree: boolean | null, configAgree: boolean | null): string[] {
  const out: string[] = [];
  for (const m of members) if (m.reachable === false) out.push(`${m.name} unreachable (${m.error?.code ?? 'unknown'})`);
  if (up > 0 && active === 0) out.push('no member is active');
  if (rolesAgree === false && active > 0) out.push(active > 1 ? 'both members active' : 'roles disagree');
  if (configAgree === false) out.push('configs differ');
  return out;
}

function healthOf(polled: readonly [boolean, boolean], up: number, active: number, problems: readonly string[]): PairHealth {
  if (!polled[0] || !polled[1]) return 'unknown';
  if (up === 0 || active === 0) return 'down';
  return problems.length === 0 ? 'ok' : 'degraded';
}
