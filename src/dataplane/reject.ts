// Answers for ACTION_REJECT: a TCP segment gets a RST, anything else an ICMP "communication
// administratively prohibited". Both are built into a caller-owned buffer (no allocation) from the
// offending frame, which must hold a validated IPv4 packet at ETH_HLEN. Both return the frame
// length (padded to the Ethernet minimum), or 0 when no answer may be sent. The caller routes the
// answer, picks the MACs and rate-limits it (RFC 1812 4.3.2.8).
import { checksum } from '../net/checksum.js';
import {
  DEFAULT_TTL,
  ETH_HLEN,
  ETH_MIN_FRAME,
  ETH_TYPE,
  ETHERTYPE_IPV4,
  IP_HLEN,
  IP_OFFMASK,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  copyMac,
  isMartianSource,
  isNonUnicastDestination,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from './packet.js';
import { isIcmpErrorType } from './icmp-error.js';

/** TCP flags (RFC 9293 3.1). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;
const TCP_HLEN = 20;

/** Destination unreachable, code 13: communication administratively prohibited (RFC 1812 5.2.7.1). */
export const ICMP_UNREACH = 3;
export const ICMP_UNREACH_ADMIN_PROHIBITED = 13;
/** Bytes of the offending packet's payload quoted after its header (RFC 792). */
const QUOTE_L4_BYTES = 8;

const L3 = ETH_HLEN;

/** Ethernet + an option-less IPv4 header with a zero ID, no fragment flags, TTL 64, and its checksum. */
function writeEthIp(out: Uint8Array, srcMac: Uint8Array, dstMac: Uint8Array, proto: number, src: number, dst: number, totalLen: number): void {
  copyMac(out, 0, dstMac);
  copyMac(out, 6, srcMac);
  writeU16(out, ETH_TYPE, ETHERTYPE_IPV4);
  out[L3] = 0x45;
  out[L3 + 1] = 0;
  writeU16(out, L3 + 2, totalLen);
  writeU32(out, L3 + 4, 0); // identification 0, flags 0, fragment offset 0
  out[L3 + 8] = DEFAULT_TTL;
  out[L3 + 9] = proto;
  writeU16(out, L3 + 10, 0);
  writeU32(out, L3 + 12, src);
  writeU32(out, L3 + 16, dst);
  writeU16(out, L3 + 10, checksum(out, L3, IP_HLEN));
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
  if (len < L3 + IP_HLEN || frame[L3 + 9] !== IPPROTO_TCP) return 0;
  const ihl = (frame[L3] & 0x0f) << 2;
  const totalLen = readU16(frame, L3 + 2);
  const l4 = L3 + ihl;
  if (ihl < IP_HLEN || totalLen > len - L3 || totalLen < ihl + TCP_HLEN) return 0;
  const doff = (frame[l4 + 12] >>> 4) << 2;
  if (doff < TCP_HLEN || doff > totalLen - ihl) return 0;
  const flags = frame[l4 + 13];
  if (flags & TCP_RST) return 0;
  const outLen = L3 + IP_HLEN + TCP_HLEN;
  if (out.length < Math.max(outLen, ETH_MIN_FRAME)) return 0;

  const src = readU32(frame, L3 + 12);
  const dst = readU32(frame, L3 + 16);
  const sport = readU16(frame, l4);
  const dport = readU16(frame, l4 + 2);
  const seq = readU32(frame, l4 + 4);
  const ack = readU32(frame, l4 + 8);
  const segLen = totalLen - ihl - doff + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);

  writeEthIp(out, srcMac, dstMac, IPPROTO_TCP, dst, src, IP_HLEN + TCP_HLEN);
  const t = L3 + IP_HLEN;
  writeU16(out, t, dport);
  writeU16(out, t + 2, sport);
  if (flags & TCP_ACK) {
    writeU32(out, t + 4, ack);
    writeU32(out, t + 8, 0);
    out[t + 13] = TCP_RST;
  } else {
    writeU32(out, t + 4, 0);
    writeU32(out, t + 8, (seq + segLen) >>> 0);
    out[t + 13] = TCP_RST | TCP_ACK;
  }
  out[t + 12] = (TCP_HLEN / 4) << 4;
  writeU16(out, t + 14, 0); // window
  writeU16(out, t + 16, 0);
  writeU16(out, t + 18, 0); // urgent pointer
  // pseudo-header (RFC 9293 3.1): source, destination, zero + protocol, TCP length
  const pseudo = (dst >>> 16) + (dst & 0xffff) + (src >>> 16) + (src & 0xffff) + IPPROTO_TCP + TCP_HLEN;
  writeU16(out, t + 16, checksum(out, t, TCP_HLEN, pseudo));
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
  if (len < L3 + IP_HLEN) return 0;
  const ihl = (frame[L3] & 0x0f) << 2;
  const totalLen = readU16(frame, L3 + 2);
  if (frame[L3] >>> 4 !== 4 || ihl < IP_HLEN || totalLen < ihl || totalLen > len - L3) return 0;
  if ((readU16(frame, L3 + 6) & IP_OFFMASK) !== 0) return 0;
  const src = readU32(frame, L3 + 12);
  const dst = readU32(frame, L3 + 16);
  if (isMartianSource(src) || isNonUnicastDestination(dst)) return 0;
  const proto = frame[L3 + 9];
  // an ICMP packet too short to show its type could be an error: stay silent
  if (proto === IPPROTO_ICMP && (totalLen - ihl < 1 || isIcmpErrorType(frame[L3 + ihl]))) return 0;

  const quoteLen = ihl + Math.min(QUOTE_L4_BYTES, totalLen - ihl);
  const icmpLen = 8 + quoteLen;
  const outLen = L3 + IP_HLEN + icmpLen;
  if (out.length < Math.max(outLen, ETH_MIN_FRAME)) return 0;

  writeEthIp(out, srcMac, dstMac, IPPROTO_ICMP, fromIp >>> 0, src, IP_HLEN + icmpLen);
  const m = L3 + IP_HLEN;
  out[m] = ICMP_UNREACH;
  out[m + 1] = ICMP_UNREACH_ADMIN_PROHIBITED;
  writeU16(out, m + 2, 0);
  writeU32(out, m + 4, 0); // unused (RFC 792; next-hop MTU only for code 4, RFC 1191)
  for (let i = 0; i < quoteLen; i++) out[m + 8 + i] = frame[L3 + i]; // no subarray view: no allocation
  writeU16(out, m + 2, checksum(out, m, icmpLen));
  return pad(out, outLen);
}
