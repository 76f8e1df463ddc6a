// What the monitors report and what they need: the status the API shows, the metrics they feed
// (declared in src/metrics/monitor-metrics.ts), and the sink that turns faults into election events.
import type { FailureCondition } from '../../config/types.js';

export interface FaultSink {
  /** A monitor fault (reason "link-monitor:<group>" or "path-monitor:<group>") starts. */
  fault(reason: string): void;
  /** ... and ends: the same string. */
  clear(reason: string): void;
}

export type { MonitorMetrics, ProbeResult } from '../../metrics/monitor-metrics.js';

export interface LinkInterfaceStatus {
  /** Logical name. */
  name: string;
  device: string | null;
  up: boolean | null;
  /** Why it is down (missing, admin-down, no-carrier, oper-<state>) or "up"; null before the first read. */
  why: string | null;
  adminUp: boolean | null;
  carrier: boolean | null;
  operstate: string | null;
}

export interface PathTargetStatus {
  address: string;
  up: boolean;
  consecutiveFailures: number;
  /** Round trip of the last answered echo, null if none yet. */
  lastRttMs: number | null;
}

interface GroupStatusBase {
  name: string;
  failureCondition: FailureCondition;
  /** The group's condition holds now (before the hold-up). */
  failed: boolean;
  /** Failed for longer than the hold-up: a fault of this box. */
  faulted: boolean;
  /** ms since the group started failing, null while it is fine. */
  failedForMs: number | null;
}

export interface LinkGroupStatus extends GroupStatusBase {
  interfaces: LinkInterfaceStatus[];
}

export interface PathGroupStatus extends GroupStatusBase {
  intervalMs: number;
  failures: number;
  targets: PathTargetStatus[];
}

export interface MonitorStatus {
  /** Faults raised to the election now. */
  faults: string[];
  /** The hold-up in force for this box now (monitorFailHoldUpMs, plus the active's extra). */
  holdUpMs: number;
  link: { failureCondition: FailureCondition; groups: LinkGroupStatus[] } | null;
  path: { failureCondition: FailureCondition; groups: PathGroupStatus[]; prober: { running: boolean; restarts: number } } | null;
}
