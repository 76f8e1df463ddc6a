// Neighbour discovery for IPv6 (RFC 4861), the ARP of IPv6 (arp.ts): router and neighbour
// solicitations and advertisements validated (6.1, 7.1) and parsed into a preallocated message,
// and the frames the box sends built into a caller-owned buffer: neighbour solicitations to
// resolve next hops, neighbour advertisements for the floating addresses (solicited, and the
// unsolicited burst of a takeover: RFC 9568 6.4.2), router advertisements from the floating
// link-local address. Pure and allocation-free per packet; the dataplane decides when to send.
import { isLinkLocal6, isMulticast6, isUnspecified6, readIpv6, writeIpv6 } from '../net/ipv6.js';
import { writeEthIp6, writeMulticastMac6 } from './frame-build.js';
import { ETH_SRC, ETH_HLEN, copyMac, readU16, readU32, writeU16, writeU32 } from './packet.js';
import {
  ICMP6_CODE,
  IP6H_DST,
  IP6H_HLIM,
  IP6H_SRC,
  L4_OFF6,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  ND_ROUTER_ADVERT,
  ND_ROUTER_SOLICIT,
  NH_ICMPV6,
  l4ChecksumOk6,
  writeL4Checksum6,
  type Ipv6Walk,
} from './packet6.js';

/** Every ND message is sent with hop limit 255, and one received with another was routed: forged (RFC 4861 6.1, 7.1). */
export const ND_HOP_LIMIT = 255;

/** Fixed part of each message (RFC 4861 4.1-4.4): its options follow. */
export const RS_LEN = 8;
export const RA_LEN = 16;
export const NS_LEN = 24;
export const NA_LEN = 24;
/** Target address of NS and NA, from the ICMPv6 header. */
export const ND_TARGET = 8;
/** NA flags byte (RFC 4861 4.4): router, solicited, override. */
export const ND_NA_FLAGS = 4;
export const ND_NA_ROUTER = 0x80;
export const ND_NA_SOLICITED = 0x40;
export const ND_NA_OVERRIDE = 0x20;
/** RA fields (RFC 4861 4.2). */
export const RA_CUR_HOP_LIMIT = 4;
export const RA_FLAGS = 5;
export const RA_MANAGED = 0x80;
export const RA_OTHER = 0x40;
export const RA_ROUTER_LIFETIME = 6;
export const RA_REACHABLE = 8;
export const RA_RETRANS = 12;

/** Option types (RFC 4861 4.6), each a multiple of 8 bytes, its length byte in units of 8. */
export const ND_OPT_SOURCE_LLA = 1;
export const ND_OPT_TARGET_LLA = 2;
export const ND_OPT_PREFIX_INFO = 3;
export const ND_OPT_MTU = 5;
const LLA_OPT_LEN = 8;
const MTU_OPT_LEN = 8;
const PREFIX_OPT_LEN = 32;
const PREFIX_ONLINK = 0x80;
const PREFIX_AUTONOMOUS = 0x40;

/** ff02::1, all nodes (RFC 4291 2.7.1), and its MAC. */
export const ALL_NODES: Readonly<Uint32Array> = Uint32Array.of(0xff020000, 0, 0, 1);

/** A parsed ND message (parseNd). Preallocate with newNdMessage and reuse. */
export interface NdMessage {
  type: number;
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  /** The Ethernet source of the frame: where to answer a solicitation that has no link-layer option. */
  readonly ethSrc: Uint8Array;
  /** NS and NA: the target address. */
  readonly target: Uint32Array;
  /** NA: the R, S, O bits (ND_NA_*); RA: the M and O bits (RA_MANAGED, RA_OTHER). */
  flags: number;
  /** The source link-layer address option (NS, RS, RA) or the target one (NA), when hasLla. */
  readonly lla: Uint8Array;
  hasLla: boolean;
  /** RA: current hop limit, router lifetime (s), reachable and retransmit times (ms), MTU option (0: none), prefix options. */
  curHopLimit: number;
  routerLifetimeS: number;
  reachableMs: number;
  retransMs: number;
  mtu: number;
  prefixCount: number;
}

