// IPv6 (RFC 8200) and ICMPv6 (RFC 4443) as the packet path reads them: offset constants and
// allocation-free readers over a frame, like packet.ts for IPv4. Offsets named IP6H_* are relative
// to the IPv6 header; IP6_* are absolute within a frame (Ethernet header at 0, no VLAN tag). The
// extension header walk (walkIpv6) finds the upper layer under the limits a firewall sets.
import { checksum, sum16 } from '../net/checksum.js';
import { isLinkLocal6, isLoopback6, isMulticast6, isUnspecified6 } from '../net/ipv6.js';
import {
  ETH_HLEN,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  L4_DPORT,
  L4_SPORT,
  TCP_CSUM,
  TCP_HLEN,
  UDP_CSUM,
  UDP_HLEN,
  readU16,
  writeU16,
  type FlowPorts,
} from './packet.js';

export const ETHERTYPE_IPV6 = 0x86dd;

/** IPv6 header fields (RFC 8200 section 3), offsets from the start of the IPv6 header. */
export const IP6H_VTC = 0; //   version (4 bits), traffic class (8), flow label (20)
export const IP6H_PLEN = 4; //  payload length: the bytes after this 40-byte header
export const IP6H_NXT = 6; //   next header
export const IP6H_HLIM = 7; //  hop limit
export const IP6H_SRC = 8; //   source and destination lie side by side: the pseudo-header sums them in one run
export const IP6H_DST = 24;
export const IP6_HLEN = 40;

/** The IPv6 fields of a frame (the header right after the Ethernet header). */
export const IP6_VTC = ETH_HLEN + IP6H_VTC;
export const IP6_PLEN = ETH_HLEN + IP6H_PLEN;
export const IP6_NXT = ETH_HLEN + IP6H_NXT;
export const IP6_HLIM = ETH_HLEN + IP6H_HLIM;
export const IP6_SRC = ETH_HLEN + IP6H_SRC;
export const IP6_DST = ETH_HLEN + IP6H_DST;
/** First byte after the IPv6 header (the first extension header, or the upper layer). */
export const L4_OFF6 = ETH_HLEN + IP6_HLEN;

/** Minimum link MTU of IPv6 (RFC 8200 section 5): ICMPv6 errors fit a packet this long (RFC 4443 2.4(c)). */
export const IPV6_MIN_MTU = 1280;

/** Next header values (IANA protocol numbers; RFC 8200 4, RFC 7045 the list of extension headers). */
export const NH_HOPOPTS = 0;
export const NH_TCP = IPPROTO_TCP;
export const NH_UDP = IPPROTO_UDP;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_ESP = 50;
export const NH_AH = 51;
export const NH_ICMPV6 = IPPROTO_ICMPV6;
export const NH_NONE = 59;
export const NH_DSTOPTS = 60;
export const NH_MOBILITY = 135;

/** ICMPv6 header (RFC 4443 2.1): type, code, checksum, then a word that depends on the type. */
export const ICMP6_HLEN = 8;
export const ICMP6_CODE = 1;
export const ICMP6_CSUM = 2;
/** Echo identifier and sequence (RFC 4443 4.1); the MTU of packet too big, the pointer of parameter problem. */
export const ICMP6_ID = 4;
export const ICMP6_SEQ = 6;
export const ICMP6_PARAM = 4;

/** ICMPv6 types (RFC 4443; 133-137 RFC 4861). */
export const ICMP6_DST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAM_PROB = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_REDIRECT = 137;

/** Hop limit of packets the box originates (errors, echo replies), as Linux's hop_limit default. */
export const DEFAULT_HOP_LIMIT = 64;

/**
 * Validates the IPv6 header of an Ethernet frame of `len` bytes (EtherType already checked), like
 * validateIpv4: 'truncated' when the frame is shorter than the header, 'bad-ip6-header' for a
 * version other than 6 or a payload length past the frame (Ethernet padding after it is allowed).
 * There is no header checksum in IPv6 (RFC 8200 3). Extension headers: walkIpv6.
 */
