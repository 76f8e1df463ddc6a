import { describe, expect, it } from 'vitest';
import {
  analyseDualActive,
  analyseDualActiveByClass,
  formatMmm,
  KINDS,
  longestHandoffSilenceMs,
  minMedianMax,
  parseKinds,
  roleChangeVerdict,
  schedule,
  seededRandom,
  type Box,
  type VmacFrame,
} from '../../../bench/chaos/analyse.js';

/** Frames of one box every stepUs from fromUs to toUs inclusive. */
function every(box: Box, fromUs: number, toUs: number, stepUs: number): VmacFrame[] {
  const out: VmacFrame[] = [];
  for (let t = fromUs; t <= toUs; t += stepUs) out.push({ tUs: t, box });
  return out;
}

const W = 1000; // 1 ms

describe('dual-active analysis', () => {
  it('nothing captured: nothing to report', () => {
    expect(analyseDualActive([], W)).toEqual({ frames: { fwa: 0, fwb: 0 }, dualActiveFrames: 0, overlaps: [], handoffs: [] });
  });

  it('one box only: no overlap, no handoff', () => {
    const r = analyseDualActive(every('fwa', 0, 100_000, 100), W);
    expect(r.frames).toEqual({ fwa: 1001, fwb: 0 });
    expect(r.dualActiveFrames).toBe(0);
    expect(r.handoffs).toEqual([]);
  });

  it('a clean failover, even with a silence shorter than the window, is a handoff and no overlap', () => {
    const frames = [...every('fwa', 0, 50_000, 100), ...every('fwb', 50_300, 100_000, 100)];
    const r = analyseDualActive(frames, W);
    expect(r.dualActiveFrames).toBe(0);
    expect(r.overlaps).toEqual([]);
    expect(r.handoffs).toEqual([{ from: 'fwa', to: 'fwb', lastFromUs: 50_000, firstToUs: 50_300 }]);
    expect(longestHandoffSilenceMs(r.handoffs)).toBeCloseTo(0.3);
  });

  it('the input order does not matter (captures of four ports are concatenated)', () => {
    const frames = [...every('fwb', 50_300, 100_000, 100), ...every('fwa', 0, 50_000, 100)];
    expect(analyseDualActive(frames, W).handoffs).toHaveLength(1);
  });

  it('the old active still forwarding after the new one started: every interleaved frame is counted, in one interval', () => {
    // fwb takes over at 50 ms; fwa keeps emitting every 250 us until 52 ms
    const frames = [...every('fwa', 0, 52_000, 250), ...every('fwb', 50_000, 100_000, 100)];
    const r = analyseDualActive(frames, W);
    expect(r.dualActiveFrames).toBeGreaterThan(0);
    expect(r.overlaps).toHaveLength(1);
    const o = r.overlaps[0];
    expect(o.startUs).toBeGreaterThanOrEqual(49_000);
    expect(o.endUs).toBeLessThanOrEqual(52_100);
    // fwa's frames from 50.25 to 52 ms sit between fwb frames: 8 of them
    expect(o.frames.fwa).toBe(8);
    expect(o.frames.fwb).toBeGreaterThan(0);
    expect(r.dualActiveFrames).toBe(o.frames.fwa + o.frames.fwb);
  });

  it("a single stray frame of the woken box inside the active one's traffic is found", () => {
    const frames = [...every('fwb', 0, 100_000, 200), { tUs: 70_050, box: 'fwa' as Box }];
    const r = analyseDualActive(frames, W);
    expect(r.overlaps).toHaveLength(1);
    expect(r.overlaps[0].frames.fwa).toBe(1);
    expect(r.handoffs).toHaveLength(2);
  });

  it('frames farther apart than the window do not make an overlap, and two episodes stay two intervals', () => {
    const sparse = [...every('fwb', 0, 100_000, 5000), { tUs: 12_500, box: 'fwa' as Box }];
    expect(analyseDualActive(sparse, W).dualActiveFrames).toBe(0);
    const twice = [...every('fwb', 0, 100_000, 100), { tUs: 20_050, box: 'fwa' as Box }, { tUs: 80_050, box: 'fwa' as Box }];
    expect(analyseDualActive(twice, W).overlaps).toHaveLength(2);
  });

  it('refuses a window that is not positive', () => {
    expect(() => analyseDualActive([], 0)).toThrow(/windowUs/);
  });
});

