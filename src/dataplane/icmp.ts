// ICMP echo for floating IPs (RFC 792, RFC 1122 3.2.2.6): the request frame is turned into the
// reply in place (no allocation): MACs and addresses swapped, TTL reset, type 8 -> 0, both
// checksums updated incrementally (RFC 1624).
import { checksum, checksumUpdate16 } from '../net/checksum.js';
import {
  DEFAULT_TTL,
  ETH_DST,
  ETH_SRC,
  ICMP_CODE,
  ICMP_CSUM,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HLEN,
  IP_CSUM,
  IP_DST,
  IP_HLEN,
  IP_PROTO,
  IP_SRC,
  IP_TOTLEN,
  IP_TTL,
  L4_OFF,
  copyMac,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from './packet.js';

/**
 * Rewrites the validated, option-less IPv4 ICMP echo request in `frame` into its reply from
 * `mac` (the ingress interface's own MAC). Returns 'icmp-bad' (frame untouched) when the ICMP
 * message is short, fails its checksum, or is not an echo request; null when rewritten.
 */
export function echoReplyInPlace(frame: Uint8Array, mac: Uint8Array): 'icmp-bad' | null {
  const icmpLen = readU16(frame, IP_TOTLEN) - IP_HLEN;
  if (icmpLen < ICMP_HLEN) return 'icmp-bad';
  if (frame[L4_OFF] !== ICMP_ECHO_REQUEST || frame[L4_OFF + ICMP_CODE] !== 0) return 'icmp-bad';
  if (checksum(frame, L4_OFF, icmpLen) !== 0) return 'icmp-bad';

  copyMac(frame, ETH_DST, frame, ETH_SRC);
  copyMac(frame, ETH_SRC, mac);
  const src = readU32(frame, IP_SRC);
  writeU32(frame, IP_SRC, readU32(frame, IP_DST));
  writeU32(frame, IP_DST, src); // swapping two words leaves the header sum unchanged
  const oldTtlWord = readU16(frame, IP_TTL);
  const newTtlWord = (DEFAULT_TTL << 8) | frame[IP_PROTO];
  writeU16(frame, IP_TTL, newTtlWord);
  writeU16(frame, IP_CSUM, checksumUpdate16(readU16(frame, IP_CSUM), oldTtlWord, newTtlWord));
  frame[L4_OFF] = ICMP_ECHO_REPLY;
  writeU16(frame, L4_OFF + ICMP_CSUM, checksumUpdate16(readU16(frame, L4_OFF + ICMP_CSUM), ICMP_ECHO_REQUEST << 8, ICMP_ECHO_REPLY << 8));
  return null;
}