export function validateIpv6(frame: Uint8Array, len: number): 'truncated' | 'bad-ip6-header' | null {
  if (len < L4_OFF6) return 'truncated';
  if (frame[IP6_VTC] >>> 4 !== 6) return 'bad-ip6-header';
  if (readU16(frame, IP6_PLEN) > len - L4_OFF6) return 'bad-ip6-header';
  return null;
}

/** End (offset in the frame) of the IPv6 packet at `l3`: its payload length after the 40-byte header. */
export function ipv6End(frame: Uint8Array, l3: number): number {
  return l3 + IP6_HLEN + readU16(frame, l3 + IP6H_PLEN);
}

/** One of the four ICMPv6 error types (RFC 4443 2.1: types 0-127 are errors; these are the defined ones). */
export function isIcmp6ErrorType(type: number): boolean {
  return type >= ICMP6_DST_UNREACH && type <= ICMP6_PARAM_PROB;
}

/** Shortest upper-layer header the packet path reads: TCP 20, UDP 8, ICMPv6 8; 0 for others. */
export function l4MinLen6(proto: number): number {
  return proto === NH_TCP ? TCP_HLEN : proto === NH_UDP ? UDP_HLEN : proto === NH_ICMPV6 ? ICMP6_HLEN : 0;
}

/**
 * The ports of the upper-layer header at `l4` as the session table keys a flow, like readFlowPorts
 * (packet.ts): TCP and UDP ports; an ICMPv6 echo request (identifier, 0), a reply (0, identifier).
 * False, `out` untouched, for other messages and protocols. The header must be there (l4MinLen6).
 */
export function readFlowPorts6(frame: Uint8Array, l4: number, proto: number, out: FlowPorts): boolean {
  if (proto === NH_TCP || proto === NH_UDP) {
    out.srcPort = readU16(frame, l4 + L4_SPORT);
    out.dstPort = readU16(frame, l4 + L4_DPORT);
    return true;
  }
  if (proto !== NH_ICMPV6) return false;
  const type = frame[l4];
  if (type === ICMP6_ECHO_REQUEST) {
    out.srcPort = readU16(frame, l4 + ICMP6_ID);
    out.dstPort = 0;
    return true;
  }
  if (type === ICMP6_ECHO_REPLY) {
    out.srcPort = 0;
    out.dstPort = readU16(frame, l4 + ICMP6_ID);
    return true;
  }
  return false;
}

/** Offset of the checksum field in the upper-layer header of `proto` (TCP, UDP, ICMPv6), -1 for others. */
export function l4ChecksumField6(proto: number): number {
  return proto === NH_TCP ? TCP_CSUM : proto === NH_UDP ? UDP_CSUM : proto === NH_ICMPV6 ? ICMP6_CSUM : -1;
}

/**
 * The upper-layer checksum over `l4len` bytes at `l4` with the IPv6 pseudo-header of the packet at
 * `l3` (RFC 8200 8.1: source, destination, 32-bit upper-layer length, next header), as the region
 * stands: write it into a zeroed checksum field, or compare to 0 over a region holding one. The
 * destination is the header's: walkIpv6 lets no routing header with segments left through, so it
 * is the final one. ICMPv6 has the pseudo-header too (RFC 4443 2.3), unlike ICMP.
 */
export function l4Checksum6(frame: Uint8Array, l3: number, l4: number, l4len: number, proto: number): number {
  const pseudo = sum16(frame, l3 + IP6H_SRC, 32) + (l4len >>> 16) + (l4len & 0xffff) + proto;
  return checksum(frame, l4, l4len, pseudo);
}

/** The upper-layer checksum verifies. UDP's may not be 0 (absent) over IPv6 (RFC 8200 8.1). */
export function l4ChecksumOk6(frame: Uint8Array, l3: number, l4: number, l4len: number, proto: number): boolean {
  if (proto === NH_UDP && readU16(frame, l4 + UDP_CSUM) === 0) return false;
  return l4Checksum6(frame, l3, l4, l4len, proto) === 0;
}

