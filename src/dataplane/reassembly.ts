// IPv4 reassembly before policy (RFC 791 3.2, RFC 815), as pf's scrub and Linux's defrag do: the
// firewall decides on whole datagrams, so later fragments (no ports) cannot slip past a rule, nor
// a first fragment too short to hold them. Pure: no I/O, time as an argument.
//
// A datagram in flight is keyed by (src, dst, protocol, IP id) and held in a slot: a buffer of its
// own (an Ethernet and option-less IPv4 header, then the payload at its offset), allocated the
// first time the slot is used and reused after, and the byte ranges received. The limits bound
// memory whatever arrives: slots (datagrams in flight), payload bytes held across them, slots
// one source may hold (a flood from one host cannot take them all), fragments per datagram, and
// 65535 bytes per datagram. At a limit the oldest datagram goes to make room (the source's own
// oldest at its share), as Linux's defrag and pf do: refusing the new one instead would let a
// flood of never-completed fragments (from spoofed sources, past any per-source share) block every
// fragmented datagram for the 30 s timeout, while a real datagram completes in milliseconds and so
// outlives the turnover of the slots under all but the heaviest flood.
//
// Strict on overlaps (as RFC 5722 for IPv6): a fragment that overlaps one received, unless it is
// an exact duplicate (same offset, length and bytes), drops the whole datagram; so do a second
// last fragment with another end, a fragment past the end, and a first fragment too short to
// hold the L4 header the firewall reads (ports, ICMP type: RFC 1858's tiny fragments). Offsets
// are multiples of 8 and non-last fragments' lengths too, so one overlapping byte is enough.
import { checksum } from '../net/checksum.js';
import {
  ETH_HLEN,
  IP_CSUM,
  IP_DST,
  IP_FRAG,
  IP_DF,
  IP_HLEN,
  IP_ID,
  IP_MF,
  IP_OFFMASK,
  IP_PROTO,
  IP_SRC,
  IP_TOTLEN,
  L4_OFF,
  l4MinLen,
  readU16,
  readU32,
  writeU16,
} from './packet.js';

/** The largest IPv4 datagram (total length is 16 bits): its payload is this minus the header. */
export const MAX_DATAGRAM = 65535;
const MAX_PAYLOAD = MAX_DATAGRAM - IP_HLEN;

export interface ReassemblyLimits {
  /** Datagrams in flight (slots). */
  maxDatagrams: number;
  /** Payload bytes held across all datagrams in flight. */
  maxBytes: number;
  /** Slots one source address may hold. */
  perSource: number;
  /** Fragments of one datagram. */
  maxFragments: number;
  /** A datagram not complete this long after its first fragment arrived is dropped (RFC 1122 3.3.2: 60 s at most; Linux 30 s). */
  timeoutMs: number;
}

export const REASSEMBLY_DEFAULTS: ReassemblyLimits = { maxDatagrams: 64, maxBytes: 1 << 21, perSource: 16, maxFragments: 128, timeoutMs: 30_000 };

export const RA_HELD = 0; //      kept, the datagram is not complete yet
export const RA_DUPLICATE = 1; // an exact copy of a fragment held: ignored
export const RA_DONE = 2; //      the datagram is complete: Reassembler.out / outLen
export const RA_DROP = 3; //      dropped (and, when it had some, the datagram with it): Reassembler.reason

/** Why a fragment (and its datagram) was dropped: drop reasons of the dataplane counters. */
export type FragmentDrop =
  | 'fragment' //           malformed: a non-last fragment empty or not a multiple of 8 bytes
  | 'frag-too-big' //       ends past 65535 bytes
  | 'frag-tiny' //          a first fragment shorter than the L4 header
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

export class Reassembler {
  readonly limits: ReassemblyLimits;
  /** RA_DONE: the datagram (a frame: Ethernet header of its first fragment) until the next push. */
  out: Uint8Array = new Uint8Array(0);
  outLen = 0;
  /** RA_DONE: the interface its first fragment arrived on, and the HA3 flags it came with (-1: none). */
  outIngress = 0;
  outFlags = -1;
  /** RA_DROP: why. */
  reason: FragmentDrop = 'fragment';
  /** After push: why a datagram held was dropped to make room for this fragment's (null: none was). */
  evicted: FragmentEviction | null = null;
  /** Payload bytes held now. */
  heldBytes = 0;
  /** Datagrams in flight now. */
  inFlight = 0;

