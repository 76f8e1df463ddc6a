// The Grafana dashboard is checked against the metrics a real registry exports: a renamed metric or
// label in src/metrics/registry.ts, or a typo in a panel query, fails here instead of leaving an
// empty panel that nobody notices until the night of a failover.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SHOWN_HA_STATES } from '../../../src/wire/ha-state.js';
import { boxExposition, checkExpr, familyOf, type Exposition } from './promql-check.js';
import { dashboardExprs, promtoolParses } from './grafana-queries.js';

const DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/tandem-pair.json', import.meta.url));

/** What Grafana puts in place of the dashboard and built-in variables before it sends a query. */
function substituteVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '3h')
    .replaceAll('$job', 'tandem')
    .replaceAll('$instance', '.+');
}

describe('Grafana dashboard deploy/grafana/tandem-pair.json', () => {
  let exp: Exposition;
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Record<string, unknown>;
  const exprs = dashboardExprs(dashboard);

  beforeAll(async () => {
    exp = await boxExposition();
  });

  it('has queries to check', () => {
    expect(exprs.length).toBeGreaterThan(30);
  });

  it('queries only metrics, labels and label values the daemon exports', () => {
    const problems = exprs.flatMap(({ where, expr, legend }) => checkExpr(expr, legend, exp).map((p) => `${where}: ${p} in ${expr}`));
    expect(problems).toEqual([]);
  });

  // promtool parses each query (as a recording rule) with the real PromQL parser: a bracket or an
  // operator out of place fails here, not in Grafana. promtool is required (scripts/setup.sh).
  it('has queries that are valid PromQL once Grafana has substituted its variables', () => {
    const r = promtoolParses(exprs.map(({ expr }) => substituteVariables(expr)));
    expect(r.out).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
    expect(r.status, r.out).toBe(0);
  });

  it('has variables whose queries name real metrics and labels', () => {
    const vars = (dashboard.templating as { list: { name: string; type: string; query: unknown }[] }).list;
    const ds = vars.find((v) => v.name === 'datasource');
    expect(ds?.type).toBe('datasource');
    expect(ds?.query).toBe('prometheus');
    const queries = vars.filter((v) => v.type === 'query');
    expect(queries.map((v) => v.name).sort()).toEqual(['instance', 'job']);
    for (const v of queries) {
      const q = (v.query as { query: string }).query;
      const lv = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
      expect(lv, q).not.toBeNull();
      expect(checkExpr(lv![1], `{{${lv![2]}}}`, exp), q).toEqual([]);
    }
  });

  it('shows every family the issue asks for', () => {
    const used = new Set(exprs.flatMap(({ expr }) => [...expr.matchAll(/(?<![\w:])tandem_[a-zA-Z0-9_:]*/g)].map((m) => familyOf(m[0], exp))));
    const required = [
      'tandem_ha_state',
      'tandem_ha_peer_up',
      'tandem_ha_failovers_total',
      'tandem_ha_last_failover_duration_seconds',
      'tandem_ha1_link_up',
      'tandem_ha1_heartbeat_rtt_seconds',
      'tandem_sync_connected',
      'tandem_sync_backlog_records',
      'tandem_sync_lag_seconds',
      'tandem_sessions_synced',
      'tandem_config_version',
      'tandem_config_in_sync',
      'tandem_monitor_group_up',
      'tandem_path_monitor_target_up',
      'tandem_sessions_active',
      'tandem_sessions_created_total',
      'tandem_dataplane_packets_total',
      'tandem_dataplane_drops_total',
      'tandem_control_stalls_total',
    ];
    expect(required.filter((f) => !used.has(f))).toEqual([]);
  });

  it('draws every HA state on the state timeline, each mapped to its name', () => {
    const timeline = (dashboard.panels as { type: string; targets?: { expr?: string }[]; fieldConfig?: unknown }[]).find((p) => p.type === 'state-timeline');
    const expr = timeline?.targets?.[0]?.expr ?? '';
    const mappings = (timeline?.fieldConfig as { defaults: { mappings: { options: Record<string, { text: string }> }[] } }).defaults.mappings;
    const names = Object.values(mappings[0].options).map((o) => o.text);
    for (const state of SHOWN_HA_STATES) {
      expect(expr, state).toContain(`state="${state}"`);
      expect(names, state).toContain(state);
    }
  });

  it('queries histograms through their buckets with le kept', () => {
    for (const { expr } of exprs.filter((e) => e.expr.includes('histogram_quantile'))) {
      expect(expr).toMatch(/_bucket\{/);
      expect(expr).toMatch(/by \([^)]*\ble\b[^)]*\)/);
    }
  });

  it('is laid out as Grafana expects: unique panel ids, every query panel on the datasource variable', () => {
    const panels = dashboard.panels as { id: number; type: string; datasource?: { uid: string }; gridPos: { w: number; x: number } }[];
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.datasource?.uid).toBe('${datasource}');
    }
    expect(dashboard.uid).toBe('tandem-pair');
  });

  // The checker itself must catch mistakes, or the tests above prove nothing.
  it('catches a misspelt metric, label, label value, grouping label and legend label', () => {
    const sel = 'job=~"$job", instance=~"$instance"';
    expect(checkExpr(`rate(tandem_ha_failovers_total{${sel}}[5m])`, '{{instance}} {{reason}}', exp)).toEqual([]);
    expect(checkExpr(`rate(tandem_ha_failover_total{${sel}}[5m])`, undefined, exp)).toEqual(['unknown metric tandem_ha_failover_total']);
    expect(checkExpr('tandem_ha_state{stat="active"}', undefined, exp)).toEqual(['tandem_ha_state has no label "stat"']);
    expect(checkExpr('tandem_ha_state{state="actve"}', undefined, exp)).toEqual(['tandem_ha_state{state="actve"}: value never exported']);
    expect(checkExpr('sum by (instance, reasn) (tandem_ha_failovers_total)', undefined, exp)).toEqual([
      'grouping label "reasn" is on no metric of the expression',
    ]);
    expect(checkExpr('tandem_sync_backlog_records', '{{instance}} {{link}}', exp)).toEqual(['legend label "link" is on no metric of the expression']);
    // a histogram's series are known, a gauge's made-up _bucket is not
    expect(checkExpr('tandem_sync_lag_seconds_bucket', undefined, exp)).toEqual([]);
    expect(checkExpr('tandem_sync_backlog_records_bucket', undefined, exp)).toEqual(['unknown metric tandem_sync_backlog_records_bucket']);
    expect(checkExpr('up', undefined, exp)).toEqual(['no tandem_ metric in the expression']);
  });
});
