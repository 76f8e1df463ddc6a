// ICMP errors the box originates as a router (RFC 1812 4.3.2): destination unreachable (a policy
// reject: reject.ts; fragmentation needed) and time exceeded. One builder for all of them, into a
// caller-owned buffer (no allocation), from the offending frame (a validated IPv4 packet at
// ETH_HLEN). The caller picks the source address and MACs, and rate-limits (icmp-rate.ts).
//
//   Ethernet | IPv4 (from -> offending source, TTL 64) | type code csum | word 2 | offending IP header + 8 bytes
//
// Word 2 is unused (0) but for fragmentation needed, where its low 16 bits carry the next-hop MTU
// (RFC 1191 section 4). The quote is the header (options included) and the first 8 bytes of the
// payload, what RFC 792 requires and every host matches on; RFC 1812 4.3.2.3 allows more, which
// nothing here needs.
import { checksum } from '../net/checksum.js';
import { padFrame, writeEthIp } from './frame-build.js';
import {
  ETH_DST,
  ETH_HLEN,
  ETH_MIN_FRAME,
  ICMP_CODE,
  ICMP_CSUM,
  ICMP_DEST_UNREACH,
  ICMP_HLEN,
  ICMP_QUOTE_L4_BYTES,
  IP_HLEN,
  IP_OFFMASK,
  IPH_DST,
  IPH_FRAG,
  IPH_PROTO,
  IPH_SRC,
  IPH_TOTLEN,
  IPPROTO_ICMP,
  ipv4HeaderAt,
  isGroupMac,
  isIcmpErrorType,
  isMartianSource,
  isNonUnicastDestination,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from './packet.js';

/** Destination unreachable, code 4: fragmentation needed and DF set (RFC 792; next-hop MTU: RFC 1191). */
export const ICMP_UNREACH_NEEDFRAG = 4;
/** Destination unreachable, code 13: communication administratively prohibited (RFC 1812 5.2.7.1). */
export const ICMP_UNREACH_ADMIN_PROHIBITED = 13;
/** Time exceeded, code 0: time to live exceeded in transit (RFC 792). */
export const ICMP_TIMXCEED_INTRANS = 0;
/** Time exceeded code: fragment reassembly time exceeded (RFC 792). */
export const ICMP_TIMXCEED_REASS = 1;

/** The longest frame buildIcmpError writes: a 60-byte quoted header (options) + 8 bytes. */
export const ICMP_ERROR_MAX_FRAME = ETH_HLEN + IP_HLEN + ICMP_HLEN + 60 + ICMP_QUOTE_L4_BYTES;

/**
 * ICMP error `type`/`code` from `fromIp` to the offending packet's source, quoting its IP header
 * and the first 8 bytes of its payload (fewer when the packet is shorter; RFC 792). `nextHopMtu`
 * goes into the low 16 bits of the second word for fragmentation needed (RFC 1191), 0 otherwise.
 * Returns the frame length (padded to the Ethernet minimum), or 0 when no error may be sent
 * (RFC 1812 4.3.2.7, RFC 1122 3.2.2): the packet is an ICMP error, a fragment other than the
 * first, from a martian source, to a non-unicast destination, or came in a link-layer broadcast
 * or multicast frame; or it is truncated, or `out` is too small.
 */
export function buildIcmpError(
  out: Uint8Array,
  frame: Uint8Array,
  len: number,
  type: number,
  code: number,
  nextHopMtu: number,
  fromIp: number,
  srcMac: Uint8Array,
  dstMac: Uint8Array,
): number {
  const quoteLen = quotable(frame, len);
  if (quoteLen === 0) return 0;
  const icmpLen = ICMP_HLEN + quoteLen;
  const outLen = ETH_HLEN + IP_HLEN + icmpLen;
  if (out.length < Math.max(outLen, ETH_MIN_FRAME)) return 0;

  writeEthIp(out, srcMac, dstMac, IPPROTO_ICMP, fromIp >>> 0, readU32(frame, ETH_HLEN + IPH_SRC), IP_HLEN + icmpLen);
  const m = ETH_HLEN + IP_HLEN;
  out[m] = type;
  out[m + ICMP_CODE] = code;
  writeU16(out, m + ICMP_CSUM, 0);
  const needFrag = type === ICMP_DEST_UNREACH && code === ICMP_UNREACH_NEEDFRAG;
  writeU32(out, m + 4, needFrag ? nextHopMtu & 0xffff : 0);
  for (let i = 0; i < quoteLen; i++) out[m + ICMP_HLEN + i] = frame[ETH_HLEN + i]; // no subarray view: no allocation
  writeU16(out, m + ICMP_CSUM, checksum(out, m, icmpLen));
  return padFrame(out, outLen);
}

/** How many bytes of the packet at ETH_HLEN an error quotes; 0 when it may not be answered at all. */
function quotable(frame: Uint8Array, len: number): number {
  const l3 = ETH_HLEN;
  const ihl = ipv4HeaderAt(frame, l3, len);
  if (ihl === 0 || isGroupMac(frame, ETH_DST)) return 0;
  if ((readU16(frame, l3 + IPH_FRAG) & IP_OFFMASK) !== 0) return 0;
  if (isMartianSource(readU32(frame, l3 + IPH_SRC)) || isNonUnicastDestination(readU32(frame, l3 + IPH_DST))) return 0;
  const totalLen = readU16(frame, l3 + IPH_TOTLEN);
  // an ICMP packet too short to show its type could be an error: stay silent
  if (frame[l3 + IPH_PROTO] === IPPROTO_ICMP && (totalLen - ihl < 1 || isIcmpErrorType(frame[l3 + ihl]))) return 0;
  return ihl + Math.min(ICMP_QUOTE_L4_BYTES, totalLen - ihl);
}
