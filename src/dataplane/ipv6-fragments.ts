// IPv6 fragments on the packet path (ipv6-path.ts calls these), as Linux's nf_defrag_ipv6 and pf
// do: the firewall decides on the whole datagram (reassembly6.ts), so a later fragment, without
// ports, cannot slip past a rule (RFC 8200 4.5, RFC 5722, RFC 7112); but an IPv6 router never
// fragments, so what leaves is the ORIGINAL fragments, each forwarded as it came (hop limit
// decremented, MACs rewritten, packet too big when one is larger than the egress MTU), once the
// reassembled datagram was allowed. A datagram is counted once (forwarded, dropped, ...), each
// fragment that leaves as tx.
//
// The pair itself is a host for its floating addresses: the reply to an echo request that came
// in fragments is as long as the request, so it leaves in fragments of the ingress MTU
// (sendFragmented: RFC 8200 4.5 lets a source fragment), with an unpredictable identification
// (RFC 7739).
import type { DropReason, EventCounter } from '../wire/dataplane-counters.js';
import type { ReassemblyLimits } from './frag-table.js';
import { ETH_HLEN, writeU16, writeU32 } from './packet.js';
import { FRAG6_HLEN, frag6More, IP6_HLEN, IP6_NXT, IP6_PLEN, L4_OFF6, NH_FRAGMENT, type Ipv6Walk, type Ipv6WalkDrop } from './packet6.js';
import { RA_DONE, RA_DUPLICATE, RA_HELD, Reassembler6 } from './reassembly6.js';

/** What the fragments need of the IPv6 path's host (ipv6-path.ts Ipv6Host). */
export interface Fragments6Host {
  drop(reason: DropReason): void;
  event(name: EventCounter): void;
  /** Sends and counts (tx or send-failed). */
  emit(ifIndex: number, frame: Uint8Array, len: number): boolean;
}

/**
 * Why the walk of a packet (walkIpv6) dropped it, as counted: a first fragment (M set) whose
 * header chain runs past its end does not hold the upper-layer header: 'frag-tiny' (RFC 7112).
 * The walk passed its fragment header (fragOff is set) and went on: its offset is 0.
 */
export function walkDrop6(frame: Uint8Array, drop: Ipv6WalkDrop, w: Ipv6Walk): DropReason {
  return drop === 'truncated' && w.fragOff >= 0 && frag6More(frame, w.fragOff) ? 'frag-tiny' : drop;
}

export class Fragments6 {
  readonly reassembler: Reassembler6;
  /**
   * While the path decides a reassembled datagram: its fragments as they came, which leave in its
   * place (ipv6-path.ts forward); null otherwise.
   */
  originals: Uint8Array[] | null = null;
  private tx = new Uint8Array(ETH_HLEN + 1500);
  private nextId = (Math.random() * 0x100000000) >>> 0;
  private readonly onTimeoutCb: (frame: Uint8Array, len: number, ingress: number, first: boolean) => void;
  private onTimeout: (frame: Uint8Array, len: number, ingress: number) => void = () => {};

  constructor(
    private readonly host: Fragments6Host,
    limits?: Partial<ReassemblyLimits>,
  ) {
    this.reassembler = new Reassembler6(limits);
    this.onTimeoutCb = (frame, len, ingress, first) => {
      this.host.drop('frag-timeout');
      if (first) this.onTimeout(frame, len, ingress);
    };
  }

  /**
   * A fragment (reassembly6.ts isFragment6) whose headers `w` walked: held, a duplicate, or
   * dropped with its datagram (each counted), or the last piece: the reassembled packet (a frame
   * of reassembler.outLen bytes, from reassembler.outIngress with outFlags; its fragments in
   * outFragments). `flags`: the HA3 flags of a fragment the peer carried here, -1 for our own.
   */
  push(ingress: number, frame: Uint8Array, w: Ipv6Walk, nowMs: number, flags = -1): Uint8Array | null {
    const host = this.host;
    const ra = this.reassembler;
    const r = ra.push(frame, w, ingress, nowMs, flags);
    // a datagram held was given up for this one's room (an event: this frame has its own outcome)
    if (ra.evicted !== null) host.event(ra.evicted);
    if (r === RA_HELD) return (host.event('fragment-held'), null);
    if (r === RA_DUPLICATE) return (host.event('fragment-duplicate'), null);
    if (r !== RA_DONE) return (host.drop(ra.reason), null);
    host.event('reassembled');
    return ra.out;
  }

  /**
   * Datagrams whose 60 s ran out, each counted frag-timeout; `onTimeout` gets those whose first
   * fragment had arrived (a copy of it and its interface), for time exceeded, code 1, to their
   * source (RFC 8200 4.5).
   */
  tick(nowMs: number, onTimeout: (frame: Uint8Array, len: number, ingress: number) => void): void {
    if (this.reassembler.inFlight === 0) return;
    this.onTimeout = onTimeout;
    this.reassembler.expire(nowMs, this.onTimeoutCb);
  }

  /**
   * The box's own packet `frame` (an IPv6 header and the upper layer, no extension headers: an
   * echo reply) longer than `mtu`, sent on `ifIndex` in fragments that fit it, each counted tx
   * (or send-failed), the packet 'fragmented'. False when one was refused (the rest not sent).
   */
  sendFragmented(ifIndex: number, frame: Uint8Array, len: number, mtu: number): boolean {
    const step = (mtu - IP6_HLEN - FRAG6_HLEN) & ~7;
    if (step <= 0) return false;
    if (this.tx.length < ETH_HLEN + mtu) this.tx = new Uint8Array(ETH_HLEN + mtu);
    const tx = this.tx;
    const plen = len - L4_OFF6;
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    for (let off = 0; off < plen; off += step) {
      const n = Math.min(step, plen - off);
      tx.set(frame.subarray(0, L4_OFF6), 0);
      tx[IP6_NXT] = NH_FRAGMENT;
      writeU16(tx, IP6_PLEN, FRAG6_HLEN + n);
      const fh = L4_OFF6;
      tx[fh] = frame[IP6_NXT];
      tx[fh + 1] = 0;
      writeU16(tx, fh + 2, off | (off + n < plen ? 1 : 0));
      writeU32(tx, fh + 4, id);
      tx.set(frame.subarray(L4_OFF6 + off, L4_OFF6 + off + n), fh + FRAG6_HLEN);
      if (!this.host.emit(ifIndex, tx, fh + FRAG6_HLEN + n)) return false;
    }
    this.host.event('fragmented');
    return true;
  }
}
