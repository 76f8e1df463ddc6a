// `tandem lab demo --pairs N` end to end with real daemons and tandem central: every pair ok in
// central's view, a kill -9 of one pair's active seen by central, a template push that skips that
// pair while its box is down and commits on the others (both members), the same push committing
// there once the box is back, the timeline; and nothing left behind.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { labDemoFleet } from '../../src/lab/demo-fleet.js';
import { listNamespaces } from '../../src/lab/topology.js';
import { ensureBuilt, isRoot, uniqueLabName } from './helpers/lab.js';

describe.skipIf(!isRoot())('lab demo --pairs', () => {
  it('shows the fleet, a failover, a push skipped on the broken pair and completed once it is whole; tears everything down', async () => {
    await ensureBuilt(['src/cli/main.js']);
    const name = uniqueLabName('fd');
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const r = await labDemoFleet({ name, pairs: 2, out });
    expect(r.ok, `${r.errors.join('; ')}\n${text}`).toBe(true);
    expect(r.before.map((p) => p.health)).toEqual(['ok', 'ok']);
    expect(r.failover).toMatchObject({ pair: `${name}-p2` });
    expect(r.failover!.seenMs).toBeLessThan(10_000);
    expect(r.push.map((x) => x.outcome)).toEqual(['committed', 'skipped']);
    expect(r.repush.map((x) => [x.outcome, x.inSync])).toEqual([
      ['unchanged', null],
      ['committed', true],
    ]);
    expect(r.timeline.some((l) => l.includes(`${name}-p2`) && l.includes('transition: passive -> active'))).toBe(true);
    expect(text).toMatch(/result {2}OK/);
    expect((await listNamespaces()).filter((n) => n.startsWith(`${name}-`))).toEqual([]);
  });
});
