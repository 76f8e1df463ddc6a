// The election as a pure state machine: step(state, event) -> { state, actions }.
//
// No clocks, no sockets, no timers: time arrives as `event.now` (ms, monotonic) and timers are
// `arm-timer`/`cancel-timer` actions the driver carries out. `step` never mutates its input.
//
// Conventions (STYLE.md, after OpenBSD CARP and pfsync):
// - one handler per state, each a `switch` over every event type ending in a `never` check, so a
//   new event type cannot go unhandled; an unexpected pair answers `invalid-transition` and
//   changes nothing. The standby states share one handler (onStandby) and differ only where
//   their StandbyRules say; faults, which every state takes alike, are dispatched before it, and
//   every state's timers go through onTimer (a rule per timer the state arms);
// - the rule for each branch is written as a comment above it;
// - one transition function (`Step.go`): refuses a no-op, records the time, cancels the timers
//   that do not apply in the new state, and always tells the peer (`send-state`); entering
//   `active` also announces the floating IPs;
// - a state and its timers change in the same step, and `armed` mirrors every arm/cancel.
//
// Monitor faults (docs/monitors.md) follow two rules, so that the pair never stands with nobody
// forwarding when a box could, and never ping-pongs over an outage both boxes see:
// - an active box with faults hands the role over only to a peer that can take it (a passive:
//   not tentative); otherwise it stays active, degraded (faults listed, reason "degraded: ...");
// - a box non-functional by faults takes the role, degraded, when nobody else can: the peer died,
//   is suspended, or is non-functional too and we are the better of the two.
//
// Tentative (while HA2 runs) is passive without the active's session table: a device that becomes
// passive enters it first and leaves it for passive on `bulk-complete` (and a passive one goes back
// on `bulk-incomplete`, when HA2 loses what it had copied). It is never handed the
// role (preemption, operator failover or suspend, a degraded active's hand-over), but takes it
// like a passive when the active dies or asks it to: a partial table beats no forwarding at all.
import type { ElectionAction, ElectionConfig, ElectionEvent, ElectionState, HaState, PeerView, StepResult, TimerName } from './types.js';

/** Who wins an election: the lower priority number, then the lower device id. */
export interface Rank {
  priority: number;
  deviceId: number;
}

/** True when `a` beats `b`: lower priority number wins; on equal priority the lower device id. */
export function isBetter(a: Rank, b: Rank): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority;
  return a.deviceId < b.deviceId;
}

/** A device that just booted: `initial`, reason `startup`, no peer, nothing armed. */
export function initialState(config: ElectionConfig): ElectionState {
  return {
    config: { ...config },
    state: 'initial',
    reason: 'startup',
    peer: null,
    peerStableSinceMs: null,
    faults: [],
    recentTransitionsMs: [],
    preemptSuspended: null,
    armed: [],
  };
}

/** How we look to the peer: what the driver puts in heartbeats and state updates. */
export function selfView(s: ElectionState): PeerView {
  return {
    deviceId: s.config.deviceId,
    state: s.state,
    priority: s.config.priority,
    preempt: s.config.preempt,
  };
}

/** True for the states in which a device can carry traffic (not suspended, not non-functional). */
export function isFunctionalState(state: HaState): boolean {
  return state !== 'suspended' && state !== 'non-functional';
}

/**
 * Flap protection looks back this many preempt holds. A preemption needs one full hold of stable
 * contact and a hold leaves no room for any transition of ours, so a window of one hold could
 * never count more than the preemption itself and flap protection would be dead code. Three holds
 * see the pattern that matters: a better box that fails again soon after it takes traffic back
 * (each such cycle costs us two transitions: taking over, then being preempted).
 */
export const FLAP_WINDOW_HOLDS = 3;

/** The window (ms) over which our transitions are counted against flapMax. */
export function flapWindowMs(config: ElectionConfig): number {
  return config.preemptHoldMs * FLAP_WINDOW_HOLDS;
}

