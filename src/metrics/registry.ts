// Every Prometheus metric of tandem is named here and only here. Other modules call the methods of
// `Metrics` (injected); they never see prom-client. One Registry per Metrics object (no global
// registry), so tests and a daemon that restarts a plane get a fresh, isolated set.
//
// Naming follows the Prometheus conventions: prefix `tandem_`, base units in the name
// (`_seconds`), counters end in `_total`, label values are the documented reason enums.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import { SHOWN_HA_STATES, type ShownHaState } from '../wire/ha-state.js';
import { DROP_REASONS, EVENT_COUNTERS, dropIndex, eventIndex } from '../wire/dataplane-counters.js';
import type { SharedState } from '../wire/shared-state.js';
import type { MonitorMetrics, ProbeResult } from './monitor-metrics.js';
import type { FirewallStats, ProtocolStats } from '../wire/firewall-stats.js';
import { DEFAULT_RULE_LABEL, SESSION_PROTOCOLS } from '../wire/session-view.js';

export const METRIC_PREFIX = 'tandem_';

/**
 * Heartbeat round trip buckets (seconds): 50 us (two hosts on one switch) to 1 s (far beyond any
 * dead interval: a heartbeat that slow is already a missed one).
 */
export const HEARTBEAT_RTT_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

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
export const SYNC_LAG_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

// ---- the metric families, by what they count ----
// Each function registers one group in `registry`, in the order of the exposition, and sets the
// series that must exist from the start. The Metrics methods below are the only writers.

function counter<L extends string = string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers: [registry] });
}

function gauge<L extends string = string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  return new Gauge({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers: [registry] });
}

function histogram<L extends string = string>(registry: Registry, name: string, help: string, buckets: number[], labelNames: readonly L[] = []): Histogram<L> {
  return new Histogram({ name: `${METRIC_PREFIX}${name}`, help, labelNames, buckets, registers: [registry] });
}

/** The local HA state and its changes (the control agent's transition function). */
function haFamilies(registry: Registry) {
  const f = {
    state: gauge(registry, 'ha_state', 'Local HA state: 1 for the current state, 0 for every other state', ['state']),
    peerUp: gauge(registry, 'ha_peer_up', 'The peer is heard on at least one HA1 link (1) or not (0)'),
    transitions: counter(registry, 'ha_transitions_total', 'Local HA state transitions by from, to and reason', ['from', 'to', 'reason']),
    failovers: counter(registry, 'ha_failovers_total', 'Transitions of this device into active, by reason', ['reason']),
    lastFailoverDuration: gauge(
      registry,
      'ha_last_failover_duration_seconds',
      'Duration of the last failover onto this device, from the first sign of failure to active',
    ),
  };
  f.peerUp.set(0);
  f.lastFailoverDuration.set(0);
  return f;
}

/** HA1 links, and the authenticated messages of every HA channel. */
function haLinkFamilies(registry: Registry) {
  return {
    heartbeatRtt: histogram(registry, 'ha1_heartbeat_rtt_seconds', 'Heartbeat round trip time per HA1 link', HEARTBEAT_RTT_BUCKETS_S, ['link']),
    linkUp: gauge(
      registry,
      'ha1_link_up',
      'HA1 link liveness per link (ha1, ha1-backup, heartbeat-backup) and channel (heartbeat: peer heartbeats arrive; session: TCP session established and usable; the heartbeat backup has no session)',
      ['link', 'channel'],
    ),
    messages: counter(registry, 'ha_messages_total', 'Authenticated HA messages by channel, direction and message type', ['channel', 'direction', 'type']),
    rejected: counter(
      registry,
      'ha_messages_rejected_total',
      'HA messages dropped before being trusted, by channel and reason (and reason send-backlog: ours not sent because the peer read nothing and the send buffer bound was reached)',
      ['channel', 'reason'],
    ),
  };
}

