// IPv4 options (RFC 791 3.1) at the start of the packet path: the path after this point reads a
// plain 20-byte header everywhere (L4_OFF, the firewall's ports, NAT, ICMP quotes, HA3), so the
// options of a packet it forwards are stripped here rather than carried. Loose and strict source
// routing (LSRR, SSRR) let a sender pick the path past the firewall: dropped, never honoured
// (RFC 7126 4.3, 4.4). A malformed option list is dropped. Everything else (EOL, NOP, router
// alert, timestamp, record route, and options unknown to us, which RFC 1812 5.2.4 says a router
// ignores) is removed: the packet leaves as if it had none. Record route and timestamp lose the
// hop entries of the routers before us; router alert loses its hint, which only matters to
// routers that act on RSVP/IGMP, none of which this box forwards to by design.
import { checksum } from '../net/checksum.js';
import { ETH_HLEN, IP_CSUM, IP_HLEN, IP_TOTLEN, IP_VHL, readU16, writeU16 } from './packet.js';

export const IPOPT_EOL = 0;
export const IPOPT_NOP = 1;
export const IPOPT_LSRR = 0x83;
export const IPOPT_SSRR = 0x89;

export const OPTS_OK = 0;
export const OPTS_SOURCE_ROUTE = 1;
export const OPTS_MALFORMED = 2;

/**
 * Walks the option list of the (validated) IPv4 header of `frame`, `hlen` bytes long: OPTS_OK,
 * OPTS_SOURCE_ROUTE when it holds LSRR or SSRR, OPTS_MALFORMED when an option's length is under 2
 * or runs past the header.
 */
export function checkIpOptions(frame: Uint8Array, hlen: number): number {
  const end = ETH_HLEN + hlen;
  let i = ETH_HLEN + IP_HLEN;
  while (i < end) {
    const type = frame[i];
    if (type === IPOPT_EOL) return OPTS_OK;
    if (type === IPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return OPTS_MALFORMED;
    const olen = frame[i + 1];
    if (olen < 2 || i + olen > end) return OPTS_MALFORMED;
    if (type === IPOPT_LSRR || type === IPOPT_SSRR) return OPTS_SOURCE_ROUTE;
    i += olen;
  }
  return OPTS_OK;
}

/**
 * Removes the options of the IPv4 packet in `frame` (header `hlen` bytes, checked): the payload
 * moves up, IHL becomes 5, the total length shrinks, the header checksum is computed again (the
 * L4 checksums do not cover options). Returns the frame's new length (Ethernet padding dropped).
 */
export function stripIpOptions(frame: Uint8Array, hlen: number): number {
  const totlen = readU16(frame, IP_TOTLEN);
  const cut = hlen - IP_HLEN;
  frame.copyWithin(ETH_HLEN + IP_HLEN, ETH_HLEN + hlen, ETH_HLEN + totlen);
  frame[IP_VHL] = 0x45;
  writeU16(frame, IP_TOTLEN, totlen - cut);
  setIpChecksum(frame);
  return ETH_HLEN + totlen - cut;
}

/** Computes the header checksum of the option-less IPv4 header of `frame` afresh. */
export function setIpChecksum(frame: Uint8Array): void {
  writeU16(frame, IP_CSUM, 0);
  writeU16(frame, IP_CSUM, checksum(frame, ETH_HLEN, IP_HLEN));
}
