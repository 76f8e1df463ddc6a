// The fleet dashboard (deploy/grafana/tandem-fleet.json) checked against the metrics that exist:
// the box's registry (with the fleet's target labels site, pair, member) and central's agreed
// metrics (central-metric-names.ts). A renamed metric, label or value on either side fails here.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SHOWN_HA_STATES } from '../../../src/wire/ha-state.js';
import { CENTRAL_METRICS } from './central-metric-names.js';
import { dashboardExprs, promtoolParses } from './grafana-queries.js';
import { FLEET_TARGET_LABELS, checkExpr, familyOf, fleetExposition, metricNames, type Exposition } from './promql-check.js';

const DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/tandem-fleet.json', import.meta.url));

/** What Grafana puts in place of the dashboard and built-in variables before it sends a query. */
function substituteVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '6h')
    .replaceAll('$site', '.+')
    .replaceAll('$pair', '.+');
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; legendFormat?: string; format?: string }[];
  fieldConfig?: { defaults: { mappings?: { options: Record<string, { text: string }> }[] } };
}

const CENTRAL = new Set(CENTRAL_METRICS.map((f) => f.name));

describe('Grafana dashboard deploy/grafana/tandem-fleet.json', () => {
  let exp: Exposition;
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Record<string, unknown>;
  const panels = dashboard.panels as Panel[];
  const exprs = dashboardExprs(dashboard);
  // `up` alone is a fine query here: whether Prometheus reaches a member is half of "unreachable"
  const check = (expr: string, legend?: string): string[] => checkExpr(expr, legend, exp, { targetLabels: FLEET_TARGET_LABELS, allowNoTandemMetric: true });

  beforeAll(async () => {
    exp = await fleetExposition();
  });

  it('has queries to check', () => {
    expect(exprs.length).toBeGreaterThan(20);
  });

  it('queries only metrics, labels and label values the boxes export or central agreed to', () => {
    const problems = exprs.flatMap(({ where, expr, legend }) => check(expr, legend).map((p) => `${where}: ${p} in ${expr}`));
    expect(problems).toEqual([]);
  });

  it('has queries that are valid PromQL once Grafana has substituted its variables', () => {
    const r = promtoolParses(exprs.map(({ expr }) => substituteVariables(expr)));
    expect(r.out).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
    expect(r.status, r.out).toBe(0);
  });

  it('has the variables site and pair, pair narrowed by site', () => {
    const vars = (dashboard.templating as { list: { name: string; type: string; query: unknown; includeAll?: boolean }[] }).list;
    expect(vars.find((v) => v.name === 'datasource')?.query).toBe('prometheus');
    const queries = vars.filter((v) => v.type === 'query');
    expect(queries.map((v) => v.name)).toEqual(['site', 'pair']);
    for (const v of queries) {
      const q = (v.query as { query: string }).query;
      const lv = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
      expect(lv, q).not.toBeNull();
      expect(check(lv![1], `{{${lv![2]}}}`), q).toEqual([]);
      expect(v.includeAll, v.name).toBe(true);
    }
    expect((queries[1].query as { query: string }).query).toContain('site=~"$site"');
  });

  // Box series carry site and pair from the targets files; central's per-pair series only pair
  // (with "All", Grafana sends the pairs of the selected sites, so central follows the site too).
  it('narrows every box query to $site and $pair, and every per-pair central query to $pair', () => {
    const problems: string[] = [];
    for (const { where, expr } of exprs) {
      for (const m of expr.matchAll(/(?<![\w:])((?:tandem_[a-zA-Z0-9_:]*)|up)\s*(\{[^}]*\})?/g)) {
        const [, name, braces = ''] = m;
        const family = familyOf(name, exp) ?? name;
        if (CENTRAL.has(family)) {
          const perPair = exp.labels.get(name)?.has('pair') ?? false;
          if (perPair && !braces.includes('pair=~"$pair"')) problems.push(`${where}: ${name} not narrowed to $pair`);
        } else if (!/job="tandem", site=~"\$site", pair=~"\$pair"/.test(braces)) {
          problems.push(`${where}: ${name}${braces} not narrowed to job, $site and $pair`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('shows the pairs table the issue asks for: member state, actives, config agreement, sync lag', () => {
    const table = panels.find((p) => p.type === 'table' && p.title === 'Pairs and their members');
    const t = (table?.targets ?? []).map((x) => x.expr);
    expect(t.length).toBeGreaterThanOrEqual(5);
    expect(table?.targets?.every((x) => x.format === 'table')).toBe(true);
    expect(t.some((e) => /by \(site, pair, member, instance, state\) \(tandem_ha_state/.test(e))).toBe(true);
    expect(t.some((e) => /sum by \(site, pair\) \(tandem_ha_state\{[^}]*state=~"active\|active-primary\|active-secondary"/.test(e))).toBe(true);
    expect(t.some((e) => /count by \(site, pair, hash\) \(tandem_config_info/.test(e))).toBe(true);
    expect(t.some((e) => /histogram_quantile\(0\.99, sum by \(site, pair, le\) \(rate\(tandem_sync_lag_seconds_bucket/.test(e))).toBe(true);
  });

  it('shows unreachable members, failovers per pair, and central (health, pushes, polls)', () => {
    const used = new Set(exprs.flatMap(({ expr }) => metricNames(expr).map((n) => familyOf(n, exp))));
    for (const f of [
      'tandem_central_pairs',
      'tandem_central_member_up',
      'tandem_central_members_unreachable',
      'tandem_central_member_unreachable_seconds',
      'tandem_central_pair_active_members',
      'tandem_central_pair_config_agree',
      'tandem_central_pair_sync_lag_seconds',
      'tandem_central_pushes_total',
      'tandem_central_polls_total',
      'tandem_ha_failovers_total',
      'tandem_config_info',
      'tandem_sync_backlog_records',
    ]) {
      expect(used.has(f), f).toBe(true);
    }
    expect(exprs.some(({ expr }) => /max by \(site, pair, member\) \(up\{/.test(expr))).toBe(true);
    const failovers = panels.find((p) => p.title === 'Failovers per pair');
    expect(failovers?.targets?.[0].expr).toMatch(/^sum by \(site, pair\) \(.*tandem_ha_failovers_total/);
  });

  it('draws every HA state on the member timeline, each mapped to its name', () => {
    const timeline = panels.find((p) => p.type === 'state-timeline' && p.title === 'HA state per member');
    const expr = timeline?.targets?.[0]?.expr ?? '';
    const names = Object.values(timeline?.fieldConfig?.defaults.mappings?.[0].options ?? {}).map((o) => o.text);
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
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.datasource?.uid).toBe('${datasource}');
    }
    expect(dashboard.uid).toBe('tandem-fleet');
  });
});
