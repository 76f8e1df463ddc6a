// Every Prometheus metric of tandem is named here and only here. Other modules call the methods of
// `Metrics` (injected); they never see prom-client. One Registry per Metrics object (no global
// registry), so tests and a daemon that restarts a plane get a fresh, isolated set.
//
// Naming follows the Prometheus conventions: prefix `tandem_`, base units in the name
// (`_seconds`), counters end in `_total`, label values are the documented reason enums.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HA_STATES, type HaState } from '../wire/ha-state.js';
import { DROP_REASONS, EVENT_COUNTERS, dropIndex, eventIndex } from '../wire/dataplane-counters.js';
import type { SharedState } from '../wire/shared-state.js';
import type { MonitorMetrics, ProbeResult } from './monitor-metrics.js';
import { DEFAULT_RULE_LABEL, SESSION_PROTOCOLS, type FirewallStats, type ProtocolStats } from '../wire/firewall-stats.js';

export const METRIC_PREFIX = 'tandem_';

/**
 * Heartbeat round trip buckets (seconds): 50 us (two hosts on one switch) to 1 s (far beyond any
 * dead interval: a heartbeat that slow is already a missed one).
 */
export const HEARTBEAT_RTT_BUCKETS_S = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** HA1 channels whose liveness is exported per link. */
export type LinkChannel = 'heartbeat' | 'session';
/**
 * Which HA channel a message travelled on. The control agent uses "ha1-heartbeat" and
 * "ha1-session", sync uses "ha2"; any other short fixed name is allowed (it is a label value:
 * never put data from the wire in it).
 */
export type MessageChannel = 'ha1-heartbeat' | 'ha1-session' | 'ha2' | (string & {});
export type MessageDirection = 'rx' | 'tx';

/**
 * HA2 sync lag buckets (seconds): 100 us (a batch flushed and acked on one switch) through the
 * 2 ms flush interval to 30 s (a stalled link; the backlog bound and a resync take over there).
 */
export const SYNC_LAG_BUCKETS_S = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

export class Metrics implements MonitorMetrics {
  /** The registry this object owns; serve it with `text()` or `registry.metrics()`. */
  readonly registry: Registry;

  private readonly haState: Gauge<'state'>;
  private readonly peerUp: Gauge;
  private readonly transitions: Counter<'from' | 'to' | 'reason'>;
  private readonly failovers: Counter<'reason'>;
  private readonly lastFailoverDuration: Gauge;
  private readonly heartbeatRttS: Histogram<'link'>;
  private readonly linkUp: Gauge<'link' | 'channel'>;
  private readonly messages: Counter<'channel' | 'direction' | 'type'>;
  private readonly rejectedMessages: Counter<'channel' | 'reason'>;
  private readonly apiRequests: Counter<'route' | 'code'>;
  private readonly connectionsRefused: Counter<'listener'>;
  private readonly syncBacklog: Gauge;
  private readonly syncLagS: Histogram;
  private readonly sessionsSynced: Gauge;
  private readonly syncMessages: Counter<'direction' | 'type'>;
  private readonly syncRecords: Counter<'direction'>;
  private readonly syncResyncs: Counter<'reason'>;
  private readonly syncConnected: Gauge;
  private readonly syncRingStalls: Counter;
  private readonly syncDiscarded: Counter<'reason'>;
  private readonly monitorGroupUp: Gauge<'type' | 'group'>;
  private readonly linkMonitorInterfaceUp: Gauge<'interface'>;
  private readonly pathMonitorTargetUp: Gauge<'group' | 'target'>;
  private readonly pathMonitorProbes: Counter<'group' | 'result'>;
  private readonly pathMonitorDrops: Counter<'reason'>;
  private readonly pathMonitorProberRestarts: Counter;
  private readonly controlStalls: Counter<'kind'>;
  private readonly configVersion: Gauge;
  private readonly configInSync: Gauge;
  private readonly configKeptAside: Gauge;
  private readonly configCommits: Counter<'result'>;
  private readonly configPushes: Counter<'direction' | 'result'>;
  private shared: SharedState | null = null;
  /** Traffic interfaces by the dataplane's index, for dataplane_capture_open. */
  private captureInterfaces: string[] = [];
  private firewall: { stats: FirewallStats; ruleNames: readonly string[]; natRuleNames: readonly string[] } | null = null;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    const p = METRIC_PREFIX;

