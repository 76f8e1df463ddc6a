// POST /v1/suspend, /v1/functional, /v1/failover: the operator commands. The HA state machine
// may refuse one (failover while passive): that is a 409 with its reason, not a server error.
import { CommandRefused, type HaController } from '../../control/status.js';
import { ROUTE_FAILOVER, ROUTE_FUNCTIONAL, ROUTE_SUSPEND, type CommandResponse } from '../protocol.js';
import { HttpError, type Handler, type RouteTable } from './route.js';

export function commandRoutes(controller: HaController): RouteTable {
  return {
    [ROUTE_SUSPEND]: { POST: command(() => controller.suspend()) },
    [ROUTE_FUNCTIONAL]: { POST: command(() => controller.functional()) },
    [ROUTE_FAILOVER]: { POST: command(() => controller.failover()) },
  };
}

function command(fn: () => Promise<string>): Handler {
  return async () => {
    try {
      return { message: await fn() } satisfies CommandResponse;
    } catch (err) {
      if (err instanceof CommandRefused) throw new HttpError(409, 'command-refused', err.message);
      throw err;
    }
  };
}
