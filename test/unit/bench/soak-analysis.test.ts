import { describe, expect, it } from 'vitest';
import { HEAP_LIMITS, RSS_LIMITS, formatTable, growth, linearFit, warmupS, type Point } from '../../../bench/soak/analysis.js';

const MIB = 1024 * 1024;

function series(durationS: number, stepS: number, f: (tS: number) => number): Point[] {
  const out: Point[] = [];
  for (let t = 0; t <= durationS; t += stepS) out.push({ tS: t, value: f(t) });
  return out;
}

describe('linearFit', () => {
  it('recovers a line exactly', () => {
    const fit = linearFit(series(100, 10, (t) => 3 * t + 7));
    expect(fit.slope).toBeCloseTo(3, 10);
    expect(fit.intercept).toBeCloseTo(7, 10);
  });
  it('is flat for one point or none', () => {
    expect(linearFit([]).slope).toBe(0);
    expect(linearFit([{ tS: 5, value: 9 }])).toEqual({ slope: 0, intercept: 9 });
  });
});

describe('growth', () => {
  it('warm-up is five minutes, or a third of a short run', () => {
    expect(warmupS(1800)).toBe(300);
    expect(warmupS(120)).toBe(40);
  });

  it('a flat series with GC sawtooth is not growth', () => {
    const pts = series(1800, 15, (t) => 80 * MIB + ((t / 15) % 4) * 3 * MIB);
    const g = growth(pts, 1800, RSS_LIMITS);
    expect(g.clear).toBe(false);
    expect(Math.abs(g.slopePerHour)).toBeLessThan(RSS_LIMITS.floorPerHour);
  });

  it('a steady leak of 100 MiB/h after the plateau is clear growth', () => {
    const pts = series(1800, 15, (t) => 80 * MIB + (t > 150 ? ((t - 150) / 3600) * 100 * MIB : 0));
    const g = growth(pts, 1800, RSS_LIMITS);
    expect(g.clear).toBe(true);
    expect(g.slopePerHour / MIB).toBeGreaterThan(80);
    expect(g.end).toBeGreaterThan(g.plateau);
  });

  it('a short run does not extrapolate a megabyte of noise into a leak', () => {
    // 2 minutes, heap creeping 2 MiB: 60 MiB/h by slope, but far below the minimum increase
    const pts = series(120, 10, (t) => 20 * MIB + (t / 120) * 2 * MIB);
    const g = growth(pts, 120, HEAP_LIMITS);
    expect(g.slopePerHour).toBeGreaterThan(HEAP_LIMITS.floorPerHour);
    expect(g.clear).toBe(false);
  });

  it('a short run with a big leak is still caught', () => {
    const pts = series(120, 10, (t) => 20 * MIB + (t / 120) * 60 * MIB);
    expect(growth(pts, 120, HEAP_LIMITS).clear).toBe(true);
  });
});

describe('formatTable', () => {
  it('right-aligns columns under the header', () => {
    expect(
      formatTable(
        ['a', 'bbb'],
        [
          ['10', '2'],
          ['1', ''],
        ],
      ),
    ).toBe(' a  bbb\n10    2\n 1     ');
  });
});
