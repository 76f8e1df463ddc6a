import { describe, expect, it } from 'vitest';
import { formatDemoTable, formatStepTable, type DemoResult } from '../../../src/lab/demo-result.js';
import { gapAcross, gapsBetween, timelineMarkers, wallGaps, type SeenTransition } from '../../../src/lab/demo-timeline.js';
import type { ReceiverSummary } from '../../../src/lab/probe.js';

const T = 1_764_000_000_000;

function receiver(over: Partial<ReceiverSummary> = {}): ReceiverSummary {
  return {
    received: 100,
    duplicates: 0,
    reordered: 0,
    firstSeq: 0,
    lastSeq: 150,
    lost: 50,
    durationMs: 150,
    maxGapMs: 51,
    maxGap: null,
    thresholdMs: 5,
    gaps: [{ startMs: 99, gapMs: 51, afterSeq: 99, nextSeq: 150, skipped: 50 }],
    gapCount: 1,
    port: 5000,
    startedAt: new Date(T - 1000).toISOString(),
    firstArrivalAt: new Date(T).toISOString(),
    foreign: 0,
    otherRun: 0,
    ...over,
  };
}

describe('demo: gaps on the wall clock, per step', () => {
  it('anchors gaps on the histogram (sub-ms) when there is one, else on the first arrival', () => {
    expect(wallGaps(receiver())).toEqual([{ startMs: T + 99, gapMs: 51, skipped: 50 }]);
    expect(wallGaps(receiver({ arrivals: { binMs: 1, startEpochMs: T + 0.4, counts: [1], beyond: 0 } }))).toEqual([
      { startMs: T + 99.4, gapMs: 51, skipped: 50 },
    ]);
    expect(wallGaps(receiver({ firstArrivalAt: null, gaps: [] }))).toEqual([]);
  });

  it('splits the gaps between the steps by when they began', () => {
    const gaps = [
      { startMs: T - 500, gapMs: 6, skipped: 5 }, // warm-up
      { startMs: T + 10, gapMs: 57, skipped: 56 }, // the crash
      { startMs: T + 300, gapMs: 8, skipped: 7 },
      { startMs: T + 2000, gapMs: 12, skipped: 11 }, // the restore
    ];
    expect(gapsBetween(gaps, T - 100, T + 1500)).toEqual({ count: 2, maxGapMs: 57, lost: 63 });
    expect(gapsBetween(gaps, T + 1500, T + 9000)).toEqual({ count: 1, maxGapMs: 12, lost: 11 });
    expect(gapsBetween(gaps, T + 9000, T + 9999)).toEqual({ count: 0, maxGapMs: 0, lost: 0 });
  });

  it('the gap across a state change: the longest silence that spans any of it', () => {
    const gaps = [
      { startMs: T - 40, gapMs: 30, skipped: 29 }, // ends before the kill: load, not the crash
      { startMs: T - 3, gapMs: 52, skipped: 51 }, // began just before the kill, ended after the takeover
      { startMs: T + 20, gapMs: 6, skipped: 5 },
      { startMs: T + 200, gapMs: 80, skipped: 79 }, // after the takeover
    ];
    expect(gapAcross(gaps, T, T + 48)).toEqual(gaps[1]);
    expect(gapAcross(gaps, T + 100, T + 150)).toBeNull();
    expect(gapAcross([], T, T + 48)).toBeNull();
  });

  it('the step table', () => {
    const t = formatStepTable([
      {
        step: 'crash',
        changeGapMs: 52.1,
        maxGapMs: 57.3,
        gaps: 1,
        probesLost: 56,
        tcpAlive: 8,
        tcpTotal: 8,
        change: 'fwb active 48 ms after kill -9 (its log)',
      },
      {
        step: 'restore',
        changeGapMs: 0,
        maxGapMs: 0,
        gaps: 0,
        probesLost: 0,
        tcpAlive: null,
        tcpTotal: 8,
        change: 'fwa back passive 1500 ms after the restart',
      },
    ]).split('\n');
    expect(t[0]).toMatch(/^\s+step\s+gap at the change\s+longest gap\s+gaps > 5 ms\s+probes lost\s+TCP alive\s+state change$/);
    expect(t[2]).toMatch(/^\s+crash\s+52\.1 ms\s+57\.3 ms\s+1\s+56\s+8 \/ 8\s+fwb active 48 ms after kill -9 \(its log\)$/);
    expect(t[3]).toMatch(/^\s+restore\s+none > 5 ms\s+none\s+0\s+0\s+\? \/ 8\s+fwa back passive/);
  });

  it('the end table carries the step table when there are steps', () => {
    const r: DemoResult = {
      name: 't',
      killed: 'fwa',
      tookOver: 'fwb',
      takeoverMs: 61,
      takeoverLoggedMs: null,
      recoveryMs: 1500,
      recoveredState: 'passive',
      probes: null,
      tcp: null,
      ipv6: null,
      svg: null,
      ok: true,
      errors: [],
      steps: [{ step: 'crash', changeGapMs: 52.1, maxGapMs: 57.3, gaps: 1, probesLost: 56, tcpAlive: 8, tcpTotal: 8, change: 'x' }],
    };
    const t = formatDemoTable(r);
    expect(t).toMatch(/crash\s+52\.1 ms\s+57\.3 ms/);
    expect(t).toMatch(/traffic gap at the takeover\s+52\.1 ms/);
    expect(t).toMatch(/takeover by its log\s+-/);
    expect(formatDemoTable({ ...r, steps: [] })).not.toMatch(/gap at the change/);
  });
});

