// Answers for ACTION_REJECT: a TCP segment gets a RST, anything else an ICMP "communication
// administratively prohibited". Both are built into a caller-owned buffer (no allocation) from the
// offending frame, which must hold a validated IPv4 packet at ETH_HLEN. Both return the frame
// length (padded to the Ethernet minimum), or 0 when no answer may be sent. The caller routes the
// answer and picks the MACs. (Rejects are not rate-limited yet; the router's own errors are:
// icmp-rate.ts.)
import { checksum } from '../net/checksum.js';
import { padFrame, writeEthIp } from './frame-build.js';
import { ICMP_UNREACH_ADMIN_PROHIBITED, buildIcmpError } from './icmp-error-build.js';
import {
  ETH_HLEN,
  ETH_MIN_FRAME,
  ICMP_DEST_UNREACH,
  IP_HLEN,
  IPH_DST,
  IPH_PROTO,
  IPH_SRC,
  IPH_TOTLEN,
  IPPROTO_TCP,
  L4_DPORT,
  L4_SPORT,
  TCP_CSUM,
  TCP_FLAGS,
  TCP_HLEN,
  ipv4HeaderAt,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from './packet.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from './tcp-state.js';

/** The rest of the TCP header (RFC 9293 3.1), offsets from its start. */
const TCP_SEQ = 4;
const TCP_ACK_NO = 8;
const TCP_DOFF = 12; // data offset in 32-bit words (high 4 bits)
const TCP_WINDOW = 14;
const TCP_URGENT = 18;

const L3 = ETH_HLEN;

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
  const segLen = totalLen - ihl - doff + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);

  writeEthIp(out, srcMac, dstMac, IPPROTO_TCP, dst, src, IP_HLEN + TCP_HLEN);
  const t = L3 + IP_HLEN;
  writeResetSegment(out, t, frame, l4, segLen);
  // pseudo-header (RFC 9293 3.1): source, destination, zero + protocol, TCP length
  const pseudo = (dst >>> 16) + (dst & 0xffff) + (src >>> 16) + (src & 0xffff) + IPPROTO_TCP + TCP_HLEN;
  writeU16(out, t + TCP_CSUM, checksum(out, t, TCP_HLEN, pseudo));
  return padFrame(out, outLen);
}

/**
 * The RST answering the TCP segment at `l4` of `frame` (RFC 9293 3.10.7.1), written at `t` of
 * `out` with its checksum zero: to the segment's sender, from the port it was sent to; with ACK,
 * <SEQ=SEG.ACK><CTL=RST>, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. `segLen` counts SYN and
 * FIN. Shared by the IPv4 and IPv6 answers (reject6.ts), which fill the checksum.
 */
export function writeResetSegment(out: Uint8Array, t: number, frame: Uint8Array, l4: number, segLen: number): void {
  const flags = frame[l4 + TCP_FLAGS];
  writeU16(out, t + L4_SPORT, readU16(frame, l4 + L4_DPORT));
  writeU16(out, t + L4_DPORT, readU16(frame, l4 + L4_SPORT));
  if (flags & TCP_ACK) {
    writeU32(out, t + TCP_SEQ, readU32(frame, l4 + TCP_ACK_NO));
    writeU32(out, t + TCP_ACK_NO, 0);
    out[t + TCP_FLAGS] = TCP_RST;
  } else {
    writeU32(out, t + TCP_SEQ, 0);
    writeU32(out, t + TCP_ACK_NO, (readU32(frame, l4 + TCP_SEQ) + segLen) >>> 0);
    out[t + TCP_FLAGS] = TCP_RST | TCP_ACK;
  }
  out[t + TCP_DOFF] = (TCP_HLEN / 4) << 4;
  writeU16(out, t + TCP_WINDOW, 0);
  writeU16(out, t + TCP_CSUM, 0);
  writeU16(out, t + TCP_URGENT, 0);
}

/**
 * ICMP destination unreachable, code 13 (RFC 1812 5.2.7.1), from `fromIp` to the offending
 * packet's source, quoting its IP header and the first 8 bytes of its payload (fewer when the
 * packet is shorter; RFC 792). 0 when no error may be sent (RFC 1812 4.3.2.7, RFC 1122 3.2.2):
 * the packet is an ICMP error, a non-first fragment, from a martian source or to a non-unicast
 * destination, or came in a link-layer broadcast; or it is truncated, or `out` is too small
 * (icmp-error-build.ts, which builds every ICMP error the box sends).
 */
export function buildIcmpUnreachable(out: Uint8Array, frame: Uint8Array, len: number, fromIp: number, srcMac: Uint8Array, dstMac: Uint8Array): number {
  return buildIcmpError(out, frame, len, ICMP_DEST_UNREACH, ICMP_UNREACH_ADMIN_PROHIBITED, 0, fromIp, srcMac, dstMac);
}
