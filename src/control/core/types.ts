// Types of the pure HA core (step.ts): everything the control agent decides beside the election
// itself. The election machine (../election) chooses the state; the core owns what surrounds it:
// peer liveness over the HA1 links, the stall and freeze handling that holds the dataplane's lease,
// the planned hand-over, the session table's completeness (the election's tentative state follows
// the bulk sync) and HA1-down detection. The driver (../agent.ts) owns sockets, real timers and the clock: it turns what it
// hears into CoreEvents (time comes in as `now`, monotonic ms) and carries out CoreActions.
import type { ElectionAction, ElectionEvent, ElectionState, HaState, PeerView } from '../election/types.js';

export type { HaState, PeerView } from '../election/types.js';

/** The roles of the dataplane (the shared state's ROLE_ACTIVE / ROLE_PASSIVE). */
export type DataplaneRole = 'active' | 'passive';

/** The HA2 replication's role (src/sync/channel.ts). */
export type SyncRole = 'sender' | 'receiver' | 'both' | 'idle';

/** Active/active: what the dataplane is told (SharedState.setPairView; core/pair-view.ts decides it). */
export interface PairView {
  /** CLASS_* bits of the floating-address classes this box serves (answers ARP, announces). */
  served: number;
  /** Classes handed to the peer a moment ago: their frames still taken here, their ARP the peer's. */
  accepted: number;
  peerForwarding: boolean;
  primary: number;
}

export interface CoreLinkConfig {
  /** "ha1", "ha1-backup" or "heartbeat-backup" (status, logs, metric labels). */
  name: string;
  /** An HA1 link carries a TCP session; the heartbeat backup carries heartbeats only. */
  hasSession: boolean;
}

export interface CoreConfig {
  /** heartbeatIntervalMs x heartbeatMissed: silence longer than this is death. */
  deadIntervalMs: number;
  helloIntervalMs: number;
  /** HA2 session sync runs: readiness (bulk sync, table completeness) applies. */
  sync: boolean;
  /** shared.ha.mode is active-active: primary and secondary both forward (pair-view.ts). */
  activeActive: boolean;
  links: CoreLinkConfig[];
}

/** What the core knows of one link. */
export interface CoreLink {
  /** Monotonic ms of the last authenticated message from the peer on this link. */
  lastHeardMs: number | null;
  /** When the peer's kernel closed our healthy session on this link; null once heard since. */
  closedByPeerAtMs: number | null;
  /** The link hears the peer (as last evaluated): drives link-up / link-lost. */
  heartbeatUp: boolean;
}

/**
 * Stall and freeze handling. A gap between the driver's ticks past the dead interval means the
 * control thread did not run: the peer may have taken over meanwhile.
 * - freshAfterNs > 0: we woke from a stall or freeze; our socket buffers still hold what the peer
 *   sent while we were stopped. Nothing from the peer is believed until a heartbeat echoes one of
 *   our post-wake heartbeats (echo_ns >= freshAfterNs).
 * - leaseHeldUntilMs > 0: after a short stall the lease is not renewed until the peer is heard
 *   fresh, or this deadline passes.
 * - awaitPeerYield: the peer was heard active after the stall while we still are: it took over
 *   meanwhile. The lease stays held until one of us yields, so the dataplanes never forward at once.
 */
export interface StallState {
  freshAfterNs: number;
  leaseHeldUntilMs: number;
  awaitPeerYield: boolean;
}

export interface PeerState {
  /** Heard on at least one link within the dead interval (and not closed since). */
  alive: boolean;
  /** Monotonic ms of the last authenticated message from the peer on any link. */
  lastHeardMs: number | null;
  /** From its hello. */
  name: string | null;
  /** Why it is in its state (hello, state update). */
  reason: string | null;
  /** Its latest view (heartbeat, hello, state update); null once dead. */
  view: PeerView | null;
}

export interface CoreState {
  config: CoreConfig;
  /** Active/active: the pair view last given to the dataplane (null: none yet, or active/passive). */
  pairView: PairView | null;
  /** Active/active: classes handed to the peer, still served until untilMs (pair-view.ts HAND_BACK_MS). */
  handBack: { classes: number; untilMs: number };
  election: ElectionState;
  /** Monotonic ms of the last tick (0 before start): the stall detector's reference. */
  lastTickMs: number;
  nextHelloMs: number;
  peer: PeerState;
  /** One per configured link, in config order. */
  links: CoreLink[];
  stall: StallState;
  /** Non-zero while a planned hand-over keeps our dataplane forwarding (monotonic ms deadline). */
  handoverUntilMs: number;
  /**
   * Our session table holds the pair's sessions: since start, a bulk sync from the peer completed,
   * or we were active with the peer passive (it took our table). Until then we are 'incomplete'
   * and never win the role over a complete peer (election/step.ts winsAgainst).
   */
  tableComplete: boolean;
  /** Both HA1 links are down and only the heartbeat backup hears the peer (logged once). */
  ha1Down: boolean;
  /** Since when only the heartbeat backup hears (ha1-down is declared a dead interval later). */
  onlyBackupSinceMs: number | null;
}