/** The management API and the listeners' connection bound. */
function apiFamilies(registry: Registry) {
  const f = {
    requests: counter(registry, 'api_requests_total', 'Management API requests by route and HTTP status code', ['route', 'code']),
    connectionsRefused: counter(
      registry,
      'connections_refused_total',
      'TCP connections closed unanswered because a listener (api, metrics) held its maximum of concurrent connections',
      ['listener'],
    ),
    // HTTPS (device.api.tls): certificate reloads without a restart, and when the served one expires
    tlsReloads: counter(
      registry,
      'api_tls_reloads_total',
      'Reloads of the API certificate, key or client CA after their files changed, by result (failed: the old certificate keeps serving)',
      ['result'],
    ),
    tlsCertExpiry: gauge(
      registry,
      'api_tls_cert_expiry_timestamp_seconds',
      "The served API certificate's notAfter, in seconds since the Unix epoch (absent without device.api.tls)",
    ),
  };
  for (const listener of ['api', 'metrics']) f.connectionsRefused.inc({ listener }, 0);
  for (const result of ['ok', 'failed']) f.tlsReloads.inc({ result }, 0);
  return f;
}

/** HA2 session sync (src/sync/channel.ts). */
function syncFamilies(registry: Registry) {
  const f = {
    backlog: gauge(registry, 'sync_backlog_records', 'Session changes waiting to reach the peer: queued for a batch plus sent and not yet acked'),
    lag: histogram(
      registry,
      'sync_lag_seconds',
      'From a session change on the active dataplane to the peer acking it (one observation per batch: its oldest record)',
      SYNC_LAG_BUCKETS_S,
    ),
    sessionsSynced: gauge(registry, 'sessions_synced', 'Session records received from the peer and handed to the local dataplane'),
    messages: counter(registry, 'sync_messages_total', 'Authenticated HA2 messages by direction and type (batch, ack, bulkRequest)', ['direction', 'type']),
    records: counter(registry, 'sync_records_total', 'Session records carried in HA2 batches, by direction', ['direction']),
    resyncs: counter(registry, 'sync_resyncs_total', 'Full resyncs started: dumps asked of the local dataplane (sender) or of the peer (receiver), by reason', [
      'reason',
    ]),
    connected: gauge(registry, 'sync_connected', 'The HA2 connection to the peer is up (1) or not (0)'),
    ringStalls: counter(registry, 'sync_ring_stalls_total', 'Times the ring into the local dataplane was full and received records had to wait'),
    discarded: counter(
      registry,
      'sync_records_discarded_total',
      'Session records not sent or not applied, by reason (each loss of synced state also starts a resync)',
      ['reason'],
    ),
  };
  f.connected.set(0);
  f.backlog.set(0);
  f.sessionsSynced.set(0);
  return f;
}

/** The control thread's own schedule. */
function controlThreadFamilies(registry: Registry) {
  const f = {
    stalls: counter(
      registry,
      'control_stalls_total',
      'Gaps between control-thread ticks longer than the dead interval: short (up to two dead intervals: role kept, dataplane held until the peer is heard fresh) or frozen (longer: back to initial)',
      ['kind'],
    ),
  };
  // Both kinds present from the start at 0: increase() cannot see the first stall of a series
  // that is born at 1, and the stall alerts (deploy/prometheus) rely on increase().
  for (const kind of ['short', 'frozen'] as const) f.stalls.inc({ kind }, 0);
  return f;
}

/** Shared-config commits and their replication (src/control/config-sync.ts). */
function configFamilies(registry: Registry) {
  const f = {
    version: gauge(registry, 'config_version', 'Version of the running shared config (0: the config file, never committed)'),
    // The hash as a label: a fleet's Prometheus compares the two members of a pair by it even
    // when they cannot hear each other (config_in_sync needs the peer's hello). One series only:
    // the previous config's series goes when the running config changes.
    info: gauge(
      registry,
      'config_info',
      'The running shared config: 1 on the series of its version and hash (sha256 of the canonical shared half, hex; `tandem status` shows its first 12 digits), no other series',
      ['version', 'hash'],
    ),
    inSync: gauge(registry, 'config_in_sync', 'The peer is up and runs the same shared config (same hash) as this box (1) or not (0)'),
    keptAside: gauge(
      registry,
      'config_kept_aside',
      'Configs kept aside in the state dir (diverged from the peer, or unusable at start) for the operator to review',
    ),
    commits: counter(registry, 'config_commits_total', 'Shared-config commits on this box by result (applied, unchanged, invalid, refused, apply-failed)', [
      'result',
    ]),
    pushes: counter(
      registry,
      'config_pushes_total',
      'Shared-config pushes over HA1: tx by result (sent, no-session, refused), rx by result (applied, same, invalid, malformed, refused, apply-failed)',
      ['direction', 'result'],
    ),
  };
  f.version.set(0);
  f.inSync.set(0);
  f.keptAside.set(0);
  return f;
}

