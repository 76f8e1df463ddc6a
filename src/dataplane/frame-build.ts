// What every frame the box originates starts with (TCP resets, ICMP errors): an Ethernet header
// and an option-less IPv4 header, written into a caller-owned buffer, and the padding to the
// Ethernet minimum. No allocation.
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
