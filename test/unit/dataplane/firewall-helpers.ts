// Frame builders and a Pipeline rig for the firewall unit tests. The builders compute every
// checksum from scratch (frames.ts's refChecksum), independently of src/dataplane, so a frame the
// firewall rewrote incrementally can be compared byte for byte with one built here.
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import type { SharedConfig } from '../../../src/config/types.js';
import { checksum } from '../../../src/net/checksum.js';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS } from '../../../src/wire/dataplane-counters.js';
import { FirewallStats } from '../../../src/wire/firewall-stats.js';
import { ETH_HLEN, parseMac } from '../../../src/dataplane/packet.js';
import { Pipeline, type PipelineInterface, type RoleSource } from '../../../src/dataplane/pipeline.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { formatIpv4, parseCidr, parseIpv4 } from '../../../src/net/ipv4.js';
import { eth, ip, ipv4, refChecksum } from './frames.js';

export const LAN_V = '02:74:64:00:01:01';
export const WAN_V = '02:74:64:00:01:02';
export const LAN_REAL = '0a:00:00:00:01:02';
export const WAN_REAL = '0a:00:00:00:02:02';
export const CLIENT_MAC = '22:00:00:00:01:0a';
export const CLIENT2_MAC = '22:00:00:00:01:0b';
export const SERVER_MAC = '22:00:00:00:02:0a';

export const CLIENT = '10.0.1.10';
export const CLIENT2 = '10.0.1.11';
export const SERVER = '10.0.2.10';
export const LAN_FLOAT = '10.0.1.1';
export const WAN_FLOAT = '10.0.2.1';
export const LAN = 0;
export const WAN = 1;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

const LAB_PATH = new URL('../../../deploy/lab/fwa.yaml', import.meta.url).pathname;

/** The lab box's config file as a plain object, to mutate before sharedOf(). */
export function labRaw(): Record<string, any> {
  return parse(readFileSync(LAB_PATH, 'utf8'));
}

/** The validated shared half of a (mutated) config object. */
export function sharedOf(raw: Record<string, any>): SharedConfig {
  return parseConfig(stringify(raw), { source: 'firewall-test.yaml' }).shared;
}

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

function pseudo(src: string, dst: string, proto: number, len: number): number[] {
  return [...ip(src), ...ip(dst), 0, proto, len >> 8, len & 255];
}

export interface TcpOpts {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq?: number;
  ack?: number;
  data?: number[];
  ttl?: number;
  id?: number;
  /** Receive window (default 0x7210). */
  win?: number;
}

/** An IPv4 packet holding a TCP segment (no options), checksums computed. */
export function tcpPacket(o: TcpOpts): number[] {
  const data = o.data ?? [];
  const seg = [
    o.sport >> 8,
    o.sport & 255,
    o.dport >> 8,
    o.dport & 255,
    ...u32(o.seq ?? 1000),
    ...u32(o.ack ?? 0),
    0x50,
    o.flags,
    (o.win ?? 0x7210) >> 8,
    (o.win ?? 0x7210) & 255,
    0,
    0,
    0,
    0,
    ...data,
  ];
  const c = refChecksum([...pseudo(o.src, o.dst, IPPROTO_TCP, seg.length), ...seg]);
  seg[16] = c >> 8;
  seg[17] = c & 255;
  return ipv4({ src: o.src, dst: o.dst, proto: IPPROTO_TCP, ttl: o.ttl, id: o.id, payload: seg });
}

export interface UdpOpts {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  data?: number[];
  /** false: checksum field 0 ("none", RFC 768). Default true. */
  csum?: boolean;
  ttl?: number;
}

/** An IPv4 packet holding a UDP datagram; a computed checksum of 0 is sent as 0xffff (RFC 768). */
export function udpPacket(o: UdpOpts): number[] {
  const data = o.data ?? [];
  const len = 8 + data.length;
  const d = [o.sport >> 8, o.sport & 255, o.dport >> 8, o.dport & 255, len >> 8, len & 255, 0, 0, ...data];
  if (o.csum !== false) {
    const c = udpRawChecksum(o.src, o.dst, d) || 0xffff;
    d[6] = c >> 8;
    d[7] = c & 255;
  }
  return ipv4({ src: o.src, dst: o.dst, proto: IPPROTO_UDP, ttl: o.ttl, payload: d });
}

