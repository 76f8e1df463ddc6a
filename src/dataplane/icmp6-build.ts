// ICMPv6 errors the box originates as a router (RFC 4443 3): destination unreachable, packet too
// big (IPv6 routers never fragment: RFC 8200 5), time exceeded, parameter problem; and echo
// replies for the floating addresses (RFC 4443 4.2). Builders write into a caller-owned buffer
// from the offending frame (a validated IPv6 packet at ETH_HLEN); nothing is allocated per packet.
//
//   Ethernet | IPv6 (from -> offending source, hop limit 64) | type code csum | word | as much of the offending packet as fits 1280 bytes
//
// The caller picks the source address and MACs, and rate-limits (icmp-rate.ts, RFC 4443 2.4(f)).
import { checksumUpdate16 } from '../net/checksum.js';
import { readIpv6 } from '../net/ipv6.js';
import { writeEthIp6 } from './frame-build.js';
import { ETH_DST, ETH_HLEN, ETH_SRC, copyMac, isGroupMac, readU16, writeU16, writeU32 } from './packet.js';
import {
  DEFAULT_HOP_LIMIT,
  FRAG6_HLEN,
  ICMP6_CODE,
  ICMP6_CSUM,
  ICMP6_ECHO_REPLY,
  ICMP6_ECHO_REQUEST,
  ICMP6_HLEN,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_PARAM_PROB,
  IP6_DST,
  IP6_HLEN,
  IP6_HLIM,
  IP6_NXT,
  IP6_PLEN,
  IP6_SRC,
  IP6_VTC,
  IPV6_MIN_MTU,
  L4_OFF6,
  ND_REDIRECT,
  NH_AH,
  NH_DSTOPTS,
  NH_FRAGMENT,
  NH_HOPOPTS,
  NH_ICMPV6,
  NH_ROUTING,
  isIcmp6ErrorType,
  isMartianSource6,
  l4ChecksumOk6,
  l4Checksum6,
  FRAG6_OFFLG,
  FRAG6_OFFMASK,
} from './packet6.js';

/** Destination unreachable codes (RFC 4443 3.1). */
export const ICMP6_UNREACH_NOROUTE = 0;
export const ICMP6_UNREACH_ADMIN = 1;
export const ICMP6_UNREACH_ADDR = 3;
export const ICMP6_UNREACH_PORT = 4;
/** Time exceeded codes (RFC 4443 3.3). */
export const ICMP6_TIMXCEED_TRANSIT = 0;
export const ICMP6_TIMXCEED_REASS = 1;
/** Parameter problem codes (RFC 4443 3.4); the pointer is the offset of the fault in the offending packet. */
export const ICMP6_PARAMPROB_HEADER = 0;
export const ICMP6_PARAMPROB_NEXTHEADER = 1;
export const ICMP6_PARAMPROB_OPTION = 2;

/** The longest frame buildIcmp6Error writes: a 1280-byte IPv6 packet (RFC 4443 2.4(c)). */
export const ICMP6_ERROR_MAX_FRAME = ETH_HLEN + IPV6_MIN_MTU;
const MAX_QUOTE = IPV6_MIN_MTU - IP6_HLEN - ICMP6_HLEN;

// the offending packet's source, the error's destination: one scratch for the module (the dataplane is single-threaded)
const to = new Uint32Array(4);

/**
 * ICMPv6 error `type`/`code` from `from` (4 words) to the offending packet's source, quoting as
 * much of the packet as fits a 1280-byte packet (RFC 4443 2.4(c)). `param` is the second word:
 * the MTU of packet too big (3.2), the pointer of parameter problem (3.4), 0 for the others.
 * Returns the frame length, or 0 when no error may be sent (RFC 4443 2.4(e)): the packet is an
 * ICMPv6 error or a redirect (or a later fragment of ICMPv6: its type is not there to see); from
 * an unspecified, loopback, multicast or IPv4-mapped source; to a multicast address, or in a
 * link-layer multicast or broadcast frame, unless the error is packet too big or a parameter
 * problem about an option (2.4(e.3)); or the packet is not a whole IPv6 header, or `out` is short.
 */
export function buildIcmp6Error(
  out: Uint8Array,
  frame: Uint8Array,
  len: number,
  type: number,
  code: number,
  param: number,
  from: ArrayLike<number>,
  srcMac: Uint8Array,
  dstMac: Uint8Array,
): number {
  const quoteLen = quotable6(frame, len, type, code);
  if (quoteLen === 0) return 0;
  const icmpLen = ICMP6_HLEN + quoteLen;
  const outLen = L4_OFF6 + icmpLen;
  if (out.length < outLen) return 0;

  writeEthIp6(out, srcMac, dstMac, NH_ICMPV6, DEFAULT_HOP_LIMIT, from, to, icmpLen);
  const m = L4_OFF6;
  out[m] = type;
  out[m + ICMP6_CODE] = code;
  writeU16(out, m + ICMP6_CSUM, 0);
  writeU32(out, m + 4, param >>> 0);
  for (let i = 0; i < quoteLen; i++) out[m + ICMP6_HLEN + i] = frame[ETH_HLEN + i]; // no subarray view: no allocation
  writeU16(out, m + ICMP6_CSUM, l4Checksum6(out, ETH_HLEN, m, icmpLen, NH_ICMPV6));
  return outLen;
}