/** Computes and writes the TCP, UDP or ICMPv6 checksum (a UDP result of 0 is sent as 0xffff, RFC 8200 8.1). */
export function writeL4Checksum6(frame: Uint8Array, l3: number, l4: number, l4len: number, proto: number): void {
  const field = l4 + l4ChecksumField6(proto);
  writeU16(frame, field, 0);
  const c = l4Checksum6(frame, l3, l4, l4len, proto);
  writeU16(frame, field, c === 0 && proto === NH_UDP ? 0xffff : c);
}

/** ::ffff:0:0/96, IPv4-mapped (RFC 4291 2.5.5.2): never on the wire, as Linux's ip6_rcv_core says. */
export function isV4Mapped6(words: ArrayLike<number>, off = 0): boolean {
  return words[off] === 0 && words[off + 1] === 0 && words[off + 2] === 0xffff;
}

/**
 * A source that must never be forwarded: unspecified, loopback, multicast (RFC 4291 2.5.2, 2.5.3,
 * 2.7), IPv4-mapped (2.5.5.2). A link-local one is another matter: forwardDrop6.
 */
export function isMartianSource6(words: ArrayLike<number>, off = 0): boolean {
  return isUnspecified6(words, off) || isLoopback6(words, off) || isMulticast6(words, off) || isV4Mapped6(words, off);
}

/**
 * Why the packet from `src` to `dst` (4 words each) may not be forwarded, or null: a martian
 * source ('martian-source'); a link-local source or destination ('ip6-scope': RFC 4291 2.5.6,
 * routers must not forward them to other links); a destination that is not unicast, or is
 * unspecified, loopback or IPv4-mapped ('no-route', as isNonUnicastDestination for IPv4).
 */
export function forwardDrop6(
  src: ArrayLike<number>,
  srcOff: number,
  dst: ArrayLike<number>,
  dstOff: number,
): 'martian-source' | 'ip6-scope' | 'no-route' | null {
  if (isMartianSource6(src, srcOff)) return 'martian-source';
  if (isLinkLocal6(src, srcOff) || isLinkLocal6(dst, dstOff)) return 'ip6-scope';
  if (isMulticast6(dst, dstOff) || isUnspecified6(dst, dstOff) || isLoopback6(dst, dstOff) || isV4Mapped6(dst, dstOff)) return 'no-route';
  return null;
}

// ---- Extension headers (RFC 8200 4; RFC 7045; RFC 9098: long chains are an attack surface) ----

/** At most this many extension headers, and this many bytes of them, in one packet (else 'ip6-ext-limit'). */
export const IP6_MAX_EXT_HEADERS = 8;
export const IP6_MAX_EXT_BYTES = 256;

/** Fragment header (RFC 8200 4.5): next header, reserved, offset (13 bits) | M, identification. */
export const FRAG6_HLEN = 8;
export const FRAG6_OFFLG = 2;
export const FRAG6_ID = 4;
export const FRAG6_MORE = 1;
export const FRAG6_OFFMASK = 0xfff8;

/** Routing type 0, deprecated (RFC 5095): its segment list makes a packet bounce between hosts. */
export const ROUTING_TYPE_0 = 0;
/** Hop-by-hop option types the walk knows by name (RFC 8200 4.2, RFC 2675 jumbo payload). */
export const OPT6_PAD1 = 0;
export const OPT6_PADN = 1;
export const OPT6_JUMBO = 0xc2;

