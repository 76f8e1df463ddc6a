// Recorded-style box statuses and a small inventory for central's unit tests.
import type { StatusResponse } from '../../../src/api/protocol.js';
import type { Inventory } from '../../../src/central/inventory.js';
import { fixedStatus } from '../api/fixtures.js';

export const T0 = Date.parse('2026-12-07T10:00:00.000Z');

export function inventory(pairs: string[] = ['p1']): Pick<Inventory, 'pairs' | 'retention'> {
  return {
    retention: { days: 30, maxEvents: 100_000 },
    pairs: pairs.map((name) => ({
      name,
      labels: { site: 'lab' },
      members: [
        { name: 'fwa', api: 'http://10.0.0.1:9480', tokenFile: '/t/a' },
        { name: 'fwb', api: 'http://10.0.0.2:9480', tokenFile: '/t/b' },
      ],
    })),
  };
}

/** A box's status: `state`, its transitions, its config. */
export function boxStatus(
  name: string,
  state: string,
  transitions: { at: string; from: string; to: string; reason: string }[],
  opts: { configVersion?: number; hash?: string; software?: string; mode?: string; lagP99?: number; backlog?: number; faults?: string[] } = {},
): StatusResponse {
  const s = fixedStatus();
  return {
    ...s,
    mode: opts.mode ?? 'active-passive',
    local: {
      ...s.local,
      name,
      state: state as never,
      reason: transitions.at(-1)?.reason ?? 'start',
      faults: opts.faults ?? [],
      softwareVersion: opts.software ?? '0.1.0',
    },
    sync: { incomplete: false, connected: true, backlog: opts.backlog ?? 0, lagMs: { p50: 1, p99: opts.lagP99 ?? 3, max: 9 } },
    config: {
      version: opts.configVersion ?? 1,
      hash: opts.hash ?? 'h1',
      origin: 'file',
      committedAt: '2026-12-07T09:00:00.000Z',
      committedBy: 'file',
      restartRequired: [],
      peer: { up: true, version: 1, hash: 'h1', inSync: true, lastError: null },
      keptAside: [],
    },
    transitions: transitions as never,
  };
}

export const A_START = [{ at: '2026-12-07T09:00:00.000Z', from: 'initial', to: 'active', reason: 'election' }];
export const B_START = [{ at: '2026-12-07T09:00:00.100Z', from: 'initial', to: 'passive', reason: 'peer-active' }];
