import { describe, expect, it } from 'vitest';
import type { HaStatus } from '../../../src/control/status.js';
import { mergeTcpEnds, mergeTcpMarks, mergeUdpMarks, ID_STRIDE } from '../../../bench/chaos/merge.js';
import { expectedRoleChanges, failsPrimary, pairRole, tookOver } from '../../../bench/chaos/pair.js';

/** The parts of a status tookOver reads. */
const status = (state: string, peer: { up: boolean; state: string | null }) => ({ local: { state }, peer }) as unknown as HaStatus;

describe('chaos in either lab mode', () => {
  it('active/active primary and secondary stand for active and passive', () => {
    expect(pairRole('active-primary', 'active-active')).toBe('active');
    expect(pairRole('active-secondary', 'active-active')).toBe('passive');
    expect(pairRole('tentative', 'active-active')).toBe('tentative');
    expect(pairRole('active', 'active-passive')).toBe('active');
    expect(pairRole(null, 'active-active')).toBeNull();
  });

  it('alternate fails the primary on even iterations; active/passive always the active', () => {
    expect([0, 1, 2, 3].map((i) => failsPrimary('active-active', 'alternate', i))).toEqual([true, false, true, false]);
    expect(failsPrimary('active-active', 'secondary', 0)).toBe(false);
    expect(failsPrimary('active-passive', 'secondary', 1)).toBe(true);
  });

  it('a failed secondary moves no role, unless a planned failover follows', () => {
    expect(expectedRoleChanges('active-active', false, false)).toBe(0);
    expect(expectedRoleChanges('active-active', false, true)).toBe(1);
    expect(expectedRoleChanges('active-active', true, false)).toBe(1);
    expect(expectedRoleChanges('active-passive', false, false)).toBe(1);
  });

  it('the survivor has taken over once primary and the failed box no longer forwards', () => {
    expect(tookOver(status('active-primary', { up: true, state: 'active-secondary' }), 'active-active', false)).toBe(false);
    expect(tookOver(status('active-primary', { up: false, state: null }), 'active-active', false)).toBe(true);
    expect(tookOver(status('active-primary', { up: true, state: 'non-functional' }), 'active-active', false)).toBe(true);
    expect(tookOver(status('active-primary', { up: true, state: 'active-secondary' }), 'active-active', true)).toBe(true);
    expect(tookOver(status('active-secondary', { up: false, state: null }), 'active-active', false)).toBe(false);
    expect(tookOver(status('active', { up: true, state: 'passive' }), 'active-passive', false)).toBe(true);
  });
});

describe('the figures of several flows processes as one', () => {
  it('TCP marks: losses with ids per process, the longest stall, counts summed', () => {
    const m = mergeTcpMarks([
      { mark: 3, atMs: 10, lost: [{ id: 1, why: 'ECONNRESET', atMs: 5 }], maxStallMs: 40, stalledNow: 1, alive: 49 },
      { mark: 3, atMs: 12, lost: [{ id: 1, why: 'closed by peer', atMs: 6 }], maxStallMs: 90, stalledNow: 0, alive: 50 },
    ]);
    expect(m).toEqual({
      mark: 3,
      atMs: 12,
      lost: [
        { id: 1, why: 'ECONNRESET', atMs: 5 },
        { id: 1 + ID_STRIDE, why: 'closed by peer', atMs: 6 },
      ],
      maxStallMs: 90,
      stalledNow: 1,
      alive: 99,
    });
    expect(
      mergeTcpEnds([
        { end: true, total: 2, connected: 2, survived: 2, lost: [] },
        { end: true, total: 3, connected: 3, survived: 2, lost: [{ id: 0, why: 'x', atMs: 1 }] },
      ]),
    ).toEqual({
      end: true,
      total: 5,
      connected: 5,
      survived: 4,
      lost: [{ id: ID_STRIDE, why: 'x', atMs: 1 }],
    });
  });

  it('UDP marks: the longest gap of either probe, losses summed, gaps in time order', () => {
    const u = mergeUdpMarks([
      { mark: 0, atMs: 1, received: 10, lost: 1, late: 0, maxGapMs: 7, gaps: [{ atMs: 5, gapMs: 7 }] },
      { mark: 0, atMs: 2, received: 20, lost: 2, late: 1, maxGapMs: 30, gaps: [{ atMs: 3, gapMs: 30 }] },
    ]);
    expect(u).toEqual({
      mark: 0,
      atMs: 2,
      received: 30,
      lost: 3,
      late: 1,
      maxGapMs: 30,
      gaps: [
        { atMs: 3, gapMs: 30 },
        { atMs: 5, gapMs: 7 },
      ],
    });
  });
});
