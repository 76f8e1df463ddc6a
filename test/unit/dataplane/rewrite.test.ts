// NAT rewrite against a full RFC 1071 recomputation (frames.ts's refChecksum), byte for byte, for
// many random packets, plus the folding corners (TCP 0x0000, UDP 0xffff and "no checksum").
import { describe, expect, test } from 'vitest';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { rewriteDestination, rewriteSource } from '../../../src/dataplane/rewrite.js';
import { l4MinLen, readFlowPorts } from '../../../src/dataplane/packet.js';
import { refChecksum } from './frames.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const L3 = 14;

function rng(seed: number): () => number {
  // mulberry32: deterministic, so a failure reproduces
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const u32 = (r: () => number) => Math.floor(r() * 2 ** 32) >>> 0;
const u16 = (r: () => number) => Math.floor(r() * 65536);
const bytes = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 256));

function be32(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

/** Reference: every checksum of the frame recomputed from scratch (RFC 1071, RFC 768, RFC 9293, RFC 792). */
function refFix(f: number[], udpNone = false): number[] {
  const ihl = (f[L3] & 15) * 4;
  f[L3 + 10] = f[L3 + 11] = 0;
  const hc = refChecksum(f.slice(L3, L3 + ihl));
  f[L3 + 10] = hc >> 8;
  f[L3 + 11] = hc & 255;
  const total = (f[L3 + 2] << 8) | f[L3 + 3];
  const l4 = L3 + ihl;
  const proto = f[L3 + 9];
  const seg = f.slice(l4, L3 + total);
  const pseudo = [...f.slice(L3 + 12, L3 + 20), 0, proto, seg.length >> 8, seg.length & 255];
  const off = proto === TCP ? 16 : proto === UDP ? 6 : 2;
  if (proto === UDP && udpNone) return f;
  seg[off] = seg[off + 1] = 0;
  let c = proto === ICMP ? refChecksum(seg) : refChecksum([...pseudo, ...seg]);
  if (proto === UDP && c === 0) c = 0xffff;
  f[l4 + off] = c >> 8;
  f[l4 + off + 1] = c & 255;
  return f;
}

interface Pkt {
  proto: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  payload: number[];
  icmpType?: number;
  udpNone?: boolean;
  ttl?: number;
}

function build(p: Pkt): number[] {
  let l4: number[];
  if (p.proto === TCP) {
    l4 = [p.sport >> 8, p.sport & 255, p.dport >> 8, p.dport & 255, 1, 2, 3, 4, 5, 6, 7, 8, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0, ...p.payload];
  } else if (p.proto === UDP) {
    const len = 8 + p.payload.length;
    l4 = [p.sport >> 8, p.sport & 255, p.dport >> 8, p.dport & 255, len >> 8, len & 255, 0, 0, ...p.payload];
  } else {
    l4 = [p.icmpType ?? 8, 0, 0, 0, p.sport >> 8, p.sport & 255, 0, 1, ...p.payload];
  }
  const total = 20 + l4.length;
  const f = [
    ...[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0],
    0x45,
    0,
    total >> 8,
    total & 255,
    0x12,
    0x34,
    0x40,
    0,
    p.ttl ?? 63,
    p.proto,
    0,
    0,
    ...be32(p.src),
    ...be32(p.dst),
    ...l4,
  ];
  return refFix(f, p.udpNone);
}

function randomPkt(r: () => number): Pkt {
  const kind = Math.floor(r() * 4);
  const proto = kind === 0 ? TCP : kind === 3 ? ICMP : UDP;
  return {
    proto,
    src: u32(r),
    dst: u32(r),
    sport: u16(r),
    dport: u16(r),
    payload: bytes(r, Math.floor(r() * 40)), // odd lengths included
    icmpType: r() < 0.5 ? 8 : 0,
    udpNone: kind === 2,
  };
}

function apply(p: Pkt, which: 'src' | 'dst', ip: number, port: number): { got: Uint8Array; want: number[] } {
  const got = Uint8Array.from(build(p));
  if (which === 'src') rewriteSource(got, L3, p.proto, ip, port);
  else rewriteDestination(got, L3, p.proto, ip, port);
  const q = { ...p };
  // ICMP echo: the identifier (kept in sport here) is the source port of a request and the
  // destination port of a reply
  const echoType = p.proto === ICMP ? (p.icmpType ?? 8) : -1;
  if (which === 'src') {
    q.src = ip;
    if (port >= 0 && (p.proto !== ICMP || echoType === 8)) q.sport = port;
  } else {
    q.dst = ip;
    if (port >= 0) {
      if (p.proto !== ICMP) q.dport = port;
      else if (echoType === 0) q.sport = port;
    }
  }
  return { got, want: build(q) };
}

describe('rewriteSource / rewriteDestination', () => {
  test('5000 random TCP, UDP (with and without checksum) and ICMP echo packets match a full recompute', () => {
    const r = rng(1);
    for (let i = 0; i < 5000; i++) {
      const p = randomPkt(r);
      const which = r() < 0.5 ? 'src' : 'dst';
      const port = r() < 0.2 ? -1 : u16(r);
      const { got, want } = apply(p, which, u32(r), port);
      expect(Array.from(got), `packet ${i}: ${JSON.stringify(p)} ${which} ${port}`).toEqual(want);
    }
  });

  test('a UDP checksum of 0 (none) stays 0 while addresses and ports change', () => {
    const p: Pkt = { proto: UDP, src: parseIpv4('10.0.1.5'), dst: parseIpv4('192.0.2.1'), sport: 5353, dport: 53, payload: [1, 2, 3], udpNone: true };
    const { got, want } = apply(p, 'src', parseIpv4('10.0.2.1'), 40000);
    expect(got[L3 + 20 + 6]).toBe(0);
    expect(got[L3 + 20 + 7]).toBe(0);
    expect(Array.from(got)).toEqual(want);
  });

  test('a rewrite whose checksum comes to zero: TCP sends 0x0000, UDP 0xffff (RFC 768)', () => {
    for (const proto of [TCP, UDP]) {
      for (let seed = 1; seed <= 50; seed++) {
        const r = rng(seed * 7);
        const p: Pkt = { proto, src: u32(r), dst: u32(r), sport: u16(r), dport: u16(r), payload: bytes(r, 11) };
        const ip = u32(r);
        // with port 0 the checksum is c0; adding c0 to the sum makes it 0xffff, i.e. checksum 0
        const probe = apply(p, 'src', ip, 0).got;
        const c0 = (probe[L3 + 20 + (proto === TCP ? 16 : 6)] << 8) | probe[L3 + 20 + (proto === TCP ? 17 : 7)];
        if (c0 === 0 || c0 === 0xffff) continue;
        const { got, want } = apply(p, 'src', ip, c0);
        const off = L3 + 20 + (proto === TCP ? 16 : 6);
        expect((got[off] << 8) | got[off + 1]).toBe(proto === TCP ? 0 : 0xffff);
        expect(Array.from(got)).toEqual(want);
      }
    }
  });

  test('starting from a UDP checksum sent as 0xffff (computed 0) the update is still exact', () => {
    let found = 0;
    const r = rng(99);
    for (let i = 0; i < 200000 && found < 20; i++) {
      const p: Pkt = { proto: UDP, src: u32(r), dst: u32(r), sport: u16(r), dport: u16(r), payload: [] };
      const f = build(p);
      if (((f[L3 + 26] << 8) | f[L3 + 27]) !== 0xffff) continue;
      found++;
      const { got, want } = apply(p, 'dst', u32(r), u16(r));
      expect(Array.from(got)).toEqual(want);
      // and back to the original: the packet round-trips exactly
      const back = Uint8Array.from(got);
      rewriteDestination(back, L3, UDP, p.dst, p.dport);
      expect(Array.from(back)).toEqual(f);
    }
    expect(found).toBeGreaterThan(0);
  });

  test("ICMP echo: a source rewrite changes a request's identifier, a destination rewrite a reply's", () => {
    const req: Pkt = { proto: ICMP, src: 1, dst: 2, sport: 0x1111, dport: 0, payload: [1, 2, 3], icmpType: 8 };
    const f = Uint8Array.from(build(req));
    rewriteDestination(f, L3, ICMP, 3, 0x2222); // a request's destination port is 0: the identifier stays
    expect(Array.from(f)).toEqual(build({ ...req, dst: 3 }));
    rewriteSource(f, L3, ICMP, 4, 0x3333);
    expect(Array.from(f)).toEqual(build({ ...req, dst: 3, src: 4, sport: 0x3333 }));
    const rep: Pkt = { ...req, icmpType: 0 };
    const g = Uint8Array.from(build(rep));
    rewriteSource(g, L3, ICMP, 5, 0x2222);
    expect(Array.from(g)).toEqual(build({ ...rep, src: 5 }));
    rewriteDestination(g, L3, ICMP, 6, 0x4444);
    expect(Array.from(g)).toEqual(build({ ...rep, src: 5, dst: 6, sport: 0x4444 }));
  });

  test('ICMP: the address change leaves the ICMP checksum alone; non-echo messages keep their bytes', () => {
    const p: Pkt = { proto: ICMP, src: parseIpv4('10.0.1.5'), dst: parseIpv4('192.0.2.1'), sport: 0x1234, dport: 0, payload: [9, 9], icmpType: 3 };
    const before = build(p);
    const got = Uint8Array.from(before);
    rewriteSource(got, L3, ICMP, parseIpv4('10.0.2.1'), 4000);
    expect(Array.from(got.subarray(34))).toEqual(before.slice(34)); // type 3: no identifier
    expect(Array.from(got)).toEqual(build({ ...p, src: parseIpv4('10.0.2.1') }));
  });

  test('port -1 keeps the port; the same address is a no-op', () => {
    const r = rng(5);
    for (const proto of [TCP, UDP, ICMP]) {
      const p: Pkt = { proto, src: u32(r), dst: u32(r), sport: u16(r), dport: u16(r), payload: bytes(r, 7) };
      const f = build(p);
      const got = Uint8Array.from(f);
      rewriteSource(got, L3, proto, p.src, -1);
      rewriteDestination(got, L3, proto, p.dst, -1);
      expect(Array.from(got)).toEqual(f);
    }
  });
});

describe('readFlowPorts', () => {
  const L4 = L3 + 20;
  const ports = (f: Uint8Array, proto: number): [number, number] | false => {
    const out = { srcPort: -1, dstPort: -1 };
    return readFlowPorts(f, L4, proto, out) && [out.srcPort, out.dstPort];
  };

  test('TCP/UDP ports; echo request (identifier, 0), echo reply (0, identifier); others none', () => {
    const tcp = Uint8Array.from(build({ proto: TCP, src: 1, dst: 2, sport: 40000, dport: 443, payload: [] }));
    expect(ports(tcp, TCP)).toEqual([40000, 443]);
    const udp = Uint8Array.from(build({ proto: UDP, src: 1, dst: 2, sport: 5353, dport: 53, payload: [] }));
    expect(ports(udp, UDP)).toEqual([5353, 53]);
    const request = Uint8Array.from(build({ proto: ICMP, src: 1, dst: 2, sport: 0xbeef, dport: 0, payload: [], icmpType: 8 }));
    expect(ports(request, ICMP)).toEqual([0xbeef, 0]);
    const reply = Uint8Array.from(build({ proto: ICMP, src: 2, dst: 1, sport: 0xbeef, dport: 0, payload: [], icmpType: 0 }));
    expect(ports(reply, ICMP)).toEqual([0, 0xbeef]);
    const unreach = Uint8Array.from(build({ proto: ICMP, src: 1, dst: 2, sport: 0xbeef, dport: 0, payload: [], icmpType: 3 }));
    expect(ports(unreach, ICMP)).toBe(false);
    expect(ports(tcp, 47)).toBe(false);
  });

  test('l4MinLen', () => {
    expect([l4MinLen(TCP), l4MinLen(UDP), l4MinLen(ICMP), l4MinLen(47)]).toEqual([20, 8, 8, 0]);
  });
});
