// IPv6 reassembly before policy (RFC 8200 4.5), as Linux's nf_defrag_ipv6 and pf do: the firewall
// decides on the whole datagram, so later fragments (no ports) cannot slip past a rule (RFC 8200
// 4.5, RFC 5722, RFC 7112). But an IPv6 router never fragments, and a firewall should not change
// what it forwards: the fragments are kept as they came (copies), and once the firewall allowed
// the datagram they leave as they came (ipv6-fragments.ts). Pure: no I/O, time as an argument.
//
// A datagram in flight is keyed by (source, destination, identification): RFC 8200 4.5 (the next
// header of the first fragment is not part of the key, unlike IPv4's protocol). Its slot holds a
// buffer (the first fragment's unfragmentable part, then the fragmentable part at its offset)
// and the fragments' copies. The limits, the eviction policy and the strictness are IPv4's
// (frag-table.ts): any overlap drops the datagram (RFC 5722), so do a second last fragment with
// another end, a non-last fragment whose length is not a multiple of 8, a datagram whose payload
// would pass 65535 bytes, and a first fragment that does not hold the whole header chain up to and
// including the upper-layer header (RFC 7112: 'frag-tiny'; its ports are what the policy reads).
// The per-source share is keyed by a hash of the source's /64: an IPv6 host picks any address of
// its prefix, so one flooding host cannot take every slot by changing its low bits.
//
// The timeout is 60 s, RFC 8200 4.5's figure (and Linux's IPV6_FRAG_TIMEOUT), not IPv4's 30 s:
// a sender may rely on it, and the per-source share and the eviction of the oldest bound what a
// flood can hold for that long.
import { readIpv6 } from '../net/ipv6.js';
import { FragmentTable, RA_DONE, RA_HELD, type FragmentDrop, type FragmentEviction, type ReassemblyLimits } from './frag-table.js';
import { ETH_HLEN, readU32, writeU16 } from './packet.js';
import {
  FRAG6_HLEN,
  FRAG6_ID,
  IP6_DST,
  IP6_HLEN,
  IP6_MAX_EXT_BYTES,
  IP6_NXT,
  IP6_PLEN,
  IP6_SRC,
  L4_OFF6,
  NH_AH,
  frag6More,
  frag6Offset,
  l4MinLen6,
  type Ipv6Walk,
} from './packet6.js';

export { RA_DONE, RA_DROP, RA_DUPLICATE, RA_HELD } from './frag-table.js';

/** The largest IPv6 payload without a jumbogram (the payload length is 16 bits). */
export const MAX_PAYLOAD6 = 65535;

/** IPv4's limits (reassembly.ts), with RFC 8200 4.5's 60 s. */
export const REASSEMBLY6_DEFAULTS: ReassemblyLimits = { maxDatagrams: 64, maxBytes: 1 << 21, perSource: 16, maxFragments: 128, timeoutMs: 60_000 };

/** Where the fragmentable part starts in a slot's buffer: room for the longest unfragmentable part before it. */
const HEAD = ETH_HLEN + IP6_HLEN + IP6_MAX_EXT_BYTES;

/** A fragment, not an atomic one (RFC 6946: offset 0 and M clear is a whole packet, processed as one). */
export function isFragment6(frame: Uint8Array, w: Ipv6Walk): boolean {
  return w.fragOff >= 0 && (frag6Offset(frame, w.fragOff) !== 0 || frag6More(frame, w.fragOff));
}

export class Reassembler6 {
  readonly limits: ReassemblyLimits;
  /** RA_DONE: the reassembled packet (a frame at 0: the first fragment's Ethernet header) until the next push. */
  out: Uint8Array = new Uint8Array(0);
  outLen = 0;
  /** RA_DONE: the interface its first fragment arrived on, and the HA3 flags it came with (-1: none). */
  outIngress = 0;
  outFlags = -1;
  /** RA_DONE: the fragments as they came (copies of their frames, padding cut), in the order they came. */
  outFragments: Uint8Array[] = [];

