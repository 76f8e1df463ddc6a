// The control agent: the driver around the pure election machine. It owns the HA1 sockets and the
// real timers, turns what it hears into election events, and carries out the machine's actions:
// the dataplane's role and lease, state updates and commands to the peer, gratuitous ARP, logs and
// metrics. It runs in the daemon's control worker thread; the dataplane has the main thread
// (where `cap` must run), so a saturated packet path cannot delay a heartbeat.
import type { TandemConfig, HaLinkConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import { monotonicMs } from '../clock.js';
import { ROLE_ACTIVE, ROLE_PASSIVE, type SharedState } from '../wire/shared-state.js';
import { Sealer, Opener } from '../wire/auth.js';
import type { HaEncryption } from '../wire/crypto.js';
import { clipString, REASON_MAX, type Envelope, type EnvelopeBody } from '../wire/codec.js';
import { initialState, step } from './election/step.js';
import type { ElectionAction, ElectionEvent, ElectionState, HaState, PeerView, TimerName } from './election/types.js';
import { CommandRefused, type HaController, type HaStatus, type TransitionRecord } from './status.js';
import { HeartbeatSocket } from './ha1/heartbeat.js';
import type { ConfigSync } from './config-sync.js';
import type { SharedConfig } from '../config/types.js';
import { Ha1Session } from './ha1/session.js';
import { linkHears, peerVerdict } from './ha1/liveness.js';
import { createMonitors, type Monitors } from './monitor/monitors.js';
import { HeartbeatFreshness } from './ha1/freshness.js';

/** Largest HA1 heartbeat we accept: one datagram of a few dozen bytes. */
const HA1_MAX_MESSAGE_BYTES = 16 * 1024;
/** Largest HA1 session frame: a config push carries the whole shared half (a config file is at most 1 MiB of YAML). */
const HA1_SESSION_MAX_BYTES = 4 * 1024 * 1024;
/** Transitions kept for `tandem status` and the API. */
const TRANSITION_HISTORY = 50;
const SOFTWARE_VERSION = '0.1.0';
/** Transitions out of active that hand the role to a live peer on purpose. */
const HANDOVER_REASONS: ReadonlySet<string> = new Set(['operator-failover', 'preempted']);
/** Longest a hand-over keeps us forwarding when the new active's announcements are never seen. */
const HANDOVER_MAX_MS = 300;
/**
 * After our dataplane saw the new active's gratuitous ARP on every floating interface. Each
 * capture ring is in order, so what the switches sent us before they moved was already handled by
 * then: this only covers frames still crossing the switch.
 */
const HANDOVER_TAIL_MS = 5;
/** Rejected HA messages are logged at most this often per channel and reason (always counted). */
const REJECT_LOG_INTERVAL_MS = 1000;
/**
 * A gap between ticks of up to this many dead intervals is a stall (a long GC, a scheduling
 * hiccup), not a freeze: the role is kept, the dataplane held until the peer is heard fresh.
 */
const STALL_MAX_DEAD_INTERVALS = 2;
/** A planned failover first waits this long at most for the sync backlog to drain. */
const FAILOVER_DRAIN_MAX_MS = 1000;

/** Link names as they appear in status, logs and metric labels. */
const HEARTBEAT_BACKUP_LINK = 'heartbeat-backup';

interface Link {
  name: string;
  index: number;
  cfg: { local: string; peer: string };
  heartbeat: HeartbeatSocket;
  hbSealer: Sealer;
  hbOpener: Opener;
  /** The HA1 TCP session; null on the heartbeat backup, which carries heartbeats only. */
  session: Ha1Session | null;
  sessSealer: Sealer;
  sessOpener: Opener;
  /** Monotonic ms of the last authenticated message from the peer on this link. */
  lastHeardMs: number | null;
  /** When the peer's kernel closed our healthy session on this link; null once heard since. */
  closedByPeerAtMs: number | null;
  /** For the RTT echo: the peer's last heartbeat sent_ns and when we received it. */
  peerSentNs: number;
  peerRxMs: number;
  rttMs: number | null;
  heartbeatUp: boolean;
}

interface PeerInfo {
  name: string | null;
  reason: string | null;
  view: PeerView | null;
}

/** The HA2 replication as the agent drives it (src/sync/channel.ts implements it). */
export interface SyncHandle {
  setRole(role: 'sender' | 'receiver' | 'idle'): void;
  status(): unknown;
  /** The format HA2 messages leave in (shared.ha.encryption); absent in fakes. */
  setEncryption?(mode: HaEncryption): void;
}

export interface ControlAgentOptions {
  config: TandemConfig;
  key: Buffer;
  shared: SharedState;
  metrics: Metrics;
  log: Logger;
  sync?: SyncHandle;
  /** Shared-config commits and their replication; absent: hellos report version 0 and config messages are refused. */
  configSync?: ConfigSync;
}

export class ControlAgent implements HaController {
  private cfg: TandemConfig;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly shared: SharedState;
  private readonly links: Link[] = [];
  private deadIntervalMs: number;
  private readonly epoch = Date.now();
  private readonly startedMs = monotonicMs();
  private es: ElectionState;
  private sinceWall = new Date();
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private tickTimer: NodeJS.Timeout | null = null;
  private lastTickMs = 0;
  private nextHelloMs = 0;
  private peerAlive = false;
  private lastPeerHeardMs: number | null = null;
  private readonly peer: PeerInfo = { name: null, reason: null, view: null };
  private readonly transitions: TransitionRecord[] = [];
  private refusal: string | null = null;
  private stopping = false;
  /**
   * Set when we wake from a freeze: our socket buffers still hold what the peer sent while we were
   * stopped (e.g. heartbeats saying "passive" from before it took over). Until a heartbeat echoes
   * one of our post-wake heartbeats (echo_ns >= this), nothing from the peer is believed.
   */
  private freshAfterNs = 0;
  /**
   * After a stall, the peer was heard active while we still are: it took over meanwhile. Our lease
   * stays held until it yields (the split-brain rule picks who keeps the role), so that the two
   * dataplanes never forward at once.
   */
  private awaitPeerYield = false;
  /** After a short stall: the lease is not renewed until the peer is heard fresh, or this deadline (monotonic ms). */
  private leaseHeldUntilMs = 0;
  private readonly sync: SyncHandle | null;
  /** Non-zero while a planned hand-over keeps our dataplane forwarding (monotonic ms deadline). */
  private handoverUntilMs = 0;
  /** As passive: the peer's full table has arrived since we became passive (not tentative). */
  private bulkDone = false;
  /**
   * Our session table holds the pair's sessions: since start, a bulk sync from the peer completed,
   * or we were active with the peer passive (it took our table). Until then we are 'incomplete'
   * and never win the role over a complete peer (election/step.ts winsAgainst).
   */
  private tableComplete = false;
  /** Both HA1 links are down and only the heartbeat backup hears the peer (logged once). */
  private onlyHeartbeatBackup = false;
  private onlyHeartbeatBackupSinceMs: number | null = null;
  private readonly heartbeatAge = new HeartbeatFreshness();
  /** Per channel/reason: when a rejection was last logged, and how many were not logged since. */
  private readonly rejectLogs = new Map<string, { atMs: number; suppressed: number }>();
  private readonly configSync: ConfigSync | null;
  /** Link and path monitoring (docs/monitors.md): faults in, fault-add/fault-clear out. */
  private monitors: Monitors | null = null;
  /**
   * The monitor groups the peer's latest believed heartbeat called healthy, and the send time (our
   * clock) of our heartbeat it echoed: the report was composed after the peer heard that one.
   */
  private peerHealthy: { groups: ReadonlySet<string>; composedAfterMs: number } | null = null;

  constructor(opts: ControlAgentOptions) {
    this.cfg = opts.config;
    this.log = opts.log.child({ component: 'control' });
    this.metrics = opts.metrics;
    this.shared = opts.shared;
    this.sync = opts.sync ?? null;
    this.configSync = opts.configSync ?? null;
    this.configSync?.attach({
      view: () => ({ state: this.es.state, peerUp: this.peerAlive, peerName: this.peer.name }),
      send: (body) => {
        // one session is enough; the primary first. A push lost with its session is sent again
        // when the next hello shows the peer still runs another config.
        for (const link of this.links) if (link.session?.up && this.sendSession(link, body)) return true;
        return false;
      },
      announce: () => {
        for (const link of this.links) if (link.session) this.sendHello(link);
      },
    });
    const t = this.cfg.shared.ha.timers;
    this.deadIntervalMs = t.heartbeatIntervalMs * t.heartbeatMissed;
    this.es = initialState({
      deviceId: this.cfg.device.id,
      priority: this.cfg.device.priority,
      preempt: this.cfg.shared.ha.preempt.enabled,
      initialWaitMs: t.initialWaitMs,
      promotionHoldMs: t.promotionHoldMs,
      preemptHoldMs: this.cfg.shared.ha.preempt.holdMs,
      flapMax: t.flapMax,
      degradedHandOverMs: t.additionalActiveHoldUpMs,
    });
    const ha = this.cfg.device.ha;
    const linkCfgs: [string, HaLinkConfig | undefined][] = [
      ['ha1', ha.ha1],
      ['ha1-backup', ha.ha1Backup],
    ];
    linkCfgs.forEach(([name, cfg], index) => {
      if (cfg) this.links.push(this.makeLink(name, index, cfg, opts.key));
    });
    // heartbeats only (no session): its own channel name, so a heartbeat captured on one link
    // cannot be replayed on another; index 2 is what it reports in the heartbeat's link field
    const hbb = ha.heartbeatBackup;
    if (hbb) {
      this.links.push(
        this.makeLink(HEARTBEAT_BACKUP_LINK, 2, { local: hbb.local, peer: hbb.peer, port: 0, heartbeatPort: hbb.port }, opts.key, 'ha1-heartbeat-mgmt'),
      );
    }
    // the HA2 channel is built before the agent; its format is HA config, applied here like ours
    this.sync?.setEncryption?.(this.cfg.shared.ha.encryption);
  }

  /**
   * shared.ha.encryption changed: what we send switches now, seq unbroken. The peer's openers
   * take both formats, so the two boxes applying the commit a few ms apart lose nothing.
   */
  private applyEncryption(mode: HaEncryption): void {
    for (const link of this.links) {
      link.hbSealer.setEncryption(mode);
      link.sessSealer.setEncryption(mode);
    }
    this.sync?.setEncryption?.(mode);
  }

  private makeLink(name: string, index: number, cfg: HaLinkConfig, key: Buffer, heartbeatOnlyChannel?: string): Link {
    const me = this.cfg.device.id;
    const peerId = 1 - me;
    const groupId = this.cfg.shared.ha.groupId;
    const hbChannel = heartbeatOnlyChannel ?? `ha1-heartbeat-${index}`;
    const sessChannel = `ha1-session-${index}`;
    const link: Link = {
      name,
      index,
      cfg,
      hbSealer: new Sealer({ key, sender: me, groupId, epoch: this.epoch, channel: hbChannel, encryption: this.cfg.shared.ha.encryption }),
      hbOpener: new Opener({ key, expectedSender: peerId, groupId, channel: hbChannel, maxBytes: HA1_MAX_MESSAGE_BYTES }),
      sessSealer: new Sealer({ key, sender: me, groupId, epoch: this.epoch, channel: sessChannel, encryption: this.cfg.shared.ha.encryption }),
      sessOpener: new Opener({ key, expectedSender: peerId, groupId, channel: sessChannel, maxBytes: HA1_SESSION_MAX_BYTES }),
      lastHeardMs: null,
      closedByPeerAtMs: null,
      peerSentNs: 0,
      peerRxMs: 0,
      rttMs: null,
      heartbeatUp: false,
      heartbeat: null as unknown as HeartbeatSocket,
      session: null,
    };
    const log = this.log.child({ link: name });
    link.heartbeat = new HeartbeatSocket({
      local: cfg.local,
      peer: cfg.peer,
      port: cfg.heartbeatPort,
      log,
      onDatagram: (msg) => this.onHeartbeatDatagram(link, msg),
      onForeign: () => this.reject('ha1-heartbeat', 'foreign-source'),
    });
    if (heartbeatOnlyChannel !== undefined) return link;
    link.session = new Ha1Session({
      link: name,
      local: cfg.local,
      peer: cfg.peer,
      port: cfg.port,
      role: me === 0 ? 'dial' : 'listen',
      maxFrameBytes: HA1_SESSION_MAX_BYTES,
      reconnectMs: Math.min(200, this.cfg.shared.ha.timers.helloIntervalMs),
      log,
      onFrame: (frame) => this.onSessionFrame(link, frame),
      onUp: () => this.onSessionUp(link),
      onDown: (byPeer, why) => this.onSessionDown(link, byPeer, why),
      onReject: (reason) => this.reject('ha1-session', reason),
      onStale: () => this.metrics.rejected('ha1-session', 'stale-link'),
      onSendRefused: () => this.metrics.rejected('ha1-session', 'send-backlog'),
    });
    return link;
  }

  async start(): Promise<void> {
    this.shared.setRole(ROLE_PASSIVE);
    this.metrics.setState(this.es.state);
    this.metrics.setPeerUp(false);
    for (const link of this.links) {
      await link.heartbeat.open();
      await link.session?.start();
      this.metrics.setLinkUp(link.name, 'heartbeat', false);
      if (link.session) this.metrics.setLinkUp(link.name, 'session', false);
    }
    this.lastTickMs = monotonicMs();
    this.dispatch({ type: 'start', now: this.lastTickMs });
    this.scheduleTick();
    // after 'start': a monitor that is down at boot is a fault of the election already running
    this.monitors = createMonitors({
      config: this.cfg,
      log: this.log,
      metrics: this.metrics,
      isActive: () => this.es.state === 'active',
      peerReportsHealthy: (reason, sinceMs) => {
        const h = this.peerHealthy;
        return this.peerAlive && h !== null && h.composedAfterMs >= sinceMs && h.groups.has(reason);
      },
      // the dataplane numbers interfaces by sorted logical name (engine.ts)
      captureOpen: (device) => {
        const names = Object.keys(this.cfg.device.interfaces).sort();
        const i = names.findIndex((n) => this.cfg.device.interfaces[n].device === device);
        return i < 0 || this.shared.captureOpen(i);
      },
      sink: {
        fault: (reason) => {
          if (!this.stopping) this.dispatch({ type: 'fault-add', now: monotonicMs(), reason });
        },
        clear: (reason) => {
          if (!this.stopping) this.dispatch({ type: 'fault-clear', now: monotonicMs(), reason });
        },
      },
    });
    await this.monitors.start();
    this.log.info(
      { deviceId: this.cfg.device.id, priority: this.cfg.device.priority, deadIntervalMs: this.deadIntervalMs, links: this.links.map((l) => l.name) },
      'control agent started',
    );
  }

  /** Clean shutdown: give up the role first, then tell the peer so it takes over at once. */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.monitors?.stop();
    if (this.tickTimer) clearTimeout(this.tickTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.shared.setRole(ROLE_PASSIVE);
    for (const link of this.links) this.sendSession(link, { kind: 'goodbye', goodbye: { reason: clipString(reason, REASON_MAX) } });
    await Promise.all(this.links.map(async (l) => l.session?.stop()));
    for (const link of this.links) link.heartbeat.close();
    this.log.info({ reason }, 'control agent stopped');
  }

  /** A new shared config was committed: monitor groups, targets and hold-ups follow it. */
  reconfigureMonitors(config: TandemConfig): void {
    this.monitors?.reconfigure(config);
  }

  // ---- operator commands (HaController) ----

  status(): HaStatus {
    const now = monotonicMs();
    const t = this.cfg.shared.ha.timers;
    const pv = this.peer.view;
    return {
      local: {
        id: this.cfg.device.id,
        name: this.cfg.device.name,
        state: this.es.state,
        reason: this.es.reason,
        since: this.sinceWall.toISOString(),
        priority: this.cfg.device.priority,
        preempt: this.cfg.shared.ha.preempt.enabled,
        faults: [...this.es.faults],
        uptimeS: Math.round((now - this.startedMs) / 1000),
      },
      peer: {
        id: 1 - this.cfg.device.id,
        up: this.peerAlive,
        name: this.peer.name,
        state: this.peerAlive && pv ? pv.state : null,
        reason: this.peerAlive ? this.peer.reason : null,
        priority: pv ? pv.priority : null,
        preempt: pv ? pv.preempt : null,
        lastHeardMsAgo: this.lastPeerHeardMs === null ? null : Math.round(now - this.lastPeerHeardMs),
      },
      mode: this.cfg.shared.ha.mode,
      groupId: this.cfg.shared.ha.groupId,
      timers: t,
      preemption: { enabled: this.cfg.shared.ha.preempt.enabled, holdMs: this.cfg.shared.ha.preempt.holdMs, suspended: this.es.preemptSuspended },
      sync: this.sync ? { tentative: this.tentative(), incomplete: this.incomplete(), ...(this.sync.status() as object) } : null,
      config: this.configSync?.status() ?? null,
      monitors: this.monitors?.status() ?? null,
      links: this.links.map((l) => ({
        name: l.name,
        local: l.cfg.local,
        peer: l.cfg.peer,
        heartbeatUp: this.linkAlive(l, now),
        sessionUp: l.session?.up ?? false,
        heartbeatOnly: l.session === null,
        lastHeardMsAgo: l.lastHeardMs === null ? null : Math.round(now - l.lastHeardMs),
        rttMs: l.rttMs,
      })),
      transitions: [...this.transitions],
    };
  }

  /**
   * A new shared half was committed here or pushed by the peer: timers, preemption and monitors
   * change in place. The next tick uses the new heartbeat interval; the dead interval follows it.
   */
  applySharedConfig(shared: SharedConfig): void {
    const encryptionWas = this.cfg.shared.ha.encryption;
    this.cfg = { ...this.cfg, shared };
    if (shared.ha.encryption !== encryptionWas) {
      this.applyEncryption(shared.ha.encryption);
      this.log.info({ from: encryptionWas, to: shared.ha.encryption }, `HA link encryption: ${encryptionWas} -> ${shared.ha.encryption}`);
    }
    const t = shared.ha.timers;
    this.deadIntervalMs = t.heartbeatIntervalMs * t.heartbeatMissed;
    this.es = {
      ...this.es,
      config: {
        ...this.es.config,
        preempt: shared.ha.preempt.enabled,
        initialWaitMs: t.initialWaitMs,
        promotionHoldMs: t.promotionHoldMs,
        preemptHoldMs: shared.ha.preempt.holdMs,
        flapMax: t.flapMax,
        degradedHandOverMs: t.additionalActiveHoldUpMs,
      },
    };
    this.reconfigureMonitors(this.cfg);
    this.log.info({ timers: t, preempt: shared.ha.preempt }, 'shared config applied to the control agent');
  }

  suspend(): Promise<string> {
    return this.command({ type: 'operator-suspend', now: monotonicMs() });
  }

  functional(): Promise<string> {
    return this.command({ type: 'operator-functional', now: monotonicMs() });
  }

  /** A planned failover: let the peer's copy of the sessions catch up first, then hand over. */
  async failover(): Promise<string> {
    // the take-over request travels on an HA1 session: without one the peer would never hear it
    // and we would hand the role to nobody (the heartbeat backup carries no commands)
    if (this.es.state === 'active' && this.peerAlive && !this.links.some((l) => l.session?.up)) {
      throw new CommandRefused('HA1 is down (no session on any HA1 link): the peer cannot be asked to take over');
    }
    const start = monotonicMs();
    while (this.sync && this.es.state === 'active' && syncBacklog(this.sync) > 0 && monotonicMs() - start < FAILOVER_DRAIN_MAX_MS) {
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.command({ type: 'operator-failover', now: monotonicMs() });
  }

  private async command(event: ElectionEvent): Promise<string> {
    const before = this.es.state;
    this.refusal = null;
    this.dispatch(event);
    if (this.refusal !== null) throw new CommandRefused(this.refusal);
    const after = this.es.state;
    return before === after ? `state unchanged: ${after} (${this.es.reason})` : `${before} -> ${after} (${this.es.reason})`;
  }

  // ---- the election machine and its actions ----

  private dispatch(event: ElectionEvent): void {
    const { state, actions } = step(this.es, event);
    this.es = state;
    for (const a of actions) this.act(a, event.now);
  }

  private act(a: ElectionAction, now: number): void {
    switch (a.type) {
      case 'transition':
        this.onTransition(a.from, a.to, a.reason, now);
        return;
      case 'arm-timer': {
        const old = this.timers.get(a.name);
        if (old) clearTimeout(old);
        this.timers.set(
          a.name,
          setTimeout(() => {
            this.timers.delete(a.name);
            this.dispatch({ type: 'timer', now: monotonicMs(), name: a.name });
          }, a.ms),
        );
        return;
      }
      case 'cancel-timer': {
        const t = this.timers.get(a.name);
        if (t) clearTimeout(t);
        this.timers.delete(a.name);
        return;
      }
      case 'send-state':
        for (const link of this.links) {
          this.sendSession(link, { kind: 'stateUpdate', stateUpdate: { state: this.es.state, reason: clipString(this.es.reason, REASON_MAX) } });
          this.sendHeartbeat(link, now);
        }
        return;
      case 'send-take-over':
        for (const link of this.links) {
          this.sendSession(link, { kind: 'command', command: { type: 'take-over', reason: clipString(a.reason, REASON_MAX), id: Date.now() } });
        }
        return;
      case 'announce':
        this.shared.requestGarp();
        return;
      case 'refused':
        this.refusal = a.reason;
        return;
      case 'invalid-transition':
        this.log.warn({ state: a.state, event: a.event }, 'election: event not handled in this state');
        return;
      default: {
        const never: never = a;
        throw new Error(`unknown election action ${JSON.stringify(never)}`);
      }
    }
  }

  /** The one place a state change takes effect: dataplane role first, then logs and metrics. */
  private onTransition(from: HaState, to: HaState, reason: string, now: number): void {
    if (this.handoverUntilMs > 0) this.endHandover('superseded by another transition');
    if (to === 'active') {
      // the election made us active: no stall hold from before stands in the way
      this.leaseHeldUntilMs = 0;
      this.awaitPeerYield = false;
      this.shared.renewLease(now + this.deadIntervalMs);
      this.shared.setRole(ROLE_ACTIVE);
    } else if (from === 'active') {
      if (to === 'passive' && HANDOVER_REASONS.has(reason) && this.peerAlive) {
        // A planned hand-over: keep forwarding until the peer has taken the role and announced
        // it, so that no frame arrives at a box that no longer forwards (a hitless failover).
        this.handoverUntilMs = now + HANDOVER_MAX_MS;
        this.shared.setHandingOver(true);
      } else {
        this.shared.setRole(ROLE_PASSIVE);
      }
    }
    if (this.sync) {
      if (to === 'passive') this.bulkDone = false;
      // while handing over we still forward with our own table: it is cleared (receiver) after
      if (this.handoverUntilMs === 0) this.sync.setRole(to === 'active' ? 'sender' : to === 'passive' ? 'receiver' : 'idle');
    }
    this.sinceWall = new Date();
    this.transitions.push({ at: this.sinceWall.toISOString(), from, to, reason });
    if (this.transitions.length > TRANSITION_HISTORY) this.transitions.shift();
    this.metrics.transition(from, to, reason);
    if (to === 'active') {
      const durationS = this.lastPeerHeardMs === null || this.peerAlive ? 0 : (now - this.lastPeerHeardMs) / 1000;
      this.metrics.failover(reason, durationS);
    }
    this.log.info({ event: 'ha-transition', from, to, reason }, `${from} -> ${to} (reason=${reason})`);
  }

  // ---- timers ----

  /**
   * The tick runs in the check phase (setImmediate), after the event loop has read what waits on
   * our sockets. Run straight from the timer, it came first: after a stall of a little less than
   * the dead interval (a box starting up, a GC), the peer's heartbeats sat unread in the socket
   * while the tick found nothing heard for longer than the dead interval and declared a live
   * peer dead. A restarted passive took the role that way and lost the active's traffic.
   */
  private scheduleTick(): void {
    if (this.stopping) return;
    const interval = this.cfg.shared.ha.timers.heartbeatIntervalMs;
    this.tickTimer = setTimeout(() => setImmediate(() => this.tick()), interval);
  }

  private tick(): void {
    // a tick queued (setImmediate) before stop() cleared the timer
    if (this.stopping) return;
    const now = monotonicMs();
    this.checkFrozen(now);
    this.lastTickMs = now;
    for (const link of this.links) this.sendHeartbeat(link, now);
    this.evaluatePeer(now);
    // nobody answered within a dead interval of the stall: the peer is not there to have taken over
    if (this.leaseHeldUntilMs > 0 && now >= this.leaseHeldUntilMs) this.releaseLease('no fresh word from the peer within the dead interval');
    const held = this.leaseHeldUntilMs > 0;
    if (this.es.state === 'active') {
      if (!held) this.shared.renewLease(now + this.deadIntervalMs);
    } else if (this.handoverUntilMs > 0) {
      const announced = this.shared.peerAnnouncedAtMs;
      if (announced > 0 && now >= announced + HANDOVER_TAIL_MS) this.endHandover('the peer announced the floating IPs on every interface');
      else if (now >= this.handoverUntilMs) this.endHandover('no announcement from the peer seen in time');
      else if (!held) this.shared.renewLease(now + this.deadIntervalMs);
    }
    if (now >= this.nextHelloMs) {
      this.nextHelloMs = now + this.cfg.shared.ha.timers.helloIntervalMs;
      for (const link of this.links) this.sendHello(link);
    }
    this.scheduleTick();
  }

  /**
   * A gap longer than the dead interval since our last tick means this process was frozen
   * (SIGSTOP, VM pause, a very long GC): the peer may have taken over meanwhile. The lease has
   * already run out, so the dataplane is silent; the machine now waits to hear the peer.
   */
  private checkFrozen(now: number): void {
    const gapMs = now - this.lastTickMs;
    if (this.lastTickMs > 0 && gapMs > this.deadIntervalMs && gapMs <= STALL_MAX_DEAD_INTERVALS * this.deadIntervalMs) {
      // A stall just past the dead interval: the peer may or may not have declared us dead (it
      // depends on where its ticks fell). Dropping to initial would move the role whenever it did
      // not (a 21 ms GC pause did exactly that in the lab). Instead keep the role, keep the lease
      // lapsed so the dataplane stays silent, and believe nothing queued meanwhile; the next fresh
      // heartbeat tells: a peer still passive means nothing happened, a peer that took over is
      // settled by the split-brain rule (the better box keeps the role).
      this.lastTickMs = now;
      this.freshAfterNs = Math.round(now * 1e6);
      this.leaseHeldUntilMs = now + this.deadIntervalMs;
      // the peer gets a whole dead interval to be heard fresh before it is declared dead
      for (const link of this.links) if (link.lastHeardMs !== null) link.lastHeardMs = now;
      this.metrics.controlStall('short');
      this.log.warn({ gapMs: Math.round(gapMs), state: this.es.state }, 'control thread stalled past the dead interval; dataplane held until the peer is heard fresh');
      return;
    }
    if (this.lastTickMs > 0 && gapMs > this.deadIntervalMs) {
      this.lastTickMs = now;
      this.leaseHeldUntilMs = 0;
      this.awaitPeerYield = false;
      this.metrics.controlStall('frozen');
      this.log.warn({ gapMs: Math.round(gapMs) }, 'control agent was frozen; waiting to hear the peer');
      this.peerAlive = false;
      this.configSync?.onPeerDown();
      this.peer.view = null;
      this.metrics.setPeerUp(false);
      for (const link of this.links) link.lastHeardMs = null;
      this.freshAfterNs = Math.round(now * 1e6);
      this.dispatch({ type: 'frozen', now, gapMs: Math.round(gapMs) });
    }
  }

  private releaseLease(why: string): void {
    this.leaseHeldUntilMs = 0;
    this.awaitPeerYield = false;
    // The peer may have taken over during the stall and yielded already (its heartbeats queued
    // meanwhile are not believed): its gratuitous ARP moved the switches to it, so announce again
    // or the traffic goes to a passive box until the next failover (the chaos run's blackholes).
    if (this.es.state === 'active') this.shared.requestGarp();
    this.log.info({ why, state: this.es.state }, 'after the stall: dataplane lease renewed again');
  }

  // ---- peer liveness ----

  private linkAlive(link: Link, now: number): boolean {
    return linkHears(link, now, this.deadIntervalMs);
  }

  /**
   * The peer is dead only when no link hears it, or when its kernel closed every open HA1 session
   * and nothing was heard since (src/control/ha1/liveness.ts): split-brain protection. One link
   * losing the peer is a warning, never a failover.
   */
  private evaluatePeer(now: number): void {
    const lost: Link[] = [];
    for (const link of this.links) {
      const alive = this.linkAlive(link, now);
      if (alive === link.heartbeatUp) continue;
      link.heartbeatUp = alive;
      this.metrics.setLinkUp(link.name, 'heartbeat', alive);
      if (alive) {
        // the connection that lived through the outage may hold old messages: use a fresh one
        link.session?.refresh();
        this.log.info({ event: 'ha1-link-up', link: link.name }, `HA1 link ${link.name} hears the peer`);
      } else {
        link.session?.markStale();
        if (link.session) this.metrics.setLinkUp(link.name, 'session', false);
        lost.push(link);
      }
    }
    const verdict = peerVerdict(
      this.links.map((l) => ({ lastHeardMs: l.lastHeardMs, closedByPeerAtMs: l.closedByPeerAtMs, sessionOpen: l.session?.up ?? false })),
      now,
      this.deadIntervalMs,
    );
    if (this.peerAlive && verdict.alive) {
      const heardOn = this.links.filter((l) => l.heartbeatUp).map((l) => l.name);
      for (const link of lost) {
        this.log.warn(
          { event: 'ha1-link-lost', link: link.name, closedByPeer: link.closedByPeerAtMs !== null, heardOn },
          `HA1 link ${link.name} lost the peer (still heard on ${heardOn.join(', ')})`,
        );
      }
    }
    this.checkHa1Down(now);
    if (this.peerAlive && !verdict.alive) {
      this.peerAlive = false;
      this.configSync?.onPeerDown();
      this.peer.view = null;
      this.metrics.setPeerUp(false);
      const cause = verdict.cause;
      this.log.warn({ cause, lastHeardMsAgo: this.lastPeerHeardMs === null ? null : Math.round(now - this.lastPeerHeardMs) }, 'peer is dead');
      this.dispatch({ type: 'peer-dead', now, cause });
    }
  }

  /**
   * Only the heartbeat backup hears the peer: both boxes still know each other's state, so no
   * split brain, but hellos, commands and config sync (TCP on HA1) cannot reach the peer.
   */
  private checkHa1Down(now: number): void {
    const ha1Hears = this.links.some((l) => l.session !== null && l.heartbeatUp);
    const onlyBackup = !ha1Hears && this.links.some((l) => l.session === null && l.heartbeatUp);
    if (!onlyBackup) {
      this.onlyHeartbeatBackupSinceMs = null;
      if (this.onlyHeartbeatBackup && ha1Hears) {
        this.onlyHeartbeatBackup = false;
        this.log.info({ event: 'ha1-up' }, 'HA1 hears the peer again');
      }
      return;
    }
    // for a dead interval first: at start-up the backup's first heartbeat may simply beat HA1's
    this.onlyHeartbeatBackupSinceMs ??= now;
    if (!this.onlyHeartbeatBackup && now - this.onlyHeartbeatBackupSinceMs >= this.deadIntervalMs) {
      this.onlyHeartbeatBackup = true;
      this.log.warn(
        { event: 'ha1-down', link: HEARTBEAT_BACKUP_LINK },
        'HA1 is down on every link; the peer is heard only on the heartbeat backup: states are exchanged by heartbeat (no split brain), but config sync and commands are unavailable',
      );
    }
  }

  private heard(link: Link, now: number, view: PeerView | null): void {
    link.lastHeardMs = now;
    link.closedByPeerAtMs = null;
    this.lastPeerHeardMs = now;
    if (!link.heartbeatUp) this.evaluatePeer(now);
    if (!this.peerAlive) {
      this.peerAlive = true;
      this.configSync?.onPeerUp();
      this.metrics.setPeerUp(true);
      this.log.info({ link: link.name }, 'peer is up');
    }
    if (view) {
      this.peer.view = view;
      if (!this.tableComplete && this.es.state === 'active' && view.state === 'passive') this.markTableComplete('active with the peer passive');
      this.dispatch({ type: 'peer-heard', now, peer: view, selfIncomplete: this.incomplete() });
    }
  }

  private endHandover(why: string): void {
    this.handoverUntilMs = 0;
    this.shared.setHandingOver(false);
    if (this.es.state !== 'active') {
      this.shared.setRole(ROLE_PASSIVE);
      this.sync?.setRole(this.es.state === 'passive' ? 'receiver' : 'idle');
    }
    this.log.info({ why }, 'hand-over finished: dataplane stops forwarding');
  }

  // ---- inbound ----

  private onHeartbeatDatagram(link: Link, msg: Buffer): void {
    const now = monotonicMs();
    this.checkFrozen(now);
    const r = link.hbOpener.open(msg);
    if (!r.ok) return this.reject('ha1-heartbeat', r.reason);
    const body = r.envelope.body;
    if (body.kind !== 'heartbeat') return this.reject('ha1-heartbeat', 'unexpected-type');
    this.metrics.message('ha1-heartbeat', 'rx', 'heartbeat');
    const hb = body.heartbeat;
    // sent before an outage and released when the cable came back (src/control/ha1/freshness.ts)
    const age = this.heartbeatAge.judge(r.envelope.epoch, hb.sentNs, this.deadIntervalMs * 1e6);
    if (age === 'stale') return this.metrics.rejected('ha1-heartbeat', 'stale-link');
    link.peerSentNs = hb.sentNs;
    link.peerRxMs = now;
    if (this.freshAfterNs > 0) {
      if (hb.echoNs < this.freshAfterNs) return this.stale('ha1-heartbeat');
      this.freshAfterNs = 0;
      if (this.leaseHeldUntilMs > 0 && hb.state === 'active' && this.es.state === 'active') {
        this.awaitPeerYield = true;
        this.log.warn({ link: link.name }, 'after the stall: the peer took over meanwhile; dataplane held until one of us yields');
      } else if (this.leaseHeldUntilMs > 0) this.releaseLease(`heard the peer fresh on ${link.name}`);
      else this.log.info({ link: link.name }, 'heard the peer again after the freeze');
    }
    if (this.awaitPeerYield && age !== 'late') {
      if (hb.state !== 'active' || this.es.state !== 'active') this.releaseLease(`the peer is ${hb.state}`);
      // every heartbeat of a peer still active keeps the hold; a peer gone silent releases it (tick)
      else this.leaseHeldUntilMs = now + this.deadIntervalMs;
    }
    if (hb.echoNs > 0) {
      const rttMs = now - hb.echoNs / 1e6 - hb.echoDelayNs / 1e6;
      if (rttMs >= 0 && rttMs < 60_000) {
        link.rttMs = Math.round(rttMs * 1000) / 1000;
        this.metrics.heartbeatRtt(link.name, rttMs / 1000);
      }
    }
    if (age !== 'late') this.peerHealthy = { groups: new Set(hb.healthyGroups ?? []), composedAfterMs: hb.echoNs / 1e6 };
    // a late one proves the link works, but its state is no newer than what we already know
    this.heard(
      link,
      now,
      age === 'late'
        ? null
        : { deviceId: r.envelope.sender, state: hb.state, priority: hb.priority, preempt: hb.preempt, tentative: hb.tentative, incomplete: hb.incomplete === true },
    );
    if (age !== 'late') this.monitors?.peerReported();
  }

  private onSessionFrame(link: Link, frame: Buffer): void {
    const now = monotonicMs();
    this.checkFrozen(now);
    const r = link.sessOpener.open(frame);
    if (!r.ok) return this.reject('ha1-session', r.reason);
    this.onSessionMessage(link, r.envelope, now);
  }

  private onSessionMessage(link: Link, env: Envelope, now: number): void {
    const body = env.body;
    this.metrics.message('ha1-session', 'rx', body.kind);
    // Queued while we were frozen: stale until a fresh heartbeat proves the peer heard us again.
    if (this.freshAfterNs > 0) return this.stale('ha1-session');
    switch (body.kind) {
      case 'hello': {
        const h = body.hello;
        this.peer.name = h.name;
        this.peer.reason = h.stateReason;
        if (h.groupId !== this.cfg.shared.ha.groupId || h.mode !== this.cfg.shared.ha.mode) {
          this.log.warn({ peerGroup: h.groupId, peerMode: h.mode }, 'peer hello: group or mode differs from ours');
        }
        this.heard(link, now, { deviceId: env.sender, state: h.state, priority: h.priority, preempt: h.preempt, tentative: false, incomplete: this.peer.view?.incomplete ?? false });
        this.configSync?.onPeerHello(h.configVersion, h.configHash, now);
        return;
      }
      case 'stateUpdate': {
        const s = body.stateUpdate;
        this.peer.reason = s.reason;
        const prev = this.peer.view;
        this.heard(link, now, {
          deviceId: env.sender,
          state: s.state,
          priority: prev?.priority ?? 255,
          preempt: prev?.preempt ?? false,
          tentative: prev?.tentative ?? false,
          incomplete: prev?.incomplete ?? false,
        });
        return;
      }
      case 'command': {
        this.heard(link, now, null);
        if (body.command.type === 'take-over') {
          this.log.info({ reason: body.command.reason }, 'peer asks us to take over');
          this.dispatch({ type: 'peer-take-over', now, reason: body.command.reason });
        }
        return;
      }
      case 'goodbye': {
        this.log.info({ reason: body.goodbye.reason }, 'peer said goodbye');
        for (const l of this.links) {
          l.closedByPeerAtMs = now;
        }
        if (this.peerAlive) {
          this.peerAlive = false;
          this.configSync?.onPeerDown();
          this.peer.view = null;
          this.metrics.setPeerUp(false);
          this.dispatch({ type: 'peer-dead', now, cause: 'goodbye' });
        }
        return;
      }
      case 'configPush':
      case 'configAck':
      case 'configRequest':
        this.heard(link, now, null);
        if (!this.configSync) return this.reject('ha1-session', 'config-sync-off');
        this.configSync.onMessage(body, now);
        return;
      case 'heartbeat':
        this.reject('ha1-session', 'unexpected-type');
        return;
      default: {
        const never: never = body;
        this.reject('ha1-session', `unknown-body-${String((never as { kind?: string }).kind)}`);
      }
    }
  }

  private onSessionUp(link: Link): void {
    this.metrics.setLinkUp(link.name, 'session', link.session?.up ?? false);
    this.log.info({ link: link.name }, 'HA1 session up');
    this.configSync?.onPeerUp();
    this.sendHello(link);
  }

  private onSessionDown(link: Link, closedByPeer: boolean, why: string): void {
    this.metrics.setLinkUp(link.name, 'session', false);
    this.log.info({ link: link.name, closedByPeer, why }, 'HA1 session down');
    if (closedByPeer && !this.stopping) {
      const now = monotonicMs();
      link.closedByPeerAtMs = now;
      this.evaluatePeer(now);
    }
  }

  /** Not an attack, not an error: a message older than our wake-up, dropped and counted. */
  private stale(channel: string): void {
    this.metrics.rejected(channel, 'stale-after-freeze');
  }

  /**
   * Counted always, logged at most once a second per channel and reason: a link coming back
   * releases a burst of queued heartbeats the replay window refuses, and an attack would flood.
   */
  private reject(channel: string, reason: string): void {
    this.metrics.rejected(channel, reason);
    const key = `${channel}/${reason}`;
    const now = monotonicMs();
    const last = this.rejectLogs.get(key);
    if (last && now - last.atMs < REJECT_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.rejectLogs.set(key, { atMs: now, suppressed: 0 });
    this.log.warn({ channel, reason, suppressed: last?.suppressed ?? 0 }, 'HA message rejected');
  }

  // ---- outbound ----

  private sendHeartbeat(link: Link, now: number): void {
    const nowNs = Math.round(now * 1e6);
    const echoDelayNs = link.peerSentNs > 0 ? Math.max(0, Math.round((now - link.peerRxMs) * 1e6)) : 0;
    const datagram = link.hbSealer.seal({
      kind: 'heartbeat',
      heartbeat: {
        state: this.es.state,
        priority: this.cfg.device.priority,
        preempt: this.cfg.shared.ha.preempt.enabled,
        sentNs: nowNs,
        echoNs: link.peerSentNs,
        echoDelayNs,
        link: link.index,
        tentative: this.tentative(),
        healthyGroups: this.monitors?.healthyGroups() ?? [],
        incomplete: this.incomplete(),
      },
    });
    link.heartbeat.send(datagram);
    this.metrics.message('ha1-heartbeat', 'tx', 'heartbeat');
  }

  /**
   * Still electing, or passive without the peer's full session table yet: the peer must not hand
   * us the role by preemption (an empty table would drop every established connection).
   */
  tentative(): boolean {
    return this.es.state === 'initial' || (this.sync !== null && this.es.state === 'passive' && !this.bulkDone);
  }

  /** Our table may lack the pair's sessions (see tableComplete); never without HA2. */
  incomplete(): boolean {
    return this.sync !== null && !this.tableComplete;
  }

  private markTableComplete(why: string): void {
    this.tableComplete = true;
    this.log.info({ why }, 'session table complete: this box may now win the role over its peer');
  }

  /** The peer's bulk dump has fully arrived (called by the sync channel). */
  bulkComplete(sessions: number): void {
    if (!this.bulkDone) this.log.info({ sessions }, 'session table in sync with the peer (bulk complete)');
    this.bulkDone = true;
    if (!this.tableComplete) this.markTableComplete('bulk sync complete');
  }

  private sendHello(link: Link): void {
    const t = this.cfg.shared.ha.timers;
    this.sendSession(link, {
      kind: 'hello',
      hello: {
        name: this.cfg.device.name,
        priority: this.cfg.device.priority,
        preempt: this.cfg.shared.ha.preempt.enabled,
        state: this.es.state,
        stateReason: clipString(this.es.reason, REASON_MAX),
        softwareVersion: SOFTWARE_VERSION,
        groupId: this.cfg.shared.ha.groupId,
        mode: this.cfg.shared.ha.mode,
        heartbeatIntervalMs: t.heartbeatIntervalMs,
        heartbeatMissed: t.heartbeatMissed,
        configVersion: this.configSync?.version ?? 0,
        configHash: this.configSync?.hash ?? '',
        uptimeMs: Math.round(monotonicMs() - this.startedMs),
      },
    });
  }

  private sendSession(link: Link, body: EnvelopeBody): boolean {
    if (!link.session?.up) return false;
    if (!link.session.send(link.sessSealer.seal(body))) return false;
    this.metrics.message('ha1-session', 'tx', body.kind);
    return true;
  }
}

/** Records not yet acknowledged by the peer, from the sync channel's status. */
function syncBacklog(sync: SyncHandle): number {
  const b = (sync.status() as { backlog?: unknown }).backlog;
  return typeof b === 'number' ? b : 0;
}
