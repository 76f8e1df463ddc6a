// Pure analysis of probe arrivals: the receiver feeds (sequence, monotonic time) pairs as they
// arrive and asks for a summary at the end. No I/O, no clock: time is an input.
//
// A "gap" is the silence between two consecutive arrivals longer than a threshold (5 ms by
// default, five probe intervals at the lab's 1 ms rate): during a failover it is how long traffic
// stopped. Loss is counted from sequence numbers, so a gap that lost nothing (the packets were
// only delayed) and a loss without a gap (a single drop) are told apart.

/** Probes sent 1 ms apart: five missing intervals are a gap, one late packet is not. */
export const DEFAULT_GAP_THRESHOLD_MS = 5;
/** The summary lists at most this many gaps (the largest are kept); the rest are only counted. */
export const MAX_LISTED_GAPS = 1000;

export interface Gap {
  /** When the silence began, ms since the first arrival (monotonic). */
  startMs: number;
  /** Length of the silence, ms. */
  gapMs: number;
  /** Sequence number of the last probe before the silence and the first after it. */
  afterSeq: number;
  nextSeq: number;
  /** Sequence numbers skipped across the gap (nextSeq - afterSeq - 1, 0 when only delayed or reordered). */
  skipped: number;
}

export interface ProbeSummary {
  received: number;
  /** Arrivals of a sequence number already seen. */
  duplicates: number;
  /** Arrivals with a sequence number below the highest seen (late, not lost). */
  reordered: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Distinct sequence numbers missing between the first and the last seen. */
  lost: number;
  /** ms from the first to the last arrival. */
  durationMs: number;
  /** Longest silence between two arrivals, ms (0 with fewer than two arrivals). */
  maxGapMs: number;
  /** The longest gap, null with fewer than two arrivals. */
  maxGap: Gap | null;
  thresholdMs: number;
  /** Every silence longer than thresholdMs (the largest MAX_LISTED_GAPS of them, in time order). */
  gaps: Gap[];
  /** How many gaps exceeded the threshold in all (can exceed gaps.length). */
  gapCount: number;
}

/** What a running receiver reports while the probes flow. */
export interface ProbeProgress {
  received: number;
  /** Missing between the first and the highest sequence seen (a silence in progress is not in it yet). */
  lost: number;
  lastSeq: number | null;
  /** ms since the last arrival (the current silence), null before the first. */
  sinceLastMs: number | null;
  maxGapMs: number;
}

/** Accumulates arrivals; keeps the set of sequence numbers seen (60k entries for a minute at 1 kpps). */
export class GapTracker {
  private readonly thresholdMs: number;
  private firstMs: number | null = null;
  private lastMs = 0;
  private lastSeqArrived = 0;
  private highest = -1;
  private lowest = Number.POSITIVE_INFINITY;
  private received = 0;
  private duplicates = 0;
  private reordered = 0;
  private readonly seen = new Set<number>();
  private gaps: Gap[] = [];
  private gapCount = 0;
  private maxGap: Gap | null = null;
  private maxGapMs = 0;

  constructor(opts: { thresholdMs?: number } = {}) {
    this.thresholdMs = opts.thresholdMs ?? DEFAULT_GAP_THRESHOLD_MS;
  }

  /** One probe arrived: its sequence number and the monotonic arrival time in ms. */
  record(seq: number, nowMs: number): void {
    if (this.seen.has(seq)) {
      this.duplicates++;
      return;
    }
    this.seen.add(seq);
    this.received++;
    if (seq < this.highest) this.reordered++;
    if (this.firstMs === null) {
      this.firstMs = nowMs;
    } else {
      const gapMs = nowMs - this.lastMs;
      const gap: Gap = {
        startMs: this.lastMs - this.firstMs,
        gapMs,
        afterSeq: this.lastSeqArrived,
        nextSeq: seq,
        skipped: Math.max(0, seq - this.lastSeqArrived - 1),
      };
      if (gapMs > this.maxGapMs || this.maxGap === null) {
        this.maxGapMs = gapMs;
        this.maxGap = gap;
      }
      if (gapMs > this.thresholdMs) {
        this.gapCount++;
        this.gaps.push(gap);
        if (this.gaps.length > 2 * MAX_LISTED_GAPS) this.gaps = largest(this.gaps, MAX_LISTED_GAPS);
      }
    }
    this.lastMs = nowMs;
    this.lastSeqArrived = seq;
    if (seq > this.highest) this.highest = seq;
    if (seq < this.lowest) this.lowest = seq;
  }

  /** The running figures, cheap enough to ask for several times a second (no gap list). */
  progress(nowMs: number): ProbeProgress {
    const any = this.received > 0;
    return {
      received: this.received,
      lost: any ? this.highest - this.lowest + 1 - this.received : 0,
      lastSeq: any ? this.highest : null,
      sinceLastMs: this.firstMs === null ? null : Math.max(0, nowMs - this.lastMs),
      maxGapMs: this.maxGapMs,
    };
  }

