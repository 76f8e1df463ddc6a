// Link and path monitoring as the control agent sees it: createMonitors() watches the configured
// groups, applies the hold-ups, and raises and clears faults through the sink (the agent turns
// them into fault-add / fault-clear election events). The rules are pure (evaluate.ts); this file
// owns the timers, the link watcher and the prober process.
//
// Fault reasons, one per failed group: "link-monitor:<group>", "path-monitor:<group>". With the
// HA-level condition `any` any faulted group is raised; with `all` the groups are raised only
// while every group of that monitor type is faulted.
import { randomInt } from 'node:crypto';
import type { TandemConfig, Timers } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { monotonicMs } from '../../clock.js';
import { sameAddress } from '../../net/family.js';
import {
  HOLD_FINE,
  TARGET_UP,
  advanceHold,
  conditionFailed,
  faultReason,
  faultsOf,
  holdUpMs,
  peerEvidenceAfterMs,
  recordProbe,
  type HoldState,
  type TargetHealth,
} from './evaluate.js';
import { LinkWatcher, type LinkState } from './link-watch.js';
import { ProberProcess } from './prober.js';
import type { ProberMessage } from './prober-protocol.js';
import type { FaultSink, LinkGroupStatus, MonitorMetrics, MonitorStatus, PathGroupStatus } from './types.js';

export type { MonitorStatus, FaultSink, MonitorMetrics } from './types.js';

export interface MonitorsOptions {
  config: TandemConfig;
  log: Logger;
  metrics: MonitorMetrics;
  /** Whether this box is active now: the active waits the additional hold-up. */
  isActive: () => boolean;
  /**
   * Whether the peer's latest word says its group `reason` ("link-monitor:<group>") is healthy,
   * and was composed after it had heard from us at `sinceMs` or later (our clock: the heartbeat
   * echo), i.e. after our group failed. Absent: never (the active always waits its hold-up).
   */
  peerReportsHealthy?: (reason: string, sinceMs: number) => boolean;
  sink: FaultSink;
  /** Tests: the prober command, and link watching without `ip monitor`. */
  proberCommand?: string[];
  linkEvents?: boolean;
  sysRoot?: string;
  /** Whether the dataplane's capture handle on a kernel device is open (a link is up only then). */
  captureOpen?: (device: string) => boolean;
}

export interface Monitors {
  start(): Promise<void>;
  stop(): Promise<void> | void;
  reconfigure(config: TandemConfig): void;
  status(): MonitorStatus;
  /** Our groups that are monitored, seen working and healthy now, as fault reasons (for the heartbeat). */
  healthyGroups(): string[];
  /** The peer reported its groups' health: a group in its hold-up may now fault at once. */
  peerReported(): void;
}

interface LinkGroup {
  name: string;
  condition: 'any' | 'all';
  /** Logical name -> kernel device (null: not in device.interfaces, always down). */
  interfaces: { name: string; device: string | null }[];
  hold: HoldState;
  failed: boolean;
}

interface Target {
  address: string;
  health: TargetHealth;
  /** Sequence of this round's echo while unanswered, null when answered or not sent. */
  outstanding: number | null;
  sentAtMs: number;
  lastRttMs: number | null;
}

interface PathGroup {
  name: string;
  condition: 'any' | 'all';
  intervalMs: number;
  failures: number;
  targets: Target[];
  hold: HoldState;
  failed: boolean;
  timer: NodeJS.Timeout | null;
}

export function createMonitors(opts: MonitorsOptions): Monitors {
  return new MonitorSet(opts);
}

