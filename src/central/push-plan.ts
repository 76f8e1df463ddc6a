// Which member of a pair a config push goes to, or why the pair is skipped (docs/central.md
// "Config push"). A push is committed on the pair's active member, which syncs its passive as any
// commit does; so it needs a pair whose members are both answering and agree on who is active and
// on the config they run. Anything else is skipped and reported, never half-applied: a pair with a
// member central cannot reach may be split, and a commit on one side would only deepen it.
// Pure: the pair as central's fleet view shows it in, a decision out.
import type { PairView, PushResult } from './protocol.js';

export type PushTarget = { ok: true; member: string } | { ok: false; reason: string };

/** The member whose commit the pair's other member follows: the active (active/active: the active-primary). */
export function pushTarget(pair: PairView): PushTarget {
  const down = pair.members.filter((m) => m.reachable !== true);
  if (down.length > 0) return { ok: false, reason: `${down.map((m) => m.name).join(' and ')} not reachable (${down.map(whyDown).join(', ')})` };
  if (pair.rolesAgree !== true)
    return { ok: false, reason: `the members disagree on their roles (${pair.members.map((m) => `${m.name} ${m.state ?? '?'}`).join(', ')})` };
  if (pair.configAgree !== true)
    return { ok: false, reason: `the members run different configs (${pair.members.map((m) => `${m.name} v${m.configVersion ?? '?'}`).join(', ')})` };
  const active = pair.members.find((m) => m.state === 'active' || m.state === 'active-primary');
  if (active === undefined) return { ok: false, reason: 'no active member to commit on' };
  return { ok: true, member: active.name };
}

function whyDown(m: PairView['members'][number]): string {
  return m.reachable === null ? `${m.name} not polled yet` : `${m.name}: ${m.error?.code ?? 'unreachable'}`;
}

/** What became of one pair's push (PushResult, and the outcomes that are no push at all). */
export type PairPushOutcome = PushResult | 'unchanged' | 'dry-run';

/** The outcomes counted by tandem_central_pushes_total: a dry run or a template that changes nothing pushed nothing. */
export function countedResult(outcome: PairPushOutcome): PushResult | null {
  return outcome === 'unchanged' || outcome === 'dry-run' ? null : outcome;
}
