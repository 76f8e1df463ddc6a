// Types of the pure election machine (step.ts). The driver (src/control/agent.ts) owns sockets
// and real timers; the machine only sees events (with `now`, in ms on the monotonic clock) and
// answers with actions. Time is an input, never read here.

import type { HaState } from '../../wire/ha-state.js';

export { HA_STATES, type HaState } from '../../wire/ha-state.js';

/** What we know of the peer from its latest heartbeat, hello or state update. */
export interface PeerView {
  deviceId: number;
  state: HaState;
  priority: number;
  preempt: boolean;
  /** The peer's session table may lack the pair's sessions (see ElectionState.incomplete). */
  incomplete?: boolean;
}

export interface ElectionConfig {
  deviceId: number;
  /** 0-255, lower wins. */
  priority: number;
  preempt: boolean;
  initialWaitMs: number;
  promotionHoldMs: number;
  preemptHoldMs: number;
  /** More than this many transitions inside preemptHoldMs suspends preemption. */
  flapMax: number;
  /**
   * A degraded active (faults, no peer able to take over) whose peer becomes able waits this long
   * before handing over: the peer most likely recovered from the outage we see too, and our own
   * monitor will clear within the same skew (the driver passes additionalActiveHoldUpMs).
   */
  degradedHandOverMs: number;
  /**
   * HA2 session sync runs: a device that becomes passive is `tentative` first, until the peer's
   * full session table has arrived (`bulk-complete`). Without HA2 it is passive at once.
   */
  sync: boolean;
  /**
   * Active/active: both functional boxes forward and sync their sessions both ways, so a box that
   * gives up the primary role (operator failover, preemption, a split brain resolved) still holds
   * a complete table: it is the secondary (passive) at once, not tentative. Going through tentative
   * stopped it forwarding its own device's traffic, and the resync it asked for could take seconds
   * on a busy pair.
   */
  activeActive: boolean;
}

export type TimerName = 'initial-wait' | 'promotion-hold' | 'preempt-hold' | 'degraded-hold';

export interface ElectionState {
  config: ElectionConfig;
  state: HaState;
  /** Why we are in `state` (e.g. "peer-dead", "election-won", "operator-suspend"). */
  reason: string;
  /** Latest view of the peer while it is alive; null when it is dead or never heard. */
  peer: PeerView | null;
  /** When the peer was first heard in the current unbroken run of contact (ms), for preemption. */
  peerStableSinceMs: number | null;
  /** Non-functional reasons (link or path monitor, ...); the device is functional when empty. */
  faults: string[];
  /** Times (ms) of our recent transitions, for flap protection. */
  recentTransitionsMs: number[];
  /** Non-null while preemption is suspended by flap protection: the reason. */
  preemptSuspended: string | null;
  /** Timers currently armed (the driver mirrors them). */
  armed: TimerName[];
  /**
   * Our session table may lack the pair's sessions: since start we have neither completed a bulk
   * sync nor been active with the peer passive. Kept from the latest peer-heard event. Where two
   * boxes could both hold the role, an incomplete one never wins over a complete one: the winner's
   * table is dumped to the loser, and an incomplete dump would wipe the complete table.
   */
  incomplete?: boolean;
}

export type PeerDeathCause =
  /** No heartbeat on any HA1 link for the dead interval. */
  | 'heartbeat-timeout'
  /** The peer's kernel closed every HA1 TCP session (FIN/RST): its process died. */
  | 'peer-closed'
  /** The peer said goodbye (clean shutdown). */
  | 'goodbye';

export type ElectionEvent =
  | { type: 'start'; now: number }
  | { type: 'peer-heard'; now: number; peer: PeerView; selfIncomplete?: boolean }
  | { type: 'peer-dead'; now: number; cause: PeerDeathCause }
  | { type: 'timer'; now: number; name: TimerName }
  | { type: 'operator-suspend'; now: number }
  | { type: 'operator-functional'; now: number }
  | { type: 'operator-failover'; now: number }
  /** The active peer asks us (passive) to take over. */
  | { type: 'peer-take-over'; now: number; reason: string }
  | { type: 'fault-add'; now: number; reason: string }
  | { type: 'fault-clear'; now: number; reason: string }
  /** HA2: the peer's full session table has arrived (a tentative device becomes passive). */
  | { type: 'bulk-complete'; now: number }
  /** HA2: the peer's table we held is no longer complete (a gap, an overflow, a new connection): a passive device is tentative again. */
  | { type: 'bulk-incomplete'; now: number; reason: string }
  /** The driver found its own clock jumped by more than the dead interval: it was frozen. */
  | { type: 'frozen'; now: number; gapMs: number };

export type ElectionAction =
  | { type: 'transition'; from: HaState; to: HaState; reason: string }
  | { type: 'arm-timer'; name: TimerName; ms: number }
  | { type: 'cancel-timer'; name: TimerName }
  /** Tell the peer our new state at once (StateUpdate on every HA1 session). */
  | { type: 'send-state' }
  /** Ask the peer to take over (we are stepping down). */
  | { type: 'send-take-over'; reason: string }
  /** Announce the floating IPs (gratuitous ARP burst). */
  | { type: 'announce' }
  /** The event is refused in this state (operator commands get this as their error). */
  | { type: 'refused'; event: ElectionEvent['type']; reason: string }
  | { type: 'invalid-transition'; state: HaState; event: ElectionEvent['type'] };

export interface StepResult {
  state: ElectionState;
  actions: ElectionAction[];
}