    this.haState = new Gauge({
      name: `${p}ha_state`,
      help: 'Local HA state: 1 for the current state, 0 for every other state',
      labelNames: ['state'],
      registers: [registry],
    });
    this.peerUp = new Gauge({
      name: `${p}ha_peer_up`,
      help: 'The peer is heard on at least one HA1 link (1) or not (0)',
      registers: [registry],
    });
    this.transitions = new Counter({
      name: `${p}ha_transitions_total`,
      help: 'Local HA state transitions by from, to and reason',
      labelNames: ['from', 'to', 'reason'],
      registers: [registry],
    });
    this.failovers = new Counter({
      name: `${p}ha_failovers_total`,
      help: 'Transitions of this device into active, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.lastFailoverDuration = new Gauge({
      name: `${p}ha_last_failover_duration_seconds`,
      help: 'Duration of the last failover onto this device, from the first sign of failure to active',
      registers: [registry],
    });
    this.heartbeatRttS = new Histogram({
      name: `${p}ha1_heartbeat_rtt_seconds`,
      help: 'Heartbeat round trip time per HA1 link',
      labelNames: ['link'],
      buckets: HEARTBEAT_RTT_BUCKETS_S,
      registers: [registry],
    });
    this.linkUp = new Gauge({
      name: `${p}ha1_link_up`,
      help: 'HA1 link liveness per link (ha1, ha1-backup, heartbeat-backup) and channel (heartbeat: peer heartbeats arrive; session: TCP session established and usable; the heartbeat backup has no session)',
      labelNames: ['link', 'channel'],
      registers: [registry],
    });
    this.messages = new Counter({
      name: `${p}ha_messages_total`,
      help: 'Authenticated HA messages by channel, direction and message type',
      labelNames: ['channel', 'direction', 'type'],
      registers: [registry],
    });
    this.rejectedMessages = new Counter({
      name: `${p}ha_messages_rejected_total`,
      help: 'HA messages dropped before being trusted, by channel and reason (and reason send-backlog: ours not sent because the peer read nothing and the send buffer bound was reached)',
      labelNames: ['channel', 'reason'],
      registers: [registry],
    });
    this.apiRequests = new Counter({
      name: `${p}api_requests_total`,
      help: 'Management API requests by route and HTTP status code',
      labelNames: ['route', 'code'],
      registers: [registry],
    });
    this.connectionsRefused = new Counter({
      name: `${p}connections_refused_total`,
      help: 'TCP connections closed unanswered because a listener (api, metrics) held its maximum of concurrent connections',
      labelNames: ['listener'],
      registers: [registry],
    });
    for (const listener of ['api', 'metrics']) this.connectionsRefused.inc({ listener }, 0);

