// Per-box rates of the active/active demo from samples of each box's counters.
import { describe, expect, it } from 'vitest';
import { phaseRate, rateBetween, rateSeries, sampleOf, type CounterSample } from '../../../src/lab/box-rates.js';

const T = 1_764_000_000_000;

/** A sample of `box` at T + atS seconds, its daemon's clock at clockS, `fwd` forwarded so far. */
function sample(box: 'fwa' | 'fwb', atS: number, clockS: number, fwd: number): CounterSample {
  return sampleOf(box, T + atS * 1000, { sampledAtMs: clockS * 1000, packets: { forwarded: fwd, 'to-owner': fwd / 2, rx: 99 } });
}

describe('box rates', () => {
  it('divides by the daemon clock, not the wall clock; missing events are 0', () => {
    const a = sample('fwa', 0, 10, 1000);
    const b = sample('fwa', 0.7, 10.5, 2000);
    expect(rateBetween(a, b)).toEqual({ forwarded: 2000, 'to-owner': 1000, 'ha3-tx': 0, 'ha3-rx': 0 });
  });

  it('gives no rate across a restart (the clock or a counter went backwards)', () => {
    expect(rateBetween(sample('fwa', 0, 10, 1000), sample('fwa', 1, 0.2, 50))).toBeNull();
    expect(rateBetween(sample('fwa', 0, 10, 1000), sample('fwa', 1, 11, 50))).toBeNull();
    expect(rateBetween(sample('fwa', 0, 10, 1000), sample('fwa', 1, 10, 1000))).toBeNull();
  });

  it('a phase: first to last sample of the box inside the window; null with fewer than two', () => {
    const samples = [sample('fwa', 0, 1, 0), sample('fwb', 0.1, 5, 0), sample('fwa', 1, 2, 500), sample('fwa', 2, 3, 1500), sample('fwb', 2, 7, 4000)];
    expect(phaseRate(samples, 'fwa', T, T + 2000)?.forwarded).toBe(750);
    expect(phaseRate(samples, 'fwa', T + 500, T + 2000)?.forwarded).toBe(1000);
    expect(phaseRate(samples, 'fwb', T, T + 2000)?.forwarded).toBe(2000);
    expect(phaseRate(samples, 'fwb', T + 1000, T + 2000)).toBeNull();
  });

  it('the series: one point per pair of consecutive samples, none across the restart', () => {
    const samples = [sample('fwa', 0, 1, 0), sample('fwa', 1, 2, 100), sample('fwa', 3, 0.5, 0), sample('fwa', 4, 1.5, 300), sample('fwb', 1, 1, 5)];
    expect(rateSeries(samples, 'fwa', 'forwarded')).toEqual([
      { atMs: T + 1000, perS: 100 },
      { atMs: T + 4000, perS: 300 },
    ]);
  });
});
