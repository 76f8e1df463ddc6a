// The firewall's session table: every session in preallocated typed arrays (no per-session JS
// object, so a table of millions costs the garbage collector nothing to trace), found in O(1) from
// either direction, expired in O(expired).
//
// Layout, for `capacity` sessions:
//   - per session (index = slot): proto, state, flags, ingress, egress, rule ids, created/expiry
//     times, its timing-wheel links;
//   - per direction (index = slot * 2 + dir = the "ref"): the tuple seen in that direction
//     (src, srcPort, dst, dstPort) and packet/byte counters. dir 0 is the original direction (the
//     packet that created the session), dir 1 the reply (after NAT, what the reply looks like);
//     for TCP, the sequence and window state of that direction's sender (tcp-window.ts: `windows`)
//     and where its sequence stood when the session was last replicated (syncEnd);
//   - one open-addressing hash index holding both refs of every session: linear probing over a
//     power-of-two array at load factor <= 0.5 (2 keys per session, >= 4 buckets per session),
//     deletion by backward shift (no tombstones, so probe lengths never degrade with churn). Each
//     bucket keeps the key's 32-bit hash beside the ref: probes compare hashes before touching the
//     session's tuple arrays, and deletion finds each entry's home without rehashing;
//   - a timing wheel of `wheelSlots` lists of `tickMs` each. A session sits in the list of the tick
//     of its expiry (or the last list of the wheel when further away). setExpires() to a later time
//     only writes the time (the per-packet case): the session is re-filed when its old tick comes
//     around, so a busy session costs one re-file per wheel turn or timeout, not one per packet.
//     setExpires() to an earlier time (a FIN, a RST) moves it at once. expire() visits only the
//     ticks that have passed: O(expired + re-filed), never O(table);
//   - a free-slot stack (threaded through the wheel's `next` links, which a free slot does not use).
// A full table refuses: create() returns -1 and the caller counts the drop; nothing is evicted.
//
// Pure: no I/O, no clock (time is an argument, in ms on any monotonic scale), no allocation on
// lookup, create, count, setState, setExpires, remove or expire.

import { SESSION_FLAG_V6, type Address6Fields, type SessionRecord, type WindowFields } from '../wire/session-record.js';
import { seqLt, WF_KNOWN, WF_SYNCED, type TcpWindows } from './tcp-window.js';

/** The direction of the packet that created the session. */
export const DIR_ORIGINAL = 0;
/** The direction of its answers. */
export const DIR_REPLY = 1;

/**
 * The active replicates a session whose state did not change again once its last record is half
 * its timeout old (firewall.ts): then the session's last packet on the active came less than this
 * after its last record, and the passive, which expires its copy this long plus a margin after the
 * record's remaining lifetime (sync-port.ts), never expires a session the active still holds.
 */
export function refreshMs(timeoutMs: number): number {
  return timeoutMs / 2;
}

/** NewSession.flags bit 0: picked up mid-stream, or synced from the peer (TCP handshake not seen). */
export const SESSION_FLAG_LOOSE = 1;

/**
 * An IPv6 session's key: its four addresses are 4 words each, the low word in the same arrays as
 * an IPv4 address (src, dst), the three high words beside them (HI_WORDS per direction: src's
 * words 0-2, then dst's). lookup6() takes a tuple's addresses as 8 words: src's 0-3, dst's 0-3.
 */
const HI_WORDS = 6;

/**
 * A session to create: the fields of a session record (src/wire/session-record.ts, documented in
 * proto/ha2.proto) but its op and relative times, with absolute times on the table's clock. The
 * table keeps 8 bits of proto, state and flags (bit 0: SESSION_FLAG_LOOSE) and 16 of the interface
 * indexes; ICMP "ports" are the echo identifier on the requester's side, 0 on the other.
 */
export interface NewSession
  extends Omit<SessionRecord, 'op' | 'timeoutMs' | 'eventMs' | WindowFields | Address6Fields>, Partial<Pick<SessionRecord, WindowFields | Address6Fields>> {
  expiresMs: number;
  nowMs: number;
}

export interface SessionTableOptions {
  /** Sessions the table holds (shared.sessions.max), 1 .. 2^30 - 1. */
  capacity: number;
  /** Granularity of the expiry wheel. Default 100 ms: sessions expire within one call of expire() after their time. */
  tickMs?: number;
  /** Lists in the wheel, a power of two. Default 65536 (x 100 ms = 109 min: above the 1 h TCP established timeout). */
  wheelSlots?: number;
  /**
   * Hash seed. The daemon should pass a random one: with a known seed, an attacker could choose
   * tuples that cluster in the index and lengthen every probe (hash flooding). Default: fixed.
   */
  seed?: number;
}

