// What the control agent reports about the pair: the API serves it, the CLI prints it, the lab
// reads it. Plain JSON-able data.
import type { ShownHaState } from '../wire/ha-state.js';
import type { Timers } from '../config/types.js';
import type { MonitorStatus } from './monitor/types.js';
import type { ConfigSyncStatus } from './config-sync.js';

export interface TransitionRecord {
  /** Wall-clock time, ISO 8601. */
  at: string;
  from: ShownHaState;
  to: ShownHaState;
  reason: string;
}

export interface Ha1LinkStatus {
  /** "ha1", "ha1-backup", or "heartbeat-backup" (heartbeats only, e.g. over management). */
  name: string;
  local: string;
  peer: string;
  /** A peer heartbeat arrived on this link within the dead interval. */
  heartbeatUp: boolean;
  /** The authenticated TCP session on this link is established (and not stale from an outage). */
  sessionUp: boolean;
  /** The link carries heartbeats only, no session (the heartbeat backup): sessionUp is always false. */
  heartbeatOnly?: boolean;
  /** ms since the last authenticated heartbeat on this link, null if never. */
  lastHeardMsAgo: number | null;
  /** Last measured heartbeat round trip (ms), null if none yet. */
  rttMs: number | null;
}

export interface HaStatus {
  local: {
    id: number;
    name: string;
    state: ShownHaState;
    reason: string;
    since: string;
    priority: number;
    preempt: boolean;
    faults: string[];
    uptimeS: number;
    /** The daemon's software version (the hello's); tandem central shows whether a pair's two match. */
    softwareVersion?: string;
    /**
     * Every reason this box is not fully ready (src/control/core/health.ts), empty when none:
     * "suspended", "electing", "bulk-pending" (tentative), "incomplete", "ha1-down", "stalled", "waking", and
     * the monitors' faults ("link-monitor:<group>", "path-monitor:<group>").
     */
    health: string[];
  };
  peer: {
    id: number;
    /** Peer heard on at least one HA1 link. */
    up: boolean;
    name: string | null;
    state: ShownHaState | null;
    reason: string | null;
    priority: number | null;
    preempt: boolean | null;
    lastHeardMsAgo: number | null;
  };
  mode: string;
  groupId: number;
  timers: Timers;
  preemption: { enabled: boolean; holdMs: number; suspended: string | null };
  links: Ha1LinkStatus[];
  /**
   * HA2 session replication (src/sync/channel.ts status, plus whether our table may lack the
   * pair's sessions), null if off. A bulk sync still pending shows as the state: tentative.
   */
  sync?: ({ incomplete: boolean } & Record<string, unknown>) | null;
  /** The running shared config and whether the peer runs the same (src/control/config-sync.ts), null if off. */
  config?: ConfigSyncStatus | null;
  /** Link and path monitoring (src/control/monitor), null before the agent started them. */
  monitors?: MonitorStatus | null;
  transitions: TransitionRecord[];
}

/** Operator commands; each resolves with a message or rejects with a CommandRefused. */
export interface HaController {
  status(): HaStatus;
  suspend(): Promise<string>;
  functional(): Promise<string>;
  failover(): Promise<string>;
}

export class CommandRefused extends Error {
  readonly code = 'command-refused';
  constructor(message: string) {
    super(message);
    this.name = 'CommandRefused';
  }
}
