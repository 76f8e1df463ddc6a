// ICMP echo for path monitoring (RFC 792): the request we send and the reply we accept. Pure.
// A raw ICMP socket receives every ICMP datagram of the namespace, IP header included (raw(7)):
// other hosts' pings, errors, our own echo requests to ourselves. Only an echo reply carrying our
// identifier is passed on; everything else is a counted drop with its reason.
import { checksum } from '../../net/checksum.js';

const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const ICMP_HEADER_BYTES = 8;
/** A short fixed payload: "tandem" and padding; the sequence number does the matching. */
const PAYLOAD = Buffer.from('tandem-path-probe');

/** Why a received datagram is not a reply to one of our probes (metric label values). */
export const ICMP_DROP_REASONS = [
  /** Shorter than an IPv4 header plus an ICMP echo header. */
  'truncated',
  /** Not IPv4, or not ICMP inside. */
  'not-icmp',
  /** ICMP, but not an echo reply (requests, errors, ...). */
  'not-echo-reply',
  /** An echo reply for another pinger on this host (its identifier is not ours). */
  'foreign-identifier',
  /** The ICMP checksum does not verify. */
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