describe("demo: the picture's markers", () => {
  const times = { killedAt: T, takeoverSeenAt: T + 80, restartAt: T + 1200, recoveredSeenAt: T + 3000 };

  it("takes the state changes from the daemons' logs and says so", () => {
    const tr: SeenTransition[] = [
      { box: 'fwa', atMs: T - 9000, from: 'initial', to: 'active', reason: 'peer-silent' },
      { box: 'fwb', atMs: T - 8900, from: 'initial', to: 'passive', reason: 'peer-active' },
      { box: 'fwb', atMs: T + 48, from: 'passive', to: 'active', reason: 'peer-dead' },
      { box: 'fwa', atMs: T + 2500, from: 'initial', to: 'passive', reason: 'peer-active' },
    ];
    const m = timelineMarkers('fwa', 'fwb', times, tr);
    expect(m.markers).toEqual([
      { atMs: T, label: 'kill -9 fwa', kind: 'crash' },
      { atMs: T + 48, label: 'fwb active', kind: 'takeover' },
      { atMs: T + 1200, label: 'fwa restarted', kind: 'restart' },
      { atMs: T + 2500, label: 'fwa back (passive)', kind: 'recovered' },
    ]);
    expect(m.takeoverLoggedAt).toBe(T + 48);
    expect(m.clockNote).toContain("kill -9, restart on the demo's clock");
    expect(m.clockNote).toContain("fwb active, fwa back from the daemons' own transition logs");
  });

  it('takes the box as back once it can take over again (passive: its bulk sync complete), not when it joins', () => {
    const tr: SeenTransition[] = [
      { box: 'fwb', atMs: T + 48, from: 'tentative', to: 'active', reason: 'peer-dead' },
      { box: 'fwa', atMs: T + 2500, from: 'initial', to: 'tentative', reason: 'peer-active' },
      { box: 'fwa', atMs: T + 2520, from: 'tentative', to: 'passive', reason: 'bulk sync complete' },
    ];
    const m = timelineMarkers('fwa', 'fwb', times, tr);
    expect(m.markers.map((x) => [x.label, x.atMs])).toEqual([
      ['kill -9 fwa', T],
      ['fwb active', T + 48],
      ['fwa restarted', T + 1200],
      ['fwa back (passive)', T + 2520],
    ]);
  });

  it('falls back to when the demo saw them (a daemon without a log) and says that too', () => {
    const m = timelineMarkers('fwa', 'fwb', times, []);
    expect(m.markers.map((x) => x.label)).toEqual(['kill -9 fwa', 'fwb active (seen by the demo)', 'fwa restarted', 'fwa back (seen by the demo)']);
    expect(m.markers[1].atMs).toBe(T + 80);
    expect(m.takeoverLoggedAt).toBeNull();
    expect(m.clockNote).toContain("kill -9, fwb active, restart, fwa back on the demo's clock");
    expect(m.clockNote).not.toContain('transition logs');
  });

  it('shows any other state change after the crash (a flap is part of the story)', () => {
    const tr: SeenTransition[] = [
      { box: 'fwb', atMs: T + 48, from: 'passive', to: 'active', reason: 'peer-dead' },
      { box: 'fwb', atMs: T + 400, from: 'active', to: 'non-functional', reason: 'link-monitor' },
    ];
    const m = timelineMarkers('fwa', 'fwb', { ...times, restartAt: null, recoveredSeenAt: null }, tr);
    expect(m.markers.map((x) => [x.label, x.kind])).toEqual([
      ['kill -9 fwa', 'crash'],
      ['fwb active', 'takeover'],
      ['fwb active \u2192 non-functional', 'other'],
    ]);
    // with the traffic's start known, a flap before the crash shows too, the start-up does not
    const before: SeenTransition[] = [
      { box: 'fwa', atMs: T - 9000, from: 'initial', to: 'active', reason: 'peer-silent' },
      { box: 'fwb', atMs: T - 1500, from: 'passive', to: 'active', reason: 'peer-dead' },
      { box: 'fwb', atMs: T - 1495, from: 'active', to: 'passive', reason: 'split-brain-resolved' },
      ...tr,
    ];
    const m2 = timelineMarkers('fwa', 'fwb', { ...times, trafficAt: T - 4000, restartAt: null, recoveredSeenAt: null }, before);
    expect(m2.markers.filter((x) => x.kind === 'other').map((x) => x.label)).toEqual([
      'fwb passive \u2192 active',
      'fwb active \u2192 passive',
      'fwb active \u2192 non-functional',
    ]);
    expect(m2.markers.find((x) => x.kind === 'takeover')?.atMs).toBe(T + 48);
  });
});

