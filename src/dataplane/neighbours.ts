// The ARP table of one interface: learned neighbours with expiry, and for next hops not yet
// resolved a bounded queue of frames waiting for the answer (RFC 1122 2.3.2.2: "SHOULD save at
// least one (the latest) packet"), with request retry and a timeout. Pure: time is an argument,
// requests and timeouts are reported through callbacks; the engine sends.
//
// The same table serves IPv6 neighbour discovery (RFC 4861 7.3: reachable, probe, incomplete with
// a bounded queue): keyed by an IPv4 address as a number (the default), or by an IPv6 address as
// the string of ipv6Key (src/net/ipv6.ts); `NeighbourTable<string>` for IPv6. The key is only
// compared and hashed by the Map, so the IPv4 path is the same code as before.
import { copyMac } from './packet.js';

export interface NeighbourOptions {
  /** An entry is used for this long after it was last learned or refreshed. */
  reachableMs: number;
  /** After this age, a lookup that hits the entry asks for a refresh request (entry still used). */
  refreshMs: number;
  /** Interval between ARP requests for an unresolved next hop (and the rate limit per address). */
  retryMs: number;
  /** Requests sent for an unresolved next hop before its queued frames are dropped ('arp-timeout'). */
  maxRequests: number;
  /** Frames queued per unresolved next hop; beyond it, new frames are dropped ('arp-queue-full'). */
  queuePerHop: number;
  /** Unresolved next hops tracked at once; beyond it, frames to new ones are dropped ('arp-queue-full'). */
  maxPending: number;
  /** Learned entries at most; when full, only existing entries are refreshed. */
  maxEntries: number;
}

/**
 * Defaults close to Linux's neighbour subsystem (base_reachable_time 30 s, retrans_time 1 s,
 * mcast_solicit 3, unres_qlen_bytes ~ 200 KB) but quicker to retry: a firewall's next hop that
 * does not answer in ~1 s is better reported than waited on.
 */
export const DEFAULT_NEIGHBOUR_OPTIONS: NeighbourOptions = {
  reachableMs: 60_000,
  refreshMs: 30_000,
  retryMs: 250,
  maxRequests: 4,
  queuePerHop: 32,
  maxPending: 256,
  maxEntries: 8192,
};

/** A neighbour's key: an IPv4 address as a number, or an IPv6 address as its ipv6Key string. */
export type NeighbourKey = number | string;

export interface Neighbour<K extends NeighbourKey = number> {
  readonly ip: K;
  readonly mac: Uint8Array;
  /** When last learned or refreshed. */
  updatedMs: number;
  /** When we last sent a refresh request for it. */
  probedMs: number;
}

export interface PendingHop<K extends NeighbourKey = number> {
  readonly ip: K;
  /** Copies of the frames waiting, each exactly as long as the frame. */
  readonly frames: Uint8Array[];
  readonly firstMs: number;
  lastRequestMs: number;
  requests: number;
}

export type EnqueueResult = 'request' | 'queued' | 'arp-queue-full';

export class NeighbourTable<K extends NeighbourKey = number> {
  readonly opts: NeighbourOptions;
  private readonly entries = new Map<K, Neighbour<K>>();
  private readonly pending = new Map<K, PendingHop<K>>();
  private lastSweepMs = 0;
  /** New neighbours not learned because the table was full (the caller counts them). */
  refused = 0;

  constructor(opts: Partial<NeighbourOptions> = {}) {
    this.opts = { ...DEFAULT_NEIGHBOUR_OPTIONS, ...opts };
  }

  /** The usable entry for `ip`, or null (unknown or expired). Does not allocate. */
  lookup(ip: K, nowMs: number): Neighbour<K> | null {
    const e = this.entries.get(ip);
    if (e === undefined) return null;
    if (nowMs - e.updatedMs >= this.opts.reachableMs) return null;
    return e;
  }

  /**
   * True when `entry` is old enough to be re-confirmed and no refresh request went out in the
   * last retryMs; marks it probed, so the caller sends one request.
   */
  wantsRefresh(entry: Neighbour<K>, nowMs: number): boolean {
    if (nowMs - entry.updatedMs < this.opts.refreshMs) return false;
    if (nowMs - entry.probedMs < this.opts.retryMs) return false;
    entry.probedMs = nowMs;
    return true;
  }