/** The timers that may run in each state; a transition cancels every other one. */
const TIMERS_OF: Readonly<Record<HaState, readonly TimerName[]>> = {
  initial: ['initial-wait'],
  tentative: ['initial-wait', 'promotion-hold'],
  passive: ['initial-wait', 'promotion-hold'],
  active: ['preempt-hold', 'degraded-hold'],
  suspended: [],
  // a box non-functional by faults still takes the role, degraded, when nobody else can: it waits
  // for a lone peer (initial-wait) and for a silent peer (promotion-hold) like a passive does
  'non-functional': ['initial-wait', 'promotion-hold'],
};

/** Why a result is not a state change: the event is refused, unexpected, or a stale timer. */
type Outcome = { kind: 'handled' } | { kind: 'refused'; reason: string } | { kind: 'invalid' } | { kind: 'ignored' };

const HANDLED: Outcome = { kind: 'handled' };
const IGNORED: Outcome = { kind: 'ignored' };
const INVALID: Outcome = { kind: 'invalid' };
const refused = (reason: string): Outcome => ({ kind: 'refused', reason });

/** A working copy of the state plus the actions of one step. */
class Step {
  readonly s: ElectionState;
  readonly now: number;
  private transition: ElectionAction | null = null;
  private readonly timerActions: ElectionAction[] = [];
  private takeOver: string | null = null;
  private sendState = false;
  private announce = false;
  private firedTimer: TimerName | null = null;

  constructor(state: ElectionState, now: number) {
    this.s = {
      ...state,
      config: { ...state.config },
      peer: state.peer === null ? null : { ...state.peer },
      faults: [...state.faults],
      recentTransitionsMs: [...state.recentTransitionsMs],
      armed: [...state.armed],
    };
    this.now = now;
  }

  get cfg(): ElectionConfig {
    return this.s.config;
  }

  /** A transition happened in this step (there can be at most one). */
  get transitioned(): boolean {
    return this.transition !== null;
  }

  /** Tell the peer our state although it did not change (a new reason: degraded, recovered). */
  announceState(): void {
    this.sendState = true;
  }

  /** The one transition function: never a no-op, at most one per step. */
  go(to: HaState, reason: string): void {
    const from = this.s.state;
    if (from === to) throw new Error(`election: no-op transition ${from} -> ${to} (${reason})`);
    if (this.transition !== null) throw new Error(`election: second transition in one step (${from} -> ${to})`);
    this.transition = { type: 'transition', from, to, reason };
    this.s.state = to;
    this.s.reason = reason;
    this.s.recentTransitionsMs.push(this.now);
    for (const name of [...this.s.armed]) if (!TIMERS_OF[to].includes(name)) this.cancel(name);
    this.sendState = true;
    if (to === 'active') this.announce = true;
  }

  isArmed(name: TimerName): boolean {
    return this.s.armed.includes(name);
  }

  arm(name: TimerName, ms: number): void {
    if (this.isArmed(name)) return;
    this.s.armed.push(name);
    this.timerActions.push({ type: 'arm-timer', name, ms: Math.max(0, ms) });
  }

  /** Cancel and arm again: the wait starts over from now. */
  rearm(name: TimerName, ms: number): void {
    this.cancel(name);
    this.arm(name, ms);
  }

  cancel(name: TimerName): void {
    if (!this.isArmed(name)) return;
    this.s.armed = this.s.armed.filter((n) => n !== name);
    this.timerActions.push({ type: 'cancel-timer', name });
  }

  /** A timer that fired is no longer armed; the driver needs no cancel for it. */
  fired(name: TimerName): void {
    this.s.armed = this.s.armed.filter((n) => n !== name);
    this.firedTimer = name;
  }

  /** This step is the firing of `name`. */
  firedNow(name: TimerName): boolean {
    return this.firedTimer === name;
  }

  sendTakeOver(reason: string): void {
    this.takeOver = reason;
  }

  reannounce(): void {
    this.announce = true;
  }

  /** Actions in a fixed order: the transition, timers, take-over request, our state, the GARP. */
  actions(): ElectionAction[] {
    const out: ElectionAction[] = [];
    if (this.transition !== null) out.push(this.transition);
    out.push(...this.timerActions);
    if (this.takeOver !== null) out.push({ type: 'send-take-over', reason: this.takeOver });
    if (this.sendState) out.push({ type: 'send-state' });
    if (this.announce) out.push({ type: 'announce' });
    return out;
  }
}