  private readonly t: FragmentTable;
  /** Source and destination, 4 words each per slot. */
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly id: Uint32Array;
  private readonly ingress: Int32Array;
  private readonly flags: Int32Array;
  /** Where the first fragment's frame starts in the slot's buffer (HEAD minus its unfragmentable part). */
  private readonly start: Int32Array;
  /** The first fragment among the copies, -1 until it arrived. */
  private readonly firstIdx: Int32Array;
  private readonly bufs: (Uint8Array | null)[];
  private readonly frags: Uint8Array[][];
  private readonly addr = new Uint32Array(8);
  /** The data of the fragment being pushed, for sameBytes. */
  private frame: Uint8Array = new Uint8Array(0);
  private data = 0;
  private readonly sameBytes = (s: number, off: number, n: number): boolean => {
    const buf = this.bufs[s]!;
    for (let i = 0; i < n; i++) if (buf[HEAD + off + i] !== this.frame[this.data + i]) return false;
    return true;
  };

  constructor(limits: Partial<ReassemblyLimits> = {}) {
    const l = { ...REASSEMBLY6_DEFAULTS, ...limits };
    this.limits = l;
    this.t = new FragmentTable(l);
    const n = l.maxDatagrams;
    this.src = new Uint32Array(n * 4);
    this.dst = new Uint32Array(n * 4);
    this.id = new Uint32Array(n);
    this.ingress = new Int32Array(n);
    this.flags = new Int32Array(n);
    this.start = new Int32Array(n);
    this.firstIdx = new Int32Array(n);
    this.bufs = new Array<Uint8Array | null>(n).fill(null);
    this.frags = Array.from({ length: n }, () => []);
  }

  /** RA_DROP: why. */
  get reason(): FragmentDrop {
    return this.t.reason;
  }
  /** After push: why a datagram held was dropped to make room for this fragment's (null: none was). */
  get evicted(): FragmentEviction | null {
    return this.t.evicted;
  }
  /** Payload bytes held now (the fragmentable parts; the copies add at most their headers). */
  get heldBytes(): number {
    return this.t.heldBytes;
  }
  /** Datagrams in flight now. */
  get inFlight(): number {
    return this.t.inFlight;
  }

  /**
   * One fragment (isFragment6): a frame whose IPv6 header is validated and whose headers `w`
   * walked, arrived on `ingress` (`flags`: HA3 flags when the peer carried it, else -1). RA_HELD,
   * RA_DUPLICATE, RA_DROP (reason) or RA_DONE (out, outLen, outIngress, outFlags, outFragments).
   */
  push(frame: Uint8Array, w: Ipv6Walk, ingress: number, nowMs: number, flags = -1): number {
    const t = this.t;
    const fo = w.fragOff;
    const off = frag6Offset(frame, fo);
    const more = frag6More(frame, fo);
    const data = fo + FRAG6_HLEN;
    const dlen = w.end - data;
    const stop = off + dlen;
    const a = this.addr;
    readIpv6(frame, IP6_SRC, a, 0);
    readIpv6(frame, IP6_DST, a, 4);
    const id = readU32(frame, fo + FRAG6_ID);
    t.evicted = null;
    let s = this.find(id);
    // RFC 8200 4.5: a non-last fragment a multiple of 8 bytes long, the payload no longer than 65535
    if (more && (dlen <= 0 || (dlen & 7) !== 0)) return t.fail(s, 'fragment');
    if (fo - L4_OFF6 + stop > MAX_PAYLOAD6) return t.fail(s, 'frag-too-big');
    // RFC 7112: the first fragment holds the whole header chain, the upper-layer header included
    if (off === 0 && w.end - w.l4 < l4MinLen6(w.proto)) return t.fail(s, 'frag-tiny');
    this.frame = frame;
    this.data = data;
    const r = t.admit(s, off, stop, more, this.sameBytes);
    if (r !== RA_HELD) return r;
    if (s < 0) s = this.open(id, nowMs);
    this.store(s, frame, w, off, dlen, ingress, flags);
    t.record(s, off, dlen, !more);
    if (!t.complete(s)) return RA_HELD;
    // the first fragment's own headers may be longer than those of a later one that set the end
    if (HEAD - this.start[s] - L4_OFF6 + t.end[s] > MAX_PAYLOAD6) return t.fail(s, 'frag-too-big');
    return this.finish(s);
  }