/** Slot of a lookup() result. */
export function refSlot(ref: number): number {
  return ref >> 1;
}

/** Direction (DIR_ORIGINAL / DIR_REPLY) of a lookup() result. */
export function refDir(ref: number): number {
  return ref & 1;
}

/** End of a list (wheel, free stack) and an empty index bucket. */
const NIL = -1;
/** slot << 1 | dir must stay a positive int32. */
const MAX_CAPACITY = 2 ** 30 - 1;
const DEFAULT_TICK_MS = 100;
const DEFAULT_WHEEL_SLOTS = 65536;
const DEFAULT_SEED = 0x7a6d3c21;

// MurmurHash3 x86_32 (Austin Appleby, public domain) over the 16 bytes src, dst, ports, proto:
// full avalanche, so the low bits that pick a bucket depend on every input bit.
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** 32-bit hash (int32) of a tuple. Exported for tests and the bench. */
export function tupleHash(seed: number, proto: number, src: number, srcPort: number, dst: number, dstPort: number): number {
  let h = mix(seed | 0, src | 0);
  h = mix(h, dst | 0);
  h = mix(h, ((srcPort & 0xffff) << 16) | (dstPort & 0xffff));
  h = mix(h, proto & 0xff);
  h ^= 16;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * 32-bit hash of an IPv6 tuple: the 8 address words, ports, and the protocol with a family mark
 * (0x100), so an IPv6 key never hashes as the IPv4 key of its low words would by construction.
 */
export function tupleHash6(seed: number, proto: number, addrs: ArrayLike<number>, srcPort: number, dstPort: number): number {
  let h = seed | 0;
  for (let i = 0; i < 8; i++) h = mix(h, addrs[i] | 0);
  h = mix(h, ((srcPort & 0xffff) << 16) | (dstPort & 0xffff));
  h = mix(h, (proto & 0xff) | 0x100);
  h ^= 40;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** A new IPv6 session's original tuple addresses as lookup6() takes them (8 words). */
function originalKey(s: NewSession | SessionRecord, k: Uint32Array): void {
  k[0] = s.origSrcW0 ?? 0;
  k[1] = s.origSrcW1 ?? 0;
  k[2] = s.origSrcW2 ?? 0;
  k[3] = s.origSrc;
  k[4] = s.origDstW0 ?? 0;
  k[5] = s.origDstW1 ?? 0;
  k[6] = s.origDstW2 ?? 0;
  k[7] = s.origDst;
}

/** A new IPv6 session's reply tuple addresses (8 words). */
function replyKey(s: NewSession, k: Uint32Array): void {
  k[0] = s.replySrcW0 ?? 0;
  k[1] = s.replySrcW1 ?? 0;
  k[2] = s.replySrcW2 ?? 0;
  k[3] = s.replySrc;
  k[4] = s.replyDstW0 ?? 0;
  k[5] = s.replyDstW1 ?? 0;
  k[6] = s.replyDstW2 ?? 0;
  k[7] = s.replyDst;
}

function sameAddresses(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false;
  return true;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class SessionTable {
  readonly capacity: number;
  readonly tickMs: number;
  private live_ = 0;
  private readonly seed: number;
  /** Slots below this have been used at least once: forEach() scans no further. */
  private highWater = 0;
  private freeHead: number;

  // per session
  private readonly used: Uint8Array;
  private readonly protoA: Uint8Array;
  private readonly stateA: Uint8Array;
  private readonly flagsA: Uint8Array;
  private readonly ingressA: Uint16Array;
  private readonly egressA: Uint16Array;
  private readonly ruleA: Int32Array;
  private readonly natA: Int32Array;
  private readonly createdA: Float64Array;
  private readonly expiresA: Float64Array;
  /** Absolute wheel tick (floor(ms / tickMs)) of the list the session is linked in. */
  private readonly tickA: Float64Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;

  // per direction: index = ref = slot * 2 + dir
  private readonly srcA: Uint32Array;
  private readonly dstA: Uint32Array;
  /** IPv6 sessions: the high words of each direction's addresses (HI_WORDS per ref; 0 for IPv4). */
  private readonly hiA: Uint32Array;
  private readonly srcPortA: Uint16Array;
  private readonly dstPortA: Uint16Array;
  private readonly packetsA: Float64Array;
  private readonly bytesA: Float64Array;
  /** TCP: each direction's sequence and window state (tcp-window.ts reads and writes it in place). */
  readonly windows: TcpWindows;
  /** TCP: the direction's end when the session was last replicated (the sync stride, tcp-window.ts). */
  private readonly syncEndA: Uint32Array;
  /** When the session was last replicated (its refresh, on the table's clock). */
  private readonly syncedA: Float64Array;

  // hash index
  private readonly idxMask: number;
  private readonly idxRef: Int32Array;
  private readonly idxHash: Int32Array;

  // timing wheel
  private readonly wheelHead: Int32Array;
  private readonly wheelMask: number;
  /** Oldest tick not yet fully processed; NaN until the first create() or expire() tells the time. */
  private cursor = NaN;
  /** create()'s IPv6 keys of the original and the reply direction (scratch: no allocation per session). */
  private readonly keyO = new Uint32Array(8);
  private readonly keyR = new Uint32Array(8);
  /** Every typed array above, as alloc() made them (bytesAllocated). */
  private readonly arrays: ArrayBufferView[] = [];

  constructor(opts: SessionTableOptions) {
    const cap = opts.capacity;
    if (!Number.isInteger(cap) || cap < 1 || cap > MAX_CAPACITY) {
      throw new RangeError(`session table capacity: expected an integer 1..${MAX_CAPACITY}, got ${cap}`);
    }
    const tickMs = opts.tickMs ?? DEFAULT_TICK_MS;
    if (!(tickMs > 0)) throw new RangeError(`session table tickMs: expected > 0, got ${tickMs}`);
    const wheelSlots = opts.wheelSlots ?? DEFAULT_WHEEL_SLOTS;
    if (!Number.isInteger(wheelSlots) || wheelSlots < 2 || nextPow2(wheelSlots) !== wheelSlots) {
      throw new RangeError(`session table wheelSlots: expected a power of two >= 2, got ${wheelSlots}`);
    }
    this.capacity = cap;
    this.tickMs = tickMs;
    this.seed = (opts.seed ?? DEFAULT_SEED) | 0;

    this.used = this.alloc(new Uint8Array(cap));
    this.protoA = this.alloc(new Uint8Array(cap));
    this.stateA = this.alloc(new Uint8Array(cap));
    this.flagsA = this.alloc(new Uint8Array(cap));
    this.ingressA = this.alloc(new Uint16Array(cap));
    this.egressA = this.alloc(new Uint16Array(cap));
    this.ruleA = this.alloc(new Int32Array(cap));
    this.natA = this.alloc(new Int32Array(cap));
    this.createdA = this.alloc(new Float64Array(cap));
    this.expiresA = this.alloc(new Float64Array(cap));
    this.tickA = this.alloc(new Float64Array(cap));
    this.next = this.alloc(new Int32Array(cap));
    this.prev = this.alloc(new Int32Array(cap));

    this.srcA = this.alloc(new Uint32Array(cap * 2));
    this.dstA = this.alloc(new Uint32Array(cap * 2));
    this.hiA = this.alloc(new Uint32Array(cap * 2 * HI_WORDS));
    this.srcPortA = this.alloc(new Uint16Array(cap * 2));
    this.dstPortA = this.alloc(new Uint16Array(cap * 2));
    this.packetsA = this.alloc(new Float64Array(cap * 2));
    this.bytesA = this.alloc(new Float64Array(cap * 2));
    this.windows = {
      end: this.alloc(new Uint32Array(cap * 2)),
      maxEnd: this.alloc(new Uint32Array(cap * 2)),
      maxWin: this.alloc(new Uint32Array(cap * 2)),
      maxAck: this.alloc(new Uint32Array(cap * 2)),
      flags: this.alloc(new Uint8Array(cap * 2)),
    };
    this.syncEndA = this.alloc(new Uint32Array(cap * 2));
    this.syncedA = this.alloc(new Float64Array(cap));

    // 2 keys per session at load factor <= 0.5
    const buckets = nextPow2(cap * 4);
    this.idxMask = buckets - 1;
    this.idxRef = this.alloc(new Int32Array(buckets).fill(NIL));
    this.idxHash = this.alloc(new Int32Array(buckets));

    this.wheelHead = this.alloc(new Int32Array(wheelSlots).fill(NIL));
    this.wheelMask = wheelSlots - 1;

    // free stack: slot 0 on top, then 1, 2, ...
    for (let i = 0; i < cap - 1; i++) this.next[i] = i + 1;
    this.next[cap - 1] = NIL;
    this.freeHead = 0;
  }

  private alloc<T extends ArrayBufferView>(array: T): T {
    this.arrays.push(array);
    return array;
  }

  /** Live sessions. */
  get size(): number {
    return this.live_;
  }

  /** Bytes of every typed array the table holds (index and wheel included): its whole footprint. */
  get bytesAllocated(): number {
    let n = 0;
    for (const a of this.arrays) n += a.byteLength;
    return n;
  }

  /** Buckets of the hash index (a power of two, >= 4 x capacity). */
  get indexBuckets(): number {
    return this.idxMask + 1;
  }

  /** The session of a packet with this tuple: (slot << 1) | dir, or -1. Zero allocation. */
  lookup(proto: number, src: number, srcPort: number, dst: number, dstPort: number): number {
    proto &= 0xff;
    src >>>= 0;
    dst >>>= 0;
    srcPort &= 0xffff;
    dstPort &= 0xffff;
    return this.find(tupleHash(this.seed, proto, src, srcPort, dst, dstPort), proto, src, srcPort, dst, dstPort);
  }

  private find(h: number, proto: number, src: number, srcPort: number, dst: number, dstPort: number): number {
    const refs = this.idxRef;
    const hashes = this.idxHash;
    const mask = this.idxMask;
    let i = h & mask;
    for (;;) {
      const ref = refs[i];
      if (ref === NIL) return -1;
      if (
        hashes[i] === h &&
        this.srcA[ref] === src &&
        this.dstA[ref] === dst &&
        this.srcPortA[ref] === srcPort &&
        this.dstPortA[ref] === dstPort &&
        this.protoA[ref >> 1] === proto &&
        (this.flagsA[ref >> 1] & SESSION_FLAG_V6) === 0
      ) {
        return ref;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * The session of an IPv6 packet: `addrs` holds its source (words 0-3) and destination (4-7).
   * (slot << 1) | dir, or -1. Zero allocation.
   */
  lookup6(proto: number, addrs: ArrayLike<number>, srcPort: number, dstPort: number): number {
    proto &= 0xff;
    srcPort &= 0xffff;
    dstPort &= 0xffff;
    return this.find6(tupleHash6(this.seed, proto, addrs, srcPort, dstPort), proto, addrs, srcPort, dstPort);
  }

  /** The session of a record's original tuple (either family): as lookup() and lookup6(). */
  lookupOriginal(r: SessionRecord): number {
    if ((r.flags & SESSION_FLAG_V6) === 0) return this.lookup(r.proto, r.origSrc, r.origSrcPort, r.origDst, r.origDstPort);
    const k = this.keyO;
    originalKey(r, k);
    return this.lookup6(r.proto, k, r.origSrcPort, r.origDstPort);
  }

  private find6(h: number, proto: number, a: ArrayLike<number>, srcPort: number, dstPort: number): number {
    const refs = this.idxRef;
    const hashes = this.idxHash;
    const mask = this.idxMask;
    const hi = this.hiA;
    let i = h & mask;
    for (;;) {
      const ref = refs[i];
      if (ref === NIL) return -1;
      const k = ref * HI_WORDS;
      if (
        hashes[i] === h &&
        this.srcA[ref] === a[3] >>> 0 &&
        this.dstA[ref] === a[7] >>> 0 &&
        this.srcPortA[ref] === srcPort &&
        this.dstPortA[ref] === dstPort &&
        this.protoA[ref >> 1] === proto &&
        (this.flagsA[ref >> 1] & SESSION_FLAG_V6) !== 0 &&
        hi[k] === a[0] >>> 0 &&
        hi[k + 1] === a[1] >>> 0 &&
        hi[k + 2] === a[2] >>> 0 &&
        hi[k + 3] === a[4] >>> 0 &&
        hi[k + 4] === a[5] >>> 0 &&
        hi[k + 5] === a[6] >>> 0
      ) {
        return ref;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Creates a session and returns its slot; -1 when the table is full or when either tuple is
   * already in the table, or both tuples are the same (nothing changes then).
   */
  create(s: NewSession): number {
    const slot = this.freeHead;
    if (slot === NIL) return -1;
    const proto = s.proto & 0xff;
    const oSrc = s.origSrc >>> 0;
    const oDst = s.origDst >>> 0;
    const oSp = s.origSrcPort & 0xffff;
    const oDp = s.origDstPort & 0xffff;
    const rSrc = s.replySrc >>> 0;
    const rDst = s.replyDst >>> 0;
    const rSp = s.replySrcPort & 0xffff;
    const rDp = s.replyDstPort & 0xffff;
    const v6 = (s.flags & SESSION_FLAG_V6) !== 0;
    let h0: number;
    let h1: number;
    if (v6) {
      const ko = this.keyO;
      const kr = this.keyR;
      originalKey(s, ko);
      replyKey(s, kr);
      if (oSp === rSp && oDp === rDp && sameAddresses(ko, kr)) return -1;
      h0 = tupleHash6(this.seed, proto, ko, oSp, oDp);
      if (this.find6(h0, proto, ko, oSp, oDp) !== -1) return -1;
      h1 = tupleHash6(this.seed, proto, kr, rSp, rDp);
      if (this.find6(h1, proto, kr, rSp, rDp) !== -1) return -1;
    } else {
      // one key could not tell the two directions apart
      if (oSrc === rSrc && oDst === rDst && oSp === rSp && oDp === rDp) return -1;
      h0 = tupleHash(this.seed, proto, oSrc, oSp, oDst, oDp);
      if (this.find(h0, proto, oSrc, oSp, oDst, oDp) !== -1) return -1;
      h1 = tupleHash(this.seed, proto, rSrc, rSp, rDst, rDp);
      if (this.find(h1, proto, rSrc, rSp, rDst, rDp) !== -1) return -1;
    }

    this.freeHead = this.next[slot];
    this.used[slot] = 1;
    this.protoA[slot] = proto;
    this.stateA[slot] = s.state;
    this.flagsA[slot] = s.flags;
    this.ingressA[slot] = s.ingress;
    this.egressA[slot] = s.egress;
    this.ruleA[slot] = s.ruleId;
    this.natA[slot] = s.natRuleId;
    this.createdA[slot] = s.nowMs;
    this.expiresA[slot] = s.expiresMs;
    const o = slot << 1;
    const r = o | 1;
    this.srcA[o] = oSrc;
    this.dstA[o] = oDst;
    this.srcPortA[o] = oSp;
    this.dstPortA[o] = oDp;
    this.srcA[r] = rSrc;
    this.dstA[r] = rDst;
    this.srcPortA[r] = rSp;
    this.dstPortA[r] = rDp;
    this.setHighWords(o, v6);
    this.packetsA[o] = 0;
    this.packetsA[r] = 0;
    this.bytesA[o] = 0;
    this.bytesA[r] = 0;
    this.setWindows(slot, s, false);
    this.syncedA[slot] = s.nowMs;
    this.indexInsert(h0, o);
    this.indexInsert(h1, r);

    if (this.cursor !== this.cursor) this.cursor = Math.floor(s.nowMs / this.tickMs);
    this.wheelLink(slot, this.tickFor(s.expiresMs));

    this.live_++;
    if (slot >= this.highWater) this.highWater = slot + 1;
    return slot;
  }

  /** Removes a live session (a free slot is ignored). */
  remove(slot: number): void {
    if (this.used[slot] !== 1) return;
    this.wheelUnlink(slot);
    const o = slot << 1;
    this.indexDelete(o);
    this.indexDelete(o | 1);
    this.used[slot] = 0;
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
    this.live_--;
  }

  /** The slot holds a live session. */
  isLive(slot: number): boolean {
    return this.used[slot] === 1;
  }

  proto(slot: number): number {
    return this.protoA[slot];
  }
  state(slot: number): number {
    return this.stateA[slot];
  }
  setState(slot: number, st: number): void {
    this.stateA[slot] = st;
  }
  expiresMs(slot: number): number {
    return this.expiresA[slot];
  }
  /**
   * Later than the current expiry (every packet): writes the time only, the wheel re-files the
   * session when its old tick comes. Earlier (closing, reset): moves it in the wheel now.
   */
  setExpires(slot: number, ms: number): void {
    this.expiresA[slot] = ms;
    const t = this.tickFor(ms);
    if (t < this.tickA[slot]) {
      this.wheelUnlink(slot);
      this.wheelLink(slot, t);
    }
  }
  ruleId(slot: number): number {
    return this.ruleA[slot];
  }
  /** A commit re-numbered the rules (or another rule now allows the session). */
  setRuleId(slot: number, rule: number): void {
    this.ruleA[slot] = rule;
  }
  natRuleId(slot: number): number {
    return this.natA[slot];
  }
  setNatRuleId(slot: number, rule: number): void {
    this.natA[slot] = rule;
  }
  flags(slot: number): number {
    return this.flagsA[slot];
  }
  /** Replaces the flags (e.g. clears SESSION_FLAG_LOOSE once the peer's copy was superseded). */
  setFlags(slot: number, flags: number): void {
    // the family is part of the key: it never changes while the session lives
    this.flagsA[slot] = (flags & ~SESSION_FLAG_V6) | (this.flagsA[slot] & SESSION_FLAG_V6);
  }
  ingress(slot: number): number {
    return this.ingressA[slot];
  }
  egress(slot: number): number {
    return this.egressA[slot];
  }
  createdMs(slot: number): number {
    return this.createdA[slot];
  }

  src(slot: number, dir: number): number {
    return this.srcA[(slot << 1) | dir];
  }
  srcPort(slot: number, dir: number): number {
    return this.srcPortA[(slot << 1) | dir];
  }
  dst(slot: number, dir: number): number {
    return this.dstA[(slot << 1) | dir];
  }
  dstPort(slot: number, dir: number): number {
    return this.dstPortA[(slot << 1) | dir];
  }
  /** The session is an IPv6 one (its addresses: address6). */
  isV6(slot: number): boolean {
    return (this.flagsA[slot] & SESSION_FLAG_V6) !== 0;
  }
  /**
   * The 4 words of an IPv6 session's address into `out` at `off`: direction `dir`'s source
   * (`which` 0) or destination (1). For an IPv4 session: the IPv4 address in word 3, 0 above.
   */
  address6(slot: number, dir: number, which: 0 | 1, out: Uint32Array, off = 0): void {
    const ref = (slot << 1) | dir;
    const k = ref * HI_WORDS + which * 3;
    out[off] = this.hiA[k];
    out[off + 1] = this.hiA[k + 1];
    out[off + 2] = this.hiA[k + 2];
    out[off + 3] = which === 0 ? this.srcA[ref] : this.dstA[ref];
  }

  /** create(): the high words of both directions' addresses, from keyO and keyR (IPv6) or zero. */
  private setHighWords(o: number, v6: boolean): void {
    const hi = this.hiA;
    for (let dir = 0; dir < 2; dir++) {
      const k = (o | dir) * HI_WORDS;
      const key = dir === 0 ? this.keyO : this.keyR;
      hi[k] = v6 ? key[0] : 0;
      hi[k + 1] = v6 ? key[1] : 0;
      hi[k + 2] = v6 ? key[2] : 0;
      hi[k + 3] = v6 ? key[4] : 0;
      hi[k + 4] = v6 ? key[5] : 0;
      hi[k + 5] = v6 ? key[6] : 0;
    }
  }

  /** The hash index key of `ref` (as create() computed it). */
  private hashOf(ref: number): number {
    const slot = ref >> 1;
    if ((this.flagsA[slot] & SESSION_FLAG_V6) === 0) {
      return tupleHash(this.seed, this.protoA[slot], this.srcA[ref], this.srcPortA[ref], this.dstA[ref], this.dstPortA[ref]);
    }
    const k = this.keyO;
    this.address6(slot, ref & 1, 0, k, 0);
    this.address6(slot, ref & 1, 1, k, 4);
    return tupleHash6(this.seed, this.protoA[slot], k, this.srcPortA[ref], this.dstPortA[ref]);
  }

  /**
   * Fills r with the session as a record of `op` (its expiry relative to nowMs, clamped to a
   * uint32): what HA3's INSERT carries, field for field what sync-port.ts sends over HA2.
   */
  toRecord(slot: number, op: number, nowMs: number, r: SessionRecord): SessionRecord {
    const o = slot << 1;
    const p = o | 1;
    r.op = op;
    r.proto = this.protoA[slot];
    r.state = this.stateA[slot];
    r.flags = this.flagsA[slot];
    r.origSrc = this.srcA[o];
    r.origSrcPort = this.srcPortA[o];
    r.origDst = this.dstA[o];
    r.origDstPort = this.dstPortA[o];
    r.replySrc = this.srcA[p];
    r.replySrcPort = this.srcPortA[p];
    r.replyDst = this.dstA[p];
    r.replyDstPort = this.dstPortA[p];
    const hi = this.hiA;
    const ko = o * HI_WORDS;
    const kp = p * HI_WORDS;
    r.origSrcW0 = hi[ko];
    r.origSrcW1 = hi[ko + 1];
    r.origSrcW2 = hi[ko + 2];
    r.origDstW0 = hi[ko + 3];
    r.origDstW1 = hi[ko + 4];
    r.origDstW2 = hi[ko + 5];
    r.replySrcW0 = hi[kp];
    r.replySrcW1 = hi[kp + 1];
    r.replySrcW2 = hi[kp + 2];
    r.replyDstW0 = hi[kp + 3];
    r.replyDstW1 = hi[kp + 4];
    r.replyDstW2 = hi[kp + 5];
    r.ruleId = this.ruleA[slot];
    r.natRuleId = this.natA[slot];
    r.ingress = this.ingressA[slot];
    r.egress = this.egressA[slot];
    r.timeoutMs = Math.max(0, Math.min(0xffffffff, Math.round(this.expiresA[slot] - nowMs)));
    r.eventMs = nowMs;
    const w = this.windows;
    r.origSeqEnd = w.end[o];
    r.origSeqMaxEnd = w.maxEnd[o];
    r.origMaxWin = w.maxWin[o];
    r.origMaxAck = w.maxAck[o];
    r.origWinFlags = w.flags[o];
    r.replySeqEnd = w.end[p];
    r.replySeqMaxEnd = w.maxEnd[p];
    r.replyMaxWin = w.maxWin[p];
    r.replyMaxAck = w.maxAck[p];
    r.replyWinFlags = w.flags[p];
    return r;
  }

  /**
   * Sets both directions' TCP window state from a record's fields (absent: nothing known).
   * `synced`: the record came from the peer, so each known side is marked WF_SYNCED (checked with
   * slack until its next segment here: tcp-window.ts).
   */
  setWindows(slot: number, r: Partial<Pick<SessionRecord, WindowFields>>, synced: boolean): void {
    const w = this.windows;
    const o = slot << 1;
    const p = o | 1;
    const mark = synced ? WF_SYNCED : 0;
    w.end[o] = r.origSeqEnd ?? 0;
    w.maxEnd[o] = r.origSeqMaxEnd ?? 0;
    w.maxWin[o] = r.origMaxWin ?? 0;
    w.maxAck[o] = r.origMaxAck ?? 0;
    const of = (r.origWinFlags ?? 0) & 0xff;
    w.flags[o] = (of & WF_KNOWN) !== 0 ? of | mark : 0;
    w.end[p] = r.replySeqEnd ?? 0;
    w.maxEnd[p] = r.replySeqMaxEnd ?? 0;
    w.maxWin[p] = r.replyMaxWin ?? 0;
    w.maxAck[p] = r.replyMaxAck ?? 0;
    const pf = (r.replyWinFlags ?? 0) & 0xff;
    w.flags[p] = (pf & WF_KNOWN) !== 0 ? pf | mark : 0;
    this.syncEndA[o] = w.end[o];
    this.syncEndA[p] = w.end[p];
  }

  /**
   * Active/active: the peer processed this session of ours for a while (it adopted it while it took
   * us for down) and its record says how far it got: each side moves forward to the record's values,
   * never back (pfsync's rule), and is marked WF_SYNCED, so what the peer saw after its record is
   * within the slack until the side's next segment here.
   */
  mergeWindows(slot: number, r: Pick<SessionRecord, WindowFields>): void {
    const o = slot << 1;
    this.mergeSide(o, r.origSeqEnd, r.origSeqMaxEnd, r.origMaxWin, r.origMaxAck, r.origWinFlags);
    this.mergeSide(o | 1, r.replySeqEnd, r.replySeqMaxEnd, r.replyMaxWin, r.replyMaxAck, r.replyWinFlags);
  }

  private mergeSide(i: number, end: number, maxEnd: number, maxWin: number, maxAck: number, flags: number): void {
    const w = this.windows;
    const ours = w.flags[i];
    if ((ours & WF_KNOWN) === 0) {
      // nothing known here: the peer's values, as a synced record's
      if ((flags & WF_KNOWN) === 0) return;
      w.end[i] = end;
      w.maxEnd[i] = maxEnd;
      w.maxWin[i] = maxWin;
      w.maxAck[i] = maxAck;
      w.flags[i] = (flags & 0xff) | WF_SYNCED;
      return;
    }
    w.flags[i] = ours | WF_SYNCED;
    if ((flags & WF_KNOWN) === 0) return;
    if (seqLt(w.end[i], end)) w.end[i] = end;
    if (seqLt(w.maxEnd[i], maxEnd)) w.maxEnd[i] = maxEnd;
    if (seqLt(w.maxAck[i], maxAck)) w.maxAck[i] = maxAck;
    if (w.maxWin[i] < maxWin) w.maxWin[i] = maxWin;
  }

  /**
   * Every known TCP side marked WF_SYNCED (checked with the synced slack until its next segment
   * here): another box may have forwarded its segments meanwhile. O(sessions ever used), a flag
   * byte per side: for a role change, not for a packet.
   */
  markWindowsSynced(): void {
    const f = this.windows.flags;
    const n = this.highWater * 2;
    for (let i = 0; i < n; i++) if ((f[i] & WF_KNOWN) !== 0) f[i] |= WF_SYNCED;
  }

  /** The session was just replicated (a record built from it went out): its refresh and stride start again. */
  markSynced(slot: number, nowMs: number): void {
    const o = slot << 1;
    this.syncedA[slot] = nowMs;
    this.syncEndA[o] = this.windows.end[o];
    this.syncEndA[o | 1] = this.windows.end[o | 1];
  }

  /** When the session was last replicated (or created). */
  syncedMs(slot: number): number {
    return this.syncedA[slot];
  }

  /** How far direction `dir`'s sequence moved since the session was last replicated (mod 2^32). */
  seqSinceSync(slot: number, dir: number): number {
    const i = (slot << 1) | dir;
    return (this.windows.end[i] - this.syncEndA[i]) >>> 0;
  }

  /** One packet of `bytes` in direction `dir`. */
  count(slot: number, dir: number, bytes: number): void {
    const i = (slot << 1) | dir;
    this.packetsA[i] += 1;
    this.bytesA[i] += bytes;
  }
  packets(slot: number, dir: number): number {
    return this.packetsA[(slot << 1) | dir];
  }
  bytes(slot: number, dir: number): number {
    return this.bytesA[(slot << 1) | dir];
  }

  /**
   * Removes up to `budget` sessions whose expiresMs <= nowMs, calling onExpire(slot) before each
   * removal. Returns how many. Sessions leave in the order of their expiry tick (tickMs); within a
   * tick, in no particular order. onExpire may read the slot but must not create or remove
   * sessions. Time that goes backwards expires nothing new.
   */
  expire(nowMs: number, budget: number, onExpire?: (slot: number) => void): number {
    const nowTick = Math.floor(nowMs / this.tickMs);
    if (this.cursor !== this.cursor) this.cursor = nowTick;
    const slots = this.wheelMask + 1;
    // after a pause longer than a wheel turn every list is due once: visit each a single time
    if (nowTick - this.cursor >= slots) this.cursor = nowTick - slots + 1;
    const head = this.wheelHead;
    const next = this.next;
    const mask = this.wheelMask;
    let done = 0;
    while (this.cursor <= nowTick) {
      const w = this.cursor & mask;
      let s = head[w];
      while (s !== NIL) {
        const nx = next[s];
        const e = this.expiresA[s];
        if (e <= nowMs) {
          if (done >= budget) return done;
          if (onExpire !== undefined) onExpire(s);
          this.remove(s);
          done++;
        } else {
          // pushed back by setExpires() since it was filed: re-file at its real tick
          const t = this.tickFor(e);
          if ((t & mask) !== w) {
            this.wheelUnlink(s);
            this.wheelLink(s, t);
          } else {
            this.tickA[s] = t;
          }
        }
        s = nx;
      }
      // the current tick is not over: sessions may still fall due in it
      if (this.cursor === nowTick) break;
      this.cursor++;
    }
    return done;
  }

  /** Every live slot (operator view, bulk sync), in slot order. fn must not create or remove sessions. */
  forEach(fn: (slot: number) => void): void {
    const used = this.used;
    const n = this.highWater;
    for (let s = 0; s < n; s++) if (used[s] === 1) fn(s);
  }

  // ---- hash index ----

  private indexInsert(h: number, ref: number): void {
    const refs = this.idxRef;
    const mask = this.idxMask;
    let i = h & mask;
    while (refs[i] !== NIL) i = (i + 1) & mask;
    refs[i] = ref;
    this.idxHash[i] = h;
  }

  /** Deletes `ref` by backward shift: later entries of the probe run move up into the hole. */
  private indexDelete(ref: number): void {
    const refs = this.idxRef;
    const hashes = this.idxHash;
    const mask = this.idxMask;
    const h = this.hashOf(ref);
    let i = h & mask;
    while (refs[i] !== ref) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const r = refs[j];
      if (r === NIL) break;
      // the entry at j may fill the hole at i unless its home lies cyclically in (i, j]:
      // its probe distance (j - home) must reach back to i
      if (((j - (hashes[j] & mask)) & mask) >= ((j - i) & mask)) {
        refs[i] = r;
        hashes[i] = hashes[j];
        i = j;
      }
    }
    refs[i] = NIL;
  }

  // ---- timing wheel ----

  /** The tick a session expiring at `ms` is filed under: never before the cursor, at most one turn ahead. */
  private tickFor(ms: number): number {
    const t = Math.floor(ms / this.tickMs);
    const c = this.cursor;
    if (!(t > c)) return c; // also NaN times: due at once
    const last = c + this.wheelMask;
    return t > last ? last : t;
  }

  private wheelLink(slot: number, tick: number): void {
    const w = tick & this.wheelMask;
    const h = this.wheelHead[w];
    this.tickA[slot] = tick;
    this.prev[slot] = NIL;
    this.next[slot] = h;
    if (h !== NIL) this.prev[h] = slot;
    this.wheelHead[w] = slot;
  }

  private wheelUnlink(slot: number): void {
    const p = this.prev[slot];
    const n = this.next[slot];
    if (p === NIL) this.wheelHead[this.tickA[slot] & this.wheelMask] = n;
    else this.next[p] = n;
    if (n !== NIL) this.prev[n] = p;
  }
}