/**
 * Advance the election by one event. Pure: the input state is not touched, and the same input
 * always gives the same output.
 */
export function step(state: ElectionState, event: ElectionEvent): StepResult {
  const st = new Step(state, event.now);
  if (event.type === 'peer-heard' && event.selfIncomplete !== undefined) st.s.incomplete = event.selfIncomplete;
  const outcome = dispatch(st, event);
  switch (outcome.kind) {
    case 'handled':
      housekeeping(st);
      return { state: st.s, actions: st.actions() };
    case 'ignored':
      return { state, actions: [] };
    case 'refused':
      return { state, actions: [{ type: 'refused', event: event.type, reason: outcome.reason }] };
    case 'invalid':
      return { state, actions: [{ type: 'invalid-transition', state: state.state, event: event.type }] };
    default:
      return assertNever(outcome);
  }
}

/** Faults come and go alike in every state: faultAdd and faultClear decide by the state themselves. */
type FaultEvent = Extract<ElectionEvent, { type: 'fault-add' | 'fault-clear' }>;
/** The events each state's handler decides. */
type StateEvent = Exclude<ElectionEvent, FaultEvent>;

function dispatch(st: Step, event: ElectionEvent): Outcome {
  switch (event.type) {
    case 'fault-add':
      faultAdd(st, event.reason);
      return HANDLED;
    case 'fault-clear':
      return faultClear(st, event.reason);
    default:
      break;
  }
  const state = st.s.state;
  switch (state) {
    case 'initial':
      return onInitial(st, event);
    case 'tentative':
    case 'passive':
    case 'non-functional':
      return onStandby(st, event, STANDBY[state]);
    case 'active':
      return onActive(st, event);
    case 'suspended':
      return onSuspended(st, event);
    default:
      return assertNever(state);
  }
}

function assertNever(x: never): never {
  throw new Error(`election: unhandled case ${JSON.stringify(x)}`);
}

// ---------------------------------------------------------------------------------------------
// Per-state handlers

function onInitial(st: Step, ev: StateEvent): Outcome {
  switch (ev.type) {
    // Start the election: wait initialWaitMs to hear a peer. Only once, before anything is armed.
    case 'start':
      if (st.s.armed.length > 0) return INVALID;
      st.arm('initial-wait', st.cfg.initialWaitMs);
      return HANDLED;
    // A peer is heard: the election runs at once (see electFunctional).
    case 'peer-heard':
      heard(st, ev.peer);
      st.cancel('initial-wait');
      electFunctional(st, ev.peer);
      return HANDLED;
    // A peer lost while we are still waiting: forget it, keep waiting for initial-wait.
    case 'peer-dead':
      lost(st);
      return HANDLED;
    // initial-wait ran out: nobody heard means nobody is active, so we are.
    case 'timer':
      return onTimer(st, ev.name, { 'initial-wait': (s) => aloneOrElect(s, electFunctional) });
    case 'operator-suspend':
      operatorSuspend(st);
      return HANDLED;
    case 'operator-functional':
      return refused('not suspended');
    case 'operator-failover':
      return refused('not active');
    // A take-over request while we have not elected yet: the peer's state update that follows
    // runs the election (a suspended or non-functional peer makes us active).
    case 'peer-take-over':
      return refused('in initial: the election decides');
    // Frozen while waiting: whatever we heard is stale; start the wait over (if it had started).
    case 'frozen':
      lost(st);
      if (st.isArmed('initial-wait')) st.rearm('initial-wait', st.cfg.initialWaitMs);
      return HANDLED;
    // Not a receiver yet: the bulk sync starts once we join as tentative.
    case 'bulk-complete':
    case 'bulk-incomplete':
      return IGNORED;
    default:
      return assertNever(ev);
  }
}

/**
 * What sets the standby states apart; everything else they share (onStandby). A passive or
 * tentative box runs the full election and takes the role when asked; a box non-functional by
 * faults runs the narrow one (electNonFunctional) and refuses a take-over request.
 */
interface StandbyRules {
  elect: (st: Step, peer: PeerView) => void;
  /** A take-over request from the active peer. */
  takeOver: (st: Step) => Outcome;
}

type StandbyState = 'tentative' | 'passive' | 'non-functional';

