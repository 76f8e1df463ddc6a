// The bookkeeping both reassemblers share (reassembly.ts for IPv4, reassembly6.ts for IPv6): the
// slots of the datagrams in flight, the byte ranges each has received, the limits and the
// eviction policy. Keys (addresses, identification) and buffers are each family's own.
//
// Strict on overlaps (RFC 5722): a fragment that overlaps one received, unless it is an exact
// duplicate (same offset, length and bytes), drops the whole datagram; so do a second last
// fragment with another end and a fragment past the end. At a limit the oldest datagram goes to
// make room (the source's own oldest at its share), as Linux's defrag and pf do: refusing the new
// one instead would let a flood of never-completed fragments block every fragmented datagram for
// the whole timeout, while a real datagram completes in milliseconds.

export interface ReassemblyLimits {
  /** Datagrams in flight (slots). */
  maxDatagrams: number;
  /** Payload bytes held across all datagrams in flight. */
  maxBytes: number;
  /** Slots one source may hold. */
  perSource: number;
  /** Fragments of one datagram. */
  maxFragments: number;
  /** A datagram not complete this long after its first fragment arrived is dropped. */
  timeoutMs: number;
}

export const RA_HELD = 0; //      kept, the datagram is not complete yet
export const RA_DUPLICATE = 1; // an exact copy of a fragment held: ignored
export const RA_DONE = 2; //      the datagram is complete: the reassembler's out / outLen
export const RA_DROP = 3; //      dropped (and, when it had some, the datagram with it): the reassembler's reason

/** Why a fragment (and its datagram) was dropped: drop reasons of the dataplane counters. */
export type FragmentDrop =
  | 'fragment' //           malformed: a non-last fragment empty or not a multiple of 8 bytes
  | 'frag-too-big' //       ends past 65535 bytes
  | 'frag-tiny' //          a first fragment shorter than the headers the firewall reads
  | 'frag-overlap' //       overlaps a fragment received, and is not its exact duplicate
  | 'frag-inconsistent' //  a second last fragment with another end, or a fragment past the end
  | 'frag-too-many' //      more fragments than maxFragments
  | 'frag-limit'; //        the fragment's own datagram would take the bytes held past maxBytes

/**
 * A datagram held, given up to make room for another (an event: the frame that caused it has its
 * own outcome): the oldest of all (maxDatagrams in flight, or maxBytes held), or the source's own
 * oldest (it held perSource).
 */
export type FragmentEviction = 'frag-evicted' | 'frag-source-evicted';

/** Whether slot `s` holds the bytes [off, off + n) of the fragment being pushed (an exact duplicate). */
export type SameBytes = (s: number, off: number, n: number) => boolean;

export class FragmentTable {
  readonly limits: ReassemblyLimits;
  /** RA_DROP: why. */
  reason: FragmentDrop = 'fragment';
  /** After a push: why a datagram held was dropped to make room for this fragment's (null: none was). */
  evicted: FragmentEviction | null = null;
  /** Payload bytes held now. */
  heldBytes = 0;
  /** Datagrams in flight now. */
  inFlight = 0;

  readonly used: Uint8Array;
  /** The key of the slot's source for the per-source share (IPv4: the address; IPv6: a hash). */
  readonly source: Uint32Array;
  readonly deadline: Float64Array;
  /** End of the payload, -1 until the last fragment arrived. */
  readonly end: Int32Array;
  /** Payload bytes received. */
  readonly got: Int32Array;
  /** Frame length of the first fragment (offset 0), 0 until it arrived. */
  readonly firstLen: Int32Array;
  /** Fragments received. */
  readonly count: Int32Array;
  /** Per slot, maxFragments pairs [start, end). */
  private readonly ranges: Int32Array;

  constructor(limits: ReassemblyLimits) {
    this.limits = limits;
    const n = limits.maxDatagrams;
    this.used = new Uint8Array(n);
    this.source = new Uint32Array(n);
    this.deadline = new Float64Array(n);
    this.end = new Int32Array(n);
    this.got = new Int32Array(n);
    this.firstLen = new Int32Array(n);
    this.count = new Int32Array(n);
    this.ranges = new Int32Array(n * limits.maxFragments * 2);
  }

  /**
   * After the family's own checks of the fragment [off, stop) for slot `s` (-1: no datagram
   * yet): RA_HELD (store it: record, after open when `s` is -1), RA_DUPLICATE (ignore it) or
   * RA_DROP (`reason`; the datagram in `s` dropped). Room for its bytes is made.
   */
  admit(s: number, off: number, stop: number, more: boolean, same: SameBytes): number {
    if (s >= 0) {
      const bad = this.conflict(s, off, stop, more, same);
      if (bad !== null) return this.fail(s, bad);
      if (this.dup) return RA_DUPLICATE;
      if (this.count[s] === this.limits.maxFragments) return this.fail(s, 'frag-too-many');
    }
    if (!this.makeRoom(s, stop - off)) return this.fail(s, 'frag-limit');
    return RA_HELD;
  }

