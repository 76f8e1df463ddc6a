// The HA core's actions on the rest of the box: the dataplane (role, lease, hand-over, GARP
// through the shared state), the HA2 sync role, config sync, the HA1 sessions, the transition
// record, metrics and logs. The agent arms the timers itself and its outbox (agent-outbox.ts)
// sends to the peer; everything else lands here.
import type { Logger } from '../log.js';
import type { HaEncryption } from '../wire/crypto.js';
import type { Metrics } from '../metrics/registry.js';
import { ROLE_ACTIVE, ROLE_PASSIVE, type SharedState } from '../wire/shared-state.js';
import { shownHaState } from '../wire/ha-state.js';
import type { Link } from './agent-links.js';
import type { SendAction } from './agent-outbox.js';
import type { TransitionHistory } from './agent-status.js';
import type { ConfigSync } from './config-sync.js';
import type { CoreAction, SyncRole } from './core/types.js';

/** The actions the agent handles itself (timers, an operator command's refusal) or sends. */
export type AgentAction = Extract<CoreAction, { type: 'arm-timer' | 'cancel-timer' | 'refused' }> | SendAction;
export type EffectAction = Exclude<CoreAction, AgentAction>;

/** The HA2 replication as the agent drives it (src/sync/channel.ts implements it). */
export interface SyncHandle {
  setRole(role: SyncRole): void;
  status(): unknown;
  /** The format HA2 messages leave in (shared.ha.encryption); absent in fakes. */
  setEncryption?(mode: HaEncryption): void;
}

export interface EffectTargets {
  shared: SharedState;
  sync: SyncHandle | null;
  configSync: ConfigSync | null;
  metrics: Metrics;
  links: readonly Link[];
  log: Logger;
  /** The transitions kept for status. */
  history: TransitionHistory;
  /** shared.ha.mode is active-active: states are shown by their role (wire/ha-state.ts). */
  activeActive: boolean;
}

export function applyEffect(a: EffectAction, x: EffectTargets): void {
  switch (a.type) {
    // a state change took effect: kept for status, counted (its log line is the core's)
    case 'transition': {
      const from = shownHaState(a.from, x.activeActive);
      const to = shownHaState(a.to, x.activeActive);
      x.history.add(from, to, a.reason);
      x.metrics.transition(from, to, a.reason);
      if (a.to === 'active') x.metrics.failover(a.reason, a.outageS);
      return;
    }
    case 'announce':
      return x.shared.requestGarp();
    case 'dataplane-role':
      return x.shared.setRole(a.role === 'active' ? ROLE_ACTIVE : ROLE_PASSIVE);
    case 'pair-view':
      return x.shared.setPairView(a.view.served, a.view.peerForwarding, a.view.primary, a.view.accepted);
    case 'renew-lease':
      return x.shared.renewLease(a.untilMs);
    case 'handing-over':
      return x.shared.setHandingOver(a.on);
    case 'sync-role':
      return x.sync?.setRole(a.role);
    case 'peer-up':
      x.configSync?.onPeerUp();
      return x.metrics.setPeerUp(true);
    case 'peer-down':
      x.configSync?.onPeerDown();
      return x.metrics.setPeerUp(false);
    case 'link-heartbeat':
      return x.metrics.setLinkUp(x.links[a.link].name, 'heartbeat', a.up);
    case 'session-refresh':
      return x.links[a.link].session?.refresh();
    case 'session-stale':
      x.links[a.link].session?.markStale();
      return x.metrics.setLinkUp(x.links[a.link].name, 'session', false);
    case 'control-stall':
      return x.metrics.controlStall(a.kind);
    case 'drop-stale':
      return x.metrics.rejected(a.channel, 'stale-after-freeze');
    case 'log':
      return a.level === 'warn' ? x.log.warn(a.fields, a.msg) : x.log.info(a.fields, a.msg);
    default: {
      const never: never = a;
      throw new Error(`unknown core action ${JSON.stringify(never)}`);
    }
  }
}

/** A planned failover first waits this long at most for the sync backlog to drain. */
const FAILOVER_DRAIN_MAX_MS = 1000;

/** Before a planned failover: let the peer's copy of the sessions catch up (bounded). */
export async function drainSyncBacklog(sync: SyncHandle | null, stillActive: () => boolean, now: () => number): Promise<void> {
  const start = now();
  while (sync && stillActive() && syncBacklog(sync) > 0 && now() - start < FAILOVER_DRAIN_MAX_MS) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Before a planned failover to a passive still receiving its bulk sync: give it a moment (bounded)
 * to finish, as an operator who just saw it "in sync" on its own status expects (its heartbeat
 * saying so can be a few ms behind). Past that, the election refuses with the reason.
 */
export async function waitPeerInSync(peerSyncing: () => boolean, now: () => number): Promise<void> {
  const start = now();
  while (peerSyncing() && now() - start < FAILOVER_DRAIN_MAX_MS) await new Promise((r) => setTimeout(r, 5));
}

/** Records not yet acknowledged by the peer, from the sync channel's status. */
function syncBacklog(sync: SyncHandle): number {
  const b = (sync.status() as { backlog?: unknown }).backlog;
  return typeof b === 'number' ? b : 0;
}