const PASSIVE_RULES: StandbyRules = {
  elect: electFunctional,
  // The active peer steps down and asks us to take over. A tentative box too: the peer is giving
  // the role up (it saw us passive, or is handing over to anyone), and a partial table beats none.
  takeOver: (st) => {
    st.go('active', 'peer-request');
    return HANDLED;
  },
};

const STANDBY: Readonly<Record<StandbyState, StandbyRules>> = {
  tentative: PASSIVE_RULES,
  passive: PASSIVE_RULES,
  'non-functional': {
    elect: electNonFunctional,
    takeOver: () => refused('non-functional'),
  },
};

/**
 * The standby states (tentative, passive, non-functional): not active, watching the peer, ready to
 * take the role when it dies or when the election says so (a non-functional box only when nobody
 * else can).
 */
function onStandby(st: Step, ev: StateEvent, rules: StandbyRules): Outcome {
  switch (ev.type) {
    case 'start':
      return INVALID;
    // Any word from the peer cancels a pending promotion (it is alive) and the lone-box wait;
    // then the election runs (rules.elect).
    case 'peer-heard':
      heard(st, ev.peer);
      st.cancel('promotion-hold');
      // We just handed the role over and the peer has not taken it yet: its heartbeats still say
      // passive, and electing ourselves on them would take the role straight back. Wait for it;
      // initial-wait is the hand-over timeout, after which the election runs again.
      if (handingOver(st.s) && ev.peer.state !== 'active') return HANDLED;
      st.cancel('initial-wait');
      rules.elect(st, ev.peer);
      return HANDLED;
    // The peer is gone and nobody forwards: take over (a degraded box forwards some traffic, none
    // forwards none).
    case 'peer-dead':
      lost(st);
      switch (ev.cause) {
        // The peer's kernel closed the HA1 sessions (its process died) or it said goodbye:
        // certain death, take over at once.
        case 'peer-closed':
        case 'goodbye':
          st.go('active', ev.cause);
          return HANDLED;
        // Heartbeats lost on every link: wait promotionHoldMs (0 = at once) before taking over,
        // so a peer that was only late is not pushed aside.
        case 'heartbeat-timeout':
          if (st.cfg.promotionHoldMs === 0) st.go('active', 'peer-dead');
          else st.arm('promotion-hold', st.cfg.promotionHoldMs);
          return HANDLED;
        default:
          return assertNever(ev.cause);
      }
    // The promotion hold ran out and the peer is still silent: take over. A lone box (after a
    // freeze, after suspend or faults, or faulted before hearing anyone) waited initialWaitMs
    // and heard nobody: take over; if the peer is known, elect on what we know of it.
    case 'timer':
      return onTimer(st, ev.name, {
        'promotion-hold': (s) => {
          if (s.s.peer === null) s.go('active', 'peer-dead');
        },
        'initial-wait': (s) => aloneOrElect(s, rules.elect),
      });
    // The operator may suspend a standby box, a broken one too (operator intent wins).
    case 'operator-suspend':
      operatorSuspend(st);
      return HANDLED;
    case 'operator-functional':
      return refused('not suspended');
    case 'operator-failover':
      return refused('not active');
    case 'peer-take-over':
      return rules.takeOver(st);
    // We were frozen: what we knew of the peer is stale. Forget it, drop a pending promotion,
    // and wait initialWaitMs to hear it again before a lone take-over.
    case 'frozen':
      lost(st);
      st.cancel('promotion-hold');
      st.rearm('initial-wait', st.cfg.initialWaitMs);
      return HANDLED;
    // The peer's full session table has arrived: a tentative box is ready, passive. A passive one
    // (a resync after an HA2 gap) and a non-functional one (not a receiver) stay as they are.
    case 'bulk-complete':
      if (st.s.state !== 'tentative') return IGNORED;
      st.go('passive', BULK_COMPLETE);
      return HANDLED;
    // The table a passive box held stopped being the peer's (a gap, an overflow, a new HA2
    // connection): tentative again until the resync completes, so that the role is not handed to
    // a box whose table is being rebuilt. Tentative stays; non-functional is not a receiver.
    case 'bulk-incomplete':
      if (st.s.state !== 'passive') return IGNORED;
      st.go('tentative', `${BULK_INCOMPLETE}: ${ev.reason}`);
      return HANDLED;
    default:
      return assertNever(ev);
  }
}