/** A message that arrived on an HA1 session, as far as the core cares. */
export type SessionMessage =
  | {
      kind: 'hello';
      name: string;
      stateReason: string;
      state: HaState;
      priority: number;
      preempt: boolean;
      /** The peer's group or mode differs from ours (warned, not refused). */
      mismatch: { peerGroup: number; peerMode: string } | null;
    }
  | { kind: 'state-update'; state: HaState; reason: string }
  | { kind: 'command'; command: string; reason: string }
  | { kind: 'goodbye'; reason: string }
  /** configPush, configAck, configRequest: proof of life; config-sync handles the content. */
  | { kind: 'config' }
  /** Anything else (a heartbeat on a session, an unknown body): only the stall rule applies. */
  | { kind: 'other' };

/** The heartbeat's content, as the core needs it. */
export interface HeartbeatFields {
  sender: number;
  state: HaState;
  priority: number;
  preempt: boolean;
  incomplete: boolean;
  echoNs: number;
}

/** Events the election handles as they are. */
export type ElectionPassThrough = Extract<
  ElectionEvent,
  { type: 'timer' | 'operator-suspend' | 'operator-functional' | 'operator-failover' | 'fault-add' | 'fault-clear' }
>;

export type CoreEvent =
  | { type: 'start'; now: number }
  /**
   * The driver's periodic tick (every heartbeat interval). `sessionsOpen`: per link, the HA1
   * session is established and trusted now; `peerAnnouncedAtMs`: when the dataplane saw the new
   * active's announcements on every interface during a hand-over (0 = not yet).
   */
  | { type: 'tick'; now: number; sessionsOpen: readonly boolean[]; peerAnnouncedAtMs: number }
  /** Something arrived (before it is opened or judged): the stall check runs. */
  | { type: 'wake'; now: number }
  /** An authenticated heartbeat, not stale by its send time (ha1/freshness.ts): fresh or late. */
  | { type: 'heartbeat'; now: number; link: number; sessionsOpen: readonly boolean[]; age: 'fresh' | 'late'; hb: HeartbeatFields }
  /** An authenticated message on the link's HA1 session. */
  | { type: 'session-message'; now: number; link: number; sessionsOpen: readonly boolean[]; sender: number; message: SessionMessage }
  /** The link's HA1 session went down; closedByPeer: the peer's kernel closed a healthy one. */
  | { type: 'session-down'; now: number; link: number; closedByPeer: boolean; sessionsOpen: readonly boolean[] }
  /** HA2: the peer's bulk dump has fully arrived (a tentative box becomes passive). */
  | { type: 'bulk-complete'; now: number; sessions: number }
  /** HA2: the copy of the peer's table is no longer complete (why: gap, overflow, new connection...). */
  | { type: 'bulk-incomplete'; now: number; reason: string }
  /** A new shared config: timers and preemption change in place. */
  | {
      type: 'reconfigure';
      now: number;
      deadIntervalMs: number;
      helloIntervalMs: number;
      election: Pick<ElectionState['config'], 'preempt' | 'initialWaitMs' | 'promotionHoldMs' | 'preemptHoldMs' | 'flapMax' | 'degradedHandOverMs'>;
    }
  | ElectionPassThrough;

export type LogLevel = 'info' | 'warn';

export type CoreAction =
  /** A state change took effect (after the dataplane and sync actions it needs): record it. */
  | { type: 'transition'; from: HaState; to: HaState; reason: string; outageS: number }
  | Extract<ElectionAction, { type: 'arm-timer' | 'cancel-timer' | 'send-take-over' | 'refused' }>
  /** StateUpdate on every session and a heartbeat on every link, with this content. */
  | { type: 'send-state'; state: HaState; reason: string; incomplete: boolean }
  /** A heartbeat on every link (the tick). */
  | { type: 'send-heartbeats'; state: HaState; incomplete: boolean }
  /** A hello on every HA1 session. */
  | { type: 'send-hellos' }
  /** Announce the floating IPs (gratuitous ARP burst). */
  | { type: 'announce' }
  | { type: 'dataplane-role'; role: DataplaneRole }
  /** Active/active: what the dataplane answers for, whether the peer forwards, who is primary. */
  | { type: 'pair-view'; view: PairView }
  /** The dataplane may forward as active until this monotonic ms. */
  | { type: 'renew-lease'; untilMs: number }
  | { type: 'handing-over'; on: boolean }
  | { type: 'sync-role'; role: SyncRole }
  /** The peer came up / went down: config sync and the peer-up metric follow. */
  | { type: 'peer-up' }
  | { type: 'peer-down' }
  /** The link started / stopped hearing the peer (its heartbeat metric). */
  | { type: 'link-heartbeat'; link: number; up: boolean }
  /** The link hears the peer again: replace a session that lived through the outage. */
  | { type: 'session-refresh'; link: number }
  /** The link lost the peer: stop trusting its session (and its session metric goes down). */
  | { type: 'session-stale'; link: number }
  /** The control thread stalled (short) or froze: counted. */
  | { type: 'control-stall'; kind: 'short' | 'frozen' }
  /** A message from before our wake-up: dropped and counted (not an attack, not an error). */
  | { type: 'drop-stale'; channel: 'ha1-heartbeat' | 'ha1-session' }
  | { type: 'log'; level: LogLevel; fields: Record<string, unknown>; msg: string };

export interface CoreResult {
  core: CoreState;
  actions: CoreAction[];
}
