// The HA states a box announces in its heartbeats and hellos (the election machine in
// src/control/election decides them; the codec, the API and the metrics name them).

export type HaState = 'initial' | 'passive' | 'active' | 'suspended' | 'non-functional';

export const HA_STATES: readonly HaState[] = ['initial', 'passive', 'active', 'suspended', 'non-functional'];
