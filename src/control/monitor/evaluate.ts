// Pure rules of link and path monitoring: conditions over members, consecutive lost echoes, the
// hold-up before a failed group becomes a fault, and the fault reasons the election receives.
// No clocks or I/O: time comes in as `nowMs`.
import type { FailureCondition, Timers } from '../../config/types.js';

export type MonitorType = 'link' | 'path';

/** `any`: one failed member fails the whole; `all`: every member must have failed (none: never). */
export function conditionFailed(condition: FailureCondition, failed: readonly boolean[]): boolean {
  if (failed.length === 0) return false;
  return condition === 'any' ? failed.some((f) => f) : failed.every((f) => f);
}

/** A path target's health: it is down after `failures` echoes in a row went unanswered. */
export interface TargetHealth {
  consecutiveFailures: number;
  up: boolean;
}

export const TARGET_UP: TargetHealth = { consecutiveFailures: 0, up: true };

/** One probe round's outcome. One answered echo brings a target back (as PAN-OS does). */
export function recordProbe(t: TargetHealth, answered: boolean, failuresToDown: number): TargetHealth {
  if (answered) return TARGET_UP;
  const consecutiveFailures = t.consecutiveFailures + 1;
  return { consecutiveFailures, up: t.up && consecutiveFailures < failuresToDown };
}

/**
 * How long a failed group is tolerated before it is a fault: monitorFailHoldUpMs, plus
 * additionalActiveHoldUpMs on the active, so that an outage both boxes see faults the passive
 * first and the active then finds no peer able to take over (it stays active, degraded).
 * `peerHealthy`: a fresh word from the peer says its same group is healthy (see
 * peerEvidenceAfterMs), so the outage is ours alone and the active waits no longer than the
 * passive would: a pulled cable then fails over as fast as a crash.
 */
export function holdUpMs(timers: Pick<Timers, 'monitorFailHoldUpMs' | 'additionalActiveHoldUpMs'>, active: boolean, peerHealthy = false): number {
  return timers.monitorFailHoldUpMs + (active && !peerHealthy ? timers.additionalActiveHoldUpMs : 0);
}

/**
 * The peer's report that a group is healthy counts only when the peer composed it after it had
 * received one of our heartbeats sent this long after our group failed (the echo in its heartbeat
 * says which, on our own clock). An outage both boxes see must have had time to reach the peer's
 * own monitor, or the active would hand the role to a box about to fault too. Link groups:
 * PEER_EVIDENCE_MIN_MS (the kernel tells both boxes at once; each reads its netlink events a few
 * milliseconds late, more on a busy box). Path groups: one probe interval more, since the two
 * boxes probe the same targets out of phase.
 */
export function peerEvidenceAfterMs(type: MonitorType, failedSinceMs: number, probeIntervalMs = 0): number {
  return failedSinceMs + PEER_EVIDENCE_MIN_MS + (type === 'path' ? probeIntervalMs : 0);
}

/** How far past our own failure the peer's word on the same group must be composed (ms). */
export const PEER_EVIDENCE_MIN_MS = 15;

/** A group's hold-up: when it started failing (null while fine) and whether it is a fault yet. */
export interface HoldState {
  failedSinceMs: number | null;
  faulted: boolean;
}

export const HOLD_FINE: HoldState = { failedSinceMs: null, faulted: false };

export interface HoldResult {
  state: HoldState;
  /** Evaluate again after this many ms (the hold runs), or null when nothing is pending. */
  recheckInMs: number | null;
}

/**
 * Advance a group's hold-up to `nowMs`. A group that stops failing is fine again at once (a
 * recovery needs no hold: the sooner a box is functional again the sooner the pair has a spare).
 */
export function advanceHold(h: HoldState, failedNow: boolean, nowMs: number, holdMs: number): HoldResult {
  if (!failedNow) return { state: HOLD_FINE, recheckInMs: null };
  const since = h.failedSinceMs ?? nowMs;
  if (h.faulted) return { state: { failedSinceMs: since, faulted: true }, recheckInMs: null };
  const left = since + holdMs - nowMs;
  if (left <= 0) return { state: { failedSinceMs: since, faulted: true }, recheckInMs: null };
  return { state: { failedSinceMs: since, faulted: false }, recheckInMs: left };
}

/** The election's fault reason for a group: stable, so that the same string clears it. */
export function faultReason(type: MonitorType, group: string): string {
  return `${type}-monitor:${group}`;
}

/**
 * The faults one monitor type raises: every faulted group, if the HA-level condition over the
 * groups holds (any: one faulted group is enough; all: every group must be), otherwise none.
 */
export function faultsOf(type: MonitorType, condition: FailureCondition, groups: readonly { name: string; faulted: boolean }[]): string[] {
  if (
    !conditionFailed(
      condition,
      groups.map((g) => g.faulted),
    )
  )
    return [];
  return groups.filter((g) => g.faulted).map((g) => faultReason(type, g.name));
}

// The kernel's view of a link and the verdict on it live in net/link.ts: the dataplane reads the
// same facts the same way (one source of truth for link state).
export { linkVerdict, type KernelLink, type LinkVerdict } from '../../net/link.js';
