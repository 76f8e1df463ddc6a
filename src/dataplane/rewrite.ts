// NAT rewrite in place: a new source or destination (address, port) with every checksum updated
// incrementally (RFC 1624 eqn. 3), never recomputed, so the cost does not grow with the payload.
//
// What a change touches:
//   address  IPv4 header checksum, and the TCP/UDP checksum (the pseudo-header holds the
//            addresses: RFC 9293 3.1, RFC 768); not ICMP's (no pseudo-header, RFC 792)
//   port     the TCP/UDP checksum; for ICMP echo the identifier, in the ICMP checksum
// ICMP echo "ports" follow the session table's convention (packet.ts readFlowPorts): the
// identifier sits on the requester's side of the tuple, so a request is (identifier, 0) and a
// reply (0, identifier); a source rewrite changes the identifier of a request, a destination
// rewrite that of a reply. UDP: a checksum of 0 means "none" and stays 0; a computed 0 is sent as
// 0xffff (RFC 768).
//
// All the word changes for one checksum are summed before one fold, so the answer equals a full
// recomputation over the new bytes.
import { applyDelta, delta16, delta32 } from '../net/checksum.js';
import {
  ICMP_CSUM,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_ID,
  IPH_CSUM,
  IPH_DST,
  IPH_SRC,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  L4_DPORT,
  L4_SPORT,
  TCP_CSUM,
  UDP_CSUM,
  ipHeaderLen,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from './packet.js';

/**
 * Replaces the address at `l3 + addrOff` (IPH_SRC or IPH_DST) of the IPv4 packet at l3, fixing the
 * header checksum. Returns the change as checksum terms, for an L4 checksum that covers the
 * address too (the TCP/UDP pseudo-header).
 */
export function rewriteAddress(frame: Uint8Array, l3: number, addrOff: number, ip: number): number {
  ip >>>= 0;
  const addrDelta = delta32(readU32(frame, l3 + addrOff), ip);
  writeU32(frame, l3 + addrOff, ip);
  writeU16(frame, l3 + IPH_CSUM, applyDelta(readU16(frame, l3 + IPH_CSUM), addrDelta));
  return addrDelta;
}

/**
 * Rewrites the address at addrOff (IPH_SRC, IPH_DST) and the L4 port at portOff (L4_SPORT,
 * L4_DPORT) of the packet at l3. port < 0 keeps the port.
 */
function rewrite(frame: Uint8Array, l3: number, proto: number, addrOff: number, portOff: number, echoType: number, ip: number, port: number): void {
  const l4 = l3 + ipHeaderLen(frame, l3);
  const addrDelta = rewriteAddress(frame, l3, addrOff, ip);

  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    let sum = addrDelta;
    if (port >= 0) {
      sum += delta16(readU16(frame, l4 + portOff), port);
      writeU16(frame, l4 + portOff, port);
    }
    if (proto === IPPROTO_TCP) {
      writeU16(frame, l4 + TCP_CSUM, applyDelta(readU16(frame, l4 + TCP_CSUM), sum));
    } else {
      const c = readU16(frame, l4 + UDP_CSUM);
      if (c !== 0) {
        const n = applyDelta(c, sum);
        writeU16(frame, l4 + UDP_CSUM, n === 0 ? 0xffff : n);
      }
    }
  } else if (proto === IPPROTO_ICMP && port >= 0 && frame[l4] === echoType) {
    rewriteIcmpId(frame, l4, port);
  }
}

/** Replaces the identifier of the ICMP echo at l4, fixing the ICMP checksum (which covers no pseudo-header). */
export function rewriteIcmpId(frame: Uint8Array, l4: number, id: number): void {
  const oldId = readU16(frame, l4 + ICMP_ID);
  writeU16(frame, l4 + ICMP_ID, id);
  writeU16(frame, l4 + ICMP_CSUM, applyDelta(readU16(frame, l4 + ICMP_CSUM), delta16(oldId, id)));
}

/**
 * New source address and port of the IPv4 packet at l3, in place, checksums updated. port < 0
 * keeps the port. For an ICMP echo request the source "port" is the identifier; other ICMP
 * messages (replies included: their source port is 0) change only their address.
 */
export function rewriteSource(frame: Uint8Array, l3: number, proto: number, ip: number, port: number): void {
  rewrite(frame, l3, proto, IPH_SRC, L4_SPORT, ICMP_ECHO_REQUEST, ip, port);
}

/**
 * New destination address and port, in place, checksums updated. port < 0 keeps the port. For an
 * ICMP echo reply the destination "port" is the identifier (a reply to a source-NATed request gets
 * its inside identifier back this way); other ICMP messages change only their address.
 */
export function rewriteDestination(frame: Uint8Array, l3: number, proto: number, ip: number, port: number): void {
  rewrite(frame, l3, proto, IPH_DST, L4_DPORT, ICMP_ECHO_REPLY, ip, port);
}
