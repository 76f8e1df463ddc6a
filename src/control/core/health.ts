// The box's health as one set of reasons, derived from the core's state (STYLE.md convention 5,
// after keepalived's fault reasons): empty means ready to carry the pair's traffic. Each reason
// is defined here once; status shows them (local.health) in this order.
import type { CoreState } from './types.js';

/**
 * Reasons the core itself finds. The monitors' faults (docs/monitors.md) join them as they are:
 * "link-monitor:<group>", "path-monitor:<group>".
 */
export const CORE_HEALTH_REASONS = [
  /** The operator suspended this box: it takes no part in the election. */
  'suspended',
  /** Still electing (initial): the peer must not hand us the role by preemption. */
  'electing',
  /** Tentative: passive without the peer's full session table yet (HA2 bulk sync pending). */
  'bulk-pending',
  /** Our table may lack the pair's sessions: we never win the role over a complete peer. */
  'incomplete',
  /** Only the heartbeat backup hears the peer: no hellos, commands or config sync. */
  'ha1-down',
  /** After a short stall of the control thread: the dataplane's lease is held. */
  'stalled',
  /** Woken from a stall or freeze: nothing from the peer is believed until it is heard fresh. */
  'waking',
] as const;

export type CoreHealthReason = (typeof CORE_HEALTH_REASONS)[number];
export type MonitorFault = `link-monitor:${string}` | `path-monitor:${string}`;
/** A fault from elsewhere than the monitors (none today): shown with this prefix. */
export type OtherFault = `fault:${string}`;
export type HealthReason = CoreHealthReason | MonitorFault | OtherFault;

function isMonitorFault(reason: string): reason is MonitorFault {
  return reason.startsWith('link-monitor:') || reason.startsWith('path-monitor:');
}

/** Our table may lack the pair's sessions (see CoreState.tableComplete); never without HA2. */
export function incomplete(c: CoreState): boolean {
  return c.config.sync && !c.tableComplete;
}

/** Every reason this box is not fully ready, core reasons first, then the monitors' faults. */
export function health(c: CoreState): HealthReason[] {
  const has: Record<CoreHealthReason, boolean> = {
    suspended: c.election.state === 'suspended',
    electing: c.election.state === 'initial',
    'bulk-pending': c.election.state === 'tentative',
    incomplete: incomplete(c),
    'ha1-down': c.ha1Down,
    stalled: c.stall.leaseHeldUntilMs > 0,
    waking: c.stall.freshAfterNs > 0,
  };
  const out: HealthReason[] = CORE_HEALTH_REASONS.filter((r) => has[r]);
  for (const f of c.election.faults) out.push(isMonitorFault(f) ? f : `fault:${f}`);
  return out;
}