describe('the schedule', () => {
  it('each cycle holds every kind once, and a seed replays the same order', () => {
    const s = schedule(KINDS, 100, seededRandom(42));
    expect(s).toHaveLength(100);
    for (let c = 0; c + KINDS.length <= 100; c += KINDS.length) expect([...s.slice(c, c + KINDS.length)].sort()).toEqual([...KINDS].sort());
    expect(schedule(KINDS, 100, seededRandom(42))).toEqual(s);
    expect(schedule(KINDS, 100, seededRandom(43))).not.toEqual(s);
  });

  it('as many failovers as kinds are one of each kind; a subset cycles through itself', () => {
    expect([...schedule(KINDS, KINDS.length, seededRandom(1))].sort()).toEqual([...KINDS].sort());
    expect(new Set(schedule(['kill', 'stop'], 9, seededRandom(1)))).toEqual(new Set(['kill', 'stop']));
  });

  it('parses --kinds and names what it does not know', () => {
    expect(parseKinds('kill, stop,kill')).toEqual(['kill', 'stop']);
    expect(() => parseKinds('kill,reboot')).toThrow(/unknown kind "reboot"/);
    expect(() => parseKinds('')).toThrow(/at least one/);
  });
});

describe('figures', () => {
  it('min / median / max', () => {
    expect(minMedianMax([])).toBeNull();
    expect(minMedianMax([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3 });
    expect(minMedianMax([4, 1, 2, 3])).toEqual({ min: 1, median: 2.5, max: 4 });
    expect(formatMmm([1.25, 3, 2])).toBe('1.3 / 2 / 3');
    expect(formatMmm([])).toBe('-');
  });

  it('role changes against the expectation', () => {
    expect(roleChangeVerdict(1)).toBe('ok');
    expect(roleChangeVerdict(0)).toBe('none');
    expect(roleChangeVerdict(2)).toBe('extra');
  });
});

describe('dual-active analysis per virtual MAC class (active/active)', () => {
  const tag = (fs: VmacFrame[], cls: number): VmacFrame[] => fs.map((f) => ({ ...f, cls }));

  it('each box speaking for its own class all the time is not dual-active', () => {
    const frames = [...tag(every('fwa', 0, 50_000, 100), 1), ...tag(every('fwb', 50, 50_050, 100), 2)];
    expect(analyseDualActive(frames, W).dualActiveFrames).toBeGreaterThan(0); // the whole-wire check would flag it
    const r = analyseDualActiveByClass(frames, W);
    expect(r.dualActiveFrames).toBe(0);
    expect(r.byClass).toEqual({ 1: { fwa: 501, fwb: 0, dual: 0 }, 2: { fwa: 0, fwb: 501, dual: 0 } });
  });

  it('a class spoken for by both boxes at once is, and its overlap names the class', () => {
    // fwb takes class 1 (device 0's addresses) at 10 ms while fwa still speaks for it until 12 ms
    const frames = [...tag(every('fwa', 0, 12_000, 500), 1), ...tag(every('fwb', 10_000, 20_000, 500), 1), ...tag(every('fwb', 0, 20_000, 500), 2)];
    const r = analyseDualActiveByClass(frames, W);
    expect(r.dualActiveFrames).toBeGreaterThan(0);
    expect(r.byClass[2].dual).toBe(0);
    expect(r.overlaps.every((o) => o.cls === 1)).toBe(true);
    expect(r.overlaps[0].startUs).toBeGreaterThanOrEqual(10_000);
  });

  it('one class (active/passive) gives what analyseDualActive gives', () => {
    const frames = [...every('fwa', 0, 10_000, 500), ...every('fwb', 9_000, 20_000, 500)];
    const whole = analyseDualActive(frames, W);
    const r = analyseDualActiveByClass(frames, W);
    expect(r.dualActiveFrames).toBe(whole.dualActiveFrames);
    expect(r.handoffs).toEqual(whole.handoffs);
    expect(r.frames).toEqual(whole.frames);
  });
});