  /**
   * Records `ip` at the MAC at `buf[off..off+6]`. Returns the frames that were waiting for it
   * (the caller fills in the destination MAC and sends them), or null. Returns null, learning
   * nothing, when the table is full and `ip` is new.
   */
  learn(ip: K, buf: Uint8Array, off: number, nowMs: number): Uint8Array[] | null {
    let e = this.entries.get(ip);
    if (e === undefined) {
      if (this.entries.size >= this.opts.maxEntries) {
        this.sweep(nowMs, true);
        if (this.entries.size >= this.opts.maxEntries) {
          this.refused++;
          return null;
        }
      }
      e = { ip, mac: new Uint8Array(6), updatedMs: nowMs, probedMs: -Infinity };
      this.entries.set(ip, e);
    }
    copyMac(e.mac, 0, buf, off);
    e.updatedMs = nowMs;
    const p = this.pending.get(ip);
    if (p === undefined) return null;
    this.pending.delete(ip);
    return p.frames;
  }

  /**
   * Queues a copy of `frame[0..len]` for the unresolved next hop `ip`. 'request': the hop is new
   * and the caller sends an ARP request now; 'queued': a request is already outstanding;
   * 'arp-queue-full': dropped (queue or pending table full).
   */
  enqueue(ip: K, frame: Uint8Array, len: number, nowMs: number): EnqueueResult {
    let p = this.pending.get(ip);
    if (p === undefined) {
      if (this.pending.size >= this.opts.maxPending) return 'arp-queue-full';
      p = { ip, frames: [copyFrame(frame, len)], firstMs: nowMs, lastRequestMs: nowMs, requests: 1 };
      this.pending.set(ip, p);
      return 'request';
    }
    if (p.frames.length >= this.opts.queuePerHop) return 'arp-queue-full';
    p.frames.push(copyFrame(frame, len));
    return 'queued';
  }

  /**
   * Advances time: re-requests unresolved hops every retryMs, and after maxRequests requests
   * drops their frames (onTimeout gets the count). Expired entries are swept once a second.
   */
  tick(nowMs: number, onRequest: (ip: K) => void, onTimeout: (ip: K, frames: number) => void): void {
    if (this.pending.size > 0) {
      for (const p of this.pending.values()) {
        if (nowMs - p.lastRequestMs < this.opts.retryMs) continue;
        if (p.requests >= this.opts.maxRequests) {
          this.pending.delete(p.ip);
          onTimeout(p.ip, p.frames.length);
          continue;
        }
        p.requests++;
        p.lastRequestMs = nowMs;
        onRequest(p.ip);
      }
    }
    if (nowMs - this.lastSweepMs >= 1000) this.sweep(nowMs, false);
  }

  private sweep(nowMs: number, force: boolean): void {
    if (!force) this.lastSweepMs = nowMs;
    for (const [ip, e] of this.entries) {
      if (nowMs - e.updatedMs >= this.opts.reachableMs) this.entries.delete(ip);
    }
  }

  /** A frame waits for `ip` to be resolved (a request is out for it). */
  isPending(ip: K): boolean {
    return this.pending.has(ip);
  }

  /** Forgets every entry and pending hop (frames dropped without counting: the caller counts). */
  clear(): number {
    let dropped = 0;
    for (const p of this.pending.values()) dropped += p.frames.length;
    this.entries.clear();
    this.pending.clear();
    return dropped;
  }

  /** For status: entries still usable, with their age. */
  snapshot(nowMs: number): { ip: K; mac: Uint8Array; ageMs: number }[] {
    const out: { ip: K; mac: Uint8Array; ageMs: number }[] = [];
    for (const e of this.entries.values()) {
      const ageMs = nowMs - e.updatedMs;
      if (ageMs < this.opts.reachableMs) out.push({ ip: e.ip, mac: e.mac, ageMs });
    }
    return out;
  }

  /** For status: unresolved next hops. */
  pendingSnapshot(nowMs: number): { ip: K; queued: number; requests: number; waitingMs: number }[] {
    return [...this.pending.values()].map((p) => ({
      ip: p.ip,
      queued: p.frames.length,
      requests: p.requests,
      waitingMs: nowMs - p.firstMs,
    }));
  }

  get size(): number {
    return this.entries.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}

/**
 * A copy of frame[0..len]. Not `frame.slice()`: on a Buffer (the capture buffer) slice() is a
 * view of the same memory, which the next captured frame overwrites.
 */
function copyFrame(frame: Uint8Array, len: number): Uint8Array {
  const copy = new Uint8Array(len);
  copy.set(frame.subarray(0, len));
  return copy;
}