/** Link and path monitoring (src/control/monitor/). */
function monitorFamilies(registry: Registry) {
  return {
    groupUp: gauge(registry, 'monitor_group_up', 'Link or path monitor group condition: 1 fine, 0 failed (a fault once the hold-up has run)', [
      'type',
      'group',
    ]),
    linkInterfaceUp: gauge(
      registry,
      'link_monitor_interface_up',
      'Monitored interface by logical name: 1 admin up with carrier, 0 otherwise (from the kernel)',
      ['interface'],
    ),
    pathTargetUp: gauge(registry, 'path_monitor_target_up', 'Path monitor target: 1 answering, 0 after the configured consecutive lost echoes', [
      'group',
      'target',
    ]),
    pathProbes: counter(
      registry,
      'path_monitor_probes_total',
      'ICMP echoes of path monitoring by group and result (sent, replied, lost, unsent: the prober was down)',
      ['group', 'result'],
    ),
    pathDrops: counter(
      registry,
      'path_monitor_dropped_total',
      'ICMP datagrams and prober messages that were not a reply to one of our echoes, by reason (src/control/monitor/icmp.ts)',
      ['reason'],
    ),
    proberRestarts: counter(registry, 'path_monitor_prober_restarts_total', 'Times the ICMP prober child process died and was restarted'),
  };
}

/** What the scrape-time families read: the attachments of the Metrics object, as they are when scraped. */
interface ScrapeSources {
  shared(): SharedState | null;
  /** Traffic interfaces by the dataplane's index. */
  captureInterfaces(): readonly string[];
  firewall(): AttachedFirewall | null;
}

interface AttachedFirewall {
  stats: FirewallStats;
  ruleNames: readonly string[];
  natRuleNames: readonly string[];
}

/**
 * Read at scrape time from the dataplane's counters in the SharedState (the dataplane thread is
 * their single writer). Every label value is always present, at 0 until attachDataplane.
 * prom-client calls collect() with the metric as `this`.
 */
function registerDataplaneFamilies(registry: Registry, from: ScrapeSources): void {
  dataplaneCounterFamily(
    registry,
    from,
    'dataplane_packets_total',
    'Dataplane events by kind (frames received, sent, forwarded, ARP, ...)',
    'event',
    EVENT_COUNTERS,
    eventIndex,
  );
  new Gauge({
    name: `${METRIC_PREFIX}dataplane_capture_open`,
    help: "The dataplane's capture handle on a traffic interface is open (1) or closed: the device is down or gone and the handle not yet reopened (0)",
    labelNames: ['interface'],
    registers: [registry],
    collect() {
      this.reset();
      const shared = from.shared();
      if (shared) from.captureInterfaces().forEach((name, i) => this.set({ interface: name }, shared.captureOpen(i) ? 1 : 0));
    },
  });
  dataplaneCounterFamily(
    registry,
    from,
    'dataplane_drops_total',
    'Frames the dataplane dropped, by reason (see src/wire/dataplane-counters.ts)',
    'reason',
    DROP_REASONS,
    dropIndex,
  );
}

/** A series for each of `values` (label `label`): the dataplane's counter at index(value). */
function dataplaneCounterFamily<L extends string, V extends string>(
  registry: Registry,
  from: ScrapeSources,
  name: string,
  help: string,
  label: L,
  values: readonly V[],
  index: (value: V) => number,
): void {
  new Counter({
    name: `${METRIC_PREFIX}${name}`,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      const counters = from.shared()?.counters();
      this.reset();
      for (const value of values) {
        const labels: LabelValues<L> = {};
        labels[label] = value;
        this.inc(labels, counters?.[index(value)] ?? 0);
      }
    },
  });
}