/** The RFC 1071 checksum of a UDP datagram (checksum field zero) with its pseudo-header, before the 0 -> 0xffff rule. */
export function udpRawChecksum(src: string, dst: string, datagram: number[]): number {
  const d = [...datagram];
  d[6] = 0;
  d[7] = 0;
  return refChecksum([...pseudo(src, dst, IPPROTO_UDP, d.length), ...d]);
}

/** An ICMP echo request (8) or reply (0) in IPv4. */
export function echoPacket(src: string, dst: string, type: 0 | 8, id: number, seq = 1, ttl?: number): number[] {
  const m = [type, 0, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4];
  const c = refChecksum(m);
  m[2] = c >> 8;
  m[3] = c & 255;
  return ipv4({ src, dst, proto: IPPROTO_ICMP, ttl, payload: m });
}

/** An ICMP error (type/code) from src to dst quoting `quoted` (the bytes of an IPv4 packet, or its start). */
export function icmpErrorPacket(src: string, dst: string, type: number, code: number, quoted: number[], ttl?: number, id?: number): number[] {
  const m = [type, code, 0, 0, 0, 0, 0, 0, ...quoted];
  const c = refChecksum(m);
  m[2] = c >> 8;
  m[3] = c & 255;
  return ipv4({ src, dst, proto: IPPROTO_ICMP, ttl, id, payload: m });
}

/** An IPv4 packet from the builders above in Ethernet, zero-padded to minLen (60: the Ethernet minimum). */
export function frame(dstMac: string, srcMac: string, packet: number[], minLen = 0): Buffer {
  const bytes = eth(dstMac, srcMac, 0x0800, packet);
  while (bytes.length < minLen) bytes.push(0);
  return Buffer.from(bytes);
}

/** The fields of a frame the tests look at. */
export interface View {
  dstMac: string;
  srcMac: string;
  ttl: number;
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  tcpFlags: number;
  icmpType: number;
  icmpCode: number;
  icmpId: number;
}