export function newNdMessage(): NdMessage {
  return {
    type: 0,
    src: new Uint32Array(4),
    dst: new Uint32Array(4),
    ethSrc: new Uint8Array(6),
    target: new Uint32Array(4),
    flags: 0,
    lla: new Uint8Array(6),
    hasLla: false,
    curHopLimit: 0,
    routerLifetimeS: 0,
    reachableMs: 0,
    retransMs: 0,
    mtu: 0,
    prefixCount: 0,
  };
}

/** The ND message types this module reads: router and neighbour solicitation and advertisement. */
export function isNdType(type: number): boolean {
  return type >= ND_ROUTER_SOLICIT && type <= ND_NEIGHBOR_ADVERT;
}

function fixedLen(type: number): number {
  return type === ND_ROUTER_SOLICIT ? RS_LEN : type === ND_ROUTER_ADVERT ? RA_LEN : NS_LEN;
}

/**
 * Validates the ND message (RS, RA, NS, NA) of the IPv6 packet at `l3`, walked into `w` (its
 * upper layer ICMPv6), and parses it into `out`. 'nd-hop-limit' when the hop limit is not 255;
 * 'nd-bad' for the rest of RFC 4861 6.1.1, 6.1.2, 7.1.1 and 7.1.2: a fragment (RFC 6980 5), a
 * code other than 0, a checksum that fails, a message shorter than its fixed part, an option of
 * length 0 or past the end; NS and NA: a multicast target; NS from :: not to a solicited-node
 * address or with a source link-layer option; NA to a multicast address with S set; RS from ::
 * with a source link-layer option; RA from an address that is not link-local. null when valid.
 */
export function parseNd(frame: Uint8Array, l3: number, w: Ipv6Walk, out: NdMessage): 'nd-hop-limit' | 'nd-bad' | null {
  const l4 = w.l4;
  const type = frame[l4];
  if (frame[l3 + IP6H_HLIM] !== ND_HOP_LIMIT) return 'nd-hop-limit';
  if (!isNdType(type) || w.proto !== NH_ICMPV6 || w.fragOff >= 0 || frame[l4 + ICMP6_CODE] !== 0) return 'nd-bad';
  const len = w.end - l4;
  if (len < fixedLen(type) || !l4ChecksumOk6(frame, l3, l4, len, NH_ICMPV6)) return 'nd-bad';
  out.type = type;
  readIpv6(frame, l3 + IP6H_SRC, out.src);
  readIpv6(frame, l3 + IP6H_DST, out.dst);
  copyMac(out.ethSrc, 0, frame, ETH_SRC);
  readFixed(frame, l4, type, out);
  if (!readOptions(frame, l4 + fixedLen(type), w.end, type, out)) return 'nd-bad';
  return checkAddresses(out) ? null : 'nd-bad';
}

function readFixed(frame: Uint8Array, l4: number, type: number, out: NdMessage): void {
  out.hasLla = false;
  out.mtu = 0;
  out.prefixCount = 0;
  out.flags = type === ND_NEIGHBOR_ADVERT ? frame[l4 + ND_NA_FLAGS] & 0xe0 : type === ND_ROUTER_ADVERT ? frame[l4 + RA_FLAGS] & 0xc0 : 0;
  if (type === ND_NEIGHBOR_SOLICIT || type === ND_NEIGHBOR_ADVERT) readIpv6(frame, l4 + ND_TARGET, out.target);
  if (type === ND_ROUTER_ADVERT) {
    out.curHopLimit = frame[l4 + RA_CUR_HOP_LIMIT];
    out.routerLifetimeS = readU16(frame, l4 + RA_ROUTER_LIFETIME);
    out.reachableMs = readU32(frame, l4 + RA_REACHABLE);
    out.retransMs = readU32(frame, l4 + RA_RETRANS);
  }
}

