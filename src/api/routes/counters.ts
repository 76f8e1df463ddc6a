// GET /v1/counters: the dataplane's cumulative counters from the metrics registry (the values
// Prometheus scrapes), for the status page's rates.
import type { Metrics } from '../../metrics/registry.js';
import { ROUTE_COUNTERS, type CountersResponse } from '../protocol.js';
import { readCounters } from '../status-page/counters.js';
import type { RouteTable } from './route.js';

export function counterRoutes(metrics: Metrics): RouteTable {
  return { [ROUTE_COUNTERS]: { GET: (): Promise<CountersResponse> => readCounters(metrics.registry) } };
}
