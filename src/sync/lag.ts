// Sync lag in milliseconds (a record's change on the active's dataplane -> the peer's ack of it),
// kept in a small fixed-bucket histogram for the status API's p50/p99/max. Pure: no clock; the
// windowed variant takes `now`. Prometheus gets its own histogram (tandem_sync_lag_seconds).

/**
 * Upper bounds of the buckets (ms). From 0.1 ms (a batch flushed and acked on one switch) through
 * 2 ms (the default flush interval) to 30 s (a stalled link; beyond that the backlog bound and a
 * resync take over). Values above the last bound land in an overflow bucket.
 */
export const LAG_BUCKETS_MS: readonly number[] = [0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 50, 75, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

export interface LagSummary {
  p50: number;
  p99: number;
  max: number;
}

export class LagHistogram {
  /** counts[i] for values <= LAG_BUCKETS_MS[i] (and > the previous bound); the last is overflow. */
  private readonly counts = new Float64Array(LAG_BUCKETS_MS.length + 1);
  private total = 0;
  private maxMs = 0;

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxMs;
  }

  /** Records `weight` observations of `ms` (negative or non-finite values are ignored). */
  observe(ms: number, weight = 1): void {
    if (!Number.isFinite(ms) || ms < 0 || !(weight > 0)) return;
    this.counts[bucketOf(ms)] += weight;
    this.total += weight;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** Adds another histogram's observations to this one. */
  merge(other: LagHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
    if (other.maxMs > this.maxMs) this.maxMs = other.maxMs;
  }

  /**
   * The q-quantile (0..1), interpolated linearly inside its bucket and never above the largest
   * value seen; 0 when empty.
   */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.min(1, Math.max(0, q)) * this.total;
    let cum = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i];
      if (c === 0) continue;
      if (cum + c >= rank) {
        const lower = i === 0 ? 0 : LAG_BUCKETS_MS[i - 1];
        const upper = i < LAG_BUCKETS_MS.length ? LAG_BUCKETS_MS[i] : this.maxMs;
        const v = lower + ((upper - lower) * (rank - cum)) / c;
        return Math.min(v, this.maxMs);
      }
      cum += c;
    }
    return this.maxMs;
  }

  summary(): LagSummary {
    return { p50: this.quantile(0.5), p99: this.quantile(0.99), max: this.maxMs };
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxMs = 0;
  }
}

function bucketOf(ms: number): number {
  // 21 bounds: a linear scan is as fast as a binary search and obviously right.
  for (let i = 0; i < LAG_BUCKETS_MS.length; i++) if (ms <= LAG_BUCKETS_MS[i]) return i;
  return LAG_BUCKETS_MS.length;
}

/**
 * The lag of the recent past: two histograms, the current one and the previous one, rotated every
 * windowMs; a summary covers between one and two windows, so an old spike ages out instead of
 * owning the p99 forever.
 */
export class LagWindow {
  private current = new LagHistogram();
  private previous = new LagHistogram();
  private windowStart: number | null = null;

  constructor(readonly windowMs = 60_000) {
    if (!(windowMs > 0)) throw new RangeError(`LagWindow: windowMs must be > 0 (got ${windowMs})`);
  }

  observe(ms: number, now: number, weight = 1): void {
    this.rotate(now);
    this.current.observe(ms, weight);
  }

  summary(now: number): LagSummary {
    this.rotate(now);
    const h = new LagHistogram();
    h.merge(this.previous);
    h.merge(this.current);
    return h.summary();
  }

  private rotate(now: number): void {
    if (this.windowStart === null) {
      this.windowStart = now;
      return;
    }
    const elapsed = now - this.windowStart;
    if (elapsed < this.windowMs) return;
    if (elapsed >= 2 * this.windowMs) {
      // Quiet for two windows or more: nothing recent to report.
      this.previous.reset();
      this.current.reset();
      this.windowStart = now;
      return;
    }
    const old = this.previous;
    old.reset();
    this.previous = this.current;
    this.current = old;
    this.windowStart += this.windowMs;
  }
}
