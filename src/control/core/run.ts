// One step of the core in progress: a working copy of the state, the actions so far, and the
// election machine driven from inside (its actions become core actions, and a transition takes
// effect here: the dataplane's role and lease, the hand-over, the HA2 sync role).
import { HAND_OVER_REASONS, step as electionStep } from '../election/step.js';
import type { ElectionAction, ElectionEvent, HaState } from '../election/types.js';
import { incomplete } from './health.js';
import { forwardsIn } from './pair-view.js';
import { shownHaState } from '../../wire/ha-state.js';
import type { CoreAction, CoreState, LogLevel, SyncRole } from './types.js';

/** Longest a hand-over keeps us forwarding when the new active's announcements are never seen. */
export const HANDOVER_MAX_MS = 300;

export class Run {
  readonly c: CoreState;
  readonly out: CoreAction[] = [];

  constructor(core: CoreState) {
    this.c = {
      ...core,
      config: { ...core.config, links: core.config.links.map((l) => ({ ...l })) },
      peer: { ...core.peer },
      links: core.links.map((l) => ({ ...l })),
      stall: { ...core.stall },
    };
  }

  emit(action: CoreAction): void {
    this.out.push(action);
  }

  log(level: LogLevel, fields: Record<string, unknown>, msg: string): void {
    this.out.push({ type: 'log', level, fields, msg });
  }

  linkName(index: number): string {
    return this.c.config.links[index].name;
  }

  /** Run the election on one event and carry out what it answers. */
  dispatch(event: ElectionEvent): void {
    const r = electionStep(this.c.election, event);
    this.c.election = r.state;
    for (const a of r.actions) this.act(a, event.now);
  }

  private act(a: ElectionAction, now: number): void {
    const c = this.c;
    switch (a.type) {
      case 'transition':
        onTransition(this, a.from, a.to, a.reason, now);
        return;
      case 'arm-timer':
      case 'cancel-timer':
      case 'send-take-over':
      case 'refused':
        this.emit(a);
        return;
      case 'send-state':
        this.emit({ type: 'send-state', state: c.election.state, reason: c.election.reason, incomplete: incomplete(c) });
        return;
      case 'announce':
        this.emit({ type: 'announce' });
        return;
      case 'invalid-transition':
        this.log('warn', { state: a.state, event: a.event }, 'election: event not handled in this state');
        return;
      default: {
        const never: never = a;
        throw new Error(`core: unknown election action ${JSON.stringify(never)}`);
      }
    }
  }
}

/** The one place a state change takes effect: dataplane role first, then the sync role and the record. */
function onTransition(r: Run, from: HaState, to: HaState, reason: string, now: number): void {
  const c = r.c;
  if (c.handoverUntilMs > 0) endHandover(r, 'superseded by another transition');
  const aa = c.config.activeActive;
  if (to === 'active') {
    // the election made us active: no stall hold from before stands in the way
    c.stall.leaseHeldUntilMs = 0;
    c.stall.awaitPeerYield = false;
  }
  if (forwardsIn(to, aa) && !forwardsIn(from, aa)) {
    r.emit({ type: 'renew-lease', untilMs: now + c.config.deadIntervalMs });
    r.emit({ type: 'dataplane-role', role: 'active' });
  } else if (aa && forwardsIn(from, aa) && !forwardsIn(to, aa)) {
    // active/active has no planned hand-over of the whole box: the primary's classes move with the
    // pair view, and a box that stops forwarding stops at once
    r.emit({ type: 'dataplane-role', role: 'passive' });
  } else if (!aa && from === 'active') {
    if ((to === 'passive' || to === 'tentative') && HAND_OVER_REASONS.has(reason) && c.peer.alive) {
      // A planned hand-over: keep forwarding until the peer has taken the role and announced
      // it, so that no frame arrives at a box that no longer forwards (a hitless failover).
      c.handoverUntilMs = now + HANDOVER_MAX_MS;
      r.emit({ type: 'handing-over', on: true });
    } else {
      r.emit({ type: 'dataplane-role', role: 'passive' });
    }
  }
  // while handing over we still forward with our own table: it is cleared (receiver) after
  if (c.config.sync && c.handoverUntilMs === 0 && syncRoleOf(to, aa) !== syncRoleOf(from, aa)) r.emit({ type: 'sync-role', role: syncRoleOf(to, aa) });
  // how long the pair went without a forwarding box: since the peer was last heard, if it is dead
  const outageS = c.peer.lastHeardMs === null || c.peer.alive ? 0 : (now - c.peer.lastHeardMs) / 1000;
  r.emit({ type: 'transition', from, to, reason, outageS });
  const shownFrom = shownHaState(from, aa);
  const shownTo = shownHaState(to, aa);
  r.log('info', { event: 'ha-transition', from: shownFrom, to: shownTo, reason }, `${shownFrom} -> ${shownTo} (reason=${reason})`);
}

/** The planned hand-over ends: the dataplane stops forwarding, and the sync role follows the state. */
export function endHandover(r: Run, why: string): void {
  const c = r.c;
  c.handoverUntilMs = 0;
  r.emit({ type: 'handing-over', on: false });
  if (c.election.state !== 'active') {
    r.emit({ type: 'dataplane-role', role: 'passive' });
    if (c.config.sync) r.emit({ type: 'sync-role', role: syncRoleOf(c.election.state, c.config.activeActive) });
  }
  r.log('info', { why }, 'hand-over finished: dataplane stops forwarding');
}

/**
 * The HA2 role of a state. Active/passive: the active sends its table, a passive (tentative first)
 * receives it. Active/active: primary and secondary each send their own changes and receive the
 * peer's; a tentative box receives its bulk sync (it forwards nothing, so has nothing to send).
 */
function syncRoleOf(state: HaState, activeActive: boolean): SyncRole {
  if (activeActive && (state === 'active' || state === 'passive')) return 'both';
  switch (state) {
    case 'active':
      return 'sender';
    case 'tentative':
    case 'passive':
      return 'receiver';
    default:
      return 'idle';
  }
}
