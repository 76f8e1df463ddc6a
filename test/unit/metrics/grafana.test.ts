// The Grafana dashboard is checked against the metrics a real registry exports: a renamed metric or
// label in src/metrics/registry.ts, or a typo in a panel query, fails here instead of leaving an
// empty panel that nobody notices until the night of a failover.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { busyMetrics } from './busy-registry.js';
import { SHOWN_HA_STATES } from '../../../src/wire/ha-state.js';

const DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/tandem-pair.json', import.meta.url));

/** Labels Prometheus attaches at scrape time (target labels), not exported by the daemon. */
const TARGET_LABELS = new Set(['job', 'instance']);
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;

/** What the exposition text says: family -> type, and series name -> label name -> values seen. */
interface Exposition {
  types: Map<string, string>;
  labels: Map<string, Map<string, Set<string>>>;
}

function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const labels = new Map<string, Map<string, Set<string>>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (line.startsWith('#') || line.trim() === '') continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!sample) throw new Error(`unparsed exposition line: ${line}`);
    const byLabel = labels.get(sample[1]) ?? new Map<string, Set<string>>();
    labels.set(sample[1], byLabel);
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      const values = byLabel.get(m[1]) ?? new Set<string>();
      values.add(m[2]);
      byLabel.set(m[1], values);
    }
  }
  return { types, labels };
}

/** A Metrics registry with every method called once, so every family and label has a sample. */
async function exercisedExposition(): Promise<Exposition> {
  return parseExposition(await busyMetrics().text());
}

/** Every PromQL expression of the dashboard: panel targets (rows nested or not) and annotations. */
function dashboardExprs(dashboard: unknown): { where: string; expr: string; legend?: string }[] {
  const d = dashboard as {
    panels: { title: string; targets?: { expr?: string; legendFormat?: string }[]; panels?: unknown[] }[];
    annotations?: { list: { name: string; expr?: string }[] };
  };
  const out: { where: string; expr: string; legend?: string }[] = [];
  const walk = (panels: typeof d.panels): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        if (t.expr !== undefined) out.push({ where: `panel "${p.title}"`, expr: t.expr, legend: t.legendFormat });
      }
      walk((p.panels ?? []) as typeof d.panels);
    }
  };
  walk(d.panels);
  for (const a of d.annotations?.list ?? []) if (a.expr) out.push({ where: `annotation "${a.name}"`, expr: a.expr });
  return out;
}

/** The family a series name belongs to: itself, or a histogram's base name for _bucket/_sum/_count. */
function familyOf(name: string, exp: Exposition): string | undefined {
  if (exp.types.has(name)) return name;
  for (const suffix of HISTOGRAM_SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = exp.types.get(base);
    if (type === 'histogram' || type === 'summary') return base;
  }
  return undefined;
}

/** Label names (and values seen) of a series as exported; `le` comes with histogram buckets. */
function seriesLabels(name: string, exp: Exposition): Map<string, Set<string>> {
  return exp.labels.get(name) ?? new Map();
}

/**
 * Problems of one PromQL expression against the exposition: unknown metric, unknown label in a
 * selector, a literal label value never exported, a grouping or legend label no metric of the
 * expression carries. Empty when the expression is sound.
 */
function checkExpr(expr: string, legend: string | undefined, exp: Exposition): string[] {
  const problems: string[] = [];
  const known = new Set(TARGET_LABELS);
  const names = [...expr.matchAll(/(?<![\w:])(tandem_[a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g)];
  if (names.length === 0) problems.push('no tandem_ metric in the expression');
  for (const [, name, braces] of names) {
    if (!familyOf(name, exp)) {
      problems.push(`unknown metric ${name}`);
      continue;
    }
    const labels = seriesLabels(name, exp);
    for (const l of labels.keys()) known.add(l);
    if (!braces) continue;
    const body = braces.slice(1, -1);
    const matchers = [...body.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)];
    const rest = body.replace(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g, '').replace(/[\s,]/g, '');
    if (rest !== '') problems.push(`unparsed selector ${name}${braces}`);
    for (const [, label, op, value] of matchers) {
      if (TARGET_LABELS.has(label)) continue;
      const values = labels.get(label);
      if (!values) {
        problems.push(`${name} has no label "${label}"`);
        continue;
      }
      // A literal exact match must name a value the daemon exports (state="active", result="lost").
      if (op === '=' && !value.includes('$') && !values.has(value)) {
        problems.push(`${name}{${label}="${value}"}: value never exported`);
      }
    }
  }
  for (const m of expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const label of m[1]
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (!known.has(label)) problems.push(`grouping label "${label}" is on no metric of the expression`);
    }
  }
  for (const m of (legend ?? '').matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)) {
    if (!known.has(m[1])) problems.push(`legend label "${m[1]}" is on no metric of the expression`);
  }
  return problems;
}

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
    exp = await exercisedExposition();
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
    const dir = mkdtempSync(join(tmpdir(), 'tandem-grafana-'));
    try {
      const rules = exprs.map(({ expr }, i) => ({ record: `tandem:grafana_query_${i}`, expr: substituteVariables(expr) }));
      const file = join(dir, 'rules.json');
      // JSON is YAML: promtool reads it as is
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'grafana', rules }] }));
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(r.error, 'promtool is missing: install the prometheus package (scripts/setup.sh)').toBeUndefined();
      expect(`${r.stdout}${r.stderr}`).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
      expect(r.status, r.stdout + r.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