  private find(id: number): number {
    const used = this.t.used;
    const a = this.addr;
    for (let s = 0; s < used.length; s++) {
      if (used[s] === 0 || this.id[s] !== id) continue;
      const k = s * 4;
      const src = this.src;
      const dst = this.dst;
      if (
        src[k] === a[0] &&
        src[k + 1] === a[1] &&
        src[k + 2] === a[2] &&
        src[k + 3] === a[3] &&
        dst[k] === a[4] &&
        dst[k + 1] === a[5] &&
        dst[k + 2] === a[6] &&
        dst[k + 3] === a[7]
      )
        return s;
    }
    return -1;
  }

  private open(id: number, nowMs: number): number {
    const a = this.addr;
    // the per-source share: a hash of the source's /64 (an IPv6 host owns its whole prefix)
    const s = this.t.open((Math.imul(a[0] ^ 0x5bd1e995, 0x9e3779b1) ^ a[1]) >>> 0, nowMs);
    this.src.set(a.subarray(0, 4), s * 4);
    this.dst.set(a.subarray(4, 8), s * 4);
    this.id[s] = id;
    this.firstIdx[s] = -1;
    this.frags[s] = [];
    this.bufs[s] ??= new Uint8Array(HEAD + MAX_PAYLOAD6);
    return s;
  }

  private store(s: number, frame: Uint8Array, w: Ipv6Walk, off: number, dlen: number, ingress: number, flags: number): void {
    const buf = this.bufs[s]!;
    const fo = w.fragOff;
    buf.set(frame.subarray(fo + FRAG6_HLEN, fo + FRAG6_HLEN + dlen), HEAD + off);
    const copies = this.frags[s];
    if (off === 0) {
      // the first fragment's unfragmentable part is the packet's (RFC 8200 4.5), before its data;
      // the header that named the fragment header names what the fragment header named
      const start = HEAD - fo;
      buf.set(frame.subarray(0, fo), start);
      buf[start + fieldNaming(frame, fo)] = frame[fo];
      this.start[s] = start;
      this.t.firstLen[s] = w.end;
      this.ingress[s] = ingress;
      this.flags[s] = flags;
      this.firstIdx[s] = copies.length;
    }
    copies.push(frame.slice(0, w.end));
  }

  /** The datagram in slot `s` is whole: one packet from its first fragment's headers, the slot freed (its buffer stays readable until the next push). */
  private finish(s: number): number {
    const buf = this.bufs[s]!;
    const start = this.start[s];
    const plen = HEAD - start - L4_OFF6 + this.t.end[s];
    this.out = buf.subarray(start);
    writeU16(this.out, IP6_PLEN, plen);
    this.outLen = L4_OFF6 + plen;
    this.outIngress = this.ingress[s];
    this.outFlags = this.flags[s];
    this.outFragments = this.frags[s];
    this.frags[s] = [];
    this.t.free(s);
    return RA_DONE;
  }

  /**
   * Drops the datagrams whose time ran out; `onTimeout` gets each one whose first fragment had
   * arrived (a copy of that fragment and its interface: RFC 8200 4.5's time exceeded, code 1,
   * goes to its source) and, with `first` false, the others. Returns how many timed out.
   */
  expire(nowMs: number, onTimeout: (frame: Uint8Array, len: number, ingress: number, first: boolean) => void): number {
    const t = this.t;
    let n = 0;
    for (let s = 0; s < t.used.length; s++) {
      if (!t.due(s, nowMs)) continue;
      t.free(s);
      n++;
      const i = this.firstIdx[s];
      const first = i >= 0 ? this.frags[s][i] : null;
      this.frags[s] = [];
      if (first !== null) onTimeout(first, first.length, this.ingress[s], true);
      else onTimeout(this.bufs[s]!, 0, -1, false);
    }
    return n;
  }
}

/** Offset of the next header field that names the fragment header at `fragOff` (the headers before it walked already). */
function fieldNaming(frame: Uint8Array, fragOff: number): number {
  let field = IP6_NXT;
  let off = L4_OFF6;
  while (off < fragOff) {
    const hlen = frame[field] === NH_AH ? (frame[off + 1] + 2) * 4 : (frame[off + 1] + 1) * 8;
    field = off;
    off += hlen;
  }
  return field;
}
