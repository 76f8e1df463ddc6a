// What every frame the box originates starts with (TCP resets, ICMP errors, neighbour discovery):
// an Ethernet header and an option-less IPv4 header or an extension-less IPv6 header, written into
// a caller-owned buffer, and the padding to the Ethernet minimum. No allocation.
import { checksum } from '../net/checksum.js';
import {
  DEFAULT_TTL,
  ETH_DST,
  ETH_HLEN,
  ETH_MIN_FRAME,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_IPV4,
  IP_HLEN,
  IPH_CSUM,
  IPH_DST,
  IPH_PROTO,
  IPH_SRC,
  IPH_TOTLEN,
  IPH_TTL,
  IPH_VHL,
  copyMac,
  writeU16,
  writeU32,
} from './packet.js';
import { ETHERTYPE_IPV6, IP6H_HLIM, IP6H_NXT, IP6H_PLEN, IP6H_SRC, IP6H_DST, IP6H_VTC } from './packet6.js';
import { writeIpv6 } from '../net/ipv6.js';

const L3 = ETH_HLEN;

/** Ethernet + an option-less IPv4 header with a zero ID, no fragment flags, TTL 64, and its checksum. */
export function writeEthIp(out: Uint8Array, srcMac: Uint8Array, dstMac: Uint8Array, proto: number, src: number, dst: number, totalLen: number): void {
  copyMac(out, ETH_DST, dstMac);
  copyMac(out, ETH_SRC, srcMac);
  writeU16(out, ETH_TYPE, ETHERTYPE_IPV4);
  out[L3 + IPH_VHL] = 0x45;
  out[L3 + 1] = 0; // type of service
  writeU16(out, L3 + IPH_TOTLEN, totalLen);
  writeU32(out, L3 + 4, 0); // identification 0, flags 0, fragment offset 0
  out[L3 + IPH_TTL] = DEFAULT_TTL;
  out[L3 + IPH_PROTO] = proto;
  writeU16(out, L3 + IPH_CSUM, 0);
  writeU32(out, L3 + IPH_SRC, src);
  writeU32(out, L3 + IPH_DST, dst);
  writeU16(out, L3 + IPH_CSUM, checksum(out, L3, IP_HLEN));
}

/** Zero the bytes from `len` to the Ethernet minimum; the padded length. */
export function padFrame(out: Uint8Array, len: number): number {
  if (len >= ETH_MIN_FRAME) return len;
  out.fill(0, len, ETH_MIN_FRAME);
  return ETH_MIN_FRAME;
}

/**
 * Ethernet + an IPv6 header without extension headers (RFC 8200 3): traffic class and flow label
 * 0, `payloadLen` bytes after it of next header `proto`, `hopLimit`, addresses as 4 words each.
 */
export function writeEthIp6(
  out: Uint8Array,
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  proto: number,
  hopLimit: number,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  payloadLen: number,
): void {
  copyMac(out, ETH_DST, dstMac);
  copyMac(out, ETH_SRC, srcMac);
  writeU16(out, ETH_TYPE, ETHERTYPE_IPV6);
  writeU32(out, L3 + IP6H_VTC, 0x60000000);
  writeU16(out, L3 + IP6H_PLEN, payloadLen);
  out[L3 + IP6H_NXT] = proto;
  out[L3 + IP6H_HLIM] = hopLimit;
  writeIpv6(out, L3 + IP6H_SRC, src);
  writeIpv6(out, L3 + IP6H_DST, dst);
}

/** Writes at `off` the Ethernet MAC of the IPv6 multicast address `words` (RFC 2464 7: 33:33 and its last 32 bits). */
export function writeMulticastMac6(out: Uint8Array, off: number, words: ArrayLike<number>, wOff = 0): void {
  out[off] = 0x33;
  out[off + 1] = 0x33;
  writeU32(out, off + 2, words[wOff + 3]);
}