/** The walk of one packet's headers (walkIpv6). Preallocate one and reuse it: the walk fills it in. */
export interface Ipv6Walk {
  /** The upper-layer protocol: the last next header (TCP, UDP, ICMPv6, ESP, no next header, ...). */
  proto: number;
  /** Offset of the upper-layer header (for a fragment with an offset: of the fragment's data). */
  l4: number;
  /** Offset of the byte that names `proto` (a next header field): parameter problem pointers. */
  protoField: number;
  /** End of the packet in the frame (its payload length after the IPv6 header). */
  end: number;
  /** Offset of the fragment header, or -1. */
  fragOff: number;
  /** A hop-by-hop options header is present. */
  hopByHop: boolean;
  /** Extension headers walked, and their bytes. */
  extCount: number;
  extBytes: number;
}

export function newIpv6Walk(): Ipv6Walk {
  return { proto: 0, l4: 0, protoField: 0, end: 0, fragOff: -1, hopByHop: false, extCount: 0, extBytes: 0 };
}

export type Ipv6WalkDrop = 'truncated' | 'ip6-ext-limit' | 'ip6-ext-order' | 'ip6-rh0' | 'ip6-routing' | 'ip6-option' | 'ip6-unknown-header';

/**
 * Upper layers a packet may carry (IANA protocol numbers): TCP, UDP, ICMPv6, ESP (its header is
 * encrypted: nothing after it can be read), no next header, mobility (its payload protocol is
 * always 59), and the tunnels and routing protocols a firewall's rules may name: IPv4 and IPv6 in
 * IPv6, GRE, OSPF, PIM, VRRP, L2TP, SCTP, UDP-Lite, MPLS in IP. Anything else may be an extension
 * header the walk cannot skip (RFC 7045 2.2: HIP, shim6, experiments) or nothing at all: dropped.
 */
const UPPER_LAYERS = new Uint8Array(256);
for (const p of [4, NH_TCP, NH_UDP, 41, 47, NH_ESP, NH_ICMPV6, NH_NONE, 89, 103, 112, 115, 132, NH_MOBILITY, 136, 137]) UPPER_LAYERS[p] = 1;

// A second fragment or routing header is refused, as pf does (RFC 8200 4.1: each at most once;
// destination options may come twice, and their repeats are left to the count limit).
const SEEN_ROUTING = 1;
const SEEN_FRAGMENT = 2;

/**
 * Walks the extension headers of the IPv6 packet at `l3`, which ends at `end` (ipv6End, or the end
 * of a quote), into `out`; returns null, or why the packet is dropped:
 * - 'truncated': a header runs past `end`;
 * - 'ip6-ext-order': hop-by-hop anywhere but first (RFC 8200 4.1: Linux and pf drop it too), or a
 *   second fragment or routing header;
 * - 'ip6-ext-limit': more than IP6_MAX_EXT_HEADERS headers or IP6_MAX_EXT_BYTES bytes of them;
 * - 'ip6-rh0': a type 0 routing header (RFC 5095), whatever its segments left;
 * - 'ip6-routing': another routing header with segments left: a firewall does not source-route;
 * - 'ip6-option': an option (hop-by-hop, destination) malformed, a jumbo payload (RFC 2675), or
 *   unknown with action bits other than "skip" (RFC 8200 4.2);
 * - 'ip6-unknown-header': a next header that is not an upper layer the firewall knows.
 * A fragment with an offset ends the walk at its header: what follows is data, not headers.
 */
