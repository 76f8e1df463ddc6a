// The control agent's status (status.ts HaStatus): what the API serves, the CLI prints and the
// lab reads, rendered from the core's state and the driver's links.
import type { TandemConfig } from '../config/types.js';
import type { Link } from './agent-links.js';
import { health, incomplete } from './core/health.js';
import type { CoreState } from './core/types.js';
import { shownHaState, type ShownHaState } from '../wire/ha-state.js';
import { linkHears } from './ha1/liveness.js';
import type { MonitorStatus } from './monitor/types.js';
import type { ConfigSyncStatus } from './config-sync.js';
import type { HaStatus, TransitionRecord } from './status.js';
import { SOFTWARE_VERSION } from './agent-messages.js';

/** Transitions kept for `tandem status` and the API. */
const TRANSITION_HISTORY = 50;

/** The recent transitions and when the current state began, for status. */
export class TransitionHistory {
  since = new Date();
  readonly records: TransitionRecord[] = [];

  add(from: ShownHaState, to: ShownHaState, reason: string): void {
    this.since = new Date();
    this.records.push({ at: this.since.toISOString(), from, to, reason });
    if (this.records.length > TRANSITION_HISTORY) this.records.shift();
  }
}

export interface StatusInput {
  now: number;
  cfg: TandemConfig;
  core: CoreState;
  links: readonly Link[];
  startedMs: number;
  history: TransitionHistory;
  /** The HA2 channel's own status; null when HA2 is off. */
  sync: { status: unknown } | null;
  config: ConfigSyncStatus | null;
  monitors: MonitorStatus | null;
}

const ago = (now: number, ms: number | null): number | null => (ms === null ? null : Math.round(now - ms));

export function renderStatus(x: StatusInput): HaStatus {
  const { now, cfg, core } = x;
  const es = core.election;
  const peer = core.peer;
  const pv = peer.view;
  return {
    local: {
      id: cfg.device.id,
      name: cfg.device.name,
      state: shownHaState(es.state, core.config.activeActive),
      reason: es.reason,
      since: x.history.since.toISOString(),
      priority: cfg.device.priority,
      preempt: cfg.shared.ha.preempt.enabled,
      faults: [...es.faults],
      uptimeS: Math.round((now - x.startedMs) / 1000),
      softwareVersion: SOFTWARE_VERSION,
      health: health(core),
    },
    peer: {
      id: 1 - cfg.device.id,
      up: peer.alive,
      name: peer.name,
      state: peer.alive && pv ? shownHaState(pv.state, core.config.activeActive) : null,
      reason: peer.alive ? peer.reason : null,
      priority: pv ? pv.priority : null,
      preempt: pv ? pv.preempt : null,
      lastHeardMsAgo: ago(now, peer.lastHeardMs),
    },
    mode: cfg.shared.ha.mode,
    groupId: cfg.shared.ha.groupId,
    timers: cfg.shared.ha.timers,
    preemption: { enabled: cfg.shared.ha.preempt.enabled, holdMs: cfg.shared.ha.preempt.holdMs, suspended: es.preemptSuspended },
    sync: x.sync !== null ? { incomplete: incomplete(core), ...(x.sync.status as object) } : null,
    config: x.config,
    monitors: x.monitors,
    links: x.links.map((l) => {
      const cl = core.links[l.at];
      return {
        name: l.name,
        local: l.cfg.local,
        peer: l.cfg.peer,
        heartbeatUp: linkHears(cl, now, core.config.deadIntervalMs),
        sessionUp: l.session?.up ?? false,
        heartbeatOnly: l.session === null,
        lastHeardMsAgo: ago(now, cl.lastHeardMs),
        rttMs: l.rttMs,
      };
    }),
    transitions: [...x.history.records],
  };
}
