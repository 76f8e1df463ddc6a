// Builders for election tests: configs, peer views and states reached through step() itself, so
// a test never hand-writes a state the machine could not be in.
import { initialState, step } from '../../../../src/control/election/step.js';
import type { ElectionAction, ElectionConfig, ElectionEvent, ElectionState, HaState, PeerView } from '../../../../src/control/election/types.js';

/** Timers of the aggressive profile, which keeps scenario numbers small. */
export function config(over: Partial<ElectionConfig> = {}): ElectionConfig {
  return {
    deviceId: 1,
    priority: 100,
    preempt: true,
    initialWaitMs: 300,
    promotionHoldMs: 10,
    preemptHoldMs: 5000,
    flapMax: 3,
    degradedHandOverMs: 0,
    sync: false,
    activeActive: false,
    ...over,
  };
}

/** A peer better than the default config (priority 50 beats 100). */
export function better(state: HaState, over: Partial<PeerView> = {}): PeerView {
  return { deviceId: 0, state, priority: 50, preempt: true, ...over };
}

/** A peer worse than the default config (priority 200 loses to 100). */
export function worse(state: HaState, over: Partial<PeerView> = {}): PeerView {
  return { deviceId: 0, state, priority: 200, preempt: true, ...over };
}

/** Feed events in order; throws on invalid or refused so a builder never hides a mistake. */
export function run(s: ElectionState, events: ElectionEvent[]): ElectionState {
  for (const ev of events) {
    const r = step(s, ev);
    const bad = r.actions.find((a) => a.type === 'invalid-transition' || a.type === 'refused');
    if (bad) throw new Error(`builder: ${JSON.stringify(bad)}`);
    s = r.state;
  }
  return s;
}

/** A device in each state, at time 1000, built through real steps. */
export const reach = {
  initial(c: ElectionConfig = config()): ElectionState {
    return run(initialState(c), [{ type: 'start', now: 0 }]);
  },
  /** Passive beside an active better peer. */
  passive(c: ElectionConfig = config()): ElectionState {
    return run(reach.initial(c), [{ type: 'peer-heard', now: 100, peer: better('active') }]);
  },
  /** Tentative (HA2 on, bulk sync pending) beside an active better peer. */
  tentative(c: ElectionConfig = config({ sync: true })): ElectionState {
    return run(reach.initial(c), [{ type: 'peer-heard', now: 100, peer: better('active') }]);
  },
  /** Active beside a passive worse peer (no preemption pending). */
  active(c: ElectionConfig = config()): ElectionState {
    return run(reach.initial(c), [
      { type: 'peer-heard', now: 100, peer: worse('initial') },
      { type: 'peer-heard', now: 200, peer: worse('passive') },
    ]);
  },
  /** Active alone (peer never heard). */
  activeAlone(c: ElectionConfig = config()): ElectionState {
    return run(reach.initial(c), [{ type: 'timer', now: 300, name: 'initial-wait' }]);
  },
  suspended(c: ElectionConfig = config()): ElectionState {
    return run(reach.passive(c), [{ type: 'operator-suspend', now: 500 }]);
  },
  nonFunctional(c: ElectionConfig = config()): ElectionState {
    return run(reach.passive(c), [{ type: 'fault-add', now: 500, reason: 'link: lan down' }]);
  },
  of(state: HaState, c: ElectionConfig = config()): ElectionState {
    switch (state) {
      case 'initial':
        return reach.initial(c);
      case 'tentative':
        return reach.tentative(c.sync ? c : { ...c, sync: true });
      case 'passive':
        return reach.passive(c);
      case 'active':
        return reach.active(c);
      case 'suspended':
        return reach.suspended(c);
      case 'non-functional':
        return reach.nonFunctional(c);
    }
  },
};

export function types(actions: ElectionAction[]): string[] {
  return actions.map((a) => a.type);
}
