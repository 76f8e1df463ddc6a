// A TCP RST answering an IPv6 segment refused by a reject rule (the IPv6 half of reject.ts; ICMPv6
// "administratively prohibited" for the rest comes from icmp6-build.ts). Built into a caller-owned
// buffer from the offending frame, whose upper layer (TCP) starts at `l4` and ends at `end`.
import { readIpv6 } from '../net/ipv6.js';
import { padFrame, writeEthIp6 } from './frame-build.js';
import { ETH_HLEN, IPPROTO_TCP, TCP_FLAGS, TCP_HLEN } from './packet.js';
import { writeResetSegment } from './reject.js';
import { DEFAULT_HOP_LIMIT, IP6_HLEN, IP6H_DST, IP6H_SRC, writeL4Checksum6 } from './packet6.js';
import { TCP_FIN, TCP_RST, TCP_SYN } from './tcp-state.js';

const TCP_DOFF = 12;

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
  const segLen = end - l4 - doff + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
  writeEthIp6(out, srcMac, dstMac, IPPROTO_TCP, DEFAULT_HOP_LIMIT, from, to, TCP_HLEN);
  const t = ETH_HLEN + IP6_HLEN;
  writeResetSegment(out, t, frame, l4, segLen);
  writeL4Checksum6(out, ETH_HLEN, t, TCP_HLEN, IPPROTO_TCP);
  return padFrame(out, outLen);
}
