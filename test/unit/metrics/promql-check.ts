// Checks a PromQL expression against the metrics that exist: a renamed metric or label in
// src/metrics/registry.ts (or in central's agreed list), or a typo in a dashboard query or an
// alert rule, fails a test instead of leaving an empty panel or an alert that can never fire.
// The Grafana and promtool tests share it.
import { busyMetrics } from './busy-registry.js';
import { CENTRAL_METRICS, PENDING_BOX_METRICS, agreedExposition } from './central-metric-names.js';

/** Labels Prometheus attaches at scrape time (target labels), not exported by the daemon. */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['job', 'instance']);
/** The fleet's targets files add these to every box's series (deploy/prometheus/fleet/targets). */
export const FLEET_TARGET_LABELS: ReadonlySet<string> = new Set([...TARGET_LABELS, 'site', 'pair', 'member']);

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;

/** What the exposition text says: family -> type, and series name -> label name -> values seen. */
export interface Exposition {
  types: Map<string, string>;
  labels: Map<string, Map<string, Set<string>>>;
}

export function parseExposition(text: string): Exposition {
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

/** Both expositions in one; `b` adds only families `a` does not have (the registry wins over a pending entry). */
export function mergeExpositions(a: Exposition, b: Exposition): Exposition {
  const types = new Map(a.types);
  const labels = new Map(a.labels);
  for (const [name, type] of b.types) {
    if (types.has(name)) continue;
    types.set(name, type);
    for (const [series, byLabel] of b.labels) if (series === name || series.startsWith(`${name}_`)) labels.set(series, byLabel);
  }
  return { types, labels };
}

/** A Metrics registry with every method called once, so every family and label has a sample. */
export async function boxExposition(): Promise<Exposition> {
  return parseExposition(await busyMetrics().text());
}

/** The box's registry, plus what other branches will add to it, plus central's agreed metrics. */
export async function fleetExposition(): Promise<Exposition> {
  const box = mergeExpositions(await boxExposition(), parseExposition(agreedExposition(PENDING_BOX_METRICS)));
  return mergeExpositions(box, parseExposition(agreedExposition(CENTRAL_METRICS)));
}

/** The family a series name belongs to: itself, or a histogram's base name for _bucket/_sum/_count. */
export function familyOf(name: string, exp: Exposition): string | undefined {
  if (exp.types.has(name)) return name;
  for (const suffix of HISTOGRAM_SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = exp.types.get(base);
    if (type === 'histogram' || type === 'summary') return base;
  }
  return undefined;
}

/** Every tandem_ series name an expression reads. */
export function metricNames(expr: string): string[] {
  return [...expr.matchAll(/(?<![\w:])tandem_[a-zA-Z0-9_:]*/g)].map((m) => m[0]);
}

export interface CheckOptions {
  /** Labels the scrape adds (not exported): never checked against the exposition. */
  targetLabels?: ReadonlySet<string>;
  /** An expression on Prometheus's own series only (`up == 0`) is fine: alert rules. */
  allowNoTandemMetric?: boolean;
}

/** A regex that is a plain alternation of label values (`active|active-primary`): the values. */
function literalAlternatives(regex: string): string[] | undefined {
  return /^[\w.-]+(?:\|[\w.-]+)*$/.test(regex) ? regex.split('|') : undefined;
}

/**
 * Problems of one PromQL expression against the exposition: unknown metric, unknown label in a
 * selector, a literal label value (or a value of a plain alternation) never exported, a grouping
 * or legend label no metric of the expression carries. Empty when the expression is sound.
 */
export function checkExpr(expr: string, legend: string | undefined, exp: Exposition, opts: CheckOptions = {}): string[] {
  const targetLabels = opts.targetLabels ?? TARGET_LABELS;
  const problems: string[] = [];
  const known = new Set(targetLabels);
  const names = [...expr.matchAll(/(?<![\w:])(tandem_[a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g)];
  if (names.length === 0 && !opts.allowNoTandemMetric) problems.push('no tandem_ metric in the expression');
  for (const [, name, braces] of names) {
    if (!familyOf(name, exp)) {
      problems.push(`unknown metric ${name}`);
      continue;
    }
    const labels = exp.labels.get(name) ?? new Map<string, Set<string>>();
    for (const l of labels.keys()) known.add(l);
    if (!braces) continue;
    const body = braces.slice(1, -1);
    const matchers = [...body.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)];
    const rest = body.replace(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g, '').replace(/[\s,]/g, '');
    if (rest !== '') problems.push(`unparsed selector ${name}${braces}`);
    for (const [, label, op, value] of matchers) {
      if (targetLabels.has(label) && !labels.has(label)) continue;
      const values = labels.get(label);
      if (!values) {
        problems.push(`${name} has no label "${label}"`);
        continue;
      }
      if (value.includes('$')) continue;
      // A literal match must name values the daemon exports (state="active", result="lost").
      const wanted = op === '=' ? [value] : op === '=~' ? literalAlternatives(value) : undefined;
      for (const v of wanted ?? []) if (!values.has(v)) problems.push(`${name}{${label}="${v}"}: value never exported`);
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