function onActive(st: Step, ev: StateEvent): Outcome {
  switch (ev.type) {
    case 'start':
      return INVALID;
    case 'peer-heard': {
      heard(st, ev.peer);
      // Split brain: both active. The one whose table lacks the pair's sessions yields to the
      // one whose table is complete; otherwise the worse device (priority, then id) yields at
      // once. The winner stays and re-announces the floating IPs so the switches follow it.
      if (ev.peer.state === 'active') {
        if (winsAgainst(st, ev.peer)) st.reannounce();
        else st.go(stepDownState(st), 'split-brain-resolved');
      }
      // Any other peer state: preemption is reconciled after the step (housekeeping).
      return HANDLED;
    }
    // The peer is gone: we carry on alone. No transition.
    case 'peer-dead':
      lost(st);
      return HANDLED;
    // The preempt hold ran out (preemptHoldFired). The degraded hold ran out with the peer still
    // able to take over and us still degraded: hand over (housekeeping does it, seeing the hold
    // has fired).
    case 'timer':
      return onTimer(st, ev.name, { 'preempt-hold': preemptHoldFired, 'degraded-hold': () => undefined });
    // Suspending the active hands the role to the peer: not to a tentative one (see peerSyncing).
    case 'operator-suspend':
      if (peerSyncing(st.s.peer)) return refused(PEER_SYNCING);
      operatorSuspend(st);
      return HANDLED;
    case 'operator-functional':
      return refused('not suspended');
    // Operator failover: hand traffic to a live passive peer (it holds our sessions); refuse
    // otherwise, with the reason (a tentative peer is still receiving them).
    case 'operator-failover': {
      const peer = st.s.peer;
      if (peer === null) return refused('no peer to fail over to');
      if (peerSyncing(peer)) return refused(PEER_SYNCING);
      if (peer.state !== 'passive') return refused(`peer is ${peer.state}, not passive`);
      st.go(stepDownState(st), 'operator-failover');
      handOver(st, 'operator-failover');
      return HANDLED;
    }
    // We are already active: a take-over request makes no sense (both think they should step
    // down); refuse it and let the split-brain or preemption rules settle the pair.
    case 'peer-take-over':
      return refused('already active');
    // We were frozen longer than the dead interval: the peer has probably taken over. Forward
    // nothing: drop to initial (non-functional if faults are left), forget the peer, and let the
    // election run again.
    case 'frozen':
      lost(st);
      st.go(st.s.faults.length > 0 ? 'non-functional' : 'initial', `frozen: ${ev.gapMs} ms`);
      st.arm('initial-wait', st.cfg.initialWaitMs);
      return HANDLED;
    // We are the sender: our table is the pair's (a dump that completed as we took the role).
    case 'bulk-complete':
    case 'bulk-incomplete':
      return IGNORED;
    default:
      return assertNever(ev);
  }
}

function onSuspended(st: Step, ev: StateEvent): Outcome {
  switch (ev.type) {
    case 'start':
      return INVALID;
    // Suspended devices listen but take no part in the election.
    case 'peer-heard':
      heard(st, ev.peer);
      return HANDLED;
    case 'peer-dead':
      lost(st);
      return HANDLED;
    // No timer runs while suspended; an armed one here would be a bug.
    case 'timer':
      return onTimer(st, ev.name, {});
    case 'operator-suspend':
      return refused('already suspended');
    // The operator releases us: passive, or non-functional if a fault is still there
    // (suspended wins over non-functional, not the other way round).
    case 'operator-functional':
      if (st.s.faults.length > 0) st.go('non-functional', st.s.faults[0]);
      else backToPassive(st, 'operator-functional');
      return HANDLED;
    case 'operator-failover':
      return refused('not active');
    case 'peer-take-over':
      return refused('suspended');
    case 'frozen':
      lost(st);
      return HANDLED;
    // Not a receiver of the peer's table (and never tentative while suspended).
    case 'bulk-complete':
    case 'bulk-incomplete':
      return IGNORED;
    default:
      return assertNever(ev);
  }
}

// ---------------------------------------------------------------------------------------------
// Rules shared by several states

