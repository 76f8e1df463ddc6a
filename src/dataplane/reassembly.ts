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
// The slots, ranges, limits and evictions are frag-table.ts's, shared with IPv6 (reassembly6.ts).
import { checksum } from '../net/checksum.js';
import { FragmentTable, RA_DONE, RA_HELD, type FragmentDrop, type FragmentEviction, type ReassemblyLimits } from './frag-table.js';
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

export { RA_DONE, RA_DROP, RA_DUPLICATE, RA_HELD, type FragmentDrop, type FragmentEviction, type ReassemblyLimits } from './frag-table.js';

/** RFC 1122 3.3.2: 60 s at most; Linux 30 s. */
export const REASSEMBLY_DEFAULTS: ReassemblyLimits = { maxDatagrams: 64, maxBytes: 1 << 21, perSource: 16, maxFragments: 128, timeoutMs: 30_000 };

export class Reassembler {
  readonly limits: ReassemblyLimits;
  /** RA_DONE: the datagram (a frame: Ethernet header of its first fragment) until the next push. */
  out: Uint8Array = new Uint8Array(0);
  outLen = 0;
  /** RA_DONE: the interface its first fragment arrived on, and the HA3 flags it came with (-1: none). */
  outIngress = 0;
  outFlags = -1;

  private readonly t: FragmentTable;
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly protoId: Uint32Array; // protocol << 16 | IP id
  private readonly ingress: Int32Array;
  private readonly flags: Int32Array;
  private readonly bufs: (Uint8Array | null)[];
  /** The fragment being pushed, for sameBytes. */
  private frame: Uint8Array = new Uint8Array(0);
  private readonly sameBytes = (s: number, off: number, n: number): boolean => {
    const buf = this.bufs[s]!;
    const frame = this.frame;
    for (let i = 0; i < n; i++) if (buf[L4_OFF + off + i] !== frame[L4_OFF + i]) return false;
    return true;
  };

  constructor(limits: Partial<ReassemblyLimits> = {}) {
    const l = { ...REASSEMBLY_DEFAULTS, ...limits };
    this.limits = l;
    this.t = new FragmentTable(l);
    const n = l.maxDatagrams;
    this.src = new Uint32Array(n);
    this.dst = new Uint32Array(n);
    this.protoId = new Uint32Array(n);
    this.ingress = new Int32Array(n);
    this.flags = new Int32Array(n);
    this.bufs = new Array<Uint8Array | null>(n).fill(null);
  }

  /** RA_DROP: why. */
  get reason(): FragmentDrop {
    return this.t.reason;
  }
  /** After push: why a datagram held was dropped to make room for this fragment's (null: none was). */
  get evicted(): FragmentEviction | null {
    return this.t.evicted;
  }
  /** Payload bytes held now. */
  get heldBytes(): number {
    return this.t.heldBytes;
  }
  /** Datagrams in flight now. */
  get inFlight(): number {
    return this.t.inFlight;
  }

  /**
   * One fragment (a frame whose IPv4 header is validated, option-less, with MF or an offset),
   * arrived on `ingress` (`flags`: HA3 flags when the peer carried it, else -1).
   */
  push(frame: Uint8Array, len: number, ingress: number, flags: number, nowMs: number): number {
    const t = this.t;
    const word = readU16(frame, IP_FRAG);
    const off = (word & IP_OFFMASK) << 3;
    const more = (word & IP_MF) !== 0;
    const dlen = readU16(frame, IP_TOTLEN) - IP_HLEN;
    const stop = off + dlen;
    const src = readU32(frame, IP_SRC);
    const dst = readU32(frame, IP_DST);
    const key = ((frame[IP_PROTO] << 16) | readU16(frame, IP_ID)) >>> 0;
    t.evicted = null;
    let s = this.find(src, dst, key);
    if (more && (dlen === 0 || (dlen & 7) !== 0)) return t.fail(s, 'fragment');
    if (stop > MAX_PAYLOAD) return t.fail(s, 'frag-too-big');
    if (off === 0 && dlen < l4MinLen(frame[IP_PROTO])) return t.fail(s, 'frag-tiny');
    this.frame = frame;
    const r = t.admit(s, off, stop, more, this.sameBytes);
    if (r !== RA_HELD) return r;
    if (s < 0) {
      s = t.open(src, nowMs);
      this.src[s] = src;
      this.dst[s] = dst;
      this.protoId[s] = key;
      this.bufs[s] ??= new Uint8Array(ETH_HLEN + MAX_DATAGRAM);
    }
    this.store(s, frame, off, dlen, ingress, flags);
    t.record(s, off, dlen, !more);
    return t.complete(s) ? this.finish(s) : RA_HELD;
  }

  private find(src: number, dst: number, key: number): number {
    const used = this.t.used;
    for (let s = 0; s < used.length; s++) if (used[s] === 1 && this.src[s] === src && this.dst[s] === dst && this.protoId[s] === key) return s;
    return -1;
  }

  private store(s: number, frame: Uint8Array, off: number, dlen: number, ingress: number, flags: number): void {
    const buf = this.bufs[s]!;
    buf.set(frame.subarray(L4_OFF, L4_OFF + dlen), L4_OFF + off);
    if (off === 0) {
      // the first fragment's headers are the datagram's (and the quote of a timeout's ICMP error)
      buf.set(frame.subarray(0, L4_OFF), 0);
      this.t.firstLen[s] = L4_OFF + dlen;
      this.ingress[s] = ingress;
      this.flags[s] = flags;
    }
  }

  /** The datagram in slot `s` is whole: its header made one packet's, the slot freed (its buffer stays readable until the next push). */
  private finish(s: number): number {
    const buf = this.bufs[s]!;
    const total = IP_HLEN + this.t.end[s];
    writeU16(buf, IP_TOTLEN, total);
    writeU16(buf, IP_FRAG, readU16(buf, IP_FRAG) & IP_DF);
    writeU16(buf, IP_CSUM, 0);
    writeU16(buf, IP_CSUM, checksum(buf, ETH_HLEN, IP_HLEN));
    this.out = buf;
    this.outLen = ETH_HLEN + total;
    this.outIngress = this.ingress[s];
    this.outFlags = this.flags[s];
    this.t.free(s);
    return RA_DONE;
  }

  /**
   * Drops the datagrams whose time ran out; `onTimeout` gets each one whose first fragment had
   * arrived (that fragment as a frame, and its interface: RFC 792's time exceeded, code 1, quotes
   * it) and, with `first` false, the others. Returns how many timed out.
   */
  expire(nowMs: number, onTimeout: (frame: Uint8Array, len: number, ingress: number, flags: number, first: boolean) => void): number {
    const t = this.t;
    let n = 0;
    for (let s = 0; s < t.used.length; s++) {
      if (!t.due(s, nowMs)) continue;
      t.free(s);
      n++;
      onTimeout(this.bufs[s]!, t.firstLen[s], this.ingress[s], this.flags[s], t.firstLen[s] > 0);
    }
    return n;
  }
}
