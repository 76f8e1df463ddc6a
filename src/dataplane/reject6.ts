// A TCP RST answering an IPv6 segment refused by a reject rule (the IPv6 half of reject.ts; ICMPv6
// "administratively prohibited" for the rest comes from icmp6-build.ts). Built into a caller-owned
// buffer from the offending frame, whose upper layer (TCP) starts at `l4` and ends at `end`.
import { readIpv6 } from '../net/ipv6.js';
import { padFrame, writeEthIp6 } from './frame-build.js';
import { ETH_HLEN, IPPROTO_TCP, L4_DPORT, L4_SPORT, TCP_FLAGS, TCP_HLEN, readU16, readU32, writeU16, writeU32 } from './packet.js';
import { DEFAULT_HOP_LIMIT, IP6_HLEN, IP6H_DST, IP6H_SRC, writeL4Checksum6 } from './packet6.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from './tcp-state.js';

const TCP_SEQ = 4;
const TCP_ACK_NO = 8;
const TCP_DOFF = 12;
const TCP_WINDOW = 14;
const TCP_URGENT = 18;

// the answer's addresses: the segment's destination and source (scratch: the dataplane is single-threaded)
const from = new Uint32Array(4);
const to = new Uint32Array(4);

/**
 * A RST for the TCP segment at `l4` of an IPv6 frame, per RFC 9293 3.10.7.1 as buildTcpReset:
 * with ACK, <SEQ=SEG.ACK><CTL=RST>; else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. From the
 * segment's destination to its source, hop limit 64. 0 when the segment is a RST, is cut short,
 * or `out` is too small.
 */
export function buildTcpReset6(out: Uint8Array, frame: Uint8Array, l4: number, end: number, srcMac: Uint8Array, dstMac: Uint8Array): number {
  if (end - l4 < TCP_HLEN) return 0;
  const doff = (frame[l4 + TCP_DOFF] >>> 4) << 2;
  if (doff < TCP_HLEN || doff > end - l4) return 0;
  const flags = frame[l4 + TCP_FLAGS];
  if (flags & TCP_RST) return 0;
  const outLen = ETH_HLEN + IP6_HLEN + TCP_HLEN;
  if (out.length < outLen) return 0;
  readIpv6(frame, ETH_HLEN + IP6H_DST, from);
  readIpv6(frame, ETH_HLEN + IP6H_SRC, to);
  const sport = readU16(frame, l4 + L4_SPORT);
  const dport = readU16(frame, l4 + L4_DPORT);
  const seq = readU32(frame, l4 + TCP_SEQ);
  const ack = readU32(frame, l4 + TCP_ACK_NO);
  const segLen = end - l4 - doff + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);

  writeEthIp6(out, srcMac, dstMac, IPPROTO_TCP, DEFAULT_HOP_LIMIT, from, to, TCP_HLEN);
  const t = ETH_HLEN + IP6_HLEN;
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
  writeU16(out, t + TCP_URGENT, 0);
  writeL4Checksum6(out, ETH_HLEN, t, TCP_HLEN, IPPROTO_TCP);
  return padFrame(out, outLen);
}