/** What a state does when one of its timers fires; a timer not listed never runs in that state. */
type TimerRules = Partial<Record<TimerName, (st: Step) => void>>;

/**
 * A timer fired. One cancelled or re-armed since is stale: ignored. One the state has no rule for
 * cannot be armed in it (TIMERS_OF): invalid.
 */
function onTimer(st: Step, name: TimerName, rules: TimerRules): Outcome {
  if (!st.isArmed(name)) return IGNORED;
  const rule = rules[name];
  if (rule === undefined) return INVALID;
  st.fired(name);
  rule(st);
  return HANDLED;
}

/** Waited initialWaitMs: alone, nobody is active, so we take the role; with a peer known, elect. */
function aloneOrElect(st: Step, elect: (st: Step, peer: PeerView) => void): void {
  if (st.s.peer === null) st.go('active', 'no-peer');
  else elect(st, st.s.peer);
}

/**
 * The preempt hold ran out with the peer continuously eligible (any lapse cancelled it): yield to
 * the better peer, unless that would be one transition too many inside the flap window, in which
 * case preemption is suspended and we stay active.
 */
function preemptHoldFired(st: Step): void {
  if (st.s.preemptSuspended !== null || !preemptEligible(st.s)) return;
  const recent = pruned(st.s.recentTransitionsMs, st.now, flapWindowMs(st.cfg));
  if (recent.length + 1 > st.cfg.flapMax) {
    st.s.preemptSuspended = `flap-max: ${recent.length + 1} transitions in ${flapWindowMs(st.cfg)} ms`;
    return;
  }
  st.go(stepDownState(st), 'preempted');
  handOver(st, 'preempt');
}

function self(st: Step): Rank {
  return { priority: st.cfg.priority, deviceId: st.cfg.deviceId };
}

/** Every word from the peer refreshes our view; a new run of contact starts the stable clock. */
/**
 * Who keeps (or takes) the role when both could: a box whose session table may lack the pair's
 * sessions loses to one whose table is complete, whatever the priorities (the winner's table is
 * dumped to the loser, and an incomplete dump wiped a complete table in the chaos run: every
 * connection lost); between two alike, the better device (priority, then id).
 */
function winsAgainst(st: Step, peer: PeerView): boolean {
  const mine = st.s.incomplete === true;
  const theirs = peer.incomplete === true;
  if (mine !== theirs) return !mine;
  return isBetter(self(st), peer);
}

function heard(st: Step, peer: PeerView): void {
  st.s.peer = { ...peer };
  if (st.s.peerStableSinceMs === null) st.s.peerStableSinceMs = st.now;
}

/** The peer is dead (or must be heard again): forget it. */
function lost(st: Step): void {
  st.s.peer = null;
  st.s.peerStableSinceMs = null;
}

/**
 * The election of a functional device (initial or passive), on hearing the peer or when its wait
 * runs out. A device still in initial always leaves it: it joins as passive (tentative first,
 * see passiveEntry) when it does not take the role; a passive one just stays.
 */
function electFunctional(st: Step, peer: PeerView): void {
  const joining = st.s.state === 'initial';
  switch (peer.state) {
    // The peer already carries traffic: all is well (a device in initial joins it as passive).
    case 'active':
      if (joining) st.go(passiveEntry(st), 'peer-active');
      return;
    // Nobody is active and both could be (both electing, or the peer waits passive with nobody
    // active): a complete table beats an incomplete one, then the better device takes the role.
    case 'initial':
    case 'tentative':
    case 'passive':
      if (winsAgainst(st, peer)) st.go('active', 'election-won');
      else if (joining) st.go(passiveEntry(st), 'election-lost');
      return;
    // The peer cannot carry traffic and nobody else will: we must.
    case 'suspended':
    case 'non-functional':
      st.go('active', 'peer-not-functional');
      return;
    default:
      assertNever(peer.state);
  }
}

/**
 * The election of a device non-functional by faults (the peer is alive). It takes the role only
 * when nobody else can, so the pair is never left with nobody forwarding:
 * - peer active, initial, tentative or passive: stay; a functional peer takes (or keeps) the role
 *   itself, since it sees us non-functional;
 * - peer suspended: an operator-suspended box never takes the role, so we must, degraded;
 * - peer non-functional too, nobody active: exactly one of the two must forward, and both must
 *   agree which without talking: the better (priority, then id), the same tie-break as any
 *   election. The worse stays non-functional.
 */
