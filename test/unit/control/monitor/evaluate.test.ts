import { describe, expect, it } from 'vitest';
import {
  HOLD_FINE,
  TARGET_UP,
  advanceHold,
  conditionFailed,
  faultReason,
  faultsOf,
  holdUpMs,
  peerEvidenceAfterMs,
  linkVerdict,
  recordProbe,
} from '../../../../src/control/monitor/evaluate.js';

describe('conditionFailed', () => {
  const cases: ['any' | 'all', boolean[], boolean][] = [
    ['any', [], false],
    ['all', [], false],
    ['any', [false, false], false],
    ['any', [false, true], true],
    ['all', [false, true], false],
    ['all', [true, true], true],
    ['all', [true], true],
  ];
  for (const [c, f, want] of cases) it(`${c} over [${f.join(',')}] -> ${want}`, () => expect(conditionFailed(c, f)).toBe(want));
});

describe('recordProbe: consecutive lost echoes', () => {
  it('down after exactly `failures` lost in a row, up again on one answer', () => {
    let t = TARGET_UP;
    t = recordProbe(t, false, 3);
    t = recordProbe(t, false, 3);
    expect(t).toEqual({ consecutiveFailures: 2, up: true });
    t = recordProbe(t, false, 3);
    expect(t).toEqual({ consecutiveFailures: 3, up: false });
    t = recordProbe(t, false, 3);
    expect(t.up).toBe(false);
    expect(recordProbe(t, true, 3)).toEqual(TARGET_UP);
  });
  it('an answer in between starts the count over', () => {
    let t = TARGET_UP;
    for (const ok of [false, false, true, false, false]) t = recordProbe(t, ok, 3);
    expect(t).toEqual({ consecutiveFailures: 2, up: true });
  });
  it('failures=1: the first lost echo', () => expect(recordProbe(TARGET_UP, false, 1).up).toBe(false));
});

describe('hold-up', () => {
  const timers = { monitorFailHoldUpMs: 100, additionalActiveHoldUpMs: 500 };
  it('the active waits the additional hold-up, the passive does not', () => {
    expect(holdUpMs(timers, false)).toBe(100);
    expect(holdUpMs(timers, true)).toBe(600);
    // the peer vouches for the group: the active waits no longer than the passive
    expect(holdUpMs(timers, true, true)).toBe(100);
    expect(holdUpMs(timers, false, true)).toBe(100);
  });
  it('a failure becomes a fault after the hold, as a function of time', () => {
    let r = advanceHold(HOLD_FINE, true, 1000, 600);
    expect(r).toEqual({ state: { failedSinceMs: 1000, faulted: false }, recheckInMs: 600 });
    r = advanceHold(r.state, true, 1400, 600);
    expect(r).toEqual({ state: { failedSinceMs: 1000, faulted: false }, recheckInMs: 200 });
    r = advanceHold(r.state, true, 1600, 600);
    expect(r).toEqual({ state: { failedSinceMs: 1000, faulted: true }, recheckInMs: null });
  });
  it('hold 0: a fault at once', () => expect(advanceHold(HOLD_FINE, true, 5, 0).state.faulted).toBe(true));
  it('recovering inside the hold: never a fault, and the next failure starts over', () => {
    let r = advanceHold(HOLD_FINE, true, 0, 500);
    r = advanceHold(r.state, false, 300, 500);
    expect(r).toEqual({ state: HOLD_FINE, recheckInMs: null });
    r = advanceHold(r.state, true, 400, 500);
    expect(r.recheckInMs).toBe(500);
  });
  it('a fault clears at once when the failure ends', () => {
    const faulted = advanceHold(HOLD_FINE, true, 0, 0).state;
    expect(advanceHold(faulted, false, 1, 0).state).toEqual(HOLD_FINE);
  });
});

describe('faultsOf: the HA-level condition across groups', () => {
  const groups = [
    { name: 'a', faulted: true },
    { name: 'b', faulted: false },
  ];
  it('any: every faulted group is a fault', () => expect(faultsOf('link', 'any', groups)).toEqual(['link-monitor:a']));
  it('all: nothing until every group is faulted', () => {
    expect(faultsOf('path', 'all', groups)).toEqual([]);
    expect(
      faultsOf(
        'path',
        'all',
        groups.map((g) => ({ ...g, faulted: true })),
      ),
    ).toEqual(['path-monitor:a', 'path-monitor:b']);
  });
  it('reasons are stable strings', () => expect(faultReason('path', 'upstream')).toBe('path-monitor:upstream'));
});

describe('linkVerdict (sysfs)', () => {
  const cases: [string, Parameters<typeof linkVerdict>[0], { up: boolean; why: string }][] = [
    ['up', { flags: 0x1003, carrier: '1', operstate: 'up' }, { up: true, why: 'up' }],
    ['veth without operstate support', { flags: 0x1003, carrier: '1', operstate: 'unknown' }, { up: true, why: 'up' }],
    ['admin down', { flags: 0x1002, carrier: null, operstate: 'down' }, { up: false, why: 'admin-down' }],
    ['cable pulled', { flags: 0x1003, carrier: '0', operstate: 'lowerlayerdown' }, { up: false, why: 'no-carrier' }],
    ['carrier but oper down', { flags: 0x1003, carrier: '1', operstate: 'lowerlayerdown' }, { up: false, why: 'oper-lowerlayerdown' }],
    ['device gone', { flags: null, carrier: null, operstate: null }, { up: false, why: 'missing' }],
  ];
  for (const [name, k, want] of cases) it(name, () => expect(linkVerdict(k)).toEqual(want));
});

describe('peerEvidenceAfterMs', () => {
  it('link groups: composed 15 ms after the failure; path groups: one probe interval later', () => {
    expect(peerEvidenceAfterMs('link', 1000)).toBe(1015);
    expect(peerEvidenceAfterMs('path', 1000, 200)).toBe(1215);
  });
});
