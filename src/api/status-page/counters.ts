// GET /v1/counters: the dataplane's cumulative counters, read through the metrics registry so the
// page and Prometheus can never disagree (one set of names, one read path: the metric's collect()).
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { METRIC_PREFIX } from '../../metrics/registry.js';
import type { CountersResponse } from '../protocol.js';

/** label value -> value of one metric (every series has `label`); {} when the metric is absent. */
async function byLabel(registry: Registry, name: string, label: string): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(`${METRIC_PREFIX}${name}`);
  if (!metric) return {};
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    const key = v.labels[label];
    if (key !== undefined) out[String(key)] = v.value;
  }
  return out;
}

async function single(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(`${METRIC_PREFIX}${name}`);
  if (!metric) return 0;
  return (await metric.get()).values[0]?.value ?? 0;
}

export async function readCounters(registry: Registry, nowMs: () => number = () => performance.now()): Promise<CountersResponse> {
  const [packets, drops, active, created, tableFull] = await Promise.all([
    byLabel(registry, 'dataplane_packets_total', 'event'),
    byLabel(registry, 'dataplane_drops_total', 'reason'),
    byLabel(registry, 'sessions_active', 'protocol'),
    byLabel(registry, 'sessions_created_total', 'protocol'),
    single(registry, 'sessions_table_full_total'),
  ]);
  return { sampledAtMs: nowMs(), packets, drops, sessions: { active, created, tableFull } };
}
