// Answers for ACTION_REJECT: a TCP segment gets a RST, anything else an ICMP "communication
// administratively prohibited". Both are built into a caller-owned buffer (no allocation) from the
// offending frame, which must hold a validated IPv4 packet at ETH_HLEN. Both return the frame
// length (padded to the Ethernet minimum), or 0 when no answer may be sent. The caller routes the
// answer, picks the MACs and rate-limits it (RFC 1812 4.3.2.8).
import { checksum } from '../net/checksum.js';
import {
  DEFAULT_TTL,
  ETH_DST,
  ETH_HLEN,
  ETH_MIN_FRAME,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_IPV4,
  ICMP_CODE,
  ICMP_CSUM,
  ICMP_DEST_UNREACH,
  ICMP_HLEN,
  ICMP_QUOTE_L4_BYTES,
  IP_HLEN,
  IP_OFFMASK,
  IPH_CSUM,
  IPH_DST,
  IPH_FRAG,
  IPH_PROTO,
  IPH_SRC,
  IPH_TOTLEN,
  IPH_TTL,
  IPH_VHL,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  L4_DPORT,
  L4_SPORT,
  TCP_CSUM,
  TCP_FLAGS,
  TCP_HLEN,
  copyMac,
  ipv4HeaderAt,
  isIcmpErrorType,
  isMartianSource,
  isNonUnicastDestination,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from './packet.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from './tcp-state.js';

/** Destination unreachable, code 13: communication administratively prohibited (RFC 1812 5.2.7.1). */
export const ICMP_UNREACH_ADMIN_PROHIBITED = 13;

/** The rest of the TCP header (RFC 9293 3.1), offsets from its start. */
const TCP_SEQ = 4;
const TCP_ACK_NO = 8;
const TCP_DOFF = 12; // data offset in 32-bit words (high 4 bits)
const TCP_WINDOW = 14;
const TCP_URGENT = 18;

const L3 = ETH_HLEN;

/** Ethernet + an option-less IPv4 header with a zero ID, no fragment flags, TTL 64, and its checksum. */
function writeEthIp(out: Uint8Array, srcMac: Uint8Array, dstMac: Uint8Array, proto: number, src: number, dst: number, totalLen: number): void {
  copyMac(out, ETH_DST, dstMac);
  copyMac(out, ETH_SRC, srcMac);
  writeU16(out, ETH_TYPE, ETHERTYPE_IPV4);
  out[L3 + IPH_VHL] = 0x45;
  out[L3 + 1] = 0; // type of service
  writeU16(out, L3 + IPH_TOTLEN, totalLen);
  writeU32(out, L3 + 4, 0); // identification 0, flags 0, fragment offset 0
  out[L3 + IPH_TTL] = DEFAULT_TTL;
  out[L3 + IPH_PROTO] = proto;
  writeU16(out, L3 + IPH_CSUM, 0);
  writeU32(out, L3 + IPH_SRC, src);
  writeU32(out, L3 + IPH_DST, dst);
  writeU16(out, L3 + IPH_CSUM, checksum(out, L3, IP_HLEN));
}

/** Zero the bytes from `len` to the Ethernet minimum; the padded length. */
function pad(out: Uint8Array, len: number): number {
  if (len >= ETH_MIN_FRAME) return len;
  out.fill(0, len, ETH_MIN_FRAME);
  return ETH_MIN_FRAME;
}

/**
 * A TCP RST answering the segment in `frame`, per RFC 9293 3.10.7.1 (a segment for a connection
 * that does not exist): if the segment has ACK, <SEQ=SEG.ACK><CTL=RST>; otherwise
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, where SEG.LEN counts SYN and FIN. Sent from the
 * segment's destination to its source, TTL 64. 0 when the segment is itself a RST (never
 * answered), is not TCP, is truncated, or `out` is too small.
 */
export function buildTcpReset(out: Uint8Array, frame: Uint8Array, len: number, srcMac: Uint8Array, dstMac: Uint8Array): number {
  const ihl = ipv4HeaderAt(frame, L3, len);
  if (ihl === 0 || frame[L3 + IPH_PROTO] !== IPPROTO_TCP) return 0;
  const totalLen = readU16(frame, L3 + IPH_TOTLEN);
  const l4 = L3 + ihl;
  if (totalLen < ihl + TCP_HLEN) return 0;
  const doff = (frame[l4 + TCP_DOFF] >>> 4) << 2;
  if (doff < TCP_HLEN || doff > totalLen - ihl) return 0;
  const flags = frame[l4 + TCP_FLAGS];
  if (flags & TCP_RST) return 0;
  const outLen = L3 + IP_HLEN + TCP_HLEN;
  if (out.length < Math.max(outLen, ETH_MIN_FRAME)) return 0;

  const src = readU32(frame, L3 + IPH_SRC);
  const dst = readU32(frame, L3 + IPH_DST);
  const sport = readU16(frame, l4 + L4_SPORT);
  const dport = readU16(frame, l4 + L4_DPORT);
  const seq = readU32(frame, l4 + TCP_SEQ);
  const ack = readU32(frame, l4 + TCP_ACK_NO);
  const segLen = totalLen - ihl - doff + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);

  writeEthIp(out, srcMac, dstMac, IPPROTO_TCP, dst, src, IP_HLEN + TCP_HLEN);
  const t = L3 + IP_HLEN;
  writeU16(out, t + L4_SPORT, dport);
  writeU16(out, t + L4_DPORT, sport);
  if (flags & TCP_ACK) {
    writeU32(out, t + TCP_SEQ, ack);
    writeU32(out, t + TCP_ACK_NO, 0);
    out[t + TCP_FLAGS] = TCP_RST;
  } else {
    writeU32(out, t + TCP_SEQ, 0);
    writeU32(out, t + TCP_ACK_NO, (seq + segLen) >>> 0);
    out[t + TCP_FLAGS] = TCP_RST | TCP_ACK;
  }
  out[t + TCP_DOFF] = (TCP_HLEN / 4) << 4;
  writeU16(out, t + TCP_WINDOW, 0);
  writeU16(out, t + TCP_CSUM, 0);
  writeU16(out, t + TCP_URGENT, 0);
  // pseudo-header (RFC 9293 3.1): source, destination, zero + protocol, TCP length
  const pseudo = (dst >>> 16) + (dst & 0xffff) + (src >>> 16) + (src & 0xffff) + IPPROTO_TCP + TCP_HLEN;
  writeU16(out, t + TCP_CSUM, checksum(out, t, TCP_HLEN, pseudo));
  return pad(out, outLen);
}

