import { describe, expect, it } from 'vitest';
import { LAG_BUCKETS_MS, LagHistogram, LagWindow } from '../../../src/sync/lag.js';

describe('LagHistogram', () => {
  it('is all zeros when empty', () => {
    expect(new LagHistogram().summary()).toEqual({ p50: 0, p99: 0, max: 0 });
  });

  it('keeps the exact max and never reports a quantile above it', () => {
    const h = new LagHistogram();
    h.observe(3.2);
    expect(h.max).toBe(3.2);
    expect(h.quantile(0.5)).toBeLessThanOrEqual(3.2);
    expect(h.quantile(1)).toBeCloseTo(3.2);
  });

  it('p50 and p99 land in the right buckets', () => {
    const h = new LagHistogram();
    for (let i = 0; i < 98; i++) h.observe(1.5); // bucket (1, 2]
    h.observe(40); // (25, 50]
    h.observe(400); // (250, 500]
    const s = h.summary();
    expect(s.p50).toBeGreaterThan(1);
    expect(s.p50).toBeLessThanOrEqual(2);
    expect(s.p99).toBeGreaterThan(25);
    expect(s.p99).toBeLessThanOrEqual(50);
    expect(s.max).toBe(400);
  });

  it('quantiles are within one bucket of the true ones on a spread', () => {
    const h = new LagHistogram();
    const values: number[] = [];
    for (let i = 0; i < 10_000; i++) values.push(Math.exp((i % 1000) / 100) / 10);
    for (const v of values) h.observe(v);
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const truth = values[Math.ceil(q * values.length) - 1];
      const est = h.quantile(q);
      const b = LAG_BUCKETS_MS.findIndex((x) => truth <= x);
      const lower = b <= 0 ? 0 : LAG_BUCKETS_MS[b - 1];
      const upper = b < 0 ? h.max : LAG_BUCKETS_MS[b];
      expect(est, `q=${q}`).toBeGreaterThanOrEqual(lower);
      expect(est, `q=${q}`).toBeLessThanOrEqual(upper);
    }
  });

  it('handles the overflow bucket, weights, bad values and reset', () => {
    const h = new LagHistogram();
    h.observe(100_000, 3);
    h.observe(-1);
    h.observe(Number.NaN);
    h.observe(Infinity);
    expect(h.count).toBe(3);
    expect(h.quantile(0.5)).toBeGreaterThan(LAG_BUCKETS_MS[LAG_BUCKETS_MS.length - 1]);
    expect(h.quantile(0.5)).toBeLessThanOrEqual(100_000);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.max).toBe(0);
  });
});

describe('LagWindow', () => {
  it('covers the current and previous window, then forgets', () => {
    const w = new LagWindow(1000);
    w.observe(500, 0);
    expect(w.summary(10).max).toBe(500);
    w.observe(5, 1500); // rotates: 500 is now in the previous window
    expect(w.summary(1500).max).toBe(500);
    expect(w.summary(2100).max).toBe(5); // rotated again: 500 gone
    expect(w.summary(10_000)).toEqual({ p50: 0, p99: 0, max: 0 });
  });
});
