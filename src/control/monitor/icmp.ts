// ICMP echo for path monitoring (RFC 792; ICMPv6 echo, RFC 4443, further down): the requests we
// send and the replies we accept. Pure.
// A raw ICMP socket receives every ICMP datagram of the namespace, IP header included (raw(7)):
// other hosts' pings, errors, our own echo requests to ourselves. Only an echo reply carrying our
// identifier is passed on; everything else is a counted drop with its reason.
import { checksum } from '../../net/checksum.js';
import { formatIpv6, isIpv6, parseIpv6 } from '../../net/ipv6.js';

const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const ICMP_HEADER_BYTES = 8;
/** A short fixed payload: "tandem" and padding; the sequence number does the matching. */
const PAYLOAD = Buffer.from('tandem-path-probe');

/** Why a received datagram is not a reply to one of our probes (metric label values). */
export const ICMP_DROP_REASONS = [
  /** Shorter than an IPv4 header plus an ICMP echo header (IPv6: than an ICMPv6 echo header). */
  'truncated',
  /** Not IPv4, or not ICMP inside (IPv6: a source address that is not IPv6). */
  'not-icmp',
  /** ICMP, but not an echo reply (requests, errors, ...). */
  'not-echo-reply',
  /** An echo reply for another pinger on this host (its identifier is not ours). */
  'foreign-identifier',
  /** The ICMP checksum does not verify (IPv4 only: the kernel verifies ICMPv6's and drops bad ones). */
  'bad-checksum',
  /** Ours by identifier, but no probe of that sequence is outstanding (late or duplicate). */
  'unknown-sequence',
  /** Ours by identifier and sequence, but from another address than the probed target. */
  'source-mismatch',
] as const;
export type IcmpDropReason = (typeof ICMP_DROP_REASONS)[number];

/** An echo request (type 8) with our identifier and sequence, checksummed. */
export function buildEchoRequest(identifier: number, sequence: number): Buffer {
  const buf = Buffer.alloc(ICMP_HEADER_BYTES + PAYLOAD.length);
  buf[0] = ICMP_ECHO_REQUEST;
  buf[1] = 0;
  buf.writeUInt16BE(identifier & 0xffff, 4);
  buf.writeUInt16BE(sequence & 0xffff, 6);
  PAYLOAD.copy(buf, ICMP_HEADER_BYTES);
  buf.writeUInt16BE(checksum(buf, 0, buf.length), 2);
  return buf;
}

export type EchoParse = { ok: true; source: string; sequence: number } | { ok: false; reason: IcmpDropReason };

/** An IPv4 datagram (header included) -> our echo reply's source and sequence, or a drop reason. */
export function parseEchoReply(datagram: Uint8Array, identifier: number): EchoParse {
  if (datagram.length < 20) return { ok: false, reason: 'truncated' };
  if (datagram[0] >> 4 !== 4 || datagram[9] !== 1) return { ok: false, reason: 'not-icmp' };
  const ihl = (datagram[0] & 0x0f) * 4;
  if (ihl < 20 || datagram.length < ihl + ICMP_HEADER_BYTES) return { ok: false, reason: 'truncated' };
  const totalLength = (datagram[2] << 8) | datagram[3];
  const end = totalLength >= ihl + ICMP_HEADER_BYTES && totalLength <= datagram.length ? totalLength : datagram.length;
  if (datagram[ihl] !== ICMP_ECHO_REPLY) return { ok: false, reason: 'not-echo-reply' };
  const id = (datagram[ihl + 4] << 8) | datagram[ihl + 5];
  if (id !== (identifier & 0xffff)) return { ok: false, reason: 'foreign-identifier' };
  if (checksum(datagram, ihl, end - ihl) !== 0) return { ok: false, reason: 'bad-checksum' };
  const sequence = (datagram[ihl + 6] << 8) | datagram[ihl + 7];
  const source = `${datagram[12]}.${datagram[13]}.${datagram[14]}.${datagram[15]}`;
  return { ok: true, source, sequence };
}