/** Walks the options in [off, end): every length > 0 and within (RFC 4861 4.6); the ones the message type uses kept. */
function readOptions(frame: Uint8Array, off: number, end: number, type: number, out: NdMessage): boolean {
  const llaType = type === ND_NEIGHBOR_ADVERT ? ND_OPT_TARGET_LLA : ND_OPT_SOURCE_LLA;
  while (off < end) {
    if (off + 2 > end) return false;
    const optLen = frame[off + 1] * 8;
    if (optLen === 0 || off + optLen > end) return false;
    const opt = frame[off];
    if (opt === llaType) {
      copyMac(out.lla, 0, frame, off + 2);
      out.hasLla = true;
    } else if (type === ND_ROUTER_ADVERT && opt === ND_OPT_MTU && optLen >= MTU_OPT_LEN) {
      out.mtu = readU32(frame, off + 4);
    } else if (type === ND_ROUTER_ADVERT && opt === ND_OPT_PREFIX_INFO) {
      out.prefixCount++;
    }
    off += optLen;
  }
  return true;
}

function checkAddresses(m: NdMessage): boolean {
  const fromUnspecified = isUnspecified6(m.src);
  switch (m.type) {
    case ND_NEIGHBOR_SOLICIT:
      if (isMulticast6(m.target)) return false;
      return !fromUnspecified || (isSolicitedNode6(m.dst) && !m.hasLla);
    case ND_NEIGHBOR_ADVERT:
      return !isMulticast6(m.target) && !(isMulticast6(m.dst) && (m.flags & ND_NA_SOLICITED) !== 0);
    case ND_ROUTER_SOLICIT:
      return !(fromUnspecified && m.hasLla);
    default: // router advertisement: from a link-local address (6.1.2), so hosts can tell routers apart after renumbering
      return isLinkLocal6(m.src);
  }
}

/** ff02::1:ff00:0/104 (RFC 4291 2.7.1). */
export function isSolicitedNode6(words: ArrayLike<number>, off = 0): boolean {
  return words[off] === 0xff020000 && words[off + 1] === 0 && words[off + 2] === 1 && words[off + 3] >>> 24 === 0xff;
}

// scratch for a solicited-node destination (single-threaded dataplane)
const solicited = new Uint32Array(4);

/** Writes the ICMPv6 checksum of a built ND message of `icmpLen` bytes; the frame's length. */
function finish(out: Uint8Array, icmpLen: number): number {
  writeL4Checksum6(out, ETH_HLEN, L4_OFF6, icmpLen, NH_ICMPV6);
  return L4_OFF6 + icmpLen;
}

function writeLlaOption(out: Uint8Array, off: number, type: number, mac: Uint8Array): void {
  out[off] = type;
  out[off + 1] = 1;
  copyMac(out, off + 2, mac);
}

function writeIcmpHeader(out: Uint8Array, type: number): void {
  out[L4_OFF6] = type;
  out[L4_OFF6 + 1] = 0;
  writeU16(out, L4_OFF6 + 2, 0);
  writeU32(out, L4_OFF6 + 4, 0);
}

/**
 * A neighbour solicitation for `target` from `srcIp` (RFC 4861 7.2.2). `dstMac` null: multicast
 * to the target's solicited-node group (resolution); else unicast to the target at `dstMac`
 * (refreshing a known entry, 7.3.3). With a source link-layer option of `srcMac`, unless `srcIp`
 * is :: (duplicate address detection, RFC 4862 5.4.2, which must not carry one). Frame length, or
 * 0 when `out` is too small.
 */
export function buildNs(out: Uint8Array, srcMac: Uint8Array, srcIp: ArrayLike<number>, target: ArrayLike<number>, dstMac: Uint8Array | null): number {
  const withLla = !isUnspecified6(srcIp);
  const icmpLen = NS_LEN + (withLla ? LLA_OPT_LEN : 0);
  if (out.length < L4_OFF6 + icmpLen) return 0;
  if (dstMac === null) {
    solicited[0] = 0xff020000;
    solicited[1] = 0;
    solicited[2] = 1;
    solicited[3] = (0xff000000 | (target[3] & 0xffffff)) >>> 0;
    writeEthIp6(out, srcMac, srcMac, NH_ICMPV6, ND_HOP_LIMIT, srcIp, solicited, icmpLen);
    writeMulticastMac6(out, 0, solicited);
  } else {
    writeEthIp6(out, srcMac, dstMac, NH_ICMPV6, ND_HOP_LIMIT, srcIp, target, icmpLen);
  }
  writeIcmpHeader(out, ND_NEIGHBOR_SOLICIT);
  writeIpv6(out, L4_OFF6 + ND_TARGET, target);
  if (withLla) writeLlaOption(out, L4_OFF6 + NS_LEN, ND_OPT_SOURCE_LLA, srcMac);
  return finish(out, icmpLen);
}