/**
 * The stateful firewall, read at scrape time from FirewallStats (src/wire/firewall-stats.ts; the
 * dataplane is the single writer). Per-protocol series are always present (0 until
 * attachFirewall); per-rule series exist for the rules of the attached configuration.
 */
function registerFirewallFamilies(registry: Registry, from: ScrapeSources): void {
  perProtocolFamily(registry, from, 'gauge', 'sessions_active', 'Sessions in the session table, by protocol', 'active');
  perProtocolFamily(
    registry,
    from,
    'counter',
    'sessions_created_total',
    'Sessions created (first packet allowed, or installed from the peer), by protocol',
    'created',
  );
  perProtocolFamily(
    registry,
    from,
    'counter',
    'sessions_expired_total',
    'Sessions removed from the table (timeout, TCP close or reset, peer delete, flush), by protocol',
    'expired',
  );
  new Counter({
    name: `${METRIC_PREFIX}sessions_table_full_total`,
    help: 'First packets dropped because the session table was full (shared.sessions.max)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(from.firewall()?.stats.tableFullDrops() ?? 0);
    },
  });
  registerPairFamilies(registry, from);
  perProtocolFamily(registry, from, 'gauge', 'nat_ports_in_use', 'Source NAT ports (ICMP: identifiers) allocated now, by protocol', 'natPortsInUse');
  registerRuleHitFamilies(registry, from);
}

/** Active/active: the sessions each device owns and HA3's bytes (0 in active/passive), from FirewallStats. */
function registerPairFamilies(registry: Registry, from: ScrapeSources): void {
  new Gauge({
    name: `${METRIC_PREFIX}sessions_owned`,
    help: 'Active/active: sessions each device owns now (the box that processes their packets); 0 in active/passive',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      const owned = from.firewall()?.stats.ownedSessions() ?? [0, 0];
      this.set({ device: '0' }, owned[0]);
      this.set({ device: '1' }, owned[1]);
    },
  });
  new Counter({
    name: `${METRIC_PREFIX}ha3_bytes_total`,
    help: 'Active/active: bytes of HA3 frames sent, and received and authenticated (frames: tandem_dataplane_packets_total{event="ha3-tx|ha3-rx"})',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset();
      const bytes = from.firewall()?.stats.ha3Bytes() ?? { rx: 0, tx: 0 };
      this.inc({ direction: 'rx' }, bytes.rx);
      this.inc({ direction: 'tx' }, bytes.tx);
    },
  });
}

/** One series per session protocol, read from the attached FirewallStats (0 while none is attached). */
function perProtocolFamily(registry: Registry, from: ScrapeSources, type: 'counter' | 'gauge', name: string, help: string, key: keyof ProtocolStats): void {
  const config = {
    name: `${METRIC_PREFIX}${name}`,
    help,
    labelNames: ['protocol'] as const,
    registers: [registry],
    collect(this: Counter<'protocol'> | Gauge<'protocol'>): void {
      const fw = from.firewall();
      this.reset();
      for (const protocol of SESSION_PROTOCOLS) {
        const v = fw ? fw.stats.protocol(protocol)[key] : 0;
        if (this instanceof Counter) this.inc({ protocol }, v);
        else this.set({ protocol }, v);
      }
    },
  };
  if (type === 'counter') new Counter(config);
  else new Gauge(config);
}

/** First packets by the security policy rule and the NAT rule that decided them. */
function registerRuleHitFamilies(registry: Registry, from: ScrapeSources): void {
  perRuleFamily(
    registry,
    from,
    'policy_hits_total',
    `First packets decided by each security policy rule; rule="${DEFAULT_RULE_LABEL}" is the default action`,
    (fw) => [...fw.ruleNames.map((rule, i): RuleHits => [rule, fw.stats.policyHits(i)]), [DEFAULT_RULE_LABEL, fw.stats.defaultHits()]],
  );
  perRuleFamily(registry, from, 'nat_hits_total', 'First packets translated by each NAT rule', (fw) =>
    fw.natRuleNames.map((rule, i): RuleHits => [rule, fw.stats.natHits(i)]),
  );
}

