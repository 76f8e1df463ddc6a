// The HA states a box announces in its heartbeats and hellos (the election machine in
// src/control/election decides them; the codec, the API and the metrics name them).
//
// - initial: just started (or woke from a freeze), electing; forwards nothing.
// - tentative: passive, but its session table lacks the active's sessions until the HA2 bulk sync
//   completes (a box joining or rejoining the pair). It forwards nothing, and may not be handed
//   the role by preemption, an operator failover or suspend; it does take over when the active
//   dies (a partial table beats no forwarding at all). Only while HA2 runs.
// - passive: ready to take over with the active's sessions; forwards nothing.
// - active: forwards the pair's traffic.
// - suspended: taken out of the election by the operator.
// - non-functional: its monitors found a fault; takes the role only when nobody else can.
//
// Active/active (docs/active-active.md) runs the same election: its active is shown as
// active-primary and its passive as active-secondary, both of which forward (ShownHaState). The
// wire keeps the election's names (both boxes run one mode; the hello says which); proto/ha1.proto
// numbers the active/active names too, unused on the wire.

export type HaState = 'initial' | 'tentative' | 'passive' | 'active' | 'suspended' | 'non-functional';

export const HA_STATES: readonly HaState[] = ['initial', 'tentative', 'passive', 'active', 'suspended', 'non-functional'];

/** A state as status, events, metrics and the lab show it: in active/active, active and passive are named for their role. */
export type ShownHaState = HaState | 'active-primary' | 'active-secondary';

export const SHOWN_HA_STATES: readonly ShownHaState[] = [...HA_STATES, 'active-primary', 'active-secondary'];

export function shownHaState(state: HaState, activeActive: boolean): ShownHaState {
  if (!activeActive) return state;
  if (state === 'active') return 'active-primary';
  if (state === 'passive') return 'active-secondary';
  return state;
}