/**
 * ICMP destination unreachable, code 13 (RFC 1812 5.2.7.1), from `fromIp` to the offending
 * packet's source, quoting its IP header and the first 8 bytes of its payload (fewer when the
 * packet is shorter; RFC 792). 0 when no error may be sent (RFC 1812 4.3.2.7, RFC 1122 3.2.2):
 * the packet is an ICMP error, a non-first fragment, from a martian source or to a non-unicast
 * destination; or it is truncated, or `out` is too small.
 */
export function buildIcmpUnreachable(out: Uint8Array, frame: Uint8Array, len: number, fromIp: number, srcMac: Uint8Array, dstMac: Uint8Array): number {
  const ihl = ipv4HeaderAt(frame, L3, len);
  if (ihl === 0) return 0;
  const totalLen = readU16(frame, L3 + IPH_TOTLEN);
  if ((readU16(frame, L3 + IPH_FRAG) & IP_OFFMASK) !== 0) return 0;
  const src = readU32(frame, L3 + IPH_SRC);
  const dst = readU32(frame, L3 + IPH_DST);
  if (isMartianSource(src) || isNonUnicastDestination(dst)) return 0;
  const proto = frame[L3 + IPH_PROTO];
  // an ICMP packet too short to show its type could be an error: stay silent
  if (proto === IPPROTO_ICMP && (totalLen - ihl < 1 || isIcmpErrorType(frame[L3 + ihl]))) return 0;

  const quoteLen = ihl + Math.min(ICMP_QUOTE_L4_BYTES, totalLen - ihl);
  const icmpLen = ICMP_HLEN + quoteLen;
  const outLen = L3 + IP_HLEN + icmpLen;
  if (out.length < Math.max(outLen, ETH_MIN_FRAME)) return 0;

  writeEthIp(out, srcMac, dstMac, IPPROTO_ICMP, fromIp >>> 0, src, IP_HLEN + icmpLen);
  const m = L3 + IP_HLEN;
  out[m] = ICMP_DEST_UNREACH;
  out[m + ICMP_CODE] = ICMP_UNREACH_ADMIN_PROHIBITED;
  writeU16(out, m + ICMP_CSUM, 0);
  writeU32(out, m + 4, 0); // unused (RFC 792; next-hop MTU only for code 4, RFC 1191)
  for (let i = 0; i < quoteLen; i++) out[m + ICMP_HLEN + i] = frame[L3 + i]; // no subarray view: no allocation
  writeU16(out, m + ICMP_CSUM, checksum(out, m, icmpLen));
  return pad(out, outLen);
}
