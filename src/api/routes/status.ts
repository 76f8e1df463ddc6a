// GET /v1/status: the controller's HA status, with what the dataplane reports when it answers in
// time. A slow or failing dataplane never fails the route: its part becomes { error }.
import type { HaController } from '../../control/status.js';
import { ROUTE_STATUS, type StatusResponse } from '../protocol.js';
import type { RouteTable } from './route.js';

export interface StatusRouteDeps {
  controller: HaController;
  dataplaneStatus?: () => Promise<unknown>;
  dataplaneTimeoutMs: number;
}

export function statusRoutes(d: StatusRouteDeps): RouteTable {
  return {
    [ROUTE_STATUS]: {
      GET: async (): Promise<StatusResponse> => {
        const status = d.controller.status();
        if (!d.dataplaneStatus) return status;
        return { ...status, dataplane: await withTimeout(d.dataplaneStatus, d.dataplaneTimeoutMs) };
      },
    },
  };
}

/** fn()'s answer, its error as { error: message }, or { error: 'timeout' } after `ms`. */
async function withTimeout(fn: () => Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<unknown>((resolve) => {
    timer = setTimeout(() => resolve({ error: 'timeout' }), ms);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(fn)
        .catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
