// The active/active demo's tables and its markers (pure: a result in, text out).
import { describe, expect, it } from 'vitest';
import { emptyAaDemoResult, formatAaDemoTable, formatClientTable, formatPhaseTable, type AaDemoResult } from '../../../src/lab/demo-aa-result.js';
import { ACTIVE_ACTIVE_NAMES, gapStartingIn, timelineMarkers, type SeenTransition } from '../../../src/lab/demo-timeline.js';

const T = 1_764_000_000_000;
const rates = (fwd: number, owner: number, ha3: number) => ({ forwarded: fwd, 'to-owner': owner, 'ha3-tx': ha3, 'ha3-rx': ha3 });

function result(): AaDemoResult {
  return {
    ...emptyAaDemoResult('ui1'),
    killed: 'fwa',
    tookOver: 'fwb',
    takeoverMs: 39,
    takeoverLoggedMs: 21,
    recoveryMs: 2300,
    recoveredState: 'active-secondary',
    phases: [
      { phase: 'both', label: 'both forwarding', fromMs: T, toMs: T + 2000, rates: { fwa: rates(2599.4, 783, 790), fwb: rates(2600, 785, 792) } },
      { phase: 'alone', label: 'fwb alone (after kill -9 of fwa)', fromMs: T + 3000, toMs: T + 5000, rates: { fwa: null, fwb: rates(5100, 0, 0) } },
    ],
    clients: [
      {
        host: 'client',
        via: 'via device 0',
        probes: { sent: 12000, received: 11970, lostDuringRun: 25, maxGapMs: 32.8, gapsOver5Ms: 4 },
        crashGapMs: 24.1,
        rejoinGapMs: 0,
        tcp: { total: 8, connected: 8, survived: 8, reset: 0, lostWhy: [] },
      },
    ],
    decisions: {
      fwa: { setupLocal: 10, setupToPeer: 0, toOwner: 400, missToPeer: 1, sessionAdopted: 0, deferAcked: 9, deferTimeout: 1, deferFull: 0 },
      fwb: null,
    },
    stateChanges: ['+21 ms  fwb active-secondary -> active-primary (peer-closed)'],
    svg: '/tmp/x.svg',
    ok: true,
  };
}

describe('active/active demo tables', () => {
  it('a row per phase with each box rates; a box down says so', () => {
    const t = formatPhaseTable(result().phases).split('\n');
    expect(t[0]).toMatch(/^ {2}phase +fwa forwards +fwb forwards +fwa to owner +fwb to owner +HA3 fwa->fwb +HA3 fwb->fwa$/);
    expect(t[2]).toMatch(/^ {2}both forwarding +2,599\/s +2,600\/s +783\/s +785\/s +790\/s +792\/s$/);
    expect(t[3]).toMatch(/^ {2}fwb alone \(after kill -9 of fwa\) +down +5,100\/s +down +0\/s +down +0\/s$/);
  });

  it('a row per client with its gaps, losses and TCP', () => {
    const t = formatClientTable(result().clients).split('\n');
    expect(t[2]).toMatch(/^ {2}client +via device 0 +24\.1 ms +none > 5 ms +32\.8 ms +4 +25 \/ 12000 +8 \/ 8$/);
  });

  it('the whole: phases, clients, decisions, then the summary', () => {
    const text = formatAaDemoTable(result());
    expect(text).toContain("Each box's packets per second (its API's counters):\n");
    expect(text).toContain("Each client's probes (UDP, 1 ms apart) and TCP streams:\n");
    expect(text).toMatch(/packets to the owner \(to-owner\) +400 +-\n/);
    expect(text).toContain("State changes (the daemons' logs, from the kill):\n  +21 ms  fwb active-secondary -> active-primary (peer-closed)\n");
    expect(text).toMatch(/box killed \(kill -9 of the primary\) +fwa\n/);
    expect(text).toMatch(/rejoin \(killed box back\) +2300 ms, active-secondary\n/);
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/result +OK$/);
    expect(text).not.toContain('IPv6');
    const v6 = formatAaDemoTable({
      ...result(),
      ipv6: {
        probes: { sent: 10643, received: 10617, lostDuringRun: 26, maxGapMs: 27.7 },
        changeGapMs: 27.7,
        tcp: { total: 4, connected: 4, survived: 4, reset: 0 },
      },
    });
    expect(v6).toMatch(/IPv6: traffic gap at the takeover +27\.7 ms\n/);
    expect(v6).toMatch(/IPv6: TCP connections surviving +4 \/ 4\n/);
    const failed = formatAaDemoTable({ ...emptyAaDemoResult('ui1'), errors: ['fwb forwarded nothing alone'] });
    expect(failed).not.toContain('packets per second');
    expect(failed).toMatch(/result +FAILED: fwb forwarded nothing alone$/);
  });

  it('the markers take active-primary and active-secondary for the takeover and the return', () => {
    const transitions: SeenTransition[] = [
      { box: 'fwb', atMs: T + 21, from: 'active-secondary', to: 'active-primary', reason: 'peer-closed' },
      { box: 'fwa', atMs: T + 2100, from: 'initial', to: 'tentative', reason: 'election-lost' },
      { box: 'fwa', atMs: T + 2300, from: 'tentative', to: 'active-secondary', reason: 'bulk sync complete' },
    ];
    const m = timelineMarkers(
      'fwa',
      'fwb',
      { killedAt: T, takeoverSeenAt: T + 39, restartAt: T + 2000, recoveredSeenAt: T + 2400 },
      transitions,
      ACTIVE_ACTIVE_NAMES,
    );
    expect(m.markers.map((x) => [x.kind, x.label, x.atMs - T])).toEqual([
      ['crash', 'kill -9 fwa', 0],
      ['takeover', 'fwb active-primary', 21],
      ['restart', 'fwa restarted', 2000],
      ['recovered', 'fwa back (active-secondary)', 2300],
    ]);
    expect(m.takeoverLoggedAt).toBe(T + 21);
  });

  it('the rejoin gap is one that began with the rejoin, not one already running', () => {
    const gaps = [
      { startMs: T + 1000, gapMs: 1300, skipped: 1299 }, // began before the restart (a stall of the survivor)
      { startMs: T + 3950, gapMs: 12, skipped: 11 },
      { startMs: T + 4100, gapMs: 7, skipped: 6 },
    ];
    expect(gapStartingIn(gaps, T + 2000, T + 4100)).toEqual(gaps[1]);
    expect(gapStartingIn(gaps, T + 4200, T + 5000)).toBeNull();
  });
});