type RuleHits = [rule: string, hits: number];

/** A series for each rule of the attached configuration (none while none is attached). */
function perRuleFamily(registry: Registry, from: ScrapeSources, name: string, help: string, hits: (fw: AttachedFirewall) => RuleHits[]): void {
  new Counter({
    name: `${METRIC_PREFIX}${name}`,
    help,
    labelNames: ['rule'],
    registers: [registry],
    collect() {
      const fw = from.firewall();
      this.reset();
      if (fw) for (const [rule, n] of hits(fw)) this.inc({ rule }, n);
    },
  });
}

/** Node's process metrics (prom-client's defaults), under our prefix. */
function registerProcessFamilies(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  // prom-client exports these sums as gauges named _total, which breaks the counter naming
  // convention (`promtool check metrics` flags them); sum() over the per-type gauges that
  // stay (nodejs_active_handles{type}, ...) gives the same number.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(`${METRIC_PREFIX}${name}`);
  }
}

export class Metrics implements MonitorMetrics {
  /** The registry this object owns; serve it with `text()` or `registry.metrics()`. */
  readonly registry: Registry;

  private readonly ha: ReturnType<typeof haFamilies>;
  private readonly haLinks: ReturnType<typeof haLinkFamilies>;
  private readonly api: ReturnType<typeof apiFamilies>;
  private readonly sync: ReturnType<typeof syncFamilies>;
  private readonly controlThread: ReturnType<typeof controlThreadFamilies>;
  private readonly config: ReturnType<typeof configFamilies>;
  private readonly monitors: ReturnType<typeof monitorFamilies>;
  private shared: SharedState | null = null;
  /** Traffic interfaces by the dataplane's index, for dataplane_capture_open. */
  private captureInterfaces: string[] = [];
  private firewall: AttachedFirewall | null = null;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    // The order of registration is the order of the exposition (the monitors' families came
    // last when they were added, after Node's process metrics, and stay there).
    this.ha = haFamilies(registry);
    this.haLinks = haLinkFamilies(registry);
    this.api = apiFamilies(registry);
    this.sync = syncFamilies(registry);
    this.controlThread = controlThreadFamilies(registry);
    this.config = configFamilies(registry);
    const from: ScrapeSources = { shared: () => this.shared, captureInterfaces: () => this.captureInterfaces, firewall: () => this.firewall };
    registerDataplaneFamilies(registry, from);
    registerFirewallFamilies(registry, from);
    if (opts.defaultMetrics !== false) registerProcessFamilies(registry);
    this.monitors = monitorFamilies(registry);
    this.setState('initial');
  }

  /** The current local state: its series goes to 1, the four others to 0. */
  setState(state: ShownHaState): void {
    for (const s of SHOWN_HA_STATES) this.ha.state.set({ state: s }, s === state ? 1 : 0);
  }

  setPeerUp(up: boolean): void {
    this.ha.peerUp.set(up ? 1 : 0);
  }

  /** Count a local transition and make `to` the current state. */
  transition(from: ShownHaState, to: ShownHaState, reason: string): void {
    this.ha.transitions.inc({ from, to, reason });
    this.setState(to);
  }

  /**
   * A failover onto this device: call it once when a transition into active completes (next to
   * `transition(...)`, which does not count failovers itself: the first election of an idle pair
   * is not a failover, and only the driver knows). `durationS` runs from the first sign of failure
   * (peer declared dead, take-over request, operator command) to active.
   */
  failover(reason: string, durationS: number): void {
    this.ha.failovers.inc({ reason });
    if (Number.isFinite(durationS) && durationS >= 0) this.ha.lastFailoverDuration.set(durationS);
  }

  heartbeatRtt(link: string, seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.haLinks.heartbeatRtt.observe({ link }, seconds);
  }

  setLinkUp(link: string, channel: LinkChannel, up: boolean): void {
    this.haLinks.linkUp.set({ link, channel }, up ? 1 : 0);
  }

  message(channel: MessageChannel, direction: MessageDirection, type: string): void {
    this.haLinks.messages.inc({ channel, direction, type });
  }

  rejected(channel: MessageChannel, reason: string): void {
    this.haLinks.rejected.inc({ channel, reason });
  }

  /** `route` is a route pattern or "unknown", never the raw URL (bounded label cardinality). */
  apiRequest(route: string, code: number | string): void {
    this.api.requests.inc({ route, code: String(code) });
  }

  connectionRefused(listener: 'api' | 'metrics'): void {
    this.api.connectionsRefused.inc({ listener });
  }

  apiTlsReload(result: 'ok' | 'failed'): void {
    this.api.tlsReloads.inc({ result });
  }

  /** The notAfter of the certificate the API serves now (at start and after every good reload). */
  setApiTlsCertExpiry(notAfter: Date): void {
    this.api.tlsCertExpiry.set(Math.floor(notAfter.getTime() / 1000));
  }

  setSyncBacklog(records: number): void {
    this.sync.backlog.set(records);
  }

  syncLag(seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.sync.lag.observe(seconds);
  }

  setSessionsSynced(n: number): void {
    this.sync.sessionsSynced.set(n);
  }

  /** One HA2 message; `type` is the body kind (batch, ack, bulkRequest). */
  syncMessage(direction: MessageDirection, type: string): void {
    this.sync.messages.inc({ direction, type });
  }

  syncRecordsCarried(direction: MessageDirection, n: number): void {
    if (n > 0) this.sync.records.inc({ direction }, n);
  }

  /** `reason` is a fixed label: SyncResyncReason (src/sync/bulk.ts). */
  syncResync(reason: string): void {
    this.sync.resyncs.inc({ reason });
  }

  setSyncConnected(up: boolean): void {
    this.sync.connected.set(up ? 1 : 0);
  }

  syncRingStall(): void {
    this.sync.ringStalls.inc();
  }

  /** `reason` is a fixed label: SyncDiscardReason (src/sync/status.ts). */
  syncRecordsDiscarded(reason: string, n: number): void {
    if (n > 0) this.sync.discarded.inc({ reason }, n);
  }

  controlStall(kind: 'short' | 'frozen'): void {
    this.controlThread.stalls.inc({ kind });
  }

  /** The running shared config (`hash`: its sha256, hex), whether the peer runs the same, and the configs kept aside. */
  setConfig(version: number, hash: string, inSync: boolean, keptAside: number): void {
    this.config.version.set(version);
    this.config.info.reset();
    this.config.info.set({ version: String(version), hash }, 1);
    this.config.inSync.set(inSync ? 1 : 0);
    this.config.keptAside.set(keptAside);
  }

  configCommit(result: 'applied' | 'unchanged' | 'invalid' | 'refused' | 'apply-failed'): void {
    this.config.commits.inc({ result });
  }

  configPush(direction: MessageDirection, result: string): void {
    this.config.pushes.inc({ direction, result });
  }

  setMonitorGroupUp(type: 'link' | 'path', group: string, up: boolean): void {
    this.monitors.groupUp.set({ type, group }, up ? 1 : 0);
  }

  setLinkMonitorInterfaceUp(iface: string, up: boolean): void {
    this.monitors.linkInterfaceUp.set({ interface: iface }, up ? 1 : 0);
  }

  setPathMonitorTargetUp(group: string, target: string, up: boolean): void {
    this.monitors.pathTargetUp.set({ group, target }, up ? 1 : 0);
  }

  pathMonitorProbe(group: string, result: ProbeResult): void {
    this.monitors.pathProbes.inc({ group, result });
  }

  /** `reason` is a fixed label: ICMP_DROP_REASONS, bad-command, overlong-command, bad-prober-line, send-error. */
  pathMonitorDropped(reason: string, n: number): void {
    if (n > 0) this.monitors.pathDrops.inc({ reason }, n);
  }

  pathMonitorProberRestart(): void {
    this.monitors.proberRestarts.inc();
  }

  /** Monitor gauges only (counters keep counting): a reconfigure sets again the series that remain. */
  resetMonitorGauges(): void {
    this.monitors.groupUp.reset();
    this.monitors.linkInterfaceUp.reset();
    this.monitors.pathTargetUp.reset();
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
