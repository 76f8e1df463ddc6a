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
// Redirects (type 5) are parsed like the others so the caller can find the session, count and drop
// them: a firewall does not let a host's routing be steered from outside (RFC 1812 5.2.7.2).
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, readU16, readU32, writeU16, writeU32 } from './packet.js';
import { applyDelta, delta16, delta32, ICMP_CSUM_OFF, ICMP_ID_OFF, ICMP_TYPE_ECHO_REPLY, ICMP_TYPE_ECHO_REQUEST, TCP_CSUM, UDP_CSUM } from './rewrite.js';
import { checksum } from '../net/checksum.js';

/** TCP header without options (RFC 9293 3.1): the checksum is at offset 16 of it. */
const TCP_MIN_HLEN = 20;

export const ICMP_TYPE_DEST_UNREACH = 3;
export const ICMP_TYPE_SOURCE_QUENCH = 4;
export const ICMP_TYPE_REDIRECT = 5;
export const ICMP_TYPE_TIME_EXCEEDED = 11;
export const ICMP_TYPE_PARAM_PROBLEM = 12;
/** type, code, checksum, 4 bytes unused/pointer/gateway (RFC 792): the quote starts after them. */
export const ICMP_ERROR_HLEN = 8;
/** Bytes of the offending packet's payload every error carries (RFC 792 "64 bits of data"). */
export const ICMP_QUOTE_L4_BYTES = 8;

/** One of the five ICMP error types RFC 792 defines (RFC 1122 3.2.2: the others are queries). */
export function isIcmpErrorType(type: number): boolean {
  return (
    type === ICMP_TYPE_DEST_UNREACH ||
    type === ICMP_TYPE_SOURCE_QUENCH ||
    type === ICMP_TYPE_REDIRECT ||
    type === ICMP_TYPE_TIME_EXCEEDED ||
    type === ICMP_TYPE_PARAM_PROBLEM
  );
}

/**
 * The quoted packet of an ICMP error: the flow of the packet that caused it, in that packet's
 * direction (src is the host that sent it). Ports as l4SrcPort/l4DstPort key them (TCP/UDP
 * ports, ICMP echo request (identifier, 0), echo reply (0, identifier), -1 otherwise). innerL3 is the quote's offset in the frame.
 */
export interface QuotedFlow {
  proto: number;
  src: number;
  srcPort: number;
  dst: number;
  dstPort: number;
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
  if (len < l3 + 20 || frame[l3 + 9] !== IPPROTO_ICMP) return false;
  const ihl = (frame[l3] & 0x0f) << 2;
  // the IP total length bounds the ICMP message; Ethernet padding after it is not part of it
  const end = Math.min(len, l3 + readU16(frame, l3 + 2));
  const l4 = l3 + ihl;
  if (ihl < 20 || end - l4 < ICMP_ERROR_HLEN + 20 + ICMP_QUOTE_L4_BYTES) return false;
  if (!isIcmpErrorType(frame[l4])) return false;
  if (checksum(frame, l4, end - l4) !== 0) return false;

  const inner = l4 + ICMP_ERROR_HLEN;
  const innerIhl = (frame[inner] & 0x0f) << 2;
  if (frame[inner] >>> 4 !== 4 || innerIhl < 20) return false;
  const innerL4 = inner + innerIhl;
  if (end - innerL4 < ICMP_QUOTE_L4_BYTES) return false;
  if ((readU16(frame, inner + 6) & 0x1fff) !== 0) return false;