function electNonFunctional(st: Step, peer: PeerView): void {
  switch (peer.state) {
    case 'active':
    case 'initial':
    case 'tentative':
    case 'passive':
      return;
    case 'suspended':
      st.go('active', 'peer-not-functional');
      return;
    case 'non-functional':
      if (isBetter(self(st), peer)) st.go('active', 'peer-not-functional');
      return;
    default:
      assertNever(peer.state);
  }
}

/**
 * The state a device enters when it becomes passive: tentative while HA2 runs (its table lacks the
 * active's sessions until the bulk sync completes), passive at once without HA2.
 */
function passiveEntry(st: Step): HaState {
  return st.cfg.sync ? 'tentative' : 'passive';
}

/** The reason of the transition tentative -> passive. */
export const BULK_COMPLETE = 'bulk sync complete';
export const BULK_INCOMPLETE = 'bulk sync incomplete';

/**
 * Where an active device goes when it gives up the role: passive (tentative first, unless active/active
 * keeps its table complete), or non-functional with faults.
 */
function stepDownState(st: Step): HaState {
  if (st.s.faults.length > 0) return 'non-functional';
  return st.cfg.activeActive ? 'passive' : passiveEntry(st);
}

/** The peer can take the role from us right now: a passive (not tentative: it has our session table). */
function peerCanTakeOver(peer: PeerView | null): boolean {
  return peer !== null && peer.state === 'passive';
}

/**
 * A tentative peer, still receiving its session bulk sync: an operator's failover or suspend must
 * not hand it the role, as the election does not, since every connection it has not yet received
 * would be dropped. The operator tries again once it is in sync (passive).
 */
function peerSyncing(peer: PeerView | null): boolean {
  return peer !== null && peer.state === 'tentative';
}

const PEER_SYNCING = 'peer is still receiving its session bulk sync: try again when it is in sync';

function degradedReason(faults: readonly string[]): string {
  return `degraded: ${faults.join(', ')}`;
}

/** Reasons for which we went passive (or tentative) by handing the role to the peer ourselves. */
export const HAND_OVER_REASONS: ReadonlySet<string> = new Set(['operator-failover', 'preempted']);

/** Step down in favour of the peer: ask it to take over, and give it initialWaitMs to do so. */
function handOver(st: Step, reason: string): void {
  st.sendTakeOver(reason);
  st.arm('initial-wait', st.cfg.initialWaitMs);
}

/**
 * We stepped down in favour of the peer (passive or tentative) and it has not taken the role yet:
 * initial-wait is the hand-over's timeout, after which the election runs again.
 */
export function handingOver(s: ElectionState): boolean {
  return (s.state === 'passive' || s.state === 'tentative') && s.armed.includes('initial-wait') && HAND_OVER_REASONS.has(s.reason);
}

/** Back to passive (tentative first) after a suspension or faults; a lone box (or one beside a
 * peer that is not active) arms initial-wait so it takes over by itself if nobody else does. */
function backToPassive(st: Step, reason: string): void {
  st.go(passiveEntry(st), reason);
  if (st.s.peer === null || st.s.peer.state !== 'active') st.arm('initial-wait', st.cfg.initialWaitMs);
}

/** Operator suspend: from any state but suspended. An active device with a live, functional
 * peer asks it to take over. */
function operatorSuspend(st: Step): void {
  const wasActive = st.s.state === 'active';
  st.go('suspended', 'operator-suspend');
  const peer = st.s.peer;
  if (wasActive && peer !== null && isFunctionalState(peer.state)) st.sendTakeOver('peer-suspended');
}

/**
 * A fault (monitor failure) adds its reason. A functional device becomes non-functional, except
 * an active one whose peer cannot take over (dead, initial, tentative, suspended, non-functional):
 * handing the role to nobody would stop all traffic, and a peer that is non-functional too sees
 * the same outage (the no-ping-pong rule), so it stays active, degraded. An active one whose
 * peer can take over hands over at once. Suspended stays suspended.
 */