/**
 * A neighbour advertisement for `target` (our address, also the source) at `mac` (RFC 4861
 * 7.2.4, 7.2.6), with the target link-layer option and `flags` (ND_NA_ROUTER | ND_NA_SOLICITED |
 * ND_NA_OVERRIDE). `dstIp` null: to all nodes, ff02::1 at 33:33:00:00:00:01, with S cleared (an
 * NA to a multicast address with S set is invalid, 7.1.2): the unsolicited advertisement of a
 * takeover, or the answer to a solicitation from ::. Else unicast to `dstIp` at `dstMac`. Frame
 * length, or 0 when `out` is too small.
 */
export function buildNa(
  out: Uint8Array,
  mac: Uint8Array,
  target: ArrayLike<number>,
  flags: number,
  dstIp: ArrayLike<number> | null,
  dstMac: Uint8Array | null,
): number {
  const icmpLen = NA_LEN + LLA_OPT_LEN;
  if (out.length < L4_OFF6 + icmpLen) return 0;
  if (dstIp === null || dstMac === null) {
    writeEthIp6(out, mac, mac, NH_ICMPV6, ND_HOP_LIMIT, target, ALL_NODES, icmpLen);
    writeMulticastMac6(out, 0, ALL_NODES);
    flags &= ~ND_NA_SOLICITED;
  } else {
    writeEthIp6(out, mac, dstMac, NH_ICMPV6, ND_HOP_LIMIT, target, dstIp, icmpLen);
  }
  writeIcmpHeader(out, ND_NEIGHBOR_ADVERT);
  out[L4_OFF6 + ND_NA_FLAGS] = flags & (ND_NA_ROUTER | ND_NA_SOLICITED | ND_NA_OVERRIDE);
  writeIpv6(out, L4_OFF6 + ND_TARGET, target);
  writeLlaOption(out, L4_OFF6 + NA_LEN, ND_OPT_TARGET_LLA, mac);
  return finish(out, icmpLen);
}

/**
 * The solicited advertisement answering `ns` (a parsed NS for one of our addresses, its target) at
 * `mac` (RFC 4861 7.2.4): S=1, O=1, R when we are a router, to the solicitor's address at its
 * link-layer option or, without one, at the frame's Ethernet source; to all nodes with S=0 when
 * the solicitation came from :: (duplicate address detection).
 */
export function buildNaReply(out: Uint8Array, ns: NdMessage, mac: Uint8Array, router: boolean): number {
  const flags = ND_NA_SOLICITED | ND_NA_OVERRIDE | (router ? ND_NA_ROUTER : 0);
  if (isUnspecified6(ns.src)) return buildNa(out, mac, ns.target, flags, null, null);
  return buildNa(out, mac, ns.target, flags, ns.src, ns.hasLla ? ns.lla : ns.ethSrc);
}

/** One prefix of a router advertisement (RFC 4861 4.6.2), as the dataplane fills it from config. */
export interface RaPrefix {
  prefix: Uint32Array;
  length: number;
  onLink: boolean;
  autonomous: boolean;
  validS: number;
  preferredS: number;
}

/** What a router advertisement says (RFC 4861 4.2, 6.2.1), as the dataplane fills it from config. */
export interface RaParams {
  /** Cur hop limit hosts should use (0: unspecified). */
  hopLimit: number;
  /** M: addresses from DHCPv6; O: other configuration from DHCPv6. */
  managed: boolean;
  other: boolean;
  /** Seconds hosts keep the pair as a default router (0: not a default router; the final RA of an orderly shutdown). */
  routerLifetimeS: number;
  /** 0: unspecified. */
  reachableMs: number;
  retransMs: number;
  /** MTU option, when set. */
  mtu?: number;
  prefixes: RaPrefix[];
}

