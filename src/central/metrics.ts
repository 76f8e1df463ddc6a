// Central's own metrics, on its own prom-client Registry (never the box's). The gauges describe
// the fleet view and are set from it at each scrape (refresh), so they are never staler than the
// view; the counters count as things happen. Names, help, labels and label values are those
// agreed with the fleet alerts and dashboards (deploy/prometheus/fleet, deploy/grafana), listed in
// test/unit/metrics/central-metric-names.ts, which test/unit/central/metric-names.test.ts checks
// this exposition against: change them only together. The sync lag exported is the p99.
import { Counter, Gauge, Registry } from 'prom-client';
import { PAIR_HEALTHS, POLL_OUTCOMES, PUSH_RESULTS, type FleetResponse, type PollOutcome, type PushResult } from './protocol.js';

export class CentralMetrics {
  readonly registry = new Registry();
  private readonly pairs = this.gauge(
    'pairs',
    'Pairs by health: ok (both members reachable, exactly one active or in active/active both active-*, configs agree), degraded (reachable but not ok), down (no member active or none reachable), unknown (not polled yet)',
    ['health'],
  );
  private readonly memberUp = this.gauge('member_up', "The member answered central's last poll (1) or not (0)", ['pair', 'member']);
  private readonly unreachable = this.gauge('members_unreachable', 'Members whose last poll failed');
  private readonly unreachableSeconds = this.gauge('member_unreachable_seconds', 'How long the member has not answered (0 when it answers)', [
    'pair',
    'member',
  ]);
  private readonly activeMembers = this.gauge('pair_active_members', 'Members of the pair in an active state (active, active-primary, active-secondary)', [
    'pair',
  ]);
  private readonly configAgree = this.gauge('pair_config_agree', "Both members' shared-config hashes are equal (1) or not (0)", ['pair']);
  private readonly syncLag = this.gauge('pair_sync_lag_seconds', "The active member's HA2 sync lag as it reports it (0 when none)", ['pair']);
  private readonly pushes = new Counter({
    name: 'tandem_central_pushes_total',
    help: 'Config pushes to pairs by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private readonly tlsReloads = new Counter({
    name: 'tandem_central_tls_reloads_total',
    help: "Reloads of central's own HTTPS certificate after its files changed, by result (a failed one keeps the previous certificate serving)",
    labelNames: ['result'],
    registers: [this.registry],
  });
  private readonly tlsCertExpiry = this.gauge(
    'tls_cert_expiry_timestamp_seconds',
    "When the certificate central's HTTPS listener serves expires (seconds since the epoch; 0 without tls)",
  );
  private readonly polls = new Counter({
    name: 'tandem_central_polls_total',
    help: 'Polls of members by result',
    labelNames: ['result'],
    registers: [this.registry],
  });

  constructor() {
    for (const result of PUSH_RESULTS) this.pushes.inc({ result }, 0);
    for (const result of POLL_OUTCOMES) this.polls.inc({ result }, 0);
    for (const result of ['ok', 'failed']) this.tlsReloads.inc({ result }, 0);
    for (const health of PAIR_HEALTHS) this.pairs.set({ health }, 0);
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name: `tandem_central_${name}`, help, labelNames, registers: [this.registry] });
  }

  /** TlsMetrics (src/api/tls-watch.ts), for central's own listener. */
  apiTlsReload(result: 'ok' | 'failed'): void {
    this.tlsReloads.inc({ result });
  }

  setApiTlsCertExpiry(notAfter: Date): void {
    this.tlsCertExpiry.set(Math.floor(notAfter.getTime() / 1000));
  }

  poll(result: PollOutcome): void {
    this.polls.inc({ result });
  }

  push(result: PushResult): void {
    this.pushes.inc({ result });
  }

  /** Sets every gauge from the view; series of pairs no longer in it disappear. */
  refresh(view: FleetResponse): void {
    for (const g of [this.memberUp, this.unreachableSeconds, this.activeMembers, this.configAgree, this.syncLag] as Gauge<string>[]) g.reset();
    const byHealth = Object.fromEntries(PAIR_HEALTHS.map((h) => [h, 0]));
    let unreachable = 0;
    for (const p of view.pairs) {
      byHealth[p.health]++;
      for (const m of p.members) {
        this.memberUp.set({ pair: p.name, member: m.name }, m.reachable === true ? 1 : 0);
        this.unreachableSeconds.set({ pair: p.name, member: m.name }, m.unreachableForS);
        if (m.reachable === false) unreachable++;
      }
      this.activeMembers.set({ pair: p.name }, p.activeMembers);
      this.configAgree.set({ pair: p.name }, p.configAgree === true ? 1 : 0);
      this.syncLag.set({ pair: p.name }, (p.syncLagMs ?? 0) / 1000);
    }
    for (const h of PAIR_HEALTHS) this.pairs.set({ health: h }, byHealth[h]);
    this.unreachable.set(unreachable);
  }

  async text(view: FleetResponse): Promise<string> {
    this.refresh(view);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