function faultAdd(st: Step, reason: string): void {
  if (!st.s.faults.includes(reason)) st.s.faults.push(reason);
  const from = st.s.state;
  if (!isFunctionalState(from)) return;
  if (from === 'active') {
    if (peerCanTakeOver(st.s.peer)) {
      st.go('non-functional', reason);
      st.sendTakeOver(`fault: ${reason}`);
    } else {
      st.s.reason = degradedReason(st.s.faults);
      st.announceState();
    }
    return;
  }
  st.go('non-functional', reason);
}

/** A fault clears. When none is left a non-functional device returns to passive, and a degraded
 * active one is simply active again. */
function faultClear(st: Step, reason: string): Outcome {
  if (!st.s.faults.includes(reason)) return IGNORED;
  st.s.faults = st.s.faults.filter((f) => f !== reason);
  if (st.s.state === 'active') {
    st.s.reason = st.s.faults.length === 0 ? 'faults-cleared' : degradedReason(st.s.faults);
    st.announceState();
    return HANDLED;
  }
  if (st.s.state !== 'non-functional') return HANDLED;
  if (st.s.faults.length === 0) backToPassive(st, 'faults-cleared');
  // Still broken for another reason: say which (no transition, the state is the same).
  else if (st.s.reason === reason) st.s.reason = st.s.faults[0]!;
  return HANDLED;
}

/** Preemption applies: we are active, the peer is passive (not tentative) and better, both
 * preempt, and preemption is not suspended by flap protection. */
function preemptEligible(s: ElectionState): boolean {
  const peer = s.peer;
  return (
    s.state === 'active' &&
    peer !== null &&
    peer.state === 'passive' &&
    s.config.preempt &&
    peer.preempt &&
    s.preemptSuspended === null &&
    isBetter(peer, { priority: s.config.priority, deviceId: s.config.deviceId })
  );
}

function pruned(times: readonly number[], now: number, windowMs: number): number[] {
  return times.filter((t) => now - t < windowMs);
}

/**
 * After every handled event: drop transitions that left the flap window, lift a flap suspension
 * once the window is empty, and keep the preempt hold armed exactly while the peer is eligible.
 */
function housekeeping(st: Step): void {
  const windowMs = flapWindowMs(st.cfg);
  st.s.recentTransitionsMs = pruned(st.s.recentTransitionsMs, st.now, windowMs);
  if (st.s.preemptSuspended !== null && st.s.recentTransitionsMs.length === 0) st.s.preemptSuspended = null;
  if (st.s.state !== 'active') return;
  // Degraded: the moment the peer can take the role, hand it over (a failover, not a preemption:
  // no hold, no flap check, the traffic we cannot carry is being lost now). Not in a step that
  // already made us active: that step found no peer able to.
  // Not at once when the peer has just recovered: at the end of an outage both boxes saw, its
  // monitor may clear a little before ours, and handing over then would move the role for nothing.
  // degraded-hold gives ours the same skew (the additional hold-up) to clear first.
  if (st.s.faults.length > 0 && peerCanTakeOver(st.s.peer) && !st.transitioned) {
    if (st.cfg.degradedHandOverMs > 0 && !st.firedNow('degraded-hold')) {
      st.arm('degraded-hold', st.cfg.degradedHandOverMs);
    } else {
      const fault = st.s.faults[0];
      st.go('non-functional', fault);
      st.sendTakeOver(`fault: ${fault}`);
      return;
    }
  } else st.cancel('degraded-hold');
  if (st.s.preemptSuspended !== null) {
    // Suspended by flap protection: while the peer would be eligible, the preempt hold runs until
    // the window empties, so the suspension lifts by itself; then a full hold starts over.
    const wouldBeEligible = preemptEligible({ ...st.s, preemptSuspended: null });
    if (!wouldBeEligible) st.cancel('preempt-hold');
    else {
      const newest = Math.max(...st.s.recentTransitionsMs);
      st.arm('preempt-hold', newest + windowMs - st.now);
    }
    return;
  }
  // Preemption: arm the hold when the peer becomes eligible, cancel it when it stops being so.
  if (preemptEligible(st.s)) st.arm('preempt-hold', st.cfg.preemptHoldMs);
  else st.cancel('preempt-hold');
}
