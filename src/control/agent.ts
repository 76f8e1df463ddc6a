// The control agent: the driver around the pure HA core (core/step.ts, which drives the election
// machine). It owns the HA1 sockets, the real timers and the clock, turns what it hears into core
// events, and carries out the core's actions: the dataplane's role and lease, state updates and
// commands to the peer, gratuitous ARP, the HA2 sync role, logs and metrics. It runs in the
// daemon's control worker thread; the dataplane has the main thread (where `cap` must run), so a
// saturated packet path cannot delay a heartbeat.
import type { SharedConfig, TandemConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log-limit.js';
import type { Metrics } from '../metrics/registry.js';
import { monotonicMs } from '../clock.js';
import { ROLE_ACTIVE, ROLE_PASSIVE, type SharedState } from '../wire/shared-state.js';
import type { HaEncryption } from '../wire/crypto.js';
import { clipString, REASON_MAX, type Envelope, type EnvelopeBody } from '../wire/codec.js';
import type { ElectionConfig, TimerName } from './election/types.js';
import { CommandRefused, type HaController, type HaStatus, type TransitionRecord } from './status.js';
import type { ConfigSync } from './config-sync.js';
import { createMonitors, type Monitors } from './monitor/monitors.js';
import { HeartbeatFreshness } from './ha1/freshness.js';
import { buildLinks, sessionsOpen, setLinkEncryption, type Link } from './agent-links.js';
import { renderStatus } from './agent-status.js';
import { failoverRefusal, initialCore, step } from './core/step.js';
import { incomplete, tentative } from './core/health.js';
import type { CoreAction, CoreEvent, CoreState, SessionMessage } from './core/types.js';

/** Transitions kept for `tandem status` and the API. */
const TRANSITION_HISTORY = 50;
const SOFTWARE_VERSION = '0.1.0';
/** Rejected HA messages are logged at most this often per channel and reason (always counted). */
const REJECT_LOG_INTERVAL_MS = 1000;
/** A planned failover first waits this long at most for the sync backlog to drain. */
const FAILOVER_DRAIN_MAX_MS = 1000;

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

function electionConfig(cfg: TandemConfig): Omit<ElectionConfig, 'deviceId' | 'priority'> {
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

const deadIntervalOf = (cfg: TandemConfig): number => cfg.shared.ha.timers.heartbeatIntervalMs * cfg.shared.ha.timers.heartbeatMissed;

export class ControlAgent implements HaController {
  private cfg: TandemConfig;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly shared: SharedState;
  private readonly links: Link[];
  private readonly epoch = Date.now();
  private readonly startedMs = monotonicMs();
  private core: CoreState;
  private sinceWall = new Date();
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly transitions: TransitionRecord[] = [];
  private refusal: string | null = null;
  private stopping = false;
  private readonly sync: SyncHandle | null;
  private readonly heartbeatAge = new HeartbeatFreshness();
  private readonly rejectLogs = new LogLimiter(REJECT_LOG_INTERVAL_MS);
  private readonly configSync: ConfigSync | null;
  /** Link and path monitoring (docs/monitors.md): faults in, fault-add/fault-clear out. */
  private monitors: Monitors | null = null;

  constructor(opts: ControlAgentOptions) {
    this.cfg = opts.config;
    this.log = opts.log.child({ component: 'control' });
    this.metrics = opts.metrics;
    this.shared = opts.shared;
    this.sync = opts.sync ?? null;
    this.configSync = opts.configSync ?? null;
    this.configSync?.attach({
      view: () => ({ state: this.core.election.state, peerUp: this.core.peer.alive, peerName: this.core.peer.name }),
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
    this.links = buildLinks(this.cfg, opts.key, this.epoch, this.log, {
      onDatagram: (link, msg) => this.onHeartbeatDatagram(link, msg),
      onFrame: (link, frame) => this.onSessionFrame(link, frame),
      onUp: (link) => this.onSessionUp(link),
      onDown: (link, byPeer, why) => this.onSessionDown(link, byPeer, why),
      onReject: (channel, reason) => this.reject(channel, reason),
      onCount: (channel, reason) => this.metrics.rejected(channel, reason),
    });
    const t = this.cfg.shared.ha.timers;
    this.core = initialCore(
      { deadIntervalMs: deadIntervalOf(this.cfg), helloIntervalMs: t.helloIntervalMs, sync: this.sync !== null, links: this.links.map((l) => ({ name: l.name, hasSession: l.session !== null })) },
      { deviceId: this.cfg.device.id, priority: this.cfg.device.priority, ...electionConfig(this.cfg) },
    );
    // the HA2 channel is built before the agent; its format is HA config, applied here like ours
    this.sync?.setEncryption?.(this.cfg.shared.ha.encryption);
  }

  async start(): Promise<void> {
    this.shared.setRole(ROLE_PASSIVE);
    this.metrics.setState(this.core.election.state);
    this.metrics.setPeerUp(false);
    for (const link of this.links) {
      await link.heartbeat.open();
      await link.session?.start();
      this.metrics.setLinkUp(link.name, 'heartbeat', false);
      if (link.session) this.metrics.setLinkUp(link.name, 'session', false);
    }
    this.feed({ type: 'start', now: monotonicMs() });
    this.scheduleTick();
    // after 'start': a monitor that is down at boot is a fault of the election already running
    this.monitors = createMonitors({
      config: this.cfg,
      log: this.log,
      metrics: this.metrics,
      isActive: () => this.core.election.state === 'active',
      // the dataplane numbers interfaces by sorted logical name (engine.ts)
      captureOpen: (device) => {
        const names = Object.keys(this.cfg.device.interfaces).sort();
        const i = names.findIndex((n) => this.cfg.device.interfaces[n].device === device);
        return i < 0 || this.shared.captureOpen(i);
      },
      sink: {
        fault: (reason) => {
          if (!this.stopping) this.feed({ type: 'fault-add', now: monotonicMs(), reason });
        },
        clear: (reason) => {
          if (!this.stopping) this.feed({ type: 'fault-clear', now: monotonicMs(), reason });
        },
      },
    });
    await this.monitors.start();
    this.log.info(
      { deviceId: this.cfg.device.id, priority: this.cfg.device.priority, deadIntervalMs: this.core.config.deadIntervalMs, links: this.links.map((l) => l.name) },
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

  status(): HaStatus {
    return renderStatus({
      now: monotonicMs(),
      cfg: this.cfg,
      core: this.core,
      links: this.links,
      since: this.sinceWall,
      startedMs: this.startedMs,
      transitions: this.transitions,
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
    const encryptionWas = this.cfg.shared.ha.encryption;
    this.cfg = { ...this.cfg, shared };
    if (shared.ha.encryption !== encryptionWas) {
      setLinkEncryption(this.links, shared.ha.encryption);
      this.sync?.setEncryption?.(shared.ha.encryption);
      this.log.info({ from: encryptionWas, to: shared.ha.encryption }, `HA link encryption: ${encryptionWas} -> ${shared.ha.encryption}`);
    }
    const t = shared.ha.timers;
    this.feed({ type: 'reconfigure', now: monotonicMs(), deadIntervalMs: deadIntervalOf(this.cfg), helloIntervalMs: t.helloIntervalMs, election: electionConfig(this.cfg) });
    this.reconfigureMonitors(this.cfg);
    this.log.info({ timers: t, preempt: shared.ha.preempt }, 'shared config applied to the control agent');
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
    const start = monotonicMs();
    while (this.sync && this.core.election.state === 'active' && syncBacklog(this.sync) > 0 && monotonicMs() - start < FAILOVER_DRAIN_MAX_MS) {
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.command({ type: 'operator-failover', now: monotonicMs() });
  }

  private async command(event: CoreEvent): Promise<string> {
    const before = this.core.election.state;
    this.refusal = null;
    this.feed(event);
    if (this.refusal !== null) throw new CommandRefused(this.refusal);
    const es = this.core.election;
    return before === es.state ? `state unchanged: ${es.state} (${es.reason})` : `${before} -> ${es.state} (${es.reason})`;
  }

  /** Still electing, or passive without the peer's full session table yet (core/health.ts). */
  tentative(): boolean {
    return tentative(this.core);
  }

  /** Our table may lack the pair's sessions; never without HA2 (core/health.ts). */
  incomplete(): boolean {
    return incomplete(this.core);
  }

  /** The peer's bulk dump has fully arrived (called by the sync channel). */
  bulkComplete(sessions: number): void {
    this.feed({ type: 'bulk-complete', now: monotonicMs(), sessions });
  }

  // ---- the core and its actions ----

  private feed(event: CoreEvent): CoreAction[] {
    const { core, actions } = step(this.core, event);
    this.core = core;
    for (const a of actions) this.act(a, event.now);
    return actions;
  }

  private act(a: CoreAction, now: number): void {
    switch (a.type) {
      case 'transition':
        return this.record(a);
      case 'arm-timer':
        return this.arm(a.name, a.ms);
      case 'cancel-timer':
        clearTimeout(this.timers.get(a.name));
        this.timers.delete(a.name);
        return;
      case 'send-state':
        for (const link of this.links) {
          this.sendSession(link, { kind: 'stateUpdate', stateUpdate: { state: a.state, reason: clipString(a.reason, REASON_MAX) } });
          this.sendHeartbeat(link, now, a);
        }
        return;
      case 'send-heartbeats':
        for (const link of this.links) this.sendHeartbeat(link, now, a);
        return;
      case 'send-hellos':
        for (const link of this.links) this.sendHello(link);
        return;
      case 'send-take-over':
        for (const link of this.links) {
          this.sendSession(link, { kind: 'command', command: { type: 'take-over', reason: clipString(a.reason, REASON_MAX), id: Date.now() } });
        }
        return;
      case 'refused':
        this.refusal = a.reason;
        return;
      default:
        return this.effect(a);
    }
  }

  /** The actions on the dataplane, the sync channel, config sync, the sessions and the metrics. */
  private effect(a: Exclude<CoreAction, { type: 'transition' | 'arm-timer' | 'cancel-timer' | 'send-state' | 'send-heartbeats' | 'send-hellos' | 'send-take-over' | 'refused' }>): void {
    switch (a.type) {
      case 'announce':
        return this.shared.requestGarp();
      case 'dataplane-role':
        return this.shared.setRole(a.role === 'active' ? ROLE_ACTIVE : ROLE_PASSIVE);
      case 'renew-lease':
        return this.shared.renewLease(a.untilMs);
      case 'handing-over':
        return this.shared.setHandingOver(a.on);
      case 'sync-role':
        return this.sync?.setRole(a.role);
      case 'peer-up':
        this.configSync?.onPeerUp();
        return this.metrics.setPeerUp(true);
      case 'peer-down':
        this.configSync?.onPeerDown();
        return this.metrics.setPeerUp(false);
      case 'link-heartbeat':
        return this.metrics.setLinkUp(this.links[a.link]!.name, 'heartbeat', a.up);
      case 'session-refresh':
        return this.links[a.link]!.session?.refresh();
      case 'session-stale':
        this.links[a.link]!.session?.markStale();
        return this.metrics.setLinkUp(this.links[a.link]!.name, 'session', false);
      case 'control-stall':
        return this.metrics.controlStall(a.kind);
      case 'drop-stale':
        return this.metrics.rejected(a.channel, 'stale-after-freeze');
      case 'log':
        return a.level === 'warn' ? this.log.warn(a.fields, a.msg) : this.log.info(a.fields, a.msg);
      default: {
        const never: never = a;
        throw new Error(`unknown core action ${JSON.stringify(never)}`);
      }
    }
  }

  /** A state change took effect: kept for status, counted (its log line is the core's). */
  private record(a: Extract<CoreAction, { type: 'transition' }>): void {
    this.sinceWall = new Date();
    this.transitions.push({ at: this.sinceWall.toISOString(), from: a.from, to: a.to, reason: a.reason });
    if (this.transitions.length > TRANSITION_HISTORY) this.transitions.shift();
    this.metrics.transition(a.from, a.to, a.reason);
    if (a.to === 'active') this.metrics.failover(a.reason, a.outageS);
  }

  private arm(name: TimerName, ms: number): void {
    clearTimeout(this.timers.get(name));
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        this.feed({ type: 'timer', now: monotonicMs(), name });
      }, ms),
    );
  }

  private scheduleTick(): void {
    if (this.stopping) return;
    this.tickTimer = setTimeout(() => this.tick(), this.cfg.shared.ha.timers.heartbeatIntervalMs);
  }

  private tick(): void {
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
    const fields = { sender: r.envelope.sender, state: hb.state, priority: hb.priority, preempt: hb.preempt, tentative: hb.tentative, incomplete: hb.incomplete === true, echoNs: hb.echoNs };
    const actions = this.feed({ type: 'heartbeat', now, link: link.at, sessionsOpen: sessionsOpen(this.links), age, hb: fields });
    if (dropped(actions)) return;
    if (hb.echoNs > 0) {
      const rttMs = now - hb.echoNs / 1e6 - hb.echoDelayNs / 1e6;
      if (rttMs >= 0 && rttMs < 60_000) {
        link.rttMs = Math.round(rttMs * 1000) / 1000;
        this.metrics.heartbeatRtt(link.name, rttMs / 1000);
      }
    }
  }

  private onSessionFrame(link: Link, frame: Buffer): void {
    const now = monotonicMs();
    this.feed({ type: 'wake', now });
    const r = link.sessOpener.open(frame);
    if (!r.ok) return this.reject('ha1-session', r.reason);
    const env = r.envelope;
    this.metrics.message('ha1-session', 'rx', env.body.kind);
    const actions = this.feed({ type: 'session-message', now, link: link.at, sessionsOpen: sessionsOpen(this.links), sender: env.sender, message: this.sessionMessage(env) });
    if (dropped(actions)) return;
    const body = env.body;
    switch (body.kind) {
      case 'hello':
        return this.configSync?.onPeerHello(body.hello.configVersion, body.hello.configHash, now);
      case 'configPush':
      case 'configAck':
      case 'configRequest':
        if (!this.configSync) return this.reject('ha1-session', 'config-sync-off');
        return this.configSync.onMessage(body, now);
      case 'heartbeat':
        return this.reject('ha1-session', 'unexpected-type');
      case 'stateUpdate':
      case 'command':
      case 'goodbye':
        return;
      default: {
        const never: never = body;
        this.reject('ha1-session', `unknown-body-${String((never as { kind?: string }).kind)}`);
      }
    }
  }

  /** What the core needs of a session message. */
  private sessionMessage(env: Envelope): SessionMessage {
    const body = env.body;
    switch (body.kind) {
      case 'hello': {
        const h = body.hello;
        const ha = this.cfg.shared.ha;
        const mismatch = h.groupId !== ha.groupId || h.mode !== ha.mode ? { peerGroup: h.groupId, peerMode: h.mode } : null;
        return { kind: 'hello', name: h.name, stateReason: h.stateReason, state: h.state, priority: h.priority, preempt: h.preempt, mismatch };
      }
      case 'stateUpdate':
        return { kind: 'state-update', state: body.stateUpdate.state, reason: body.stateUpdate.reason };
      case 'command':
        return { kind: 'command', command: body.command.type, reason: body.command.reason };
      case 'goodbye':
        return { kind: 'goodbye', reason: body.goodbye.reason };
      case 'configPush':
      case 'configAck':
      case 'configRequest':
        return { kind: 'config' };
      default:
        return { kind: 'other' };
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
    if (closedByPeer && !this.stopping) this.feed({ type: 'session-down', now: monotonicMs(), link: link.at, closedByPeer, sessionsOpen: sessionsOpen(this.links) });
  }

  /**
   * Counted always, logged at most once a second per channel and reason: a link coming back
   * releases a burst of queued heartbeats the replay window refuses, and an attack would flood.
   */
  private reject(channel: string, reason: string): void {
    this.metrics.rejected(channel, reason);
    const allowed = this.rejectLogs.allow(`${channel}/${reason}`);
    if (allowed) this.log.warn({ channel, reason, suppressed: allowed.suppressed }, 'HA message rejected');
  }

  // ---- outbound ----

  private sendHeartbeat(link: Link, now: number, self: { state: CoreState['election']['state']; tentative: boolean; incomplete: boolean }): void {
    const echoDelayNs = link.peerSentNs > 0 ? Math.max(0, Math.round((now - link.peerRxMs) * 1e6)) : 0;
    const datagram = link.hbSealer.seal({
      kind: 'heartbeat',
      heartbeat: {
        state: self.state,
        priority: this.cfg.device.priority,
        preempt: this.cfg.shared.ha.preempt.enabled,
        sentNs: Math.round(now * 1e6),
        echoNs: link.peerSentNs,
        echoDelayNs,
        link: link.index,
        tentative: self.tentative,
        incomplete: self.incomplete,
      },
    });
    link.heartbeat.send(datagram);
    this.metrics.message('ha1-heartbeat', 'tx', 'heartbeat');
  }

  private sendHello(link: Link): void {
    const t = this.cfg.shared.ha.timers;
    const es = this.core.election;
    this.sendSession(link, {
      kind: 'hello',
      hello: {
        name: this.cfg.device.name,
        priority: this.cfg.device.priority,
        preempt: this.cfg.shared.ha.preempt.enabled,
        state: es.state,
        stateReason: clipString(es.reason, REASON_MAX),
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

/** The core dropped the message as older than our wake-up (counted by its drop-stale action). */
function dropped(actions: readonly CoreAction[]): boolean {
  return actions.some((a) => a.type === 'drop-stale');
}

/** Records not yet acknowledged by the peer, from the sync channel's status. */
function syncBacklog(sync: SyncHandle): number {
  const b = (sync.status() as { backlog?: unknown }).backlog;
  return typeof b === 'number' ? b : 0;
}