    // HA2 session sync (src/sync/channel.ts).
    this.syncBacklog = new Gauge({
      name: `${p}sync_backlog_records`,
      help: 'Session changes waiting to reach the peer: queued for a batch plus sent and not yet acked',
      registers: [registry],
    });
    this.syncLagS = new Histogram({
      name: `${p}sync_lag_seconds`,
      help: 'From a session change on the active dataplane to the peer acking it (one observation per batch: its oldest record)',
      buckets: SYNC_LAG_BUCKETS_S,
      registers: [registry],
    });
    this.sessionsSynced = new Gauge({
      name: `${p}sessions_synced`,
      help: 'Session records received from the peer and handed to the local dataplane',
      registers: [registry],
    });
    this.syncMessages = new Counter({
      name: `${p}sync_messages_total`,
      help: 'Authenticated HA2 messages by direction and type (batch, ack, bulkRequest)',
      labelNames: ['direction', 'type'],
      registers: [registry],
    });
    this.syncRecords = new Counter({
      name: `${p}sync_records_total`,
      help: 'Session records carried in HA2 batches, by direction',
      labelNames: ['direction'],
      registers: [registry],
    });
    this.syncResyncs = new Counter({
      name: `${p}sync_resyncs_total`,
      help: 'Full resyncs started: dumps asked of the local dataplane (sender) or of the peer (receiver), by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.syncConnected = new Gauge({
      name: `${p}sync_connected`,
      help: 'The HA2 connection to the peer is up (1) or not (0)',
      registers: [registry],
    });
    this.syncRingStalls = new Counter({
      name: `${p}sync_ring_stalls_total`,
      help: 'Times the ring into the local dataplane was full and received records had to wait',
      registers: [registry],
    });
    this.syncDiscarded = new Counter({
      name: `${p}sync_records_discarded_total`,
      help: 'Session records not sent or not applied, by reason (each loss of synced state also starts a resync)',
      labelNames: ['reason'],
      registers: [registry],
    });

    this.controlStalls = new Counter({
      name: `${p}control_stalls_total`,
      help: 'Gaps between control-thread ticks longer than the dead interval: short (up to two dead intervals: role kept, dataplane held until the peer is heard fresh) or frozen (longer: back to initial)',
      labelNames: ['kind'],
      registers: [registry],
    });

    // Shared-config commits and their replication (src/control/config-sync.ts).
    this.configVersion = new Gauge({
      name: `${p}config_version`,
      help: 'Version of the running shared config (0: the config file, never committed)',
      registers: [registry],
    });
    this.configInSync = new Gauge({
      name: `${p}config_in_sync`,
      help: 'The peer is up and runs the same shared config (same hash) as this box (1) or not (0)',
      registers: [registry],
    });
    this.configKeptAside = new Gauge({
      name: `${p}config_kept_aside`,
      help: 'Configs kept aside in the state dir (diverged from the peer, or unusable at start) for the operator to review',
      registers: [registry],
    });
    this.configCommits = new Counter({
      name: `${p}config_commits_total`,
      help: 'Shared-config commits on this box by result (applied, unchanged, invalid, refused, apply-failed)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.configPushes = new Counter({
      name: `${p}config_pushes_total`,
      help: 'Shared-config pushes over HA1: tx by result (sent, no-session, refused), rx by result (applied, same, invalid, malformed, refused, apply-failed)',
      labelNames: ['direction', 'result'],
      registers: [registry],
    });
    this.configVersion.set(0);
    this.configInSync.set(0);
    this.configKeptAside.set(0);