  private readonly used: Uint8Array;
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly protoId: Uint32Array; // protocol << 16 | IP id
  private readonly deadline: Float64Array;
  private readonly end: Int32Array; // -1 until the last fragment arrived
  private readonly got: Int32Array; // payload bytes received
  private readonly firstLen: Int32Array; // frame length of the first fragment, 0 until it arrived
  private readonly ingress: Int32Array;
  private readonly flags: Int32Array;
  private readonly count: Int32Array; // fragments received
  private readonly ranges: Int32Array; // per slot, maxFragments pairs [start, end)
  private readonly bufs: (Uint8Array | null)[];

  constructor(limits: Partial<ReassemblyLimits> = {}) {
    const l = { ...REASSEMBLY_DEFAULTS, ...limits };
    this.limits = l;
    const n = l.maxDatagrams;
    this.used = new Uint8Array(n);
    this.src = new Uint32Array(n);
    this.dst = new Uint32Array(n);
    this.protoId = new Uint32Array(n);
    this.deadline = new Float64Array(n);
    this.end = new Int32Array(n);
    this.got = new Int32Array(n);
    this.firstLen = new Int32Array(n);
    this.ingress = new Int32Array(n);
    this.flags = new Int32Array(n);
    this.count = new Int32Array(n);
    this.ranges = new Int32Array(n * l.maxFragments * 2);
    this.bufs = new Array<Uint8Array | null>(n).fill(null);
  }

  /**
   * One fragment (a frame whose IPv4 header is validated, option-less, with MF or an offset),
   * arrived on `ingress` (`flags`: HA3 flags when the peer carried it, else -1).
   */
  push(frame: Uint8Array, len: number, ingress: number, flags: number, nowMs: number): number {
    const word = readU16(frame, IP_FRAG);
    const off = (word & IP_OFFMASK) << 3;
    const more = (word & IP_MF) !== 0;
    const dlen = readU16(frame, IP_TOTLEN) - IP_HLEN;
    const stop = off + dlen;
    const src = readU32(frame, IP_SRC);
    const key = ((frame[IP_PROTO] << 16) | readU16(frame, IP_ID)) >>> 0;
    this.evicted = null;
    let s = this.find(src, readU32(frame, IP_DST), key);
    let bad: FragmentDrop | null = null;
    if (more && (dlen === 0 || (dlen & 7) !== 0)) bad = 'fragment';
    else if (stop > MAX_PAYLOAD) bad = 'frag-too-big';
    else if (off === 0 && dlen < l4MinLen(frame[IP_PROTO])) bad = 'frag-tiny';
    else if (s >= 0) bad = this.conflict(s, frame, off, stop, more);
    if (bad !== null) return this.fail(s, bad);
    if (s >= 0 && this.dup) return RA_DUPLICATE;
    if (s >= 0 && this.count[s] === this.limits.maxFragments) return this.fail(s, 'frag-too-many');
    if (!this.makeRoom(s, dlen)) return this.fail(s, 'frag-limit');
    if (s < 0) s = this.open(src, readU32(frame, IP_DST), key, nowMs);
    this.store(s, frame, off, dlen, ingress, flags);
    if (!more) this.end[s] = stop;
    return this.end[s] >= 0 && this.got[s] === this.end[s] && this.firstLen[s] > 0 ? this.finish(s) : RA_HELD;
  }

  private dup = false;

