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
// proto/ha1.proto also numbers active-primary and active-secondary for active/active: they are
// not in the union until the election learns them (the codec refuses them until then).

export type HaState = 'initial' | 'tentative' | 'passive' | 'active' | 'suspended' | 'non-functional';

export const HA_STATES: readonly HaState[] = ['initial', 'tentative', 'passive', 'active', 'suspended', 'non-functional'];
