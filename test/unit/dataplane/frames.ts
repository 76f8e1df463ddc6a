// Frame builders for the dataplane unit tests: deliberately simple, written from the RFCs
// independently of src/dataplane (except the reference checksum, which has its own test).
import { parseIpv4 } from '../../../src/net/ipv4.js';

export function mac(text: string): number[] {
  return text.split(':').map((h) => parseInt(h, 16));
}

export function ip(text: string): number[] {
  const n = parseIpv4(text);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** Reference RFC 1071 checksum over plain numbers. */
export function refChecksum(bytes: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export function eth(dst: string, src: string, type: number, payload: number[]): number[] {
  return [...mac(dst), ...mac(src), type >> 8, type & 255, ...payload];
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto?: number;
  ttl?: number;
  payload?: number[];
  frag?: number;
  options?: number[];
  id?: number;
}

export function ipv4(o: Ipv4Opts): number[] {
  const options = o.options ?? [];
  const payload = o.payload ?? [];
  const hlen = 20 + options.length;
  const total = hlen + payload.length;
  const h = [
    0x40 | (hlen / 4),
    0,
    total >> 8,
    total & 255,
    (o.id ?? 0x1234) >> 8,
    (o.id ?? 0x1234) & 255,
    (o.frag ?? 0) >> 8,
    (o.frag ?? 0) & 255,
    o.ttl ?? 64,
    o.proto ?? 17,
    0,
    0,
    ...ip(o.src),
    ...ip(o.dst),
    ...options,
  ];
  const c = refChecksum(h);
  h[10] = c >> 8;
  h[11] = c & 255;
  return [...h, ...payload];
}

export function icmpEcho(type: number, id: number, seq: number, data: number[]): number[] {
  const m = [type, 0, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255, ...data];
  const c = refChecksum(m);
  m[2] = c >> 8;
  m[3] = c & 255;
  return m;
}

export function udp(sport: number, dport: number, data: number[]): number[] {
  const len = 8 + data.length;
  return [sport >> 8, sport & 255, dport >> 8, dport & 255, len >> 8, len & 255, 0, 0, ...data];
}

export function arp(op: 1 | 2, sha: string, spa: string, tha: string, tpa: string): number[] {
  return [0, 1, 8, 0, 6, 4, 0, op, ...mac(sha), ...ip(spa), ...mac(tha), ...ip(tpa)];
}

export function buf(bytes: number[]): Buffer {
  return Buffer.from(bytes);
}
