import { describe, expect, it } from 'vitest';
import { analyzeArrivals, ArrivalBins, decodeProbe, encodeProbe, GapTracker, MAX_ARRIVAL_BINS, MAX_LISTED_GAPS, PROBE_LEN } from '../../../src/lab/gaps.js';

/** Arrivals of seq from..to, one per ms, starting at t0. */
function steady(from: number, to: number, t0: number, stepMs = 1): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = from; s <= to; s++) out.push([s, t0 + (s - from) * stepMs]);
  return out;
}

describe('gap analysis', () => {
  it('an empty run', () => {
    const s = analyzeArrivals([]);
    expect(s).toMatchObject({ received: 0, lost: 0, firstSeq: null, lastSeq: null, maxGapMs: 0, maxGap: null, gaps: [], gapCount: 0, durationMs: 0 });
  });

  it('a single arrival has no gap', () => {
    const s = analyzeArrivals([[7, 100]]);
    expect(s).toMatchObject({ received: 1, lost: 0, firstSeq: 7, lastSeq: 7, maxGapMs: 0, maxGap: null, gapCount: 0 });
  });

  it('steady traffic: no loss, no gap above the threshold', () => {
    const s = analyzeArrivals(steady(0, 999, 1000));
    expect(s).toMatchObject({ received: 1000, lost: 0, firstSeq: 0, lastSeq: 999, maxGapMs: 1, gapCount: 0, durationMs: 999 });
    expect(s.gaps).toEqual([]);
  });

  it('a failover: silence with loss, reported with where it began', () => {
    // 0..99 at 1 ms, then 100..149 lost, 150.. resume 51 ms after 99
    const arrivals = [...steady(0, 99, 0), ...steady(150, 199, 150)];
    const s = analyzeArrivals(arrivals);
    expect(s.received).toBe(150);
    expect(s.lost).toBe(50);
    expect(s.maxGapMs).toBe(51);
    expect(s.maxGap).toEqual({ startMs: 99, gapMs: 51, afterSeq: 99, nextSeq: 150, skipped: 50 });
    expect(s.gapCount).toBe(1);
    expect(s.gaps).toEqual([s.maxGap]);
  });

  it('a delay without loss is a gap with nothing skipped', () => {
    const s = analyzeArrivals([...steady(0, 9, 0), ...steady(10, 19, 40)]);
    expect(s.lost).toBe(0);
    expect(s.gaps).toEqual([{ startMs: 9, gapMs: 31, afterSeq: 9, nextSeq: 10, skipped: 0 }]);
  });

  it('a single drop without a gap is loss only', () => {
    const arrivals = steady(0, 20, 0).filter(([seq]) => seq !== 10);
    const s = analyzeArrivals(arrivals);
    expect(s.lost).toBe(1);
    expect(s.gapCount).toBe(0);
    expect(s.maxGapMs).toBe(2);
  });

  it('the threshold is exclusive and configurable', () => {
    const arrivals: Array<[number, number]> = [
      [0, 0],
      [1, 5],
      [2, 11],
    ];
    expect(analyzeArrivals(arrivals).gaps.map((g) => g.gapMs)).toEqual([6]);
    expect(analyzeArrivals(arrivals, 4).gaps.map((g) => g.gapMs)).toEqual([5, 6]);
  });

  it('duplicates and reordering: counted, not lost, not double-counted', () => {
    const s = analyzeArrivals([
      [0, 0],
      [2, 1],
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
    expect(s).toMatchObject({ received: 4, duplicates: 1, reordered: 1, lost: 0, firstSeq: 0, lastSeq: 3 });
  });

  it('loss at the start is measured from the first sequence seen', () => {
    const s = analyzeArrivals(steady(5, 9, 0));
    expect(s).toMatchObject({ firstSeq: 5, lost: 0 });
  });

  it('keeps the largest gaps, in time order, when there are too many', () => {
    const t = new GapTracker();
    let now = 0;
    const n = MAX_LISTED_GAPS * 3;
    for (let seq = 0; seq <= n; seq++) {
      t.record(seq, now);
      now += 6 + (seq % 7); // every interarrival is a gap of 6-12 ms
    }
    const s = t.summary();
    expect(s.gapCount).toBe(n);
    expect(s.gaps.length).toBe(MAX_LISTED_GAPS);
    expect(Math.min(...s.gaps.map((g) => g.gapMs))).toBe(10); // 6..12 evenly: the top 1000 of 3000 are the 12s, the 11s and some 10s
    for (let i = 1; i < s.gaps.length; i++) expect(s.gaps[i].startMs).toBeGreaterThan(s.gaps[i - 1].startMs);
    expect(s.maxGapMs).toBe(12);
  });
});

describe('probe datagram', () => {
  it('round-trips', () => {
    for (const [runId, seq] of [
      [0, 0],
      [1, 1],
      [0xffffffff, 0xffffffff],
      [0x12345678, 4242],
    ]) {
      const buf = encodeProbe(runId, seq);
      expect(buf.length).toBe(PROBE_LEN);
      expect(decodeProbe(buf)).toEqual({ runId, seq });
    }
  });

  it('rejects foreign datagrams', () => {
    expect(decodeProbe(Buffer.alloc(0))).toBeNull();
    expect(decodeProbe(Buffer.alloc(PROBE_LEN))).toBeNull();
    expect(decodeProbe(encodeProbe(1, 2).subarray(0, PROBE_LEN - 1))).toBeNull();
  });
});

describe('running progress', () => {
  it('nothing yet', () => {
    expect(new GapTracker().progress(50)).toEqual({ received: 0, lost: 0, lastSeq: null, sinceLastMs: null, maxGapMs: 0 });
  });

  it('counts loss between first and highest, and the silence in progress', () => {
    const t = new GapTracker();
    for (const [seq, at] of [...steady(0, 9, 100), ...steady(20, 24, 130)]) t.record(seq, at);
    expect(t.progress(200)).toEqual({ received: 15, lost: 10, lastSeq: 24, sinceLastMs: 66, maxGapMs: 21 });
    // a clock read before the last arrival (another thread's timer) is no negative silence
    expect(t.progress(100).sinceLastMs).toBe(0);
  });
});

describe('arrival histogram', () => {
  it('is null before the first arrival', () => {
    expect(new ArrivalBins().summary()).toBeNull();
  });

  it('bins from the first arrival, anchored on its wall clock, trailing empties left off', () => {
    const b = new ArrivalBins({ binMs: 1 });
    // monotonic 500.2 is wall clock 1_700_000_000_000.5
    for (const at of [500.2, 500.9, 501.3, 504.0, 504.1, 504.99]) b.record(at, 1_700_000_000_000.5 + (at - 500.2));
    expect(b.summary()).toEqual({ binMs: 1, startEpochMs: 1_700_000_000_000.5, counts: [2, 1, 0, 2, 1], beyond: 0 });
  });

  it('wider bins', () => {
    const b = new ArrivalBins({ binMs: 10 });
    for (let t = 0; t < 35; t++) b.record(t, 1000 + t);
    expect(b.summary()?.counts).toEqual([10, 10, 10, 5]);
  });

  it('grows past its first allocation and counts what falls beyond the cap', () => {
    const b = new ArrivalBins({ binMs: 1, maxBins: 40_000 });
    b.record(0, 0);
    b.record(30_000.5, 30_000.5);
    b.record(39_999.9, 39_999.9);
    b.record(40_000, 40_000);
    b.record(-1, -1); // a clock that went backwards: counted, not binned
    const s = b.summary()!;
    expect(s.counts).toHaveLength(40_000);
    expect(s.counts[0]).toBe(1);
    expect(s.counts[30_000]).toBe(1);
    expect(s.counts[39_999]).toBe(1);
    expect(s.counts.reduce((a, c) => a + c, 0)).toBe(3);
    expect(s.beyond).toBe(2);
  });

  it('is bounded whatever is asked for', () => {
    const b = new ArrivalBins({ maxBins: 10 * MAX_ARRIVAL_BINS });
    b.record(0, 0);
    b.record(MAX_ARRIVAL_BINS + 5, 0);
    expect(b.summary()!.counts).toHaveLength(1);
    expect(b.summary()!.beyond).toBe(1);
  });

  it('saturates a bin rather than wrapping', () => {
    const b = new ArrivalBins();
    for (let i = 0; i < 70_000; i++) b.record(0.5, 0);
    expect(b.summary()!.counts).toEqual([0xffff]);
  });

  it('refuses a bin width that is not a positive number', () => {
    expect(() => new ArrivalBins({ binMs: 0 })).toThrow(/binMs/);
    expect(() => new ArrivalBins({ binMs: Number.NaN })).toThrow(/binMs/);
  });
});
