// Rate limit of the ICMP errors the box originates (RFC 1812 4.3.2.8: a router must be able to
// limit them, and a token bucket is the method it suggests). Two buckets must both hold a token:
// one per destination of the error (the offending packet's source), so one host's flood of
// TTL=1 packets or oversize DF packets does not make the box a traffic amplifier against it, and
// one for the whole box, so many sources (spoofed ones too) cannot either.
//
// Defaults, after Linux (net.ipv4.icmp_ratelimit 1000 ms per peer with a burst of 6;
// icmp_msgs_per_sec 1000, icmp_msgs_burst 50), loosened per source because the box is a hop
// that traceroute probes in parallel (traceroute sends 16 probes at once by default; a burst of 6
// would show stars): 10 per second per source, burst 20; 1000 per second for the box, burst 100.
//
// The per-source table is bounded: set-associative (4 ways), a new source takes the way of its
// set that was touched longest ago. An evicted source starts again with a full bucket, which is
// why the global bucket exists. Pure: time is an argument, no allocation after construction.

export interface IcmpRateOptions {
  /** Tokens per second per source (the errors one host may get each second). */
  perSourcePerS: number;
  /** Bucket size per source (the errors one host may get at once). */
  perSourceBurst: number;
  /** Tokens per second for the whole box. */
  globalPerS: number;
  /** Bucket size for the whole box. */
  globalBurst: number;
  /** Sources remembered at once (rounded up to a power of two, at least 4). */
  sources: number;
  /** Hash seed: a random one per process keeps the sets from being chosen by an attacker. */
  seed: number;
}

export const ICMP_RATE_DEFAULTS: Readonly<IcmpRateOptions> = {
  perSourcePerS: 10,
  perSourceBurst: 20,
  globalPerS: 1000,
  globalBurst: 100,
  sources: 4096,
  seed: 0x2545f491,
};

const WAYS = 4;

export class IcmpRateLimiter {
  private readonly opts: IcmpRateOptions;
  /** Sets - 1 (sets are a power of two). */
  private readonly setMask: number;
  private readonly keys: Uint32Array;
  private readonly used: Uint8Array;
  private readonly tokens: Float64Array;
  /** When each entry was last refilled (ms, never back in time): also its age for eviction. */
  private readonly lastMs: Float64Array;
  private globalTokens: number;
  private globalLastMs = -Infinity;
  /** Errors refused, by either bucket. */
  suppressed = 0;

  constructor(opts: Partial<IcmpRateOptions> = {}) {
    this.opts = { ...ICMP_RATE_DEFAULTS, ...opts };
    let n = WAYS;
    while (n < this.opts.sources) n *= 2;
    this.setMask = n / WAYS - 1;
    this.keys = new Uint32Array(n);
    this.used = new Uint8Array(n);
    this.tokens = new Float64Array(n);
    this.lastMs = new Float64Array(n);
    this.globalTokens = this.opts.globalBurst;
  }

  /** Sources the table can hold. */
  get capacity(): number {
    return this.keys.length;
  }

  /**
   * May an error go to `dst` now? True takes a token from both buckets; false takes none and
   * counts `suppressed`.
   */
  allow(dst: number, nowMs: number): boolean {
    const o = this.opts;
    // a clock that steps back neither adds tokens nor moves a bucket's time back (which would add them later)
    if (nowMs > this.globalLastMs) {
      this.globalTokens = refill(this.globalTokens, nowMs - this.globalLastMs, o.globalPerS, o.globalBurst);
      this.globalLastMs = nowMs;
    }
    const i = this.entry(dst >>> 0, nowMs);
    if (nowMs > this.lastMs[i]) {
      this.tokens[i] = refill(this.tokens[i], nowMs - this.lastMs[i], o.perSourcePerS, o.perSourceBurst);
      this.lastMs[i] = nowMs;
    }
    if (this.tokens[i] < 1 || this.globalTokens < 1) {
      this.suppressed++;
      return false;
    }
    this.tokens[i] -= 1;
    this.globalTokens -= 1;
    return true;
  }

  /** The index of dst's entry, taking the set's oldest (or a free) way with a full bucket when it has none. */
  private entry(dst: number, nowMs: number): number {
    const first = this.setOf(dst);
    let victim = first;
    for (let i = first; i < first + WAYS; i++) {
      if (this.used[i] === 1 && this.keys[i] === dst) return i;
      if (this.used[i] === 0) {
        if (this.used[victim] === 1) victim = i;
      } else if (this.used[victim] === 1 && this.lastMs[i] < this.lastMs[victim]) {
        victim = i;
      }
    }
    this.used[victim] = 1;
    this.keys[victim] = dst;
    this.tokens[victim] = this.opts.perSourceBurst;
    this.lastMs[victim] = nowMs;
    return victim;
  }

  /** Is `dst` in the table now? (For tests: eviction.) */
  holds(dst: number): boolean {
    const first = this.setOf(dst >>> 0);
    for (let i = first; i < first + WAYS; i++) if (this.used[i] === 1 && this.keys[i] === dst >>> 0) return true;
    return false;
  }

  /** The first way of dst's set (a multiplicative hash, its high bits folded down). */
  private setOf(dst: number): number {
    let h = Math.imul(dst ^ this.opts.seed, 0x9e3779b1);
    h ^= h >>> 16;
    return (h & this.setMask) * WAYS;
  }
}

/** A bucket of `tokens` after `elapsedMs` (> 0) at `perS`, capped at `burst`. */
function refill(tokens: number, elapsedMs: number, perS: number, burst: number): number {
  return Math.min(burst, tokens + (elapsedMs * perS) / 1000);
}
