// Reading a Grafana dashboard's PromQL, and parsing PromQL with promtool: shared by the tests of
// the pair and the fleet dashboards.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DashboardQuery {
  where: string;
  expr: string;
  legend?: string;
}

interface Panel {
  title: string;
  targets?: { expr?: string; legendFormat?: string }[];
  panels?: Panel[];
}

/** Every PromQL expression of the dashboard: panel targets (rows nested or not) and annotations. */
export function dashboardExprs(dashboard: unknown): DashboardQuery[] {
  const d = dashboard as { panels: Panel[]; annotations?: { list: { name: string; expr?: string }[] } };
  const out: DashboardQuery[] = [];
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        if (t.expr !== undefined) out.push({ where: `panel "${p.title}"`, expr: t.expr, legend: t.legendFormat });
      }
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const a of d.annotations?.list ?? []) if (a.expr) out.push({ where: `annotation "${a.name}"`, expr: a.expr });
  return out;
}

/**
 * promtool parses each expression (as a recording rule) with the real PromQL parser: a bracket or
 * an operator out of place fails here, not in Grafana. promtool is required (scripts/setup.sh).
 */
export function promtoolParses(exprs: readonly string[]): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-grafana-'));
  try {
    const rules = exprs.map((expr, i) => ({ record: `tandem:grafana_query_${i}`, expr }));
    const file = join(dir, 'rules.json');
    // JSON is YAML: promtool reads it as is
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'grafana', rules }] }));
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    if (r.error) throw new Error(`promtool: ${r.error.message} (install the Debian package "prometheus": scripts/setup.sh)`);
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
