// Fragmentation on egress (RFC 791 3.2, RFC 1812 5.2.6): a packet larger than the egress MTU
// with DF clear leaves as fragments of at most the MTU, payloads split on 8-byte boundaries. The
// packet path strips IP options at its start (ip-options.ts), so every fragment carries the
// plain 20-byte header: there are no options to copy. A packet that is itself a fragment (with
// an offset, or MF) keeps its place: offsets add up and the last piece keeps its MF.
import { ETH_HLEN, IP_FRAG, IP_HLEN, IP_MF, IP_OFFMASK, IP_TOTLEN, L4_OFF, readU16, writeU16 } from './packet.js';
import { setIpChecksum } from './ip-options.js';

/** Payload bytes per fragment for an MTU: the most that fits after the header, a multiple of 8. */
export function fragmentPayload(mtu: number): number {
  return (mtu - IP_HLEN) & ~7;
}

/** How many fragments the option-less packet in `frame` makes at `mtu` (0: the MTU cannot carry any). */
export function fragmentCount(frame: Uint8Array, mtu: number): number {
  const step = fragmentPayload(mtu);
  if (step <= 0) return 0;
  return Math.ceil((readU16(frame, IP_TOTLEN) - IP_HLEN) / step);
}

/**
 * Writes fragment `k` of the option-less packet in `frame` (Ethernet header, IPv4 header, payload)
 * into `out`: the same headers with its total length, offset, MF and header checksum. Returns its
 * frame length.
 */
export function buildFragment(out: Uint8Array, frame: Uint8Array, mtu: number, k: number): number {
  const step = fragmentPayload(mtu);
  const payload = readU16(frame, IP_TOTLEN) - IP_HLEN;
  const start = k * step;
  const n = Math.min(step, payload - start);
  const word = readU16(frame, IP_FRAG);
  const last = start + n >= payload;
  out.set(frame.subarray(0, L4_OFF), 0);
  out.set(frame.subarray(L4_OFF + start, L4_OFF + start + n), L4_OFF);
  writeU16(out, IP_TOTLEN, IP_HLEN + n);
  const more = !last || (word & IP_MF) !== 0 ? IP_MF : 0;
  writeU16(out, IP_FRAG, (word & ~(IP_MF | IP_OFFMASK)) | more | ((word & IP_OFFMASK) + (start >>> 3)));
  setIpChecksum(out);
  return ETH_HLEN + IP_HLEN + n;
}