export function walkIpv6(frame: Uint8Array, l3: number, end: number, out: Ipv6Walk): Ipv6WalkDrop | null {
  out.end = end;
  out.fragOff = -1;
  out.hopByHop = false;
  out.extCount = 0;
  out.extBytes = 0;
  let field = l3 + IP6H_NXT;
  let off = l3 + IP6_HLEN;
  let seen = 0;
  for (;;) {
    const nh = frame[field];
    if (UPPER_LAYERS[nh] === 1) return finish(out, nh, off, field);
    if (nh === NH_HOPOPTS && off !== l3 + IP6_HLEN) return 'ip6-ext-order';
    const hlen = extHeaderLen(frame, nh, off, end);
    if (hlen < 0) return hlen === -1 ? 'truncated' : 'ip6-unknown-header';
    if (++out.extCount > IP6_MAX_EXT_HEADERS || (out.extBytes += hlen) > IP6_MAX_EXT_BYTES) return 'ip6-ext-limit';
    const bit = nh === NH_ROUTING ? SEEN_ROUTING : nh === NH_FRAGMENT ? SEEN_FRAGMENT : 0;
    if ((seen & bit) !== 0) return 'ip6-ext-order';
    seen |= bit;
    const drop = checkExtHeader(frame, nh, off, hlen, out);
    if (drop !== null) return drop;
    if (nh === NH_FRAGMENT && (readU16(frame, off + FRAG6_OFFLG) & FRAG6_OFFMASK) !== 0) return finish(out, frame[off], off + FRAG6_HLEN, off);
    field = off;
    off += hlen;
  }
}

function finish(out: Ipv6Walk, proto: number, l4: number, field: number): null {
  out.proto = proto;
  out.l4 = l4;
  out.protoField = field;
  return null;
}

/** Length of the extension header `nh` at `off`; -1 when it runs past `end`, -2 when `nh` is none the walk knows. */
function extHeaderLen(frame: Uint8Array, nh: number, off: number, end: number): number {
  let len: number;
  if (nh === NH_HOPOPTS || nh === NH_ROUTING || nh === NH_DSTOPTS) len = off + 2 <= end ? (frame[off + 1] + 1) * 8 : -1;
  else if (nh === NH_FRAGMENT) len = FRAG6_HLEN;
  else if (nh === NH_AH)
    len = off + 2 <= end ? (frame[off + 1] + 2) * 4 : -1; // RFC 4302 2.2: in 32-bit words, minus 2
  else return -2;
  return len < 0 || off + len > end ? -1 : len;
}

function checkExtHeader(frame: Uint8Array, nh: number, off: number, hlen: number, out: Ipv6Walk): Ipv6WalkDrop | null {
  if (nh === NH_HOPOPTS) {
    out.hopByHop = true;
    return checkOptions(frame, off + 2, off + hlen);
  }
  if (nh === NH_DSTOPTS) return checkOptions(frame, off + 2, off + hlen);
  if (nh === NH_ROUTING) {
    // RFC 8200 4.4: with segments left 0 an unknown type is ignored; with segments left we would
    // have to route on: no firewall should, and type 0 is refused outright (RFC 5095 3)
    if (frame[off + 2] === ROUTING_TYPE_0) return 'ip6-rh0';
    return frame[off + 3] !== 0 ? 'ip6-routing' : null;
  }
  if (nh === NH_FRAGMENT) out.fragOff = off;
  return null;
}

/** The TLV options in [off, end) (RFC 8200 4.2): well formed, and none that asks for the packet to be discarded. */
function checkOptions(frame: Uint8Array, off: number, end: number): Ipv6WalkDrop | null {
  while (off < end) {
    const type = frame[off];
    if (type === OPT6_PAD1) {
      off++;
      continue;
    }
    if (off + 2 > end || off + 2 + frame[off + 1] > end) return 'ip6-option';
    // the two high bits are the action for an unknown option: 00 skip, else discard. A jumbo
    // payload (RFC 2675) is known but has no place on an Ethernet link.
    if (type === OPT6_JUMBO || (type & 0xc0) !== 0) return 'ip6-option';
    off += 2 + frame[off + 1];
  }
  return null;
}

/** Fragment offset in bytes of the fragment header at `fragOff` (walk.fragOff). */
export function frag6Offset(frame: Uint8Array, fragOff: number): number {
  return readU16(frame, fragOff + FRAG6_OFFLG) & FRAG6_OFFMASK;
}

/** More fragments follow (the M flag). */
export function frag6More(frame: Uint8Array, fragOff: number): boolean {
  return (frame[fragOff + FRAG6_OFFLG + 1] & FRAG6_MORE) !== 0;
}