/**
 * Bytes of the packet at ETH_HLEN an error quotes; 0 when it may not be answered. Leaves the
 * packet's source in `to` (the error's destination).
 */
function quotable6(frame: Uint8Array, len: number, type: number, code: number): number {
  if (len < L4_OFF6 || frame[IP6_VTC] >>> 4 !== 6) return 0;
  const end = L4_OFF6 + readU16(frame, IP6_PLEN);
  if (end > len) return 0;
  readIpv6(frame, IP6_SRC, to);
  if (isMartianSource6(to)) return 0;
  const toGroup = frame[IP6_DST] === 0xff || isGroupMac(frame, ETH_DST);
  if (toGroup && type !== ICMP6_PACKET_TOO_BIG && !(type === ICMP6_PARAM_PROB && code === ICMP6_PARAMPROB_OPTION)) return 0;
  if (isIcmp6ErrorOrRedirect(frame, end)) return 0;
  return Math.min(end - ETH_HLEN, MAX_QUOTE);
}

/**
 * The packet's upper layer is an ICMPv6 error or redirect (RFC 4443 2.4(e.1), (e.2)), or may be:
 * ICMPv6 in a later fragment, or too short to show its type. The extension headers are skipped
 * without the walk's policy (a packet walkIpv6 drops may still be answered, as Linux's
 * is_ineligible does); one whose headers cannot be skipped is not ICMPv6 as far as we can see.
 */
function isIcmp6ErrorOrRedirect(frame: Uint8Array, end: number): boolean {
  let nh = frame[IP6_NXT];
  let off = L4_OFF6;
  for (let i = 0; i < 16; i++) {
    if (nh === NH_ICMPV6) return off >= end || isIcmp6ErrorType(frame[off]) || frame[off] === ND_REDIRECT;
    if (off + 2 > end) return false;
    if (nh === NH_FRAGMENT) {
      if (off + FRAG6_HLEN > end) return false;
      if ((readU16(frame, off + FRAG6_OFFLG) & FRAG6_OFFMASK) !== 0) return frame[off] === NH_ICMPV6;
      nh = frame[off];
      off += FRAG6_HLEN;
    } else if (nh === NH_HOPOPTS || nh === NH_ROUTING || nh === NH_DSTOPTS || nh === NH_AH) {
      const next = frame[off];
      off += nh === NH_AH ? (frame[off + 1] + 2) * 4 : (frame[off + 1] + 1) * 8;
      nh = next;
    } else return false;
  }
  return false;
}

/**
 * Rewrites the echo request in `frame` (an IPv6 packet at ETH_HLEN, ICMPv6 right after the
 * header, validated) into its reply from `mac` (RFC 4443 4.2): MACs and addresses swapped, hop
 * limit 64, type 129, the checksum updated (swapping the addresses leaves the pseudo-header sum
 * as it was). 'icmp-bad' (frame untouched) when the message is short, is no echo request, fails
 * its checksum, or was sent to a multicast address (the reply would come from it); null when done.
 */
export function echoReply6InPlace(frame: Uint8Array, mac: Uint8Array): 'icmp-bad' | null {
  const icmpLen = readU16(frame, IP6_PLEN);
  if (frame[IP6_NXT] !== NH_ICMPV6 || icmpLen < ICMP6_HLEN) return 'icmp-bad';
  if (frame[L4_OFF6] !== ICMP6_ECHO_REQUEST || frame[L4_OFF6 + ICMP6_CODE] !== 0) return 'icmp-bad';
  if (frame[IP6_DST] === 0xff || !l4ChecksumOk6(frame, ETH_HLEN, L4_OFF6, icmpLen, NH_ICMPV6)) return 'icmp-bad';

  copyMac(frame, ETH_DST, frame, ETH_SRC);
  copyMac(frame, ETH_SRC, mac);
  for (let i = 0; i < 16; i++) {
    const b = frame[IP6_SRC + i];
    frame[IP6_SRC + i] = frame[IP6_DST + i];
    frame[IP6_DST + i] = b;
  }
  frame[IP6_HLIM] = DEFAULT_HOP_LIMIT;
  frame[L4_OFF6] = ICMP6_ECHO_REPLY;
  const csum = readU16(frame, L4_OFF6 + ICMP6_CSUM);
  writeU16(frame, L4_OFF6 + ICMP6_CSUM, checksumUpdate16(csum, ICMP6_ECHO_REQUEST << 8, ICMP6_ECHO_REPLY << 8));
  return null;
}