// ---- ICMPv6 echo (RFC 4443 4.1, 4.2) ----
//
// A raw ICMPv6 socket differs from the IPv4 one in three ways, each checked on Linux 6.x in a
// namespace pair (a veth, fd00:6d36::1 and ::2) with raw-socket 1.8.1:
// - The kernel computes the ICMPv6 checksum on send (RFC 3542 3.1: IPV6_CHECKSUM is always on for
//   ICMPv6 and cannot be turned off): a request sent with 0x1234 in its checksum field was answered,
//   and so was one sent with 0. The checksum covers a pseudo-header with the source address, which
//   only the kernel knows for sure (source address selection), so we leave the field 0.
// - Received messages start at the ICMPv6 header: no IPv6 header in front (RFC 3542 3), so the
//   source address is the one recvfrom() reports (raw-socket's second 'message' argument).
// - The kernel verifies the checksum of what it delivers: an echo reply injected with a wrong
//   checksum never reached the socket (counted in the kernel's Icmp6InCsumErrors instead). With
//   no pseudo-header (our destination address is not reported) we could not check it anyway:
//   'bad-checksum' is an IPv4 reason only.
// The socket also sees the namespace's other ICMPv6 (neighbour solicitations and advertisements,
// our own requests to ::1, errors), so the prober installs an ICMP6_FILTER passing echo replies
// alone (icmp6Filter; checked too: with it, an injected destination unreachable, an echo request
// and the neighbour advertisements no longer arrived), and the parser still checks the type: a
// filter that could not be set leaves the counting to it.
// Sends the kernel refuses fail at once: a blackhole route with EINVAL, no route (or an
// IPv4-mapped destination) with ENETUNREACH; the prober reports them as send-errors.

const ICMP6_ECHO_REQUEST = 128;
const ICMP6_ECHO_REPLY = 129;

/** An ICMPv6 echo request (type 128) with our identifier and sequence; checksum left 0 (the kernel fills it in). */
export function buildEchoRequest6(identifier: number, sequence: number): Buffer {
  const buf = Buffer.alloc(ICMP_HEADER_BYTES + PAYLOAD.length);
  buf[0] = ICMP6_ECHO_REQUEST;
  buf[1] = 0;
  buf.writeUInt16BE(identifier & 0xffff, 4);
  buf.writeUInt16BE(sequence & 0xffff, 6);
  PAYLOAD.copy(buf, ICMP_HEADER_BYTES);
  return buf;
}

/**
 * An ICMPv6 message (no IPv6 header: raw ICMPv6 sockets deliver from the ICMPv6 header on) and
 * the source address recvfrom() gave -> our echo reply's source (RFC 5952 text) and sequence, or a
 * drop reason. The checksum is the kernel's to verify (see above).
 */
export function parseEchoReply6(message: Uint8Array, source: string, identifier: number): EchoParse {
  if (message.length < ICMP_HEADER_BYTES) return { ok: false, reason: 'truncated' };
  if (message[0] !== ICMP6_ECHO_REPLY) return { ok: false, reason: 'not-echo-reply' };
  const id = (message[4] << 8) | message[5];
  if (id !== (identifier & 0xffff)) return { ok: false, reason: 'foreign-identifier' };
  // the socket is AF_INET6: anything but an IPv6 source is not a datagram we can read
  if (!isIpv6(source)) return { ok: false, reason: 'not-icmp' };
  const sequence = (message[6] << 8) | message[7];
  return { ok: true, source: formatIpv6(parseIpv6(source)), sequence };
}

/** The filter's setsockopt level and option (<netinet/icmp6.h>): IPPROTO_ICMPV6, ICMP6_FILTER. */
export const ICMP6_FILTER_LEVEL = 58;
export const ICMP6_FILTER_OPTION = 1;

/**
 * The struct icmp6_filter that passes echo replies alone (RFC 3542 3.2): 256 bits, one per
 * ICMPv6 type, in eight 32-bit words of host byte order; on Linux a set bit blocks the type.
 */
export function icmp6Filter(endianness: 'LE' | 'BE'): Buffer {
  const filter = Buffer.alloc(32, 0xff);
  const word = (ICMP6_ECHO_REPLY >> 5) * 4;
  const bit = 1 << (ICMP6_ECHO_REPLY & 31);
  if (endianness === 'LE') filter.writeUInt32LE((filter.readUInt32LE(word) & ~bit) >>> 0, word);
  else filter.writeUInt32BE((filter.readUInt32BE(word) & ~bit) >>> 0, word);
  return filter;
}
