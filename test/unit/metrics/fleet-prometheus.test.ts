// The Prometheus files for a fleet of pairs (deploy/prometheus/fleet) checked against what exists:
// every metric, label and label value an alert rule reads is exported by the box's registry or
// agreed for central (central-metric-names.ts); the targets files give every box the labels the
// rules group by; the global Prometheus federates every box series the fleet rules and the fleet
// dashboard read. promtool's own checks of these files are in promtool.test.ts.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CENTRAL_METRICS, PENDING_BOX_METRICS, agreedExposition } from './central-metric-names.js';
import { FLEET_TARGET_LABELS, boxExposition, checkExpr, fleetExposition, metricNames, type Exposition } from './promql-check.js';
import { dashboardExprs } from './grafana-queries.js';

const PROMETHEUS = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));
const FLEET = `${PROMETHEUS}fleet/`;
const FLEET_DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/tandem-fleet.json', import.meta.url));
const RULE_FILES = [`${PROMETHEUS}tandem-alerts.yml`, `${FLEET}tandem-fleet-alerts.yml`];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

function rules(file: string): Rule[] {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

function targetFiles(): { file: string; groups: TargetGroup[] }[] {
  return readdirSync(`${FLEET}targets`)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => ({ file: f, groups: parse(readFileSync(`${FLEET}targets/${f}`, 'utf8')) as TargetGroup[] }));
}

/** The __name__ regex of the global Prometheus's federation match[] for job="tandem". */
function federatedNames(): RegExp {
  const config = parse(readFileSync(`${FLEET}prometheus-global.yml`, 'utf8')) as {
    scrape_configs: { job_name: string; params?: Record<string, string[]> }[];
  };
  const federate = config.scrape_configs.find((j) => j.job_name === 'tandem-federate');
  const matches = federate?.params?.['match[]'] ?? [];
  expect(matches).toHaveLength(1);
  const m = /^\{job="tandem", __name__=~"([^"]+)"\}$/.exec(matches[0]);
  expect(m, matches[0]).not.toBeNull();
  return new RegExp(`^(?:${m![1]})$`);
}

describe('fleet Prometheus files (deploy/prometheus/fleet)', () => {
  let fleet: Exposition;
  let box: Exposition;

  beforeAll(async () => {
    fleet = await fleetExposition();
    box = await boxExposition();
  });

  it.each(RULE_FILES)('%s reads only metrics, labels and label values that exist', (file) => {
    const all = rules(file);
    expect(all.length).toBeGreaterThan(5);
    const problems = all.flatMap((r) =>
      checkExpr(r.expr, undefined, fleet, { targetLabels: FLEET_TARGET_LABELS, allowNoTandemMetric: true }).map((p) => `${r.alert ?? r.record}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('covers what issue 17 asks, from the boxes and from central', () => {
    const used = new Set(RULE_FILES.flatMap((f) => rules(f).flatMap((r) => metricNames(r.expr))));
    for (const name of [
      'tandem_ha_state', // no active member, two actives (tandem-alerts.yml)
      'tandem_config_info', // members with diverged configs
      'tandem_sync_backlog_records',
      'tandem_sync_lag_seconds_bucket',
      'tandem_api_tls_cert_expiry_timestamp_seconds',
      'tandem_central_pair_active_members',
      'tandem_central_pair_config_agree',
      'tandem_central_pair_sync_lag_seconds',
      'tandem_central_member_up',
      'tandem_central_pushes_total',
    ]) {
      expect(used.has(name), name).toBe(true);
    }
  });

  it('gives every box site, pair and member, two members per pair, and each (pair, member) once', () => {
    const members = new Map<string, Set<string>>();
    const addresses = new Set<string>();
    const files = targetFiles();
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const { file, groups } of files) {
      for (const g of groups) {
        expect(g.targets, file).toHaveLength(1); // one box per entry: member is per box
        expect(Object.keys(g.labels).sort(), file).toEqual(['member', 'pair', 'site']);
        expect(addresses.has(g.targets[0]), g.targets[0]).toBe(false);
        addresses.add(g.targets[0]);
        const m = members.get(g.labels.pair) ?? new Set<string>();
        expect(m.has(g.labels.member), `${g.labels.pair}/${g.labels.member}`).toBe(false);
        members.set(g.labels.pair, m.add(g.labels.member));
      }
      // a file per site (the site Prometheus reads its own)
      expect(new Set(groups.map((g) => g.labels.site)).size, file).toBe(1);
    }
    for (const [pair, m] of members) expect(m.size, pair).toBe(2);
  });

  it('federates every box series the fleet rules and the fleet dashboard read', () => {
    const names = federatedNames();
    const used = new Set([
      ...rules(`${FLEET}tandem-fleet-alerts.yml`).flatMap((r) => metricNames(r.expr)),
      ...dashboardExprs(JSON.parse(readFileSync(FLEET_DASHBOARD, 'utf8'))).flatMap((q) => metricNames(q.expr)),
      'up',
    ]);
    const boxSeries = [...used].filter((n) => !n.startsWith('tandem_central_'));
    expect(boxSeries.length).toBeGreaterThan(5);
    expect(boxSeries.filter((n) => !names.test(n))).toEqual([]);
  });

  it("central's agreed metrics pass promtool check metrics (names, units, _total, help)", () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: agreedExposition(CENTRAL_METRICS), encoding: 'utf8' });
    expect(r.error, 'promtool is missing: install the prometheus package (scripts/setup.sh)').toBeUndefined();
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  // A pending box metric is checked against the registry once its branch lands: the same type,
  // and no look-alike under another name (the rules would read a name nobody exports).
  it.each(PENDING_BOX_METRICS)('pending box metric $name ($branch) agrees with the registry', ({ name, type }) => {
    const stem = name.replace(/_seconds$/, '');
    const lookAlikes = [...box.types.keys()].filter((f) => f.startsWith(stem) && f !== name);
    expect(lookAlikes, `the registry exports ${lookAlikes.join(', ')}: rename it or the rules and dashboards`).toEqual([]);
    if (box.types.has(name)) expect(box.types.get(name)).toBe(type);
  });

  // The checker must catch mistakes, or the tests above prove nothing.
  it('catches a misspelt central metric, label, value and a bad alternative', () => {
    const opts = { targetLabels: FLEET_TARGET_LABELS };
    expect(checkExpr('tandem_central_pairs{health="down"} > 0', undefined, fleet, opts)).toEqual([]);
    expect(checkExpr('tandem_central_pairs{health="dead"}', undefined, fleet, opts)).toEqual(['tandem_central_pairs{health="dead"}: value never exported']);
    expect(checkExpr('tandem_central_pair_up{pair="edge"}', undefined, fleet, opts)).toEqual(['unknown metric tandem_central_pair_up']);
    expect(checkExpr('tandem_central_pushes_total{reslt="failed"}', undefined, fleet, opts)).toEqual(['tandem_central_pushes_total has no label "reslt"']);
    expect(checkExpr('tandem_ha_state{state=~"active|activ-primary"}', undefined, fleet, opts)).toEqual([
      'tandem_ha_state{state="activ-primary"}: value never exported',
    ]);
    // a box series carries the fleet's target labels; central's pair is its own label
    expect(checkExpr('count by (site, pair, member) (tandem_config_info{pair=~"$pair"})', undefined, fleet, opts)).toEqual([]);
    expect(checkExpr('up{job="tandem"} == 0', undefined, fleet, opts)).toEqual(['no tandem_ metric in the expression']);
    expect(checkExpr('up{job="tandem"} == 0', undefined, fleet, { ...opts, allowNoTandemMetric: true })).toEqual([]);
  });
});
