// The metrics of central (issue 17), by the names, types, labels and label values agreed before
// central was written. deploy/ reads them (deploy/prometheus/fleet/tandem-fleet-alerts.yml,
// deploy/grafana/tandem-fleet.json) and test/unit/metrics checks every query against this list;
// central's own tests should check its /metrics exposition against the same list, so the two
// sides cannot drift apart unnoticed.
//
// What central promises beyond the names:
// - `pair` is the pair's name as the Prometheus targets files give it (deploy/prometheus/fleet/
//   targets/*.yml), and `member` the box's name within it (its device.name), so central's series
//   and the boxes' own join on pair (and member);
// - every value of an enumerated label is exported from central's start (gauges at their value,
//   counters at 0): increase() cannot see the first event of a counter series born at 1, and the
//   pushes-failing rule relies on increase().

/** One metric family as agreed: what a query may name and which label values it may expect. */
export interface AgreedFamily {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  /** Label name -> the values it takes; an empty list: free values (a pair's or a member's name). */
  labels: Readonly<Record<string, readonly string[]>>;
}

export const CENTRAL_HEALTH = ['ok', 'degraded', 'down', 'unknown'] as const;
export const CENTRAL_PUSH_RESULTS = ['committed', 'refused', 'skipped', 'failed'] as const;
export const CENTRAL_POLL_RESULTS = ['ok', 'unreachable', 'timeout', 'bad-response', 'unauthorized'] as const;

export const CENTRAL_METRICS: readonly AgreedFamily[] = [
  {
    name: 'tandem_central_pairs',
    type: 'gauge',
    help: 'Pairs by health: ok (both members reachable, exactly one active or in active/active both active-*, configs agree), degraded (reachable but not ok), down (no member active or none reachable), unknown (not polled yet)',
    labels: { health: CENTRAL_HEALTH },
  },
  {
    name: 'tandem_central_member_up',
    type: 'gauge',
    help: "The member answered central's last poll (1) or not (0)",
    labels: { pair: [], member: [] },
  },
  {
    name: 'tandem_central_members_unreachable',
    type: 'gauge',
    help: 'Members whose last poll failed',
    labels: {},
  },
  {
    name: 'tandem_central_member_unreachable_seconds',
    type: 'gauge',
    help: 'How long the member has not answered (0 when it answers)',
    labels: { pair: [], member: [] },
  },
  {
    name: 'tandem_central_pair_active_members',
    type: 'gauge',
    help: 'Members of the pair in an active state (active, active-primary, active-secondary)',
    labels: { pair: [] },
  },
  {
    name: 'tandem_central_pair_config_agree',
    type: 'gauge',
    help: "Both members' shared-config hashes are equal (1) or not (0)",
    labels: { pair: [] },
  },
  {
    name: 'tandem_central_pair_sync_lag_seconds',
    type: 'gauge',
    help: "The active member's HA2 sync lag as it reports it (0 when none)",
    labels: { pair: [] },
  },
  {
    name: 'tandem_central_pushes_total',
    type: 'counter',
    help: 'Config pushes to pairs by result',
    labels: { result: CENTRAL_PUSH_RESULTS },
  },
  {
    name: 'tandem_central_polls_total',
    type: 'counter',
    help: 'Polls of members by result',
    labels: { result: CENTRAL_POLL_RESULTS },
  },
  {
    name: 'tandem_central_tls_reloads_total',
    type: 'counter',
    help: "Reloads of central's own HTTPS certificate after its files changed, by result (a failed one keeps the previous certificate serving)",
    labels: { result: ['ok', 'failed'] },
  },
  {
    name: 'tandem_central_tls_cert_expiry_timestamp_seconds',
    type: 'gauge',
    help: "When the certificate central's HTTPS listener serves expires (seconds since the epoch; 0 without tls)",
    labels: {},
  },
];

/**
 * Box metrics that another branch adds to src/metrics/registry.ts and deploy/ already uses. Drop
 * an entry once the registry exports it (the check then reads the registry, and a test says the
 * entry can go).
 */
export const PENDING_BOX_METRICS: readonly (AgreedFamily & { branch: string })[] = [
  {
    // PENDING: the TLS branch (h-tls) adds it with the API's HTTPS listener.
    branch: 'h-tls',
    name: 'tandem_api_tls_cert_expiry_timestamp_seconds',
    type: 'gauge',
    help: "The served API certificate's notAfter, in seconds since the Unix epoch",
    labels: {},
  },
];

/** A sample value for free labels, so the exposition shows the label. */
const FREE_VALUE: Record<string, string> = { pair: 'edge', member: 'fw-a' };

/** Prometheus text exposition of these families: one sample for every combination of label values. */
export function agreedExposition(families: readonly AgreedFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    let combos: string[][] = [[]];
    for (const [label, values] of Object.entries(f.labels)) {
      const vs = values.length > 0 ? values : [FREE_VALUE[label] ?? 'x'];
      combos = combos.flatMap((c) => vs.map((v) => [...c, `${label}="${v}"`]));
    }
    for (const c of combos) out.push(`${f.name}${c.length > 0 ? `{${c.join(',')}}` : ''} 0`);
  }
  return `${out.join('\n')}\n`;
}