  const proto = frame[inner + 9];
  out.proto = proto;
  out.src = readU32(frame, inner + 12);
  out.dst = readU32(frame, inner + 16);
  out.innerL3 = inner;
  out.quoteEnd = end;
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    out.srcPort = readU16(frame, innerL4);
    out.dstPort = readU16(frame, innerL4 + 2);
  } else if (proto === IPPROTO_ICMP) {
    const t = frame[innerL4];
    if (isIcmpErrorType(t)) return false;
    const id = readU16(frame, innerL4 + ICMP_ID_OFF);
    out.srcPort = t === ICMP_TYPE_ECHO_REQUEST ? id : t === ICMP_TYPE_ECHO_REPLY ? 0 : -1;
    out.dstPort = t === ICMP_TYPE_ECHO_REPLY ? id : t === ICMP_TYPE_ECHO_REQUEST ? 0 : -1;
  } else {
    out.srcPort = -1;
    out.dstPort = -1;
  }
  return true;
}

/**
 * Rewrites the quote's address at `addrOff` (12 source, 16 destination) and L4 port at `portOff`
 * (0 source, 2 destination). Each changed word also changes the outer ICMP checksum, which covers
 * the whole quote; every word here is at an even offset from the ICMP header, so word deltas add.
 */
function rewriteQuoted(frame: Uint8Array, q: QuotedFlow, addrOff: number, portOff: number, echoType: number, ip: number, port: number): void {
  const inner = q.innerL3;
  const innerL4 = inner + ((frame[inner] & 0x0f) << 2);
  const outerCsumOff = inner - ICMP_ERROR_HLEN + ICMP_CSUM_OFF;
  ip >>>= 0;

  const oldIp = readU32(frame, inner + addrOff);
  const addrDelta = delta32(oldIp, ip);
  writeU32(frame, inner + addrOff, ip);
  let outer = addrDelta;

  const oldIpCsum = readU16(frame, inner + 10);
  const newIpCsum = applyDelta(oldIpCsum, addrDelta);
  writeU16(frame, inner + 10, newIpCsum);
  outer += delta16(oldIpCsum, newIpCsum);

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
    const csumPresent = q.proto === IPPROTO_UDP || (q.quoteEnd !== undefined && innerL4 + TCP_MIN_HLEN <= q.quoteEnd);
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
    const oldId = readU16(frame, innerL4 + ICMP_ID_OFF);
    writeU16(frame, innerL4 + ICMP_ID_OFF, port);
    const oldCsum = readU16(frame, innerL4 + ICMP_CSUM_OFF);
    const n = applyDelta(oldCsum, delta16(oldId, port));
    writeU16(frame, innerL4 + ICMP_CSUM_OFF, n);
    outer += delta16(oldId, port) + delta16(oldCsum, n);
  }

  writeU16(frame, outerCsumOff, applyDelta(readU16(frame, outerCsumOff), outer));
}

/**
 * Rewrites the quoted packet's source (address, and port when port >= 0; a quoted echo request:
 * its identifier) with the inner IP checksum, the inner UDP/ICMP checksum when it is in the
 * quote, and the outer ICMP checksum fixed. Updates q to match.
 */
export function rewriteQuotedSource(frame: Uint8Array, q: QuotedFlow, ip: number, port: number): void {
  rewriteQuoted(frame, q, 12, 0, ICMP_TYPE_ECHO_REQUEST, ip, port);
  q.src = ip >>> 0;
  if (port >= 0 && q.srcPort >= 0 && !(q.proto === IPPROTO_ICMP && frame[q.innerL3 + ((frame[q.innerL3] & 0x0f) << 2)] !== ICMP_TYPE_ECHO_REQUEST))
    q.srcPort = port;
}

/** As rewriteQuotedSource, for the quoted destination (a quoted echo reply: its identifier). */
export function rewriteQuotedDestination(frame: Uint8Array, q: QuotedFlow, ip: number, port: number): void {
  rewriteQuoted(frame, q, 16, 2, ICMP_TYPE_ECHO_REPLY, ip, port);
  q.dst = ip >>> 0;
  if (port >= 0 && q.dstPort >= 0 && !(q.proto === IPPROTO_ICMP && frame[q.innerL3 + ((frame[q.innerL3] & 0x0f) << 2)] !== ICMP_TYPE_ECHO_REPLY))
    q.dstPort = port;
}