function mac(b: Uint8Array, off: number): string {
  return Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

const r16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const r32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function view(f: Uint8Array): View {
  const l3 = ETH_HLEN;
  const l4 = l3 + ((f[l3] & 15) << 2);
  const proto = f[l3 + 9];
  const ported = proto === IPPROTO_TCP || proto === IPPROTO_UDP;
  return {
    dstMac: mac(f, 0),
    srcMac: mac(f, 6),
    ttl: f[l3 + 8],
    proto,
    src: formatIpv4(r32(f, l3 + 12)),
    dst: formatIpv4(r32(f, l3 + 16)),
    sport: ported ? r16(f, l4) : -1,
    dport: ported ? r16(f, l4 + 2) : -1,
    tcpFlags: proto === IPPROTO_TCP ? f[l4 + 13] : -1,
    icmpType: proto === IPPROTO_ICMP ? f[l4] : -1,
    icmpCode: proto === IPPROTO_ICMP ? f[l4 + 1] : -1,
    icmpId: proto === IPPROTO_ICMP ? r16(f, l4 + 4) : -1,
  };
}

/**
 * Verifies the IPv4 packet at `l3` with src/dataplane/checksum.ts's RFC 1071 checksum: the IP
 * header, and the L4 checksum over the L4 bytes the total length gives (TCP and UDP with their
 * pseudo-header; a UDP checksum of 0 is 'none'). Returns what failed, [] when all verify.
 */
export function badChecksums(f: Uint8Array, l3 = ETH_HLEN): string[] {
  const bad: string[] = [];
  const ihl = (f[l3] & 15) << 2;
  if (checksum(f, l3, ihl) !== 0) bad.push('ip');
  const total = r16(f, l3 + 2);
  const l4 = l3 + ihl;
  const l4len = total - ihl;
  const proto = f[l3 + 9];
  const src = r32(f, l3 + 12);
  const dst = r32(f, l3 + 16);
  const ph = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + l4len;
  if (proto === IPPROTO_TCP && checksum(f, l4, l4len, ph) !== 0) bad.push('tcp');
  if (proto === IPPROTO_UDP && r16(f, l4 + 6) !== 0 && checksum(f, l4, l4len, ph) !== 0) bad.push('udp');
  if (proto === IPPROTO_ICMP && checksum(f, l4, l4len) !== 0) bad.push('icmp');
  return bad;
}

function itf(name: string, device: string, real: string, v: string, address: string, floating: string[]): PipelineInterface {
  const { address: a, prefix } = parseCidr(address);
  return { name, device, realMac: parseMac(real), mac: parseMac(v), address: a, prefix, floating: floating.map(parseIpv4), mtu: 1500 };
}

const NAMES: string[] = [...EVENT_COUNTERS, ...DROP_REASONS];

/**
 * The lab's two interfaces (lan 10.0.1.2/24 with 10.0.1.1, wan 10.0.2.2/24 with 10.0.2.1), an
 * always-active role, the firewall with FirewallStats, and the hosts' MACs already known (so a
 * forwarded frame leaves at once, not after ARP).
 */
export function makeRig(shared: SharedConfig, seed = 7) {
  const interfaces = [itf('lan', 'lan0', LAN_REAL, LAN_V, '10.0.1.2/24', [LAN_FLOAT]), itf('wan', 'wan0', WAN_REAL, WAN_V, '10.0.2.2/24', [WAN_FLOAT])];
  const routes = RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24' },
      { name: 'wan', address: '10.0.2.2/24' },
    ],
    routes: [],
  });
  const role: RoleSource = { role: 1, mayActAsActive: () => true };
  const counters = new Float64Array(COUNTER_COUNT);
  const sent: { ifIndex: number; frame: Buffer }[] = [];
  const sink = { send: (ifIndex: number, f: Uint8Array, len: number) => (sent.push({ ifIndex, frame: Buffer.from(f.subarray(0, len)) }), true) };
  const stats = new FirewallStats(shared.policy.rules.length, shared.nat.length);
  const p = new Pipeline(interfaces, routes, role, counters, sink, {
    neighbours: { reachableMs: 1e12, refreshMs: 1e12 },
    firewall: { shared, stats, seed },
  });
  p.neighbours[LAN].learn(parseIpv4(CLIENT), parseMac(CLIENT_MAC), 0, 0);
  p.neighbours[LAN].learn(parseIpv4(CLIENT2), parseMac(CLIENT2_MAC), 0, 0);
  p.neighbours[WAN].learn(parseIpv4(SERVER), parseMac(SERVER_MAC), 0, 0);
  const fw = p.firewall!;

  /** Hands one frame to the pipeline; returns the counters it moved and the frames it sent. */
  function send(ifIndex: number, f: Buffer, nowMs: number) {
    const before = counters.slice();
    const start = sent.length;
    p.handle(ifIndex, f, f.length, nowMs);
    const moved: Record<string, number> = {};
    counters.forEach((v, i) => {
      if (v !== before[i]) moved[NAMES[i]] = v - before[i];
    });
    return { moved, out: sent.slice(start) };
  }

  /** Counters moved by fn. */
  function movedBy(fn: () => void): Record<string, number> {
    const before = counters.slice();
    fn();
    const moved: Record<string, number> = {};
    counters.forEach((v, i) => {
      if (v !== before[i]) moved[NAMES[i]] = v - before[i];
    });
    return moved;
  }

  /** The NAT allocator of (proto, translated address). */
  const ports = (proto: number, addr: string) => fw.nat.ports(proto, parseIpv4(addr));

  return { p, fw, counters, sent, stats, send, movedBy, ports };
}

/** Counters a forwarded frame moves, plus `extra`. */
export function forwarded(extra: Record<string, number> = {}): Record<string, number> {
  return { forwarded: 1, tx: 1, ...extra };
}
