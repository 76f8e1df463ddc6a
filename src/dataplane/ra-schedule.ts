// When one interface sends its next multicast router advertisement (RFC 4861 6.2.4, 6.2.6). Pure:
// time is an argument and the random source is injected, so a test can replay a sequence; the
// dataplane polls due() and builds the RA (nd.ts buildRa) when it says so.
//
// Only the active sends RAs (issue 16): start() at takeover, stop() when passive. start() begins
// the initial fast sequence again, as when an interface becomes an advertising interface: a new
// active wants hosts to hear the pair's router quickly. The RA comes from the floating link-local
// address and the virtual MAC, so hosts see the same router whichever node sends it.

/** RFC 4861 10, router constants. */
export const MAX_INITIAL_RTR_ADVERT_INTERVAL_MS = 16_000;
export const MAX_INITIAL_RTR_ADVERTISEMENTS = 3;
export const MIN_DELAY_BETWEEN_RAS_MS = 3_000;
export const MAX_RA_DELAY_TIME_MS = 500;

/** MinRtrAdvInterval and MaxRtrAdvInterval (RFC 4861 6.2.1), in milliseconds. */
export interface RaIntervals {
  minIntervalMs: number;
  maxIntervalMs: number;
}

/** RFC 4861 6.2.1 defaults: MaxRtrAdvInterval 600 s, MinRtrAdvInterval 0.33 of it. */
export const DEFAULT_RA_INTERVALS: RaIntervals = { minIntervalMs: 198_000, maxIntervalMs: 600_000 };

/** Throws a RangeError unless 4 s <= max <= 1800 s and 3 s <= min <= 0.75 max (RFC 4861 6.2.1). */
export function checkRaIntervals(i: RaIntervals): void {
  if (!(i.maxIntervalMs >= 4_000 && i.maxIntervalMs <= 1_800_000)) throw new RangeError(`RA max interval ${i.maxIntervalMs} ms: must be 4-1800 s`);
  if (!(i.minIntervalMs >= 3_000 && i.minIntervalMs <= 0.75 * i.maxIntervalMs)) {
    throw new RangeError(`RA min interval ${i.minIntervalMs} ms: must be 3 s to 0.75 x the max interval`);
  }
}

export class RaSchedule {
  private intervals: RaIntervals;
  private readonly random: () => number;
  private nextMs = Infinity;
  private lastSentMs = -Infinity;
  private initialLeft = 0;
  /** Multicast RAs due() said to send since construction (for status). */
  sent = 0;

  /** `random`: uniform in [0, 1), injected for tests (Math.random by default). */
  constructor(intervals: RaIntervals = DEFAULT_RA_INTERVALS, random: () => number = Math.random) {
    checkRaIntervals(intervals);
    this.intervals = intervals;
    this.random = random;
  }

  /** Becomes the advertising box (takeover, or RAs enabled): the first RA at once, then the initial fast sequence. */
  start(nowMs: number): void {
    this.initialLeft = MAX_INITIAL_RTR_ADVERTISEMENTS;
    this.nextMs = Math.max(nowMs, this.lastSentMs + MIN_DELAY_BETWEEN_RAS_MS);
  }

  /** No more RAs (passive, or RAs disabled). The last send time is kept: the rate limit holds across a flap. */
  stop(): void {
    this.nextMs = Infinity;
    this.initialLeft = 0;
  }

  get running(): boolean {
    return this.nextMs !== Infinity;
  }

  /** When the next RA is due (Infinity when stopped). */
  get nextDueMs(): number {
    return this.nextMs;
  }

  /**
   * True when a multicast RA is to be sent now; the next one is then scheduled a random interval
   * later, uniformly between min and max (6.2.4), at most 16 s for the first three
   * (MAX_INITIAL_RTR_ADVERT_INTERVAL), and never under MIN_DELAY_BETWEEN_RAS after this one.
   */
  due(nowMs: number): boolean {
    if (nowMs < this.nextMs) return false;
    this.sent++;
    this.lastSentMs = nowMs;
    const { minIntervalMs, maxIntervalMs } = this.intervals;
    let interval = minIntervalMs + this.random() * (maxIntervalMs - minIntervalMs);
    if (this.initialLeft > 0) {
      this.initialLeft--;
      interval = Math.min(interval, MAX_INITIAL_RTR_ADVERT_INTERVAL_MS);
    }
    this.nextMs = nowMs + Math.max(interval, MIN_DELAY_BETWEEN_RAS_MS);
    return true;
  }

  /**
   * A router solicitation arrived (6.2.6): the answer is the next multicast RA, after a random
   * delay of up to MAX_RA_DELAY_TIME, and not sooner than MIN_DELAY_BETWEEN_RAS after the last
   * multicast RA; an RA already due sooner is kept. Ignored while stopped (the passive is silent).
   */
  solicited(nowMs: number): void {
    if (!this.running) return;
    const delay = this.random() * MAX_RA_DELAY_TIME_MS;
    const earliest = this.lastSentMs + MIN_DELAY_BETWEEN_RAS_MS;
    const at = nowMs < earliest ? earliest + delay : nowMs + delay;
    if (at < this.nextMs) this.nextMs = at;
  }

  /** New intervals (a config commit): an RA scheduled past the new max comes sooner, within it. */
  reconfigure(intervals: RaIntervals, nowMs: number): void {
    checkRaIntervals(intervals);
    this.intervals = intervals;
    if (this.running && this.nextMs > nowMs + intervals.maxIntervalMs) {
      this.nextMs = nowMs + intervals.minIntervalMs + this.random() * (intervals.maxIntervalMs - intervals.minIntervalMs);
    }
  }
}
