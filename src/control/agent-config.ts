// What the HA core, the election and the monitors take from the config, at start and on every
// shared-config commit (timers and preemption change in place).
import type { TandemConfig } from '../config/types.js';
import type { SharedState } from '../wire/shared-state.js';
import { initialCore } from './core/step.js';
import type { CoreConfig, CoreEvent, CoreState } from './core/types.js';
import type { ElectionConfig } from './election/types.js';

/** The election's config from the shared half; the core adds `sync` (whether HA2 runs). */
export type SharedElectionConfig = Omit<ElectionConfig, 'deviceId' | 'priority' | 'sync' | 'activeActive'>;

export function electionConfigOf(cfg: TandemConfig): SharedElectionConfig {
  const t = cfg.shared.ha.timers;
  return {
    preempt: cfg.shared.ha.preempt.enabled,
    initialWaitMs: t.initialWaitMs,
    promotionHoldMs: t.promotionHoldMs,
    preemptHoldMs: cfg.shared.ha.preempt.holdMs,
    flapMax: t.flapMax,
    degradedHandOverMs: t.additionalActiveHoldUpMs,
  };
}

/** heartbeatIntervalMs x heartbeatMissed: silence longer than this is death. */
export function deadIntervalOf(cfg: TandemConfig): number {
  return cfg.shared.ha.timers.heartbeatIntervalMs * cfg.shared.ha.timers.heartbeatMissed;
}

/** The core's configuration: timers, whether HA2 runs, and the links in the agent's order. */
export function coreConfigOf(cfg: TandemConfig, links: readonly { name: string; session: unknown }[], sync: boolean): CoreConfig {
  return {
    deadIntervalMs: deadIntervalOf(cfg),
    helloIntervalMs: cfg.shared.ha.timers.helloIntervalMs,
    sync,
    activeActive: cfg.shared.ha.mode === 'active-active',
    links: links.map((l) => ({ name: l.name, hasSession: l.session !== null })),
  };
}

/** The core of a box starting with this config (its links, and whether HA2 runs). */
export function startingCore(cfg: TandemConfig, links: readonly { name: string; session: unknown }[], sync: boolean): CoreState {
  return initialCore(coreConfigOf(cfg, links, sync), { deviceId: cfg.device.id, priority: cfg.device.priority, ...electionConfigOf(cfg) });
}

/** A new shared half committed: the timers and preemption the core changes in place. */
export function reconfigureEventOf(cfg: TandemConfig, now: number): Extract<CoreEvent, { type: 'reconfigure' }> {
  return {
    type: 'reconfigure',
    now,
    deadIntervalMs: deadIntervalOf(cfg),
    helloIntervalMs: cfg.shared.ha.timers.helloIntervalMs,
    election: electionConfigOf(cfg),
  };
}

/**
 * Whether the dataplane's capture handle on `device` is open; the dataplane numbers interfaces
 * by sorted logical name (engine.ts). An unknown device counts as open.
 */
export function captureOpenOf(cfg: TandemConfig, shared: SharedState, device: string): boolean {
  const names = Object.keys(cfg.device.interfaces).sort();
  const i = names.findIndex((n) => cfg.device.interfaces[n].device === device);
  return i < 0 || shared.captureOpen(i);
}
