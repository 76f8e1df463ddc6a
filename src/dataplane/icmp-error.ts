// ICMP errors through a stateful NAT firewall. An error (destination unreachable, time exceeded,
// parameter problem, source quench, redirect) quotes the IP header and at least the first 8
// bytes of the packet that caused it (RFC 792; RFC 1812 4.3.2.3 allows more). The firewall finds
// the session from the quoted packet and, when the session is NATed, rewrites the quote as well
// as the outer header, or the host that receives the error cannot match it to its socket
// (RFC 5508 section 4 / RFC 3022 4.3: NAT must translate the embedded packet).
//
//   outer IPv4 | ICMP type code csum unused(4) | inner IPv4 header (ihl*4) | first 8 bytes of L4
//                 ^ l4                            ^ innerL3                  ^ ports, UDP csum / ICMP id
//
// Redirects (type 5) are parsed like the others, but the firewall drops them before it gets here
// ('icmp-unsupported'): a firewall does not let a host's routing be steered from outside (RFC 1812
// 5.2.7.2).
import { applyDelta, checksum, delta16 } from '../net/checksum.js';
import {
  ICMP_CSUM,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HLEN,
  ICMP_ID,
  ICMP_QUOTE_L4_BYTES,
  IP_HLEN,
  IP_OFFMASK,
  IPH_CSUM,
  IPH_DST,
  IPH_FRAG,
  IPH_PROTO,
  IPH_SRC,
  IPH_TOTLEN,
  IPH_VHL,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  L4_DPORT,
  L4_SPORT,
  TCP_CSUM,
  TCP_HLEN,
  UDP_CSUM,
  ipHeaderLen,
  ipv4HeaderAt,
  isIcmpErrorType,
  readFlowPorts,
  readU16,
  readU32,
  writeU16,
  type FlowPorts,
} from './packet.js';
import { rewriteAddress } from './rewrite.js';

/**
 * The quoted packet of an ICMP error: the flow of the packet that caused it, in that packet's
 * direction (src is the host that sent it). Ports as the session table keys them (readFlowPorts),
 * 0 for a protocol or ICMP message without them. innerL3 is the quote's offset in the frame.
 */
export interface QuotedFlow extends FlowPorts {
  proto: number;
  src: number;
  dst: number;
  innerL3: number;
  /** End of the ICMP message in the frame (set by parseIcmpError): how much of the quote is there. */
  quoteEnd?: number;
}

/**
 * Parses the quoted packet of the ICMP error in the IPv4 packet at `l3` of a `len`-byte frame
 * into `out`. False (out unspecified) when it is not an ICMP error, or is malformed: ICMP
 * checksum wrong, quote shorter than an IPv4 header + 8 bytes, inner version/IHL wrong, inner
 * packet a non-first fragment (its 8 bytes are not an L4 header), or an ICMP error quoting an ICMP
 * error (never sent, RFC 1122 3.2.2). Allocates nothing.
 */
export function parseIcmpError(frame: Uint8Array, len: number, l3: number, out: QuotedFlow): boolean {
  const ihl = ipv4HeaderAt(frame, l3, len);
  if (ihl === 0 || frame[l3 + IPH_PROTO] !== IPPROTO_ICMP) return false;
  // the IP total length bounds the ICMP message; Ethernet padding after it is not part of it
  const end = l3 + readU16(frame, l3 + IPH_TOTLEN);
  const l4 = l3 + ihl;
  if (end - l4 < ICMP_HLEN + IP_HLEN + ICMP_QUOTE_L4_BYTES) return false;
  if (!isIcmpErrorType(frame[l4])) return false;
  if (checksum(frame, l4, end - l4) !== 0) return false;

  const inner = l4 + ICMP_HLEN;
  const innerIhl = ipHeaderLen(frame, inner);
  if (frame[inner + IPH_VHL] >>> 4 !== 4 || innerIhl < IP_HLEN) return false;
  const innerL4 = inner + innerIhl;
  if (end - innerL4 < ICMP_QUOTE_L4_BYTES) return false;
  if ((readU16(frame, inner + IPH_FRAG) & IP_OFFMASK) !== 0) return false;

  const proto = frame[inner + IPH_PROTO];
  if (proto === IPPROTO_ICMP && isIcmpErrorType(frame[innerL4])) return false;
  out.proto = proto;
  out.src = readU32(frame, inner + IPH_SRC);
  out.dst = readU32(frame, inner + IPH_DST);
  out.innerL3 = inner;
  out.quoteEnd = end;
  if (!readFlowPorts(frame, innerL4, proto, out)) {
    // as the firewall keys a flow without ports (GRE, ESP): by its addresses, ports 0
    out.srcPort = 0;
    out.dstPort = 0;
  }
  return true;
}

