// Sends the ICMP errors the box originates as a router (RFC 1812 4.3.2): time exceeded when a
// packet's TTL runs out here, fragmentation needed when a DF packet is larger than the egress
// MTU. The answer goes back out of the interface the packet came in on, to the MAC it came from
// (the sender, or the router before us), as reject answers do: no route lookup, no ARP. The
// caller (the pipeline) picks the source address and MAC; this builds (icmp-error-build.ts, which
// refuses what must never be answered), rate-limits (icmp-rate.ts) and counts.
//
// Counted as events, never as the packet's outcome (that is its drop reason, ttl-exceeded or
// oversize): icmp-error-sent, icmp-error-rate-limited, and tx or tx-refused for the frame.
import type { EventCounter } from '../wire/dataplane-counters.js';
import { ICMP_ERROR_MAX_FRAME, buildIcmpError } from './icmp-error-build.js';
import type { IcmpRateLimiter } from './icmp-rate.js';
import { ETH_SRC, IP_DST, copyMac, readU32 } from './packet.js';

export class IcmpErrorSender {
  /** The error being sent (reused: no allocation per error). */
  private readonly tx = new Uint8Array(ICMP_ERROR_MAX_FRAME + 64);
  /** The offending frame's source MAC, copied: a subarray view would allocate. */
  private readonly peerMac = new Uint8Array(6);

  constructor(
    readonly limiter: IcmpRateLimiter,
    private readonly send: (ifIndex: number, frame: Uint8Array, len: number) => boolean,
    private readonly event: (name: EventCounter) => void,
  ) {}

  /**
   * Answers the packet in `frame` (arrived on `ingress`) with ICMP `type`/`code` from `fromIp`
   * and `fromMac`. False when nothing was sent: not to be answered, rate-limited, or refused by
   * the device.
   */
  answer(
    ingress: number,
    frame: Uint8Array,
    len: number,
    type: number,
    code: number,
    nextHopMtu: number,
    fromIp: number,
    fromMac: Uint8Array,
    nowMs: number,
  ): boolean {
    copyMac(this.peerMac, 0, frame, ETH_SRC);
    const n = buildIcmpError(this.tx, frame, len, type, code, nextHopMtu, fromIp, fromMac, this.peerMac);
    if (n === 0) return false;
    // the error's destination is the offending packet's source: the bucket is that host's
    if (!this.limiter.allow(readU32(this.tx, IP_DST), nowMs)) {
      this.event('icmp-error-rate-limited');
      return false;
    }
    if (!this.send(ingress, this.tx, n)) {
      this.event('tx-refused');
      return false;
    }
    this.event('tx');
    this.event('icmp-error-sent');
    return true;
  }
}