    // Read at scrape time from the dataplane's counters in the SharedState (the dataplane thread
    // is their single writer). Every label value is always present, at 0 until attachDataplane.
    // prom-client calls collect() with the metric as `this`, so the registry is reached by name
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Counter({
      name: `${p}dataplane_packets_total`,
      help: 'Dataplane events by kind (frames received, sent, forwarded, ARP, ...)',
      labelNames: ['event'],
      registers: [registry],
      collect() {
        const values = self.shared?.counters();
        this.reset();
        for (const event of EVENT_COUNTERS) this.inc({ event }, values?.[eventIndex(event)] ?? 0);
      },
    });
    new Gauge({
      name: `${p}dataplane_capture_open`,
      help: "The dataplane's capture handle on a traffic interface is open (1) or closed: the device is down or gone and the handle not yet reopened (0)",
      labelNames: ['interface'],
      registers: [registry],
      collect() {
        this.reset();
        const shared = self.shared;
        if (shared) self.captureInterfaces.forEach((name, i) => this.set({ interface: name }, shared.captureOpen(i) ? 1 : 0));
      },
    });
    new Counter({
      name: `${p}dataplane_drops_total`,
      help: 'Frames the dataplane dropped, by reason (see src/wire/dataplane-counters.ts)',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        const values = self.shared?.counters();
        this.reset();
        for (const reason of DROP_REASONS) this.inc({ reason }, values?.[dropIndex(reason)] ?? 0);
      },
    });

    // The stateful firewall, read at scrape time from FirewallStats (src/wire/firewall-stats.ts;
    // the dataplane is the single writer). Per-protocol series are always present (0 until
    // attachFirewall); per-rule series exist for the rules of the attached configuration.
    const perProtocol = (key: keyof ProtocolStats) =>
      function (this: Counter<'protocol'> | Gauge<'protocol'>): void {
        const fw = self.firewall;
        this.reset();
        for (const protocol of SESSION_PROTOCOLS) {
          const v = fw ? fw.stats.protocol(protocol)[key] : 0;
          if (this instanceof Counter) this.inc({ protocol }, v);
          else this.set({ protocol }, v);
        }
      };
    new Gauge({
      name: `${p}sessions_active`,
      help: 'Sessions in the session table, by protocol',
      labelNames: ['protocol'],
      registers: [registry],
      collect: perProtocol('active'),
    });
    new Counter({
      name: `${p}sessions_created_total`,
      help: 'Sessions created (first packet allowed, or installed from the peer), by protocol',
      labelNames: ['protocol'],
      registers: [registry],
      collect: perProtocol('created'),
    });
    new Counter({
      name: `${p}sessions_expired_total`,
      help: 'Sessions removed from the table (timeout, TCP close or reset, peer delete, flush), by protocol',
      labelNames: ['protocol'],
      registers: [registry],
      collect: perProtocol('expired'),
    });
    new Counter({
      name: `${p}sessions_table_full_total`,
      help: 'First packets dropped because the session table was full (shared.sessions.max)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(self.firewall?.stats.tableFullDrops() ?? 0);
      },
    });
    new Gauge({
      name: `${p}nat_ports_in_use`,
      help: 'Source NAT ports (ICMP: identifiers) allocated now, by protocol',
      labelNames: ['protocol'],
      registers: [registry],
      collect: perProtocol('natPortsInUse'),
    });
    new Counter({
      name: `${p}policy_hits_total`,
      help: `First packets decided by each security policy rule; rule="${DEFAULT_RULE_LABEL}" is the default action`,
      labelNames: ['rule'],
      registers: [registry],
      collect() {
        const fw = self.firewall;
        this.reset();
        if (!fw) return;
        fw.ruleNames.forEach((rule, i) => this.inc({ rule }, fw.stats.policyHits(i)));
        this.inc({ rule: DEFAULT_RULE_LABEL }, fw.stats.defaultHits());
      },
    });
    new Counter({
      name: `${p}nat_hits_total`,
      help: 'First packets translated by each NAT rule',
      labelNames: ['rule'],
      registers: [registry],
      collect() {
        const fw = self.firewall;
        this.reset();
        if (!fw) return;
        fw.natRuleNames.forEach((rule, i) => this.inc({ rule }, fw.stats.natHits(i)));
      },
    });

    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: registry, prefix: p });
      // prom-client exports these sums as gauges named _total, which breaks the counter naming
      // convention (`promtool check metrics` flags them); sum() over the per-type gauges that
      // stay (nodejs_active_handles{type}, ...) gives the same number.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        registry.removeSingleMetric(`${p}${name}`);
      }
    }

    this.setState('initial');
    this.peerUp.set(0);
    // Both kinds present from the start at 0: increase() cannot see the first stall of a series
    // that is born at 1, and the stall alerts (deploy/prometheus) rely on increase().
    for (const kind of ['short', 'frozen'] as const) this.controlStalls.inc({ kind }, 0);
    this.monitorGroupUp = new Gauge({
      name: `${p}monitor_group_up`,
      help: 'Link or path monitor group condition: 1 fine, 0 failed (a fault once the hold-up has run)',
      labelNames: ['type', 'group'],
      registers: [registry],
    });
    this.linkMonitorInterfaceUp = new Gauge({
      name: `${p}link_monitor_interface_up`,
      help: 'Monitored interface by logical name: 1 admin up with carrier, 0 otherwise (from the kernel)',
      labelNames: ['interface'],
      registers: [registry],
    });
    this.pathMonitorTargetUp = new Gauge({
      name: `${p}path_monitor_target_up`,
      help: 'Path monitor target: 1 answering, 0 after the configured consecutive lost echoes',
      labelNames: ['group', 'target'],
      registers: [registry],
    });
    this.pathMonitorProbes = new Counter({
      name: `${p}path_monitor_probes_total`,
      help: 'ICMP echoes of path monitoring by group and result (sent, replied, lost, unsent: the prober was down)',
      labelNames: ['group', 'result'],
      registers: [registry],
    });
    this.pathMonitorDrops = new Counter({
      name: `${p}path_monitor_dropped_total`,
      help: 'ICMP datagrams and prober messages that were not a reply to one of our echoes, by reason (src/control/monitor/icmp.ts)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.pathMonitorProberRestarts = new Counter({
      name: `${p}path_monitor_prober_restarts_total`,
      help: 'Times the ICMP prober child process died and was restarted',
      registers: [registry],
    });
    this.syncConnected.set(0);
    this.syncBacklog.set(0);
    this.sessionsSynced.set(0);
    this.lastFailoverDuration.set(0);
  }

  /** The current local state: its series goes to 1, the four others to 0. */
  setState(state: HaState): void {
    for (const s of HA_STATES) this.haState.set({ state: s }, s === state ? 1 : 0);
  }

  setPeerUp(up: boolean): void {
    this.peerUp.set(up ? 1 : 0);
  }

  /** Count a local transition and make `to` the current state. */
  transition(from: HaState, to: HaState, reason: string): void {
    this.transitions.inc({ from, to, reason });
    this.setState(to);
  }

  /**
   * A failover onto this device: call it once when a transition into active completes (next to
   * `transition(...)`, which does not count failovers itself: the first election of an idle pair
   * is not a failover, and only the driver knows). `durationS` runs from the first sign of failure
   * (peer declared dead, take-over request, operator command) to active.
   */
  failover(reason: string, durationS: number): void {
    this.failovers.inc({ reason });
    if (Number.isFinite(durationS) && durationS >= 0) this.lastFailoverDuration.set(durationS);
  }

  heartbeatRtt(link: string, seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.heartbeatRttS.observe({ link }, seconds);
  }

  setLinkUp(link: string, channel: LinkChannel, up: boolean): void {
    this.linkUp.set({ link, channel }, up ? 1 : 0);
  }

  message(channel: MessageChannel, direction: MessageDirection, type: string): void {
    this.messages.inc({ channel, direction, type });
  }

  rejected(channel: MessageChannel, reason: string): void {
    this.rejectedMessages.inc({ channel, reason });
  }

  /** `route` is a route pattern or "unknown", never the raw URL (bounded label cardinality). */
  apiRequest(route: string, code: number | string): void {
    this.apiRequests.inc({ route, code: String(code) });
  }

  connectionRefused(listener: 'api' | 'metrics'): void {
    this.connectionsRefused.inc({ listener });
  }

  setSyncBacklog(records: number): void {
    this.syncBacklog.set(records);
  }

  syncLag(seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.syncLagS.observe(seconds);
  }

  setSessionsSynced(n: number): void {
    this.sessionsSynced.set(n);
  }

  /** One HA2 message; `type` is the body kind (batch, ack, bulkRequest). */
  syncMessage(direction: MessageDirection, type: string): void {
    this.syncMessages.inc({ direction, type });
  }

  syncRecordsCarried(direction: MessageDirection, n: number): void {
    if (n > 0) this.syncRecords.inc({ direction }, n);
  }

  /** `reason` is a fixed label (src/sync/channel.ts): backlog, connection-lost, peer-request, connect, role, gap, overflow. */
  syncResync(reason: string): void {
    this.syncResyncs.inc({ reason });
  }

  setSyncConnected(up: boolean): void {
    this.syncConnected.set(up ? 1 : 0);
  }

  syncRingStall(): void {
    this.syncRingStalls.inc();
  }

  /** `reason` is a fixed label (src/sync/channel.ts): not-sender, disconnected, backlog, overflow, sender, invalid. */
  syncRecordsDiscarded(reason: string, n: number): void {
    if (n > 0) this.syncDiscarded.inc({ reason }, n);
  }

  controlStall(kind: 'short' | 'frozen'): void {
    this.controlStalls.inc({ kind });
  }

  setConfig(version: number, inSync: boolean, keptAside: number): void {
    this.configVersion.set(version);
    this.configInSync.set(inSync ? 1 : 0);
    this.configKeptAside.set(keptAside);
  }

  configCommit(result: 'applied' | 'unchanged' | 'invalid' | 'refused' | 'apply-failed'): void {
    this.configCommits.inc({ result });
  }

  configPush(direction: MessageDirection, result: string): void {
    this.configPushes.inc({ direction, result });
  }

  setMonitorGroupUp(type: 'link' | 'path', group: string, up: boolean): void {
    this.monitorGroupUp.set({ type, group }, up ? 1 : 0);
  }

  setLinkMonitorInterfaceUp(iface: string, up: boolean): void {
    this.linkMonitorInterfaceUp.set({ interface: iface }, up ? 1 : 0);
  }

  setPathMonitorTargetUp(group: string, target: string, up: boolean): void {
    this.pathMonitorTargetUp.set({ group, target }, up ? 1 : 0);
  }

  pathMonitorProbe(group: string, result: ProbeResult): void {
    this.pathMonitorProbes.inc({ group, result });
  }

  /** `reason` is a fixed label: ICMP_DROP_REASONS, bad-command, overlong-command, bad-prober-line, send-error. */
  pathMonitorDropped(reason: string, n: number): void {
    if (n > 0) this.pathMonitorDrops.inc({ reason }, n);
  }

  pathMonitorProberRestart(): void {
    this.pathMonitorProberRestarts.inc();
  }

  /** Monitor gauges only (counters keep counting): a reconfigure sets again the series that remain. */
  resetMonitorGauges(): void {
    this.monitorGroupUp.reset();
    this.linkMonitorInterfaceUp.reset();
    this.pathMonitorTargetUp.reset();
  }

  /**
   * Export the dataplane counters of this SharedState from now on, and the capture state of the
   * traffic interfaces, named in the dataplane's order (sorted logical names, engine.ts).
   */
  attachDataplane(shared: SharedState, interfaceNames: readonly string[] = []): void {
    this.shared = shared;
    this.captureInterfaces = [...interfaceNames];
  }

  /**
   * Export these firewall counters from now on; `ruleNames` and `natRuleNames` are the rule names
   * in config order (the indices the dataplane counts by). Call again after a commit that changed
   * the rules, with the dataplane's new FirewallStats: counters restart from that layout's values.
   */
  attachFirewall(stats: FirewallStats, ruleNames: readonly string[], natRuleNames: readonly string[]): void {
    if (ruleNames.length !== stats.ruleCount || natRuleNames.length !== stats.natRuleCount) {
      throw new Error(
        `attachFirewall: ${ruleNames.length} rule names and ${natRuleNames.length} NAT rule names for stats made for ` +
          `${stats.ruleCount} rules and ${stats.natRuleCount} NAT rules`,
      );
    }
    this.firewall = { stats, ruleNames: [...ruleNames], natRuleNames: [...natRuleNames] };
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