/**
 * Rewrites the quote's address at `addrOff` (IPH_SRC, IPH_DST) and L4 port at `portOff`
 * (L4_SPORT, L4_DPORT). Each changed word also changes the outer ICMP checksum, which covers the
 * whole quote; every word here is at an even offset from the ICMP header, so word deltas add.
 */
function rewriteQuoted(frame: Uint8Array, q: QuotedFlow, addrOff: number, portOff: number, echoType: number, ip: number, port: number): void {
  const inner = q.innerL3;
  const innerL4 = inner + ipHeaderLen(frame, inner);
  const outerCsumOff = inner - ICMP_HLEN + ICMP_CSUM;

  const oldIpCsum = readU16(frame, inner + IPH_CSUM);
  const addrDelta = rewriteAddress(frame, inner, addrOff, ip);
  let outer = addrDelta + delta16(oldIpCsum, readU16(frame, inner + IPH_CSUM));

  if (q.proto === IPPROTO_TCP || q.proto === IPPROTO_UDP) {
    let l4sum = addrDelta;
    if (port >= 0) {
      const oldPort = readU16(frame, innerL4 + portOff);
      writeU16(frame, innerL4 + portOff, port);
      l4sum += delta16(oldPort, port);
      outer += delta16(oldPort, port);
    }
    // the TCP checksum (offset 16) is beyond the 8 bytes RFC 792 guarantees; when the quote holds
    // the whole TCP header (RFC 1812 routers quote more) it is kept consistent, as Linux does
    const csumOff = q.proto === IPPROTO_UDP ? UDP_CSUM : TCP_CSUM;
    const csumPresent = q.proto === IPPROTO_UDP || (q.quoteEnd !== undefined && innerL4 + TCP_HLEN <= q.quoteEnd);
    if (csumPresent) {
      const oldCsum = readU16(frame, innerL4 + csumOff);
      if (q.proto === IPPROTO_TCP || oldCsum !== 0) {
        let n = applyDelta(oldCsum, l4sum);
        if (n === 0 && q.proto === IPPROTO_UDP) n = 0xffff; // RFC 768
        writeU16(frame, innerL4 + csumOff, n);
        outer += delta16(oldCsum, n);
      }
    }
  } else if (q.proto === IPPROTO_ICMP && port >= 0 && frame[innerL4] === echoType) {
    const oldId = readU16(frame, innerL4 + ICMP_ID);
    writeU16(frame, innerL4 + ICMP_ID, port);
    const oldCsum = readU16(frame, innerL4 + ICMP_CSUM);
    const n = applyDelta(oldCsum, delta16(oldId, port));
    writeU16(frame, innerL4 + ICMP_CSUM, n);
    outer += delta16(oldId, port) + delta16(oldCsum, n);
  }

  writeU16(frame, outerCsumOff, applyDelta(readU16(frame, outerCsumOff), outer));
}

/** The quote holds an ICMP message other than `echoType`: its identifier is no port of that side. */
function quotesOtherIcmp(frame: Uint8Array, q: QuotedFlow, echoType: number): boolean {
  return q.proto === IPPROTO_ICMP && frame[q.innerL3 + ipHeaderLen(frame, q.innerL3)] !== echoType;
}

/**
 * Rewrites the quoted packet's source (address, and port when port >= 0; a quoted echo request:
 * its identifier) with the inner IP checksum, the inner UDP/ICMP checksum when it is in the
 * quote, and the outer ICMP checksum fixed. Updates q to match.
 */
export function rewriteQuotedSource(frame: Uint8Array, q: QuotedFlow, ip: number, port: number): void {
  rewriteQuoted(frame, q, IPH_SRC, L4_SPORT, ICMP_ECHO_REQUEST, ip, port);
  q.src = ip >>> 0;
  if (port >= 0 && q.srcPort >= 0 && !quotesOtherIcmp(frame, q, ICMP_ECHO_REQUEST)) q.srcPort = port;
}

/** As rewriteQuotedSource, for the quoted destination (a quoted echo reply: its identifier). */
export function rewriteQuotedDestination(frame: Uint8Array, q: QuotedFlow, ip: number, port: number): void {
  rewriteQuoted(frame, q, IPH_DST, L4_DPORT, ICMP_ECHO_REPLY, ip, port);
  q.dst = ip >>> 0;
  if (port >= 0 && q.dstPort >= 0 && !quotesOtherIcmp(frame, q, ICMP_ECHO_REPLY)) q.dstPort = port;
}