  private dup = false;

  /** A reason to drop the datagram in slot `s` for the fragment [off, stop), or null; sets `dup` for an exact duplicate. */
  private conflict(s: number, off: number, stop: number, more: boolean, same: SameBytes): FragmentDrop | null {
    this.dup = false;
    const end = this.end[s];
    if (!more && end >= 0 && end !== stop) return 'frag-inconsistent';
    if (end >= 0 && stop > end) return 'frag-inconsistent';
    const r = this.ranges;
    const base = s * this.limits.maxFragments * 2;
    for (let i = 0; i < this.count[s]; i++) {
      const a = r[base + 2 * i];
      const b = r[base + 2 * i + 1];
      if (!more && end < 0 && b > stop) return 'frag-inconsistent'; // a last fragment before data already held
      if (off >= b || stop <= a) continue;
      if (a !== off || b !== stop || !same(s, off, stop - off)) return 'frag-overlap';
      this.dup = true;
    }
    return null;
  }

  /** Drops the fragment, and the datagram in slot `s` when there is one. */
  fail(s: number, reason: FragmentDrop): number {
    if (s >= 0) this.free(s);
    this.reason = reason;
    return RA_DROP;
  }

  /**
   * Bytes for `dlen` more within maxBytes: the oldest datagrams but `s` (the fragment's own) are
   * dropped until they fit. False when they cannot (its own datagram holds too much already).
   */
  private makeRoom(s: number, dlen: number): boolean {
    while (this.heldBytes + dlen > this.limits.maxBytes) {
      const old = this.oldest(-1, s, false);
      if (old < 0) return false;
      this.evict(old, 'frag-evicted');
    }
    return true;
  }

  /** A slot for a new datagram of `source`: a free one, after dropping the source's oldest at its share, or the oldest of all. */
  open(source: number, nowMs: number): number {
    if (this.held(source) >= this.limits.perSource) this.evict(this.oldest(source, -1, true), 'frag-source-evicted');
    let free = this.used.indexOf(0);
    if (free < 0) {
      free = this.oldest(-1, -1, false);
      this.evict(free, 'frag-evicted');
    }
    this.used[free] = 1;
    this.source[free] = source;
    this.deadline[free] = nowMs + this.limits.timeoutMs;
    this.end[free] = -1;
    this.got[free] = 0;
    this.firstLen[free] = 0;
    this.count[free] = 0;
    this.inFlight++;
    return free;
  }

  /** Datagrams `source` holds. */
  private held(source: number): number {
    let n = 0;
    for (let s = 0; s < this.used.length; s++) if (this.used[s] === 1 && this.source[s] === source) n++;
    return n;
  }

  /** The datagram held longest (the earliest deadline), of `source` only when `bySource`, never `except`; -1: none. */
  private oldest(source: number, except: number, bySource: boolean): number {
    let best = -1;
    for (let s = 0; s < this.used.length; s++) {
      if (this.used[s] === 0 || s === except || (bySource && this.source[s] !== source)) continue;
      if (best < 0 || this.deadline[s] < this.deadline[best]) best = s;
    }
    return best;
  }

  private evict(s: number, reason: FragmentEviction): void {
    this.free(s);
    this.evicted = reason;
  }

  /** The fragment [off, off + dlen) is stored in slot `s`; `last`: it has no more fragments after it. */
  record(s: number, off: number, dlen: number, last: boolean): void {
    const base = s * this.limits.maxFragments * 2 + 2 * this.count[s];
    this.ranges[base] = off;
    this.ranges[base + 1] = off + dlen;
    this.count[s]++;
    this.got[s] += dlen;
    this.heldBytes += dlen;
    if (last) this.end[s] = off + dlen;
  }

  /** Every byte of the datagram in slot `s` has arrived (the last fragment and the first among them). */
  complete(s: number): boolean {
    return this.end[s] >= 0 && this.got[s] === this.end[s] && this.firstLen[s] > 0;
  }

  /** The datagram in slot `s` is in flight and its time has run out. */
  due(s: number, nowMs: number): boolean {
    return this.used[s] === 1 && this.deadline[s] <= nowMs;
  }

  free(s: number): void {
    this.used[s] = 0;
    this.heldBytes -= this.got[s];
    this.inFlight--;
  }
}
