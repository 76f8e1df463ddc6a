// The router advertisement schedule of RFC 4861 6.2.4 and 6.2.6, as scenarios: a takeover, the
// initial fast sequence, the steady interval, router solicitations, a failover and back. The random
// source is a fixed sequence, so every time below is exact.
import { describe, expect, it } from 'vitest';
import { checkRaIntervals, RaSchedule } from '../../../src/dataplane/ra-schedule.js';

/** A random source returning the values given, in turn (then the last one again). */
function seq(...v: number[]): () => number {
  let i = 0;
  return () => v[Math.min(i++, v.length - 1)];
}

/** The times, stepping by 1 ms from `from` to `to`, at which due() said to send. */
function run(s: RaSchedule, from: number, to: number, onTick?: (now: number) => void): number[] {
  const at: number[] = [];
  for (let now = from; now <= to; now++) {
    onTick?.(now);
    if (s.due(now)) at.push(now);
  }
  return at;
}

const I = { minIntervalMs: 200_000, maxIntervalMs: 600_000 };

describe('RaSchedule', () => {
  it('sends nothing before start; at start at once, then three intervals capped at 16 s, then min..max', () => {
    const s = new RaSchedule(I, seq(0.5));
    expect(run(s, 0, 1000)).toEqual([]);
    s.start(1000);
    // 0.5 -> 400 s, capped to 16 s after each of the first three RAs, then 400 s
    expect(run(s, 1000, 1000 + 48_000 + 400_000)).toEqual([1000, 17_000, 33_000, 49_000, 449_000]);
    expect(s.sent).toBe(5);
  });

  it('the interval is uniform between min and max: random 0 gives min, random near 1 gives max', () => {
    const s = new RaSchedule({ minIntervalMs: 3000, maxIntervalMs: 4000 }, seq(0, 0, 0, 0, 0.999));
    s.start(0);
    expect(run(s, 0, 20_000)).toEqual([0, 3000, 6000, 9000, 12_000, 15_999, 19_998]);
  });

  it('a router solicitation is answered within 0.5 s, and not within 3 s of the last RA', () => {
    const s = new RaSchedule(I, seq(0.5, 0.5, 0.5, 0.5, 0.2, 0.5, 0.8));
    s.start(0);
    // RAs at 0, 16 s, 32 s, 48 s; then the next is 400 s later
    expect(run(s, 0, 48_000)).toEqual([0, 16_000, 32_000, 48_000]);
    // an RS at 100 s: random 0.2 -> 100 ms delay
    s.solicited(100_000);
    expect(run(s, 48_001, 101_000)).toEqual([100_100]);
    // an RS 1 s after that RA: not before 3 s after it, plus the delay (random 0.8 -> 400 ms)
    s.solicited(101_100);
    expect(s.nextDueMs).toBe(100_100 + 3000 + 400);
    expect(run(s, 101_001, 104_000)).toEqual([103_500]);
  });

  it('a solicitation never pushes back an RA already due sooner', () => {
    const s = new RaSchedule(I, seq(0.5, 0.9));
    s.start(0);
    expect(s.due(0)).toBe(true);
    const next = s.nextDueMs;
    expect(next).toBe(16_000);
    s.solicited(15_900); // 15_900 + 450 > 16_000
    expect(s.nextDueMs).toBe(16_000);
  });

  it('stop() silences it, solicitations included; start() at a new takeover runs the fast sequence again, 3 s after the last RA at the soonest', () => {
    const s = new RaSchedule(I, seq(0.5));
    s.start(0);
    expect(run(s, 0, 20_000)).toEqual([0, 16_000]);
    s.stop();
    s.solicited(20_000);
    expect(run(s, 20_001, 100_000)).toEqual([]);
    expect(s.running).toBe(false);
    s.start(100_000);
    expect(run(s, 100_000, 150_000)).toEqual([100_000, 116_000, 132_000, 148_000]);
    // a flap: stopped and started again 1 s after an RA
    s.stop();
    s.start(149_000);
    expect(s.nextDueMs).toBe(151_000);
  });

  it('reconfigure brings an RA scheduled past the new max within it', () => {
    const s = new RaSchedule(I, seq(0.5, 0.5, 0.5, 0.5, 0));
    s.start(0);
    run(s, 0, 48_000);
    expect(s.nextDueMs).toBe(448_000);
    s.reconfigure({ minIntervalMs: 3000, maxIntervalMs: 10_000 }, 50_000);
    expect(s.nextDueMs).toBe(53_000);
  });

  it('refuses intervals RFC 4861 6.2.1 does not allow', () => {
    expect(() => checkRaIntervals({ minIntervalMs: 3000, maxIntervalMs: 4000 })).not.toThrow();
    expect(() => new RaSchedule({ minIntervalMs: 2000, maxIntervalMs: 10_000 })).toThrow(RangeError);
    expect(() => new RaSchedule({ minIntervalMs: 8000, maxIntervalMs: 10_000 })).toThrow(RangeError);
    expect(() => new RaSchedule({ minIntervalMs: 3000, maxIntervalMs: 3500 })).toThrow(RangeError);
    expect(() => new RaSchedule({ minIntervalMs: 3000, maxIntervalMs: 1_900_000 })).toThrow(RangeError);
  });
});
