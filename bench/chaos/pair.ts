// The chaos run in either lab mode: what "active" and "passive" mean, which box fails, and when
// the survivor has taken over. Pure: states in, answers out.
//
// Active/passive: the active fails and the passive takes over. Active/active: both forward; the
// active-primary plays the active's part (the healthy pair is one active-primary and one
// active-secondary in sync), and either box may fail. The survivor has taken over once it is the
// active-primary and no longer counts the failed box as forwarding (peer down, or in a state that
// does not forward): from then on it serves the failed box's classes (docs/active-active.md).
import type { HaStatus } from '../../src/control/status.js';
import type { LabMode } from '../../src/lab/lab.js';

/** Which box an iteration fails in active/active: always the primary, always the secondary, or each in turn. */
export type FailWhich = 'primary' | 'secondary' | 'alternate';
export const FAIL_WHICH: readonly FailWhich[] = ['primary', 'secondary', 'alternate'];

const FORWARDING = new Set(['active-primary', 'active-secondary']);

/** A shown HA state as the pair's role: in active/active, active-primary is 'active' and active-secondary 'passive'. */
export function pairRole(state: string | null | undefined, mode: LabMode): string | null {
  if (state === undefined || state === null) return null;
  if (mode !== 'active-active') return state;
  if (state === 'active-primary') return 'active';
  if (state === 'active-secondary') return 'passive';
  return state;
}

/** Whether iteration i fails the primary (active/passive: always, the active). */
export function failsPrimary(mode: LabMode, which: FailWhich, i: number): boolean {
  if (mode !== 'active-active' || which === 'primary') return true;
  return which === 'alternate' ? i % 2 === 0 : false;
}

/**
 * Transitions into the primary role the iteration should see: one when the primary fails (or a
 * planned failover moves it), none when the secondary fails (the primary stays).
 */
export function expectedRoleChanges(mode: LabMode, primaryFailed: boolean, planned: boolean): number {
  return mode !== 'active-active' || primaryFailed || planned ? 1 : 0;
}

/** The states a transition into the primary role ends in, either mode. */
export const PRIMARY_STATES: ReadonlySet<string> = new Set(['active', 'active-primary']);

/**
 * The survivor's status says it has taken over: active/passive, it is active; active/active, it
 * is the active-primary and, unless the move was planned (the old primary becomes the secondary
 * and keeps forwarding), the failed box no longer forwards.
 */
export function tookOver(s: HaStatus, mode: LabMode, planned: boolean): boolean {
  if (mode !== 'active-active') return s.local.state === 'active';
  if (s.local.state !== 'active-primary') return false;
  return planned || !s.peer.up || !FORWARDING.has(s.peer.state ?? '');
}