  summary(): ProbeSummary {
    const any = this.received > 0;
    return {
      received: this.received,
      duplicates: this.duplicates,
      reordered: this.reordered,
      firstSeq: any ? this.lowest : null,
      lastSeq: any ? this.highest : null,
      lost: any ? this.highest - this.lowest + 1 - this.received : 0,
      durationMs: this.firstMs === null ? 0 : this.lastMs - this.firstMs,
      maxGapMs: this.maxGapMs,
      maxGap: this.maxGap,
      thresholdMs: this.thresholdMs,
      gaps: largest(this.gaps, MAX_LISTED_GAPS),
      gapCount: this.gapCount,
    };
  }
}

/** The n largest gaps, returned in time order. */
function largest(gaps: Gap[], n: number): Gap[] {
  if (gaps.length <= n) return gaps.slice();
  return gaps
    .slice()
    .sort((a, b) => b.gapMs - a.gapMs)
    .slice(0, n)
    .sort((a, b) => a.startMs - b.startMs);
}

/** Convenience for tests and offline analysis: a whole arrival list at once. */
export function analyzeArrivals(arrivals: ReadonlyArray<readonly [seq: number, atMs: number]>, thresholdMs?: number): ProbeSummary {
  const t = new GapTracker({ thresholdMs });
  for (const [seq, at] of arrivals) t.record(seq, at);
  return t.summary();
}

// --- the probe datagram -------------------------------------------------------------------------
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |                       magic "TDPR"                            |
//  |                       run id (sender's random u32)            |
//  |                       sequence number (u32, from 0)           |
//  |                       reserved (0)                            |
//  +---------------------------------------------------------------+

export const PROBE_MAGIC = 0x54445052; // "TDPR"
export const PROBE_LEN = 16;

export function encodeProbe(runId: number, seq: number, buf: Buffer = Buffer.alloc(PROBE_LEN)): Buffer {
  buf.writeUInt32BE(PROBE_MAGIC, 0);
  buf.writeUInt32BE(runId >>> 0, 4);
  buf.writeUInt32BE(seq >>> 0, 8);
  buf.writeUInt32BE(0, 12);
  return buf;
}

/** The probe in a datagram, or null when it is not one (wrong length or magic). */
export function decodeProbe(buf: Buffer): { runId: number; seq: number } | null {
  if (buf.length < PROBE_LEN || buf.readUInt32BE(0) !== PROBE_MAGIC) return null;
  return { runId: buf.readUInt32BE(4), seq: buf.readUInt32BE(8) };
}

// --- arrival histogram (for the failover picture) -----------------------------------------------

/** Bins kept at most: ten minutes of 1 ms bins (a Uint16Array of 1.2 MB; ~1.2 MB of JSON). */
export const MAX_ARRIVAL_BINS = 600_000;

export interface ArrivalHistogram {
  /** Width of one bin, ms. */
  binMs: number;
  /**
   * Start of bin 0 as epoch ms (the receiver's wall clock at its first arrival, extended on its
   * monotonic clock; so bins do not jump if the wall clock is stepped during the run).
   */
  startEpochMs: number;
  /** Probes received in each bin, from bin 0; trailing empty bins are left off. */
  counts: number[];
  /** Arrivals after the last bin that fits in MAX_ARRIVAL_BINS (counted, not binned). */
  beyond: number;
}

/**
 * Counts arrivals per fixed-width bin from the first arrival on. Time is an input: `record` takes
 * the monotonic ms of the arrival, and the epoch ms of the first one anchors the result.
 */
export class ArrivalBins {
  private readonly binMs: number;
  private readonly maxBins: number;
  private counts: Uint16Array;
  private used = 0;
  private firstMono: number | null = null;
  private firstEpochMs = 0;
  private beyond = 0;

  constructor(opts: { binMs?: number; maxBins?: number } = {}) {
    this.binMs = opts.binMs ?? 1;
    this.maxBins = Math.min(opts.maxBins ?? MAX_ARRIVAL_BINS, MAX_ARRIVAL_BINS);
    if (!(this.binMs > 0) || !Number.isFinite(this.binMs)) throw new Error(`binMs: got ${opts.binMs}, expected a positive number of ms`);
    if (!(this.maxBins >= 1)) throw new Error(`maxBins: got ${opts.maxBins}, expected at least 1`);
    this.counts = new Uint16Array(Math.min(this.maxBins, 16_384));
  }

  /** One arrival at monotonic `monoMs`; `epochMs` is read only for the first one. */
  record(monoMs: number, epochMs: number): void {
    if (this.firstMono === null) {
      this.firstMono = monoMs;
      this.firstEpochMs = epochMs;
    }
    const i = Math.floor((monoMs - this.firstMono) / this.binMs);
    if (i < 0 || i >= this.maxBins) {
      this.beyond++;
      return;
    }
    if (i >= this.counts.length) {
      const grown = new Uint16Array(Math.min(this.maxBins, Math.max(i + 1, this.counts.length * 2)));
      grown.set(this.counts);
      this.counts = grown;
    }
    // a bin of 65535 arrivals is a flood, not a probe stream: saturate rather than wrap
    if (this.counts[i] < 0xffff) this.counts[i]++;
    if (i + 1 > this.used) this.used = i + 1;
  }

  summary(): ArrivalHistogram | null {
    if (this.firstMono === null) return null;
    return { binMs: this.binMs, startEpochMs: this.firstEpochMs, counts: Array.from(this.counts.subarray(0, this.used)), beyond: this.beyond };
  }
}