describe('lab demo --pairs: the table', () => {
  it('the view before and after, both pushes, the timeline, the verdict', async () => {
    const { emptyFleetDemoResult, formatFleetDemo } = await import('../../../src/lab/demo-fleet-result.js');
    const r = emptyFleetDemoResult('fd', 2);
    r.before = [{ pair: 'fd', site: 'dc1', health: 'ok', members: 'fwa active, fwb passive', config: 0 }];
    r.after = [{ pair: 'fd', site: 'dc1', health: 'degraded', members: 'fwa unreachable, fwb active', config: 0 }];
    r.failover = { pair: 'fd', killed: 'fwa', survivor: 'fwb', seenMs: 407 };
    r.push = [{ pair: 'fd', outcome: 'skipped', member: null, version: null, inSync: null, reason: 'fwa not reachable (fwa: unreachable)' }];
    r.repush = [{ pair: 'fd', outcome: 'committed', member: 'fwb', version: 1, inSync: true, reason: 'both members run it' }];
    r.ok = true;
    const text = formatFleetDemo(r);
    expect(text).toContain("kill -9 of fd's active fwa: central shows fwb active 407 ms later");
    expect(text).toMatch(/fd +skipped +- +- +- +fwa not reachable/);
    expect(text).toMatch(/fd +committed +fwb +v1 +yes +both members run it/);
    expect(text.trimEnd().split('\n').at(-1)).toBe('  result  OK');
    expect(formatFleetDemo({ ...emptyFleetDemoResult('x', 2), errors: ['boom'] })).toBe('  result  FAILED: boom');
  });
});
