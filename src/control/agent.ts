// The control agent: the driver around the pure HA core (core/step.ts, which drives the election
// machine). It owns the HA1 sockets, the real timers and the clock, turns what it hears into core
// events, and carries out the core's actions: the dataplane's role and lease, state updates and
// commands to the peer, gratuitous ARP, the HA2 sync role, logs and metrics. It runs in the
// daemon's control worker thread; the dataplane has the main thread (where `cap` must run), so a
// saturated packet path cannot delay a heartbeat.
import { SerialFeed } from './serial-feed.js';
import type { SharedConfig, TandemConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import { monotonicMs } from '../clock.js';
import { ROLE_PASSIVE, type SharedState } from '../wire/shared-state.js';
import type { TimerName } from './election/types.js';
import { captureOpenOf, reconfigureEventOf, startingCore } from './agent-config.js';
import { deliverToConfigSync, heartbeatFieldsOf, noteRtt, PeerHealthReport, sessionMessageOf } from './agent-messages.js';
import { CommandRefused, type HaController, type HaStatus } from './status.js';
import type { ConfigSync } from './config-sync.js';
import { createMonitors, type Monitors } from './monitor/monitors.js';
import { HeartbeatFreshness } from './ha1/freshness.js';
import { buildLinks, closeLinks, openLinks, RejectLog, sessionsOpen, switchEncryption, type Link } from './agent-links.js';
import { Outbox } from './agent-outbox.js';
import { renderStatus, TransitionHistory } from './agent-status.js';
import { applyEffect, drainSyncBacklog, waitPeerInSync, type EffectTargets, type SyncHandle } from './agent-effects.js';
import { commandAnswer, failoverRefusal, peerSyncing, step } from './core/step.js';
import type { CoreAction, CoreEvent, CoreState } from './core/types.js';
import { forwardsIn } from './core/pair-view.js';

/** How long an orderly end of the pair leaves the dataplane to send its last router advertisements. */
const RETIRE_GRACE_MS = 50;
export type { SyncHandle } from './agent-effects.js';

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
  private readonly links: Link[];
  private readonly epoch = Date.now();
  private readonly startedMs = monotonicMs();
  private core: CoreState;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly history = new TransitionHistory();
  private stopping = false;
  private readonly sync: SyncHandle | null;
  private readonly heartbeatAge = new HeartbeatFreshness();
  private readonly rejects: RejectLog;
  private readonly configSync: ConfigSync | null;
  /** Link and path monitoring (docs/monitors.md): faults in, fault-add/fault-clear out. */
  private monitors: Monitors | null = null;
  /** What the peer's latest believed heartbeat vouched for (the monitors ask). */
  private readonly peerHealth = new PeerHealthReport();
  private readonly effects: EffectTargets;
  private readonly outbox: Outbox;

  constructor(opts: ControlAgentOptions) {
    this.cfg = opts.config;
    this.log = opts.log.child({ component: 'control' });
    this.rejects = new RejectLog(opts.metrics, this.log);
    this.metrics = opts.metrics;
    this.shared = opts.shared;
    this.sync = opts.sync ?? null;
    this.configSync = opts.configSync ?? null;
    this.configSync?.attach({
      view: () => ({ state: this.core.election.state, peerUp: this.core.peer.alive, peerName: this.core.peer.name }),
      send: (body) => this.outbox.configMessage(body),
      announce: () => this.outbox.hellos(),
    });
    this.links = buildLinks(this.cfg, opts.key, this.epoch, this.log, {
      onDatagram: (link, msg) => this.onHeartbeatDatagram(link, msg),
      onFrame: (link, frame) => this.onSessionFrame(link, frame),
      onUp: (link) => this.onSessionUp(link),
      onDown: (link, byPeer, why) => this.onSessionDown(link, byPeer, why),
      onReject: (channel, reason) => this.reject(channel, reason),
      onCount: (channel, reason) => this.metrics.rejected(channel, reason),
    });
    this.core = startingCore(this.cfg, this.links, this.sync !== null);
    this.effects = {
      shared: this.shared,
      sync: this.sync,
      configSync: this.configSync,
      metrics: this.metrics,
      links: this.links,
      log: this.log,
      history: this.history,
      // a restart applies a new mode (dataplane/apply.ts restartRequired)
      activeActive: this.cfg.shared.ha.mode === 'active-active',
    };
    this.outbox = new Outbox(this.links, this.metrics, {
      cfg: () => this.cfg,
      core: () => this.core,
      healthyGroups: () => this.monitors?.healthyGroups() ?? [],
      config: () => ({ version: this.configSync?.version ?? 0, hash: this.configSync?.hash ?? '' }),
      uptimeMs: () => monotonicMs() - this.startedMs,
    });
    // the HA2 channel is built before the agent; its format is HA config, applied here like ours
    this.sync?.setEncryption?.(this.cfg.shared.ha.encryption);
  }

  async start(): Promise<void> {
    this.shared.setRole(ROLE_PASSIVE);
    this.metrics.setState(this.core.election.state);
    this.metrics.setPeerUp(false);
    await openLinks(this.links, this.metrics);
    this.feed({ type: 'start', now: monotonicMs() });
    this.scheduleTick();
    // after 'start': a monitor that is down at boot is a fault of the election already running
    this.monitors = createMonitors({
      config: this.cfg,
      log: this.log,
      metrics: this.metrics,
      isActive: () => this.core.election.state === 'active',
      peerReportsHealthy: (reason, sinceMs) => this.core.peer.alive && this.peerHealth.vouches(reason, sinceMs),
      captureOpen: (device) => captureOpenOf(this.cfg, this.shared, device),
      sink: {
        fault: (reason) => this.monitorEvent('fault-add', reason),
        clear: (reason) => this.monitorEvent('fault-clear', reason),
      },
    });
    await this.monitors.start();
    this.log.info(
      {
        deviceId: this.cfg.device.id,
        priority: this.cfg.device.priority,
        deadIntervalMs: this.core.config.deadIntervalMs,
        links: this.links.map((l) => l.name),
      },
      'control agent started',
    );
  }

  private monitorEvent(type: 'fault-add' | 'fault-clear', reason: string): void {
    if (!this.stopping) this.feed({ type, now: monotonicMs(), reason });
  }

  /** Clean shutdown: give up the role first, then tell the peer so it takes over at once. */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.monitors?.stop();
    if (this.tickTimer) clearTimeout(this.tickTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    // the whole pair ends when the active stops and no passive peer takes over: hosts are told to
    // forget the pair as their router (IPv6 RAs with lifetime 0); a failover never says so
    if (this.endsThePair()) {
      this.shared.setRetiring();
      // the dataplane sends them on its next tick, while the role still lets virtual-MAC frames out
      await new Promise((resolve) => setTimeout(resolve, RETIRE_GRACE_MS));
    }
    this.shared.setRole(ROLE_PASSIVE);
    this.outbox.goodbye(reason);
    await closeLinks(this.links);
    this.log.info({ reason }, 'control agent stopped');
  }

  /**
   * This box forwards and no peer will take over when it stops: a passive (active/passive), or in
   * active/active a peer that forwards too (the primary or the secondary).
   */
  private endsThePair(): boolean {
    const aa = this.core.config.activeActive;
    if (!forwardsIn(this.core.election.state, aa)) return false;
    const peer = this.core.peer.alive ? this.core.peer.view?.state : undefined;
    return !(peer === 'passive' || (aa && peer === 'active'));
  }

  /** A new shared config was committed: monitor groups, targets and hold-ups follow it. */
  reconfigureMonitors(config: TandemConfig): void {
    this.monitors?.reconfigure(config);
  }

  status(): HaStatus {
    return renderStatus({
      now: monotonicMs(),
      cfg: this.cfg,
      core: this.core,
      links: this.links,
      startedMs: this.startedMs,
      history: this.history,
      sync: this.sync ? { status: this.sync.status() } : null,
      config: this.configSync?.status() ?? null,
      monitors: this.monitors?.status() ?? null,
    });
  }

  /**
   * A new shared half was committed here or pushed by the peer: timers, preemption and monitors
   * change in place. The next tick uses the new heartbeat interval; the dead interval follows it.
   */
  applySharedConfig(shared: SharedConfig): void {
    const ha2 = this.sync?.setEncryption?.bind(this.sync);
    switchEncryption(this.links, ha2, this.cfg.shared.ha.encryption, shared.ha.encryption, this.log);
    this.cfg = { ...this.cfg, shared };
    this.feed(reconfigureEventOf(this.cfg, monotonicMs()));
    this.reconfigureMonitors(this.cfg);
    this.log.info({ timers: shared.ha.timers, preempt: shared.ha.preempt }, 'shared config applied to the control agent');
  }

  // ---- operator commands (HaController) ----

  suspend(): Promise<string> {
    return this.command({ type: 'operator-suspend', now: monotonicMs() });
  }

  functional(): Promise<string> {
    return this.command({ type: 'operator-functional', now: monotonicMs() });
  }

  /** A planned failover: let the peer's copy of the sessions catch up first, then hand over. */
  async failover(): Promise<string> {
    const refusal = failoverRefusal(this.core, sessionsOpen(this.links));
    if (refusal !== null) throw new CommandRefused(refusal);
    await waitPeerInSync(() => peerSyncing(this.core), monotonicMs);
    await drainSyncBacklog(this.sync, () => this.core.election.state === 'active', monotonicMs);
    return this.command({ type: 'operator-failover', now: monotonicMs() });
  }

  private async command(event: CoreEvent): Promise<string> {
    const before = this.core.election.state;
    const refused = this.feed(event).find((a) => a.type === 'refused');
    if (refused) throw new CommandRefused(refused.reason);
    return commandAnswer(before, this.core.election, this.core.config.activeActive);
  }

  /** The peer's bulk dump has fully arrived (called by the sync channel). */
  bulkComplete(sessions: number): void {
    this.feed({ type: 'bulk-complete', now: monotonicMs(), sessions });
  }

  /** HA2 lost part of the copy of the peer's table: a resync has begun. */
  bulkIncomplete(reason: string): void {
    this.feed({ type: 'bulk-incomplete', now: monotonicMs(), reason });
  }

  // ---- the core and its actions ----

  private feed(event: CoreEvent): readonly CoreAction[] {
    return this.feeder.feed(event);
  }

  /** The core's events in order, never one inside another's actions (serial-feed.ts). */
  private readonly feeder = new SerialFeed<CoreEvent, CoreAction>(
    (event) => {
      const { core, actions } = step(this.core, event);
      this.core = core;
      return actions;
    },
    (a, event) => this.act(a, event.now),
  );

  private act(a: CoreAction, now: number): void {
    switch (a.type) {
      case 'arm-timer':
        return this.arm(a.name, a.ms);
      case 'cancel-timer':
        clearTimeout(this.timers.get(a.name));
        this.timers.delete(a.name);
        return;
      case 'send-state':
      case 'send-heartbeats':
      case 'send-hellos':
      case 'send-take-over':
        return this.outbox.send(a, now);
      case 'refused': // the operator command's answer (see command)
        return;
      default:
        return applyEffect(a, this.effects);
    }
  }

  /**
   * An election timer fires after the event loop has read the sockets, like the tick (see
   * scheduleTick): an initial wait that ran out behind a start-up stall must not elect us while
   * the peer's heartbeats wait unread. Cancelled or re-armed meanwhile: it does not fire.
   */
  private arm(name: TimerName, ms: number): void {
    clearTimeout(this.timers.get(name));
    const handle = setTimeout(() => {
      setImmediate(() => {
        if (this.stopping || this.timers.get(name) !== handle) return;
        this.timers.delete(name);
        this.feed({ type: 'timer', now: monotonicMs(), name });
      });
    }, ms);
    this.timers.set(name, handle);
  }

  /**
   * The tick runs in the check phase (setImmediate), after the event loop has read what waits on
   * our sockets. Run straight from the timer, it came first: after a stall of a little less than
   * the dead interval (a box starting up, a GC), the peer's heartbeats sat unread in the socket
   * while the tick found nothing heard for longer than the dead interval and declared a live
   * peer dead. A restarted passive took the role that way and lost the active's traffic.
   */
  private scheduleTick(): void {
    if (this.stopping) return;
    this.tickTimer = setTimeout(() => setImmediate(() => this.tick()), this.cfg.shared.ha.timers.heartbeatIntervalMs);
  }

  private tick(): void {
    // a tick queued (setImmediate) before stop() cleared the timer
    if (this.stopping) return;
    this.feed({ type: 'tick', now: monotonicMs(), sessionsOpen: sessionsOpen(this.links), peerAnnouncedAtMs: this.shared.peerAnnouncedAtMs });
    this.scheduleTick();
  }

  // ---- inbound ----

  private onHeartbeatDatagram(link: Link, msg: Buffer): void {
    const now = monotonicMs();
    this.feed({ type: 'wake', now });
    const r = link.hbOpener.open(msg);
    if (!r.ok) return this.reject('ha1-heartbeat', r.reason);
    const body = r.envelope.body;
    if (body.kind !== 'heartbeat') return this.reject('ha1-heartbeat', 'unexpected-type');
    this.metrics.message('ha1-heartbeat', 'rx', 'heartbeat');
    const hb = body.heartbeat;
    // sent before an outage and released when the cable came back (src/control/ha1/freshness.ts)
    const age = this.heartbeatAge.judge(r.envelope.epoch, hb.sentNs, this.core.config.deadIntervalMs * 1e6);
    if (age === 'stale') return this.metrics.rejected('ha1-heartbeat', 'stale-link');
    link.peerSentNs = hb.sentNs;
    link.peerRxMs = now;
    const fields = heartbeatFieldsOf(r.envelope.sender, hb);
    const actions = this.feed({ type: 'heartbeat', now, link: link.at, sessionsOpen: sessionsOpen(this.links), age, hb: fields });
    if (dropped(actions)) return;
    if (age !== 'late') {
      this.peerHealth.note(hb.healthyGroups, hb.echoNs);
      this.monitors?.peerReported();
    }
    noteRtt(link, now, hb, this.metrics);
  }

  private onSessionFrame(link: Link, frame: Buffer): void {
    const now = monotonicMs();
    this.feed({ type: 'wake', now });
    const r = link.sessOpener.open(frame);
    if (!r.ok) return this.reject('ha1-session', r.reason);
    const env = r.envelope;
    this.metrics.message('ha1-session', 'rx', env.body.kind);
    const actions = this.feed({
      type: 'session-message',
      now,
      link: link.at,
      sessionsOpen: sessionsOpen(this.links),
      sender: env.sender,
      message: sessionMessageOf(this.cfg, env),
    });
    if (dropped(actions)) return;
    const refusal = deliverToConfigSync(env.body, this.configSync, now);
    if (refusal !== null) this.reject('ha1-session', refusal);
  }

  private onSessionUp(link: Link): void {
    this.metrics.setLinkUp(link.name, 'session', link.session?.up ?? false);
    this.log.info({ link: link.name }, 'HA1 session up');
    this.configSync?.onPeerUp();
    this.outbox.hello(link);
  }

  private onSessionDown(link: Link, closedByPeer: boolean, why: string): void {
    this.metrics.setLinkUp(link.name, 'session', false);
    this.log.info({ link: link.name, closedByPeer, why }, 'HA1 session down');
    if (closedByPeer && !this.stopping)
      this.feed({ type: 'session-down', now: monotonicMs(), link: link.at, closedByPeer, sessionsOpen: sessionsOpen(this.links) });
  }

  private reject(channel: string, reason: string): void {
    this.rejects.reject(channel, reason);
  }
}

/** The core dropped the message as older than our wake-up (counted by its drop-stale action). */
function dropped(actions: readonly CoreAction[]): boolean {
  return actions.some((a) => a.type === 'drop-stale');
}
