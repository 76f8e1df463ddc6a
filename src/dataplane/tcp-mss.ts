// TCP MSS clamping (RFC 879, RFC 6691; Linux's TCPMSS --set-mss, PAN-OS "adjust TCP MSS"): a SYN
// crossing an interface whose path carries less than the hosts think (a tunnel, PPPoE) has its
// MSS option lowered, so the connection never sends a segment that needs fragmentation or path
// MTU discovery (which hosts behind filters that drop ICMP never get).
//
// The option is changed in place with the TCP checksum updated incrementally (RFC 1624). Options
// need not be 16-bit aligned: a value at an odd offset from the header's start adds to the sum
// byte-swapped, so its delta is taken that way. Pure, no allocation.
import { applyDelta, delta16 } from '../net/checksum.js';
import { ipHeaderLen, IPH_PROTO, IPH_TOTLEN, IPPROTO_TCP, readU16, TCP_CSUM, TCP_FLAGS, TCP_HLEN, writeU16 } from './packet.js';

/** TCP option kinds (RFC 9293 3.2). */
const OPT_END = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_MSS_LEN = 4;
const TCP_SYN = 0x02;
/** Data offset in 32-bit words, high 4 bits of byte 12. */
const TCP_DOFF = 12;

/**
 * Lowers the MSS option of the TCP SYN (or SYN-ACK) in the IPv4 packet at `l3` to `mss` when it is
 * larger. Returns true when the packet was changed. Anything else (not TCP, not a SYN, no MSS
 * option, malformed options: a length that runs past the header) is left alone.
 */
export function clampMss(frame: Uint8Array, l3: number, mss: number): boolean {
  if (frame[l3 + IPH_PROTO] !== IPPROTO_TCP) return false;
  return clampMssAt(frame, l3 + ipHeaderLen(frame, l3), l3 + readU16(frame, l3 + IPH_TOTLEN), mss);
}

/**
 * clampMss for the TCP segment at `l4` ending at `end`, of either family (IPv6 passes the upper
 * layer its extension-header walk found; the TCP checksum's pseudo-header does not change).
 */
export function clampMssAt(frame: Uint8Array, l4: number, end: number, mss: number): boolean {
  if (end - l4 < TCP_HLEN || (frame[l4 + TCP_FLAGS] & TCP_SYN) === 0) return false;
  const optEnd = l4 + ((frame[l4 + TCP_DOFF] >>> 4) << 2);
  if (optEnd > end) return false;
  const at = findMss(frame, l4 + TCP_HLEN, optEnd);
  if (at < 0) return false;
  const old = readU16(frame, at);
  if (old <= mss) return false;
  writeU16(frame, at, mss);
  const odd = ((at - l4) & 1) === 1;
  const d = odd ? delta16(swap16(old), swap16(mss)) : delta16(old, mss);
  writeU16(frame, l4 + TCP_CSUM, applyDelta(readU16(frame, l4 + TCP_CSUM), d));
  return true;
}

/** The offset of the MSS option's value within [from, end), -1 when there is none or the options are malformed. */
function findMss(frame: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const kind = frame[i];
    if (kind === OPT_END) return -1;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return -1;
    const len = frame[i + 1];
    if (len < 2 || i + len > end) return -1;
    if (kind === OPT_MSS) return len === OPT_MSS_LEN ? i + 2 : -1;
    i += len;
  }
  return -1;
}

function swap16(v: number): number {
  return ((v & 0xff) << 8) | (v >>> 8);
}
