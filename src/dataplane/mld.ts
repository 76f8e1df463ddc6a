// MLDv2 listener reports (RFC 3810): the box joins the solicited-node groups of its floating
// addresses (RFC 4861 7.2.1), so that a switch doing MLD snooping forwards neighbour solicitations
// for them to the active's port. The kernel does not join them for us: the floating addresses live
// in the dataplane, not on the device. Built into a caller-owned buffer, allocation-free.
//
//   Ethernet | IPv6 (hop limit 1, to ff02::16) | hop-by-hop: router alert | ICMPv6 143 | records
import { writeIpv6 } from '../net/ipv6.js';
import { writeEthIp6, writeMulticastMac6 } from './frame-build.js';
import { ETH_HLEN, writeU16, writeU32 } from './packet.js';
import { L4_OFF6, NH_HOPOPTS, NH_ICMPV6, writeL4Checksum6 } from './packet6.js';

export const MLD2_REPORT = 143;
/** Record types (RFC 3810 5.2.12): the current state (answering a query), and the changes of a join and a leave. */
export const MLD2_MODE_IS_EXCLUDE = 2;
export const MLD2_CHANGE_TO_INCLUDE = 3;
export const MLD2_CHANGE_TO_EXCLUDE = 4;

/** ff02::16, all MLDv2-capable routers (RFC 3810 5.2.14). */
export const ALL_MLDV2_ROUTERS: Readonly<Uint32Array> = Uint32Array.of(0xff020000, 0, 0, 0x16);

const HBH_LEN = 8;
const REPORT_HLEN = 8;
const RECORD_LEN = 20; // type, aux length, number of sources (0), group address

/**
 * An MLDv2 report from `src` (a link-local address, or :: before one is usable: RFC 3810 5.2.13)
 * and `srcMac`, with one record of `recordType` (no sources) for each of `count` groups of
 * `groups`: a join is MLD2_CHANGE_TO_EXCLUDE, a leave MLD2_CHANGE_TO_INCLUDE, an answer to a
 * query MLD2_MODE_IS_EXCLUDE. Hop limit 1 and the router alert option (RFC 3810 5). Frame
 * length, or 0 when `out` is too small.
 */
export function buildMldReport(
  out: Uint8Array,
  srcMac: Uint8Array,
  src: ArrayLike<number>,
  groups: readonly ArrayLike<number>[],
  count: number,
  recordType: number,
): number {
  const icmpLen = REPORT_HLEN + RECORD_LEN * count;
  const l4 = L4_OFF6 + HBH_LEN;
  if (out.length < l4 + icmpLen) return 0;
  writeEthIp6(out, srcMac, srcMac, NH_HOPOPTS, 1, src, ALL_MLDV2_ROUTERS, HBH_LEN + icmpLen);
  writeMulticastMac6(out, 0, ALL_MLDV2_ROUTERS);
  // hop-by-hop: next header ICMPv6, length 0 (8 bytes), router alert (type 5, length 2, value 0: MLD), PadN of 0
  writeU32(out, L4_OFF6, (NH_ICMPV6 << 24) | 0x0502);
  writeU32(out, L4_OFF6 + 4, 0x00000100);
  writeU32(out, l4, MLD2_REPORT << 24);
  writeU16(out, l4 + 4, 0);
  writeU16(out, l4 + 6, count);
  for (let i = 0; i < count; i++) {
    const r = l4 + REPORT_HLEN + i * RECORD_LEN;
    writeU32(out, r, recordType << 24);
    writeIpv6(out, r + 4, groups[i]);
  }
  writeL4Checksum6(out, ETH_HLEN, l4, icmpLen, NH_ICMPV6);
  return l4 + icmpLen;
}