  /** A reason to drop the datagram in slot `s` for the fragment [off, stop), or null; sets `dup` for an exact duplicate. */
  private conflict(s: number, frame: Uint8Array, off: number, stop: number, more: boolean): FragmentDrop | null {
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
      if (a !== off || b !== stop || !this.sameBytes(s, frame, off, stop - off)) return 'frag-overlap';
      this.dup = true;
    }
    return null;
  }

  private sameBytes(s: number, frame: Uint8Array, off: number, n: number): boolean {
    const buf = this.bufs[s]!;
    for (let i = 0; i < n; i++) if (buf[L4_OFF + off + i] !== frame[L4_OFF + i]) return false;
    return true;
  }

  /** Drops the fragment, and the datagram in slot `s` when there is one. */
  private fail(s: number, reason: FragmentDrop): number {
    if (s >= 0) this.free(s);
    this.reason = reason;
    return RA_DROP;
  }

  private find(src: number, dst: number, key: number): number {
    for (let s = 0; s < this.used.length; s++) if (this.used[s] === 1 && this.src[s] === src && this.dst[s] === dst && this.protoId[s] === key) return s;
    return -1;
  }

  /**
   * Bytes for `dlen` more within maxBytes: the oldest datagrams but `s` (the fragment's own) are
   * dropped until they fit. False when they cannot (its own datagram holds too much already).
   */
  private makeRoom(s: number, dlen: number): boolean {
    while (this.heldBytes + dlen > this.limits.maxBytes) {
      const old = this.oldest(-1, s);
      if (old < 0) return false;
      this.evict(old, 'frag-evicted');
    }
    return true;
  }

  /** A slot for a new datagram: a free one, after dropping the source's oldest at its share, or the oldest of all. */
  private open(src: number, dst: number, key: number, nowMs: number): number {
    if (this.held(src) >= this.limits.perSource) this.evict(this.oldest(src, -1), 'frag-source-evicted');
    let free = this.used.indexOf(0);
    if (free < 0) {
      free = this.oldest(-1, -1);
      this.evict(free, 'frag-evicted');
    }
    this.used[free] = 1;
    this.src[free] = src;
    this.dst[free] = dst;
    this.protoId[free] = key;
    this.deadline[free] = nowMs + this.limits.timeoutMs;
    this.end[free] = -1;
    this.got[free] = 0;
    this.firstLen[free] = 0;
    this.count[free] = 0;
    this.bufs[free] ??= new Uint8Array(ETH_HLEN + MAX_DATAGRAM);
    this.inFlight++;
    return free;
  }

  /** Datagrams `src` holds. */
  private held(src: number): number {
    let n = 0;
    for (let s = 0; s < this.used.length; s++) if (this.used[s] === 1 && this.src[s] === src) n++;
    return n;
  }

  /** The datagram held longest (the earliest deadline), of `src` only unless it is -1, never `except`; -1: none. */
  private oldest(src: number, except: number): number {
    let best = -1;
    for (let s = 0; s < this.used.length; s++) {
      if (this.used[s] === 0 || s === except || (src !== -1 && this.src[s] !== src)) continue;
      if (best < 0 || this.deadline[s] < this.deadline[best]) best = s;
    }
    return best;
  }

  private evict(s: number, reason: FragmentEviction): void {
    this.free(s);
    this.evicted = reason;
  }

  private store(s: number, frame: Uint8Array, off: number, dlen: number, ingress: number, flags: number): void {
    const buf = this.bufs[s]!;
    buf.set(frame.subarray(L4_OFF, L4_OFF + dlen), L4_OFF + off);
    if (off === 0) {
      // the first fragment's headers are the datagram's (and the quote of a timeout's ICMP error)
      buf.set(frame.subarray(0, L4_OFF), 0);
      this.firstLen[s] = L4_OFF + dlen;
      this.ingress[s] = ingress;
      this.flags[s] = flags;
    }
    const base = s * this.limits.maxFragments * 2 + 2 * this.count[s];
    this.ranges[base] = off;
    this.ranges[base + 1] = off + dlen;
    this.count[s]++;
    this.got[s] += dlen;
    this.heldBytes += dlen;
  }

  /** The datagram in slot `s` is whole: its header made one packet's, the slot freed (its buffer stays readable until the next push). */
  private finish(s: number): number {
    const buf = this.bufs[s]!;
    const total = IP_HLEN + this.end[s];
    writeU16(buf, IP_TOTLEN, total);
    writeU16(buf, IP_FRAG, readU16(buf, IP_FRAG) & IP_DF);
    writeU16(buf, IP_CSUM, 0);
    writeU16(buf, IP_CSUM, checksum(buf, ETH_HLEN, IP_HLEN));
    this.out = buf;
    this.outLen = ETH_HLEN + total;
    this.outIngress = this.ingress[s];
    this.outFlags = this.flags[s];
    this.free(s);
    return RA_DONE;
  }

  private free(s: number): void {
    this.used[s] = 0;
    this.heldBytes -= this.got[s];
    this.inFlight--;
  }

  /**
   * Drops the datagrams whose time ran out; `onTimeout` gets each one whose first fragment had
   * arrived (that fragment as a frame, and its interface: RFC 792's time exceeded, code 1, quotes
   * it) and, with `first` false, the others. Returns how many timed out.
   */
  expire(nowMs: number, onTimeout: (frame: Uint8Array, len: number, ingress: number, flags: number, first: boolean) => void): number {
    let n = 0;
    for (let s = 0; s < this.used.length; s++) {
      if (this.used[s] === 0 || this.deadline[s] > nowMs) continue;
      this.free(s);
      n++;
      onTimeout(this.bufs[s]!, this.firstLen[s], this.ingress[s], this.flags[s], this.firstLen[s] > 0);
    }
    return n;
  }
}
