// Central's /metrics exposition against the names, types, help, labels and label values agreed
// with the fleet alerts and dashboards (test/unit/metrics/central-metric-names.ts): the two sides
// cannot drift apart unnoticed.
import { describe, expect, it } from 'vitest';
import { FleetModel } from '../../../src/central/fleet-model.js';
import { CentralMetrics } from '../../../src/central/metrics.js';
import { CENTRAL_METRICS } from '../metrics/central-metric-names.js';
import { T0 } from './fixtures.js';

async function text(): Promise<string> {
  const model = new FleetModel({
    retention: { days: 30, maxEvents: 1000 },
    pairs: [
      {
        name: 'edge',
        members: [
          { name: 'fw-a', api: 'http://h:1', tokenFile: 't' },
          { name: 'fw-b', api: 'http://h:2', tokenFile: 't' },
        ],
      },
    ],
  });
  model.apply('edge', 'fw-a', { atMs: T0, outcome: 'timeout', message: 'slow' });
  return new CentralMetrics().text(model.view(T0));
}

/** Samples of one family: each one's labels as a map. */
function samples(t: string, name: string): Record<string, string>[] {
  return t
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => Object.fromEntries([...l.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]])));
}

describe("central's metrics as agreed", () => {
  it('every agreed family, with its type, help, labels and every enumerated value from the start', async () => {
    const t = await text();
    for (const f of CENTRAL_METRICS) {
      expect(t, f.name).toContain(`# TYPE ${f.name} ${f.type}\n`);
      expect(t, f.name).toContain(`# HELP ${f.name} ${f.help}\n`);
      const got = samples(t, f.name);
      expect(got.length, f.name).toBeGreaterThan(0);
      for (const s of got) expect(Object.keys(s).sort(), f.name).toEqual(Object.keys(f.labels).sort());
      for (const [label, values] of Object.entries(f.labels)) {
        for (const v of values)
          expect(
            got.some((s) => s[label] === v),
            `${f.name}{${label}="${v}"}`,
          ).toBe(true);
      }
    }
  });

  it('no family beyond the agreed ones', async () => {
    const names = [...(await text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(names.sort()).toEqual(CENTRAL_METRICS.map((f) => f.name).sort());
  });
});
