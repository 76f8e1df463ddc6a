// IPv6 frame builders for the dataplane unit tests, written from RFC 8200 / RFC 4443 / RFC 4861
// independently of src/dataplane: plain number arrays, the reference checksum of frames.ts.
import { parseIpv6 } from '../../../src/net/ipv6.js';
import { eth, refChecksum } from './frames.js';
import { parseMac } from '../../../src/dataplane/packet.js';

export function ip6(text: string): number[] {
  const w = parseIpv6(text);
  const out: number[] = [];
  for (const v of w) out.push(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  return out;
}

/** An extension header: next header, and a body that makes it a multiple of 8 bytes (hdr ext len filled in). */
export function ext(next: number, body: number[]): number[] {
  const h = [next, 0, ...body];
  if (h.length % 8 !== 0) throw new Error(`extension header of ${h.length} bytes`);
  h[1] = h.length / 8 - 1;
  return h;
}

/** A fragment header (RFC 8200 4.5). */
export function frag(next: number, offset: number, more: boolean, id = 0x01020304): number[] {
  const w = offset | (more ? 1 : 0);
  return [next, 0, w >> 8, w & 255, id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255];
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  /** Next header of the IPv6 header (the first extension header's type, or the upper layer). */
  next: number;
  hopLimit?: number;
  /** Everything after the 40-byte header: extension headers and the upper layer. */
  payload: number[];
}

export function ipv6(o: Ipv6Opts): number[] {
  const n = o.payload.length;
  return [0x60, 0, 0, 0, n >> 8, n & 255, o.next, o.hopLimit ?? 64, ...ip6(o.src), ...ip6(o.dst), ...o.payload];
}

/** Upper-layer checksum with the pseudo-header of RFC 8200 8.1, written at `csumAt` of `l4`. */
export function withChecksum6(src: string, dst: string, proto: number, l4: number[], csumAt: number): number[] {
  const m = [...l4];
  m[csumAt] = 0;
  m[csumAt + 1] = 0;
  const len = m.length;
  const pseudo = [...ip6(src), ...ip6(dst), len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, 0, 0, 0, proto];
  const c = refChecksum([...pseudo, ...m]);
  m[csumAt] = c >> 8;
  m[csumAt + 1] = c & 255;
  return m;
}

/** An ICMPv6 message with its checksum. */
export function icmp6(src: string, dst: string, type: number, code: number, rest: number[]): number[] {
  return withChecksum6(src, dst, 58, [type, code, 0, 0, ...rest], 2);
}

export function udp6(src: string, dst: string, sport: number, dport: number, data: number[]): number[] {
  const len = 8 + data.length;
  return withChecksum6(src, dst, 17, [sport >> 8, sport & 255, dport >> 8, dport & 255, len >> 8, len & 255, 0, 0, ...data], 6);
}

export function tcp6(src: string, dst: string, sport: number, dport: number): number[] {
  const h = [sport >> 8, sport & 255, dport >> 8, dport & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
  return withChecksum6(src, dst, 6, h, 16);
}

/** An Ethernet frame with an IPv6 packet. */
export function eth6(dstMac: string, srcMac: string, o: Ipv6Opts): Uint8Array {
  return Uint8Array.from(eth(dstMac, srcMac, 0x86dd, ipv6(o)));
}

/** A neighbour solicitation for `target` from `src` (with its link-layer option) to the solicited-node group. */
export function nsFrame(src: string, srcMac: string, target: string): Uint8Array {
  const t = parseIpv6(target);
  const group = `ff02::1:ff${((t[3] >>> 16) & 0xff).toString(16).padStart(2, '0')}:${(t[3] & 0xffff).toString(16)}`;
  const body = [0, 0, 0, 0, ...ip6(target), 1, 1, ...[...parseMac(srcMac)]];
  const dstMac = `33:33:ff:${[(t[3] >>> 16) & 0xff, (t[3] >>> 8) & 0xff, t[3] & 0xff].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
  return eth6(dstMac, srcMac, { src, dst: group, next: 58, hopLimit: 255, payload: icmp6(src, group, 135, 0, body) });
}