class MonitorSet implements Monitors {
  private readonly log: Logger;
  private readonly metrics: MonitorMetrics;
  private config: TandemConfig;
  private linkGroups: LinkGroup[] = [];
  private pathGroups: PathGroup[] = [];
  private readonly raised = new Set<string>();
  private readonly watcher: LinkWatcher;
  private prober: ProberProcess | null = null;
  /** Sequence -> the probe it belongs to, while its round is open. */
  private readonly outstanding = new Map<number, { group: PathGroup; target: Target }>();
  private nextSeq = randomInt(0, 0x10000);
  private readonly identifier = randomInt(1, 0x10000);
  private recheck: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly opts: MonitorsOptions) {
    this.log = opts.log.child({ component: 'monitors' });
    this.metrics = opts.metrics;
    this.config = opts.config;
    this.watcher = new LinkWatcher({
      log: this.log,
      onChange: (s) => this.onLinkChange(s),
      events: opts.linkEvents,
      sysRoot: opts.sysRoot,
      captureOpen: opts.captureOpen,
    });
    this.build(opts.config);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.watcher.start(this.devices());
    this.syncProber();
    for (const g of this.pathGroups) this.scheduleRound(g, 0);
    this.publishGauges();
    this.evaluate();
    this.log.info({ link: this.linkGroups.map((g) => g.name), path: this.pathGroups.map((g) => g.name), identifier: this.identifier }, 'monitors started');
  }

  stop(): void {
    this.running = false;
    this.watcher.stop();
    this.prober?.stop();
    this.prober = null;
    for (const g of this.pathGroups) if (g.timer) clearTimeout(g.timer);
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = null;
  }

  /** A new shared config: groups, targets and intervals replaced; state kept for what stayed. */
  reconfigure(config: TandemConfig): void {
    for (const g of this.pathGroups) if (g.timer) clearTimeout(g.timer);
    this.outstanding.clear();
    this.config = config;
    this.build(config);
    this.metrics.resetMonitorGauges();
    if (!this.running) return;
    void this.watcher.setDevices(this.devices()).then(() => this.evaluate());
    this.syncProber();
    for (const g of this.pathGroups) this.scheduleRound(g, 0);
    this.publishGauges();
    this.evaluate();
    this.log.info({ link: this.linkGroups.map((g) => g.name), path: this.pathGroups.map((g) => g.name) }, 'monitors reconfigured');
  }

  status(): MonitorStatus {
    const now = monotonicMs();
    const lm = this.config.shared.ha.linkMonitoring;
    const pm = this.config.shared.ha.pathMonitoring;
    const failedFor = (h: HoldState) => (h.failedSinceMs === null ? null : Math.round(now - h.failedSinceMs));
    const link: LinkGroupStatus[] = this.linkGroups.map((g) => ({
      name: g.name,
      failureCondition: g.condition,
      failed: g.failed,
      faulted: g.hold.faulted,
      failedForMs: failedFor(g.hold),
      interfaces: g.interfaces.map((i) => {
        const s = i.device === null ? undefined : this.watcher.state(i.device);
        return {
          name: i.name,
          device: i.device,
          up: i.device === null ? false : (s?.up ?? null),
          why: i.device === null ? 'not-configured' : (s?.why ?? null),
          adminUp: s?.adminUp ?? null,
          carrier: s?.carrier ?? null,
          operstate: s?.operstate ?? null,
        };
      }),
    }));
    const path: PathGroupStatus[] = this.pathGroups.map((g) => ({
      name: g.name,
      failureCondition: g.condition,
      failed: g.failed,
      faulted: g.hold.faulted,
      failedForMs: failedFor(g.hold),
      intervalMs: g.intervalMs,
      failures: g.failures,
      targets: g.targets.map((t) => ({ address: t.address, up: t.health.up, consecutiveFailures: t.health.consecutiveFailures, lastRttMs: t.lastRttMs })),
    }));
    return {
      faults: [...this.raised],
      holdUpMs: holdUpMs(this.timers(), this.opts.isActive()),
      link: lm ? { failureCondition: lm.failureCondition, groups: link } : null,
      path: pm
        ? { failureCondition: pm.failureCondition, groups: path, prober: { running: this.prober?.running ?? false, restarts: this.prober?.restarts ?? 0 } }
        : null,
    };
  }

  // ---- structure ----

  private timers(): Timers {
    return this.config.shared.ha.timers;
  }

  private build(config: TandemConfig): void {
    const oldLink = new Map(this.linkGroups.map((g) => [g.name, g]));
    const oldPath = new Map(this.pathGroups.map((g) => [g.name, g]));
    const ifs = config.device.interfaces;
    this.linkGroups = (config.shared.ha.linkMonitoring?.groups ?? []).map((g) => ({
      name: g.name,
      condition: g.failureCondition,
      interfaces: g.interfaces.map((name) => ({ name, device: ifs[name]?.device ?? null })),
      hold: oldLink.get(g.name)?.hold ?? HOLD_FINE,
      failed: false,
    }));
    this.pathGroups = (config.shared.ha.pathMonitoring?.groups ?? []).map((g) => {
      const old = oldPath.get(g.name);
      return {
        name: g.name,
        condition: g.failureCondition,
        intervalMs: g.intervalMs,
        failures: g.failures,
        targets: g.targets.map((address) => {
          const prev = old?.targets.find((t) => t.address === address);
          return { address, health: prev?.health ?? TARGET_UP, outstanding: null, sentAtMs: 0, lastRttMs: prev?.lastRttMs ?? null };
        }),
        hold: old?.hold ?? HOLD_FINE,
        failed: false,
        timer: null,
      };
    });
  }

  /** Every interface and target gauge at its current value (after a start or a reset). */
  private publishGauges(): void {
    for (const g of this.linkGroups)
      for (const i of g.interfaces) {
        const s = i.device === null ? undefined : this.watcher.state(i.device);
        if (i.device === null || s !== undefined) this.metrics.setLinkMonitorInterfaceUp(i.name, s?.up ?? false);
      }
    for (const g of this.pathGroups) for (const t of g.targets) this.metrics.setPathMonitorTargetUp(g.name, t.address, t.health.up);
  }

  private devices(): string[] {
    return this.linkGroups.flatMap((g) => g.interfaces.flatMap((i) => (i.device === null ? [] : [i.device])));
  }

  private syncProber(): void {
    if (this.pathGroups.length > 0 && this.prober === null) {
      this.prober = new ProberProcess({
        identifier: this.identifier,
        log: this.log,
        command: this.opts.proberCommand,
        onMessage: (m) => this.onProberMessage(m),
        onBadLine: () => this.metrics.pathMonitorDropped('bad-prober-line', 1),
        onRestart: () => this.metrics.pathMonitorProberRestart(),
      });
      this.prober.start();
    } else if (this.pathGroups.length === 0 && this.prober !== null) {
      this.prober.stop();
      this.prober = null;
    }
  }

  // ---- link monitoring ----

  private onLinkChange(s: LinkState): void {
    for (const g of this.linkGroups) for (const i of g.interfaces) if (i.device === s.device) this.metrics.setLinkMonitorInterfaceUp(i.name, s.up);
    this.log.info({ device: s.device, up: s.up, why: s.why, operstate: s.operstate }, `link monitor: ${s.device} ${s.up ? 'up' : `down (${s.why})`}`);
    this.evaluate();
  }

  // ---- path monitoring ----

  private scheduleRound(g: PathGroup, delayMs: number): void {
    if (!this.running) return;
    g.timer = setTimeout(() => {
      g.timer = null;
      this.round(g);
      this.scheduleRound(g, g.intervalMs);
    }, delayMs);
  }

  /** One probe round: the previous round's unanswered echoes are lost; a new echo per target. */
  private round(g: PathGroup): void {
    let changed = false;
    for (const t of g.targets) {
      if (t.outstanding !== null) {
        this.outstanding.delete(t.outstanding);
        this.metrics.pathMonitorProbe(g.name, 'lost');
        changed = this.record(g, t, false) || changed;
        t.outstanding = null;
      }
      const seq = this.nextSeq;
      this.nextSeq = (this.nextSeq + 1) & 0xffff;
      // A probe that could not be sent (the prober is starting or restarting) is no evidence
      // either way: it is counted as unsent and the target keeps its state. Counting it as lost
      // would fail over a healthy box for our own tool's fault (and both boxes, for a bug in it).
      if (this.prober?.send(t.address, seq)) {
        this.outstanding.set(seq, { group: g, target: t });
        t.outstanding = seq;
        t.sentAtMs = monotonicMs();
        this.metrics.pathMonitorProbe(g.name, 'sent');
      } else this.metrics.pathMonitorProbe(g.name, 'unsent');
    }
    if (changed) this.evaluate();
  }

  /** Apply one probe outcome to a target; true when its up/down changed. */
  private record(g: PathGroup, t: Target, answered: boolean): boolean {
    const before = t.health.up;
    t.health = recordProbe(t.health, answered, g.failures);
    if (t.health.up === before) return false;
    this.metrics.setPathMonitorTargetUp(g.name, t.address, t.health.up);
    this.log.info({ group: g.name, target: t.address, up: t.health.up }, `path monitor: ${g.name} target ${t.address} ${t.health.up ? 'up' : 'down'}`);
    return true;
  }

  private onProberMessage(m: ProberMessage): void {
    switch (m.t) {
      case 'ready':
        return;
      case 'reply': {
        const probe = this.outstanding.get(m.seq);
        if (probe === undefined) return this.metrics.pathMonitorDropped('unknown-sequence', 1);
        // an IPv6 target may be spelled otherwise in the config than the prober's RFC 5952 text
        if (!sameAddress(probe.target.address, m.src)) return this.metrics.pathMonitorDropped('source-mismatch', 1);
        this.outstanding.delete(m.seq);
        const t = probe.target;
        t.outstanding = null;
        t.lastRttMs = Math.round((monotonicMs() - t.sentAtMs) * 1000) / 1000;
        this.metrics.pathMonitorProbe(probe.group.name, 'replied');
        if (this.record(probe.group, t, true)) this.evaluate();
        return;
      }
      case 'send-error':
        // the echo never left: it is lost when its round closes, like an unanswered one
        this.metrics.pathMonitorDropped('send-error', 1);
        return;
      case 'drops':
        for (const [reason, n] of Object.entries(m.counts)) this.metrics.pathMonitorDropped(reason, n);
        return;
      default: {
        const never: never = m;
        return never;
      }
    }
  }

  // ---- verdicts ----

  /** This group's hold-up now: shorter on the active when the peer vouches for the same group. */
  private holdFor(g: LinkGroup | PathGroup, type: 'link' | 'path', now: number): number {
    const active = this.opts.isActive();
    const since = g.hold.failedSinceMs ?? now;
    const probeMs = type === 'path' ? (g as PathGroup).intervalMs : 0;
    const after = peerEvidenceAfterMs(type, since, probeMs);
    const vouched = active && this.opts.peerReportsHealthy?.(faultReason(type, g.name), after) === true;
    return holdUpMs(this.timers(), active, vouched && this.outageIsTheNetworks(g, type));
  }

  /**
   * Whether the group failed for something on the wire (carrier, admin state, lost echoes) rather
   * than only because our dataplane is reopening a capture handle (an MTU change reopens it in
   * milliseconds): that blip keeps the full hold-up, the peer's word or not.
   */
  private outageIsTheNetworks(g: LinkGroup | PathGroup, type: 'link' | 'path'): boolean {
    if (type === 'path') return true;
    return (g as LinkGroup).interfaces.some((i) => {
      const s = i.device === null ? undefined : this.watcher.state(i.device);
      return s !== undefined && !s.up && s.why !== 'capture-closed';
    });
  }

  /** What our heartbeats vouch for: groups seen working and not failed now. */
  healthyGroups(): string[] {
    const seen = (device: string | null) => device !== null && this.watcher.state(device) !== undefined;
    const link = this.linkGroups.filter((g) => !g.failed && g.interfaces.every((i) => seen(i.device)));
    // a path group vouched for only once one of its targets has answered: not before the first round
    const path = this.pathGroups.filter((g) => !g.failed && g.targets.some((t) => t.lastRttMs !== null));
    return [...link.map((g) => faultReason('link', g.name)), ...path.map((g) => faultReason('path', g.name))];
  }

  peerReported(): void {
    const pending = [...this.linkGroups, ...this.pathGroups].some((g) => g.hold.failedSinceMs !== null && !g.hold.faulted);
    if (pending && this.opts.isActive()) this.evaluate();
  }

  /** Recompute every group, apply the hold-ups, raise and clear faults, arm the next recheck. */
  private evaluate(): void {
    if (!this.running) return;
    const now = monotonicMs();
    const holds = new Map<string, number>();
    let recheckMs: number | null = null;
    const advance = (g: LinkGroup | PathGroup, type: 'link' | 'path', failed: boolean) => {
      this.metrics.setMonitorGroupUp(type, g.name, !failed);
      if (failed !== g.failed) this.log.info({ type, group: g.name, failed }, `${type} monitor: group ${g.name} ${failed ? 'failed' : 'recovered'}`);
      g.failed = failed;
      const hold = failed ? this.holdFor(g, type, now) : 0;
      holds.set(faultReason(type, g.name), hold);
      const r = advanceHold(g.hold, failed, now, hold);
      g.hold = r.state;
      if (r.recheckInMs !== null) recheckMs = recheckMs === null ? r.recheckInMs : Math.min(recheckMs, r.recheckInMs);
    };
    for (const g of this.linkGroups) {
      const down = g.interfaces.map((i) => {
        if (i.device === null) return true;
        const s = this.watcher.state(i.device);
        return s !== undefined && !s.up;
      });
      advance(g, 'link', conditionFailed(g.condition, down));
    }
    for (const g of this.pathGroups)
      advance(
        g,
        'path',
        conditionFailed(
          g.condition,
          g.targets.map((t) => !t.health.up),
        ),
      );

    const lm = this.config.shared.ha.linkMonitoring;
    const pm = this.config.shared.ha.pathMonitoring;
    const want = new Set([
      ...(lm
        ? faultsOf(
            'link',
            lm.failureCondition,
            this.linkGroups.map((g) => ({ name: g.name, faulted: g.hold.faulted })),
          )
        : []),
      ...(pm
        ? faultsOf(
            'path',
            pm.failureCondition,
            this.pathGroups.map((g) => ({ name: g.name, faulted: g.hold.faulted })),
          )
        : []),
    ]);
    for (const r of [...this.raised]) {
      if (want.has(r)) continue;
      this.raised.delete(r);
      this.log.info({ reason: r }, `monitor fault cleared: ${r}`);
      this.opts.sink.clear(r);
    }
    for (const r of want) {
      if (this.raised.has(r)) continue;
      this.raised.add(r);
      const hold = holds.get(r) ?? holdUpMs(this.timers(), this.opts.isActive());
      this.log.warn({ reason: r, holdUpMs: hold, peerHealthy: hold < holdUpMs(this.timers(), this.opts.isActive()) }, `monitor fault: ${r}`);
      this.opts.sink.fault(r);
    }

    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = null;
    if (recheckMs !== null) {
      this.recheck = setTimeout(() => {
        this.recheck = null;
        this.evaluate();
      }, recheckMs);
    }
  }
}