/** Bytes of the ICMPv6 message of an RA with `params`. */
export function raLength(params: RaParams): number {
  return RA_LEN + LLA_OPT_LEN + (params.mtu !== undefined ? MTU_OPT_LEN : 0) + PREFIX_OPT_LEN * params.prefixes.length;
}

/**
 * A router advertisement from `srcLinkLocal` (the floating link-local address, so hosts' default
 * router is the pair, never a node) and `srcMac` (the virtual MAC, also in the source link-layer
 * option), to `dst` at `dstMac`, or to all nodes when `dst` is null; with an MTU option when
 * params.mtu is set and a prefix information option per prefix (RFC 4861 6.2.3). Frame length, or
 * 0 when `out` is too small. Allocates nothing.
 */
export function buildRa(
  out: Uint8Array,
  srcMac: Uint8Array,
  srcLinkLocal: ArrayLike<number>,
  dst: ArrayLike<number> | null,
  dstMac: Uint8Array | null,
  params: RaParams,
): number {
  const icmpLen = raLength(params);
  if (out.length < L4_OFF6 + icmpLen) return 0;
  if (dst === null || dstMac === null) {
    writeEthIp6(out, srcMac, srcMac, NH_ICMPV6, ND_HOP_LIMIT, srcLinkLocal, ALL_NODES, icmpLen);
    writeMulticastMac6(out, 0, ALL_NODES);
  } else {
    writeEthIp6(out, srcMac, dstMac, NH_ICMPV6, ND_HOP_LIMIT, srcLinkLocal, dst, icmpLen);
  }
  const m = L4_OFF6;
  writeIcmpHeader(out, ND_ROUTER_ADVERT);
  out[m + RA_CUR_HOP_LIMIT] = params.hopLimit;
  out[m + RA_FLAGS] = (params.managed ? RA_MANAGED : 0) | (params.other ? RA_OTHER : 0);
  writeU16(out, m + RA_ROUTER_LIFETIME, params.routerLifetimeS);
  writeU32(out, m + RA_REACHABLE, params.reachableMs);
  writeU32(out, m + RA_RETRANS, params.retransMs);
  let off = m + RA_LEN;
  writeLlaOption(out, off, ND_OPT_SOURCE_LLA, srcMac);
  off += LLA_OPT_LEN;
  if (params.mtu !== undefined) off = writeMtuOption(out, off, params.mtu);
  for (let i = 0; i < params.prefixes.length; i++) off = writePrefixOption(out, off, params.prefixes[i]);
  return finish(out, icmpLen);
}

function writeMtuOption(out: Uint8Array, off: number, mtu: number): number {
  out[off] = ND_OPT_MTU;
  out[off + 1] = 1;
  writeU16(out, off + 2, 0);
  writeU32(out, off + 4, mtu);
  return off + MTU_OPT_LEN;
}

/** RFC 4861 4.6.2: type, length 4, prefix length, L|A, valid and preferred lifetimes, reserved, prefix. */
function writePrefixOption(out: Uint8Array, off: number, p: RaPrefix): number {
  out[off] = ND_OPT_PREFIX_INFO;
  out[off + 1] = 4;
  out[off + 2] = p.length;
  out[off + 3] = (p.onLink ? PREFIX_ONLINK : 0) | (p.autonomous ? PREFIX_AUTONOMOUS : 0);
  writeU32(out, off + 4, p.validS);
  writeU32(out, off + 8, p.preferredS);
  writeU32(out, off + 12, 0);
  // the bits after the prefix length are reserved, sent as zero
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, p.length - i * 32));
    writeU32(out, off + 16 + i * 4, bits === 0 ? 0 : (p.prefix[i] & (0xffffffff << (32 - bits))) >>> 0);
  }
  return off + PREFIX_OPT_LEN;
}
