// The fleet model fed with statuses recorded from a real lab pair (`tandem status --json` of each
// box: fwa active and fwb passive, then fwb 1.5 s after a kill -9 of fwa): the view and the
// timeline central makes of them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FleetModel } from '../../../src/central/fleet-model.js';
import type { PollResult } from '../../../src/central/member-record.js';
import { summarizeStatus } from '../../../src/central/status-shape.js';
import { inventory } from './fixtures.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'recorded');
const recorded = (name: string): unknown => JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8'));

function ok(name: string): PollResult {
  const shape = summarizeStatus(recorded(name));
  if (!shape.ok) throw new Error(shape.why);
  // polled a moment after the box's newest transition (the recording's own time)
  const newest = Math.max(...shape.summary.transitions.map((t) => Date.parse(t.at)));
  return { atMs: newest + 500, outcome: 'ok', summary: shape.summary };
}

describe('recorded lab statuses', () => {
  it('a settled lab pair is ok, and its start-up is in the timeline', () => {
    const m = new FleetModel(inventory());
    const a = m.apply('p1', 'fwa', ok('fwa-active'))!;
    const b = m.apply('p1', 'fwb', ok('fwb-passive'))!;
    expect([...a.events, ...b.events].map((e) => [e.member, e.from, e.to, e.reason])).toEqual([
      ['fwa', 'initial', 'active', 'election-won'],
      ['fwb', 'initial', 'tentative', 'peer-active'],
      ['fwb', 'tentative', 'passive', 'bulk sync complete'],
    ]);
    const p = m.view(ok('fwb-passive').atMs).pairs[0];
    expect(p).toMatchObject({ health: 'ok', activeMembers: 1, rolesAgree: true, configAgree: true, versionsMatch: true, configVersion: 0 });
    expect(p.syncLagMs).toBeCloseTo(8.909);
  });

  it('kill -9 of fwa: fwa unreachable, fwb active with one new transition, the pair degraded', () => {
    const m = new FleetModel(inventory());
    m.apply('p1', 'fwa', ok('fwa-active'));
    m.apply('p1', 'fwb', ok('fwb-passive'));
    const after = ok('fwb-after-kill');
    const lost = m.apply('p1', 'fwa', { atMs: after.atMs - 1000, outcome: 'unreachable', message: 'connection refused (ECONNREFUSED)' })!;
    expect(lost.events.map((e) => [e.kind, e.to, e.reason])).toEqual([['reachability', 'unreachable', 'unreachable']]);
    const took = m.apply('p1', 'fwb', after)!;
    expect(took.events.map((e) => [e.kind, e.from, e.to, e.reason])).toEqual([['transition', 'passive', 'active', 'peer-dead']]);
    const p = m.view(after.atMs).pairs[0];
    expect(p).toMatchObject({ health: 'degraded', activeMembers: 1, problems: ['fwa unreachable (unreachable)'] });
    expect(p.members[1].lastTransition).toMatchObject({ from: 'passive', to: 'active', reason: 'peer-dead' });
  });
});
