// ICMPv6 errors through a stateful firewall: an error quotes as much of the packet that caused it
// as fits 1280 bytes (RFC 4443 2.4(c)); the firewall finds the session from the quoted packet's
// flow, as icmp-error.ts does for IPv4. No NAT for IPv6, so the quote is read, never rewritten.
//
//   outer IPv6 | ICMPv6 type code csum word(4) | inner IPv6 header | inner extension headers | upper layer...
//                ^ l4                            ^ innerL3                                    ^ innerL4
import { readIpv6 } from '../net/ipv6.js';
import {
  ICMP6_HLEN,
  IP6_HLEN,
  IP6H_DST,
  IP6H_SRC,
  IP6H_VTC,
  NH_ICMPV6,
  NH_TCP,
  NH_UDP,
  frag6Offset,
  isIcmp6ErrorType,
  newIpv6Walk,
  readFlowPorts6,
  walkIpv6,
  type Ipv6Walk,
} from './packet6.js';
import type { FlowPorts } from './packet.js';

/**
 * The flow of the packet an ICMPv6 error quotes, in that packet's direction (src sent it). Ports
 * as the session table keys them (readFlowPorts6), 0 for a protocol or message without them.
 * Preallocate with newQuotedFlow6 and reuse.
 */
export interface QuotedFlow6 extends FlowPorts {
  proto: number;
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  /** Offsets in the frame of the quoted IPv6 header and of its upper layer. */
  innerL3: number;
  innerL4: number;
  /** The walk of the quote's headers (scratch, kept for the caller: fragment header, ...). */
  readonly walk: Ipv6Walk;
}

export function newQuotedFlow6(): QuotedFlow6 {
  return { proto: 0, src: new Uint32Array(4), dst: new Uint32Array(4), srcPort: 0, dstPort: 0, innerL3: 0, innerL4: 0, walk: newIpv6Walk() };
}

/** Bytes of the quoted upper layer needed to read its ports or echo identifier (RFC 4443 quotes far more). */
const QUOTE_L4_MIN = 8;

/**
 * Parses the quote of the ICMPv6 message at `l4`, which ends at `end` (the outer packet's end),
 * into `out`. False (out unspecified) when the message is not an error (types 1-4), or the quote
 * is not a readable IPv6 packet: shorter than a header, not version 6, extension headers the walk
 * refuses or cut short, a later fragment (no upper-layer header in it), fewer than 8 bytes of
 * the upper layer for TCP, UDP or ICMPv6, or an ICMPv6 error itself (never sent: RFC 4443
 * 2.4(e.1)). The outer checksum is the caller's (l4ChecksumOk6). Allocates nothing.
 */
export function parseQuoted6(frame: Uint8Array, l4: number, end: number, out: QuotedFlow6): boolean {
  const inner = l4 + ICMP6_HLEN;
  if (end - inner < IP6_HLEN || !isIcmp6ErrorType(frame[l4])) return false;
  if (frame[inner + IP6H_VTC] >>> 4 !== 6) return false;
  const w = out.walk;
  if (walkIpv6(frame, inner, end, w) !== null) return false;
  if (w.fragOff >= 0 && frag6Offset(frame, w.fragOff) !== 0) return false;
  const proto = w.proto;
  const hasPorts = readFlowPortsIfThere(frame, w.l4, end, proto, out);
  if (hasPorts === null) return false;
  readIpv6(frame, inner + IP6H_SRC, out.src);
  readIpv6(frame, inner + IP6H_DST, out.dst);
  out.proto = proto;
  out.innerL3 = inner;
  out.innerL4 = w.l4;
  return true;
}

/** Ports of the quoted upper layer into `out` (0, 0 for a protocol without them); null when the quote is too short or quotes an error. */
function readFlowPortsIfThere(frame: Uint8Array, innerL4: number, end: number, proto: number, out: FlowPorts): boolean | null {
  if (proto === NH_TCP || proto === NH_UDP || proto === NH_ICMPV6) {
    if (end - innerL4 < QUOTE_L4_MIN) return null;
    if (proto === NH_ICMPV6 && isIcmp6ErrorType(frame[innerL4])) return null;
  }
  if (readFlowPorts6(frame, innerL4, proto, out)) return true;
  out.srcPort = 0;
  out.dstPort = 0;
  return false;
}
