// IPv6 header validation, the extension header walk with its limits (RFC 8200 4, RFC 5095,
// RFC 7045, RFC 9098), upper-layer checksums with the pseudo-header (RFC 8200 8.1), flow ports
// and the forwarding sanity checks (RFC 4291), on frames built independently (frames6.ts).
import { describe, expect, it } from 'vitest';
import { parseIpv6 } from '../../../src/net/ipv6.js';
import {
  forwardDrop6,
  frag6More,
  frag6Offset,
  isIcmp6ErrorType,
  isMartianSource6,
  l4Checksum6,
  l4ChecksumOk6,
  l4MinLen6,
  newIpv6Walk,
  readFlowPorts6,
  validateIpv6,
  walkIpv6,
  writeL4Checksum6,
  ipv6End,
} from '../../../src/dataplane/packet6.js';
import { eth6, ext, frag, icmp6, ip6, tcp6, udp6 } from './frames6.js';

const A = '2001:db8:1::10';
const B = '2001:db8:2::20';
const M1 = '02:00:00:00:00:01';
const M2 = '02:00:00:00:00:02';
const L3 = 14;

const pkt = (next: number, payload: number[]) => eth6(M1, M2, { src: A, dst: B, next, payload });

function walk(f: Uint8Array) {
  const w = newIpv6Walk();
  const r = walkIpv6(f, L3, ipv6End(f, L3), w);
  return { r, w };
}

/** A destination options header of `n` * 8 bytes, padded with PadN. */
const dstopts = (next: number, n: number) => ext(next, [1, n * 8 - 4, ...new Array(n * 8 - 4).fill(0)]);

describe('validateIpv6', () => {
  it('accepts a well-formed packet, with Ethernet padding after it', () => {
    const f = pkt(17, udp6(A, B, 1, 2, []));
    expect(validateIpv6(f, f.length)).toBeNull();
    const padded = new Uint8Array(f.length + 10);
    padded.set(f);
    expect(validateIpv6(padded, padded.length)).toBeNull();
  });

  it('refuses a short frame, another version, a payload length past the frame', () => {
    const f = pkt(17, udp6(A, B, 1, 2, [1, 2, 3]));
    expect(validateIpv6(f, 14 + 39)).toBe('truncated');
    expect(validateIpv6(f, f.length - 1)).toBe('bad-ip6-header');
    const v4 = f.slice();
    v4[L3] = 0x45;
    expect(validateIpv6(v4, v4.length)).toBe('bad-ip6-header');
  });
});

describe('walkIpv6', () => {
  it('finds the upper layer directly after the header', () => {
    const { r, w } = walk(pkt(6, tcp6(A, B, 1000, 80)));
    expect(r).toBeNull();
    expect(w).toMatchObject({ proto: 6, l4: L3 + 40, protoField: L3 + 6, fragOff: -1, hopByHop: false, extCount: 0, extBytes: 0 });
  });

  it('walks hop-by-hop (router alert, Pad1, PadN), destination options, AH, a first fragment', () => {
    const hbh = ext(60, [5, 2, 0, 0, 0, 0]); // router alert, then two Pad1
    const ah = [44, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, ...new Array(12).fill(0)]; // 24 bytes: (4 + 2) * 4
    const payload = [...hbh, ...dstopts(51, 1), ...ah, ...frag(17, 0, true), ...udp6(A, B, 53, 53, [])];
    const { r, w } = walk(pkt(0, payload));
    expect(r).toBeNull();
    expect(w.proto).toBe(17);
    expect(w.hopByHop).toBe(true);
    expect(w.extCount).toBe(4);
    expect(w.extBytes).toBe(8 + 8 + 24 + 8);
    expect(w.l4).toBe(L3 + 40 + 48);
    expect(w.fragOff).toBe(L3 + 40 + 40);
  });

  it('stops at a fragment with an offset: what follows is data', () => {
    const f = pkt(44, [...frag(6, 1448, false), 1, 2, 3, 4]);
    const { r, w } = walk(f);
    expect(r).toBeNull();
    expect(w).toMatchObject({ proto: 6, l4: L3 + 48, fragOff: L3 + 40, protoField: L3 + 40 });
    expect(frag6Offset(f, w.fragOff)).toBe(1448);
    expect(frag6More(f, w.fragOff)).toBe(false);
  });

  it('ESP and no next header are the upper layer', () => {
    expect(walk(pkt(50, [0, 0, 1, 0, 0, 0, 0, 1])).w.proto).toBe(50);
    const { r, w } = walk(pkt(60, dstopts(59, 1)));
    expect(r).toBeNull();
    expect(w.proto).toBe(59);
  });

  it('hop-by-hop anywhere but first is dropped; so is a repeated header', () => {
    expect(walk(pkt(60, [...dstopts(0, 1), ...ext(17, [1, 4, 0, 0, 0, 0])])).r).toBe('ip6-ext-order');
    expect(walk(pkt(44, [...frag(44, 0, true), ...frag(17, 0, true)])).r).toBe('ip6-ext-order');
    const rh = (next: number) => ext(next, [2, 0, 0, 0, 0, 0]); // routing type 2, segments left 0
    expect(walk(pkt(43, [...rh(43), ...rh(59)])).r).toBe('ip6-ext-order');
    // destination options twice (before a routing header and before the upper layer) is allowed
    expect(walk(pkt(60, [...dstopts(43, 1), ...rh(60), ...dstopts(59, 1)])).r).toBeNull();
  });

  it('a chain of 9 extension headers is dropped, 8 are walked', () => {
    const chain = (n: number) => {
      const hs: number[] = [];
      for (let i = 0; i < n; i++) hs.push(...dstopts(i === n - 1 ? 59 : 60, 1));
      return pkt(60, hs);
    };
    expect(walk(chain(9)).r).toBe('ip6-ext-limit');
    expect(walk(chain(8)).r).toBeNull();
  });

  it('more than 256 bytes of extension headers are dropped (a 300-byte chain)', () => {
    const big = dstopts(43, 33); // 264 bytes
    expect(walk(pkt(60, [...big, ...ext(59, [4, 0, 0, 0, 0, 0])])).r).toBe('ip6-ext-limit');
    const ok = dstopts(59, 32); // 256 bytes
    expect(walk(pkt(60, ok)).r).toBeNull();
    const hbh300 = ext(59, new Array(302).fill(0)); // 304 bytes of Pad1
    expect(walk(pkt(0, hbh300)).r).toBe('ip6-ext-limit');
  });

  it('routing type 0 is dropped even with segments left 0; another type with segments left is dropped', () => {
    expect(walk(pkt(43, [...ext(17, [0, 0, 0, 0, 0, 0]), ...udp6(A, B, 1, 2, [])])).r).toBe('ip6-rh0');
    expect(walk(pkt(43, [...ext(17, [0, 1, 0, 0, 0, 0, ...ip6('2001:db8::1')]), ...udp6(A, B, 1, 2, [])])).r).toBe('ip6-rh0');
    expect(walk(pkt(43, [...ext(17, [4, 1, 0, 0, 0, 0, ...ip6('2001:db8::1')]), ...udp6(A, B, 1, 2, [])])).r).toBe('ip6-routing');
    expect(walk(pkt(43, [...ext(17, [4, 0, 0, 0, 0, 0]), ...udp6(A, B, 1, 2, [])])).r).toBeNull();
  });

  it('an unknown next header is dropped (HIP, an unassigned value, ICMP for IPv4)', () => {
    for (const nh of [139, 140, 253, 200, 1]) expect(walk(pkt(nh, [0, 0, 0, 0, 0, 0, 0, 0])).r).toBe('ip6-unknown-header');
    expect(walk(pkt(60, dstopts(139, 1))).r).toBe('ip6-unknown-header');
  });

  it('truncated headers are dropped', () => {
    expect(walk(pkt(60, [17])).r).toBe('truncated'); // not even the length byte
    expect(walk(pkt(60, dstopts(17, 2).slice(0, 12))).r).toBe('truncated');
    expect(walk(pkt(44, frag(17, 0, true).slice(0, 6))).r).toBe('truncated');
    expect(walk(pkt(51, [17, 4, 0, 0, 0, 0, 0, 0])).r).toBe('truncated'); // AH claims 24 bytes
  });

  it('options: bad lengths, jumbo payload and unknown options with a discard action are dropped', () => {
    expect(walk(pkt(0, ext(59, [1, 7, 0, 0, 0, 0]))).r).toBe('ip6-option'); // PadN past the header
    expect(walk(pkt(0, ext(59, [0, 0, 0, 0, 0, 1]))).r).toBe('ip6-option'); // a TLV with no length byte at the end
    expect(walk(pkt(0, ext(59, [0xc2, 4, 0, 1, 0, 0]))).r).toBe('ip6-option'); // jumbo
    for (const t of [0x40 | 0x1e, 0x80 | 0x1e, 0xc0 | 0x1e]) expect(walk(pkt(60, ext(59, [t, 4, 0, 0, 0, 0]))).r).toBe('ip6-option');
    expect(walk(pkt(60, ext(59, [0x1e, 4, 0, 0, 0, 0]))).r).toBeNull(); // unknown, action "skip"
  });

  it('walks a quote bounded by its own end, not the payload length', () => {
    const f = pkt(60, [...dstopts(17, 1), ...udp6(A, B, 1, 2, [])]);
    const w = newIpv6Walk();
    expect(walkIpv6(f, L3, L3 + 40 + 4, w)).toBe('truncated');
    expect(walkIpv6(f, L3, L3 + 40 + 8, w)).toBeNull();
    expect(w.end).toBe(L3 + 48);
  });
});

describe('upper-layer checksums', () => {
  it('verify on frames built from the RFC, and fail when a byte or an address changes', () => {
    for (const [proto, l4] of [
      [17, udp6(A, B, 5353, 53, [1, 2, 3])],
      [6, tcp6(A, B, 40000, 443)],
      [58, icmp6(A, B, 128, 0, [0, 7, 0, 1, 9])],
    ] as const) {
      const f = pkt(proto, [...l4]);
      expect(l4ChecksumOk6(f, L3, L3 + 40, l4.length, proto)).toBe(true);
      const g = f.slice();
      g[L3 + 8 + 15] ^= 1; // source address: part of the pseudo-header
      expect(l4ChecksumOk6(g, L3, L3 + 40, l4.length, proto)).toBe(false);
      const h = f.slice();
      h[h.length - 1] ^= 0x80;
      expect(l4ChecksumOk6(h, L3, L3 + 40, l4.length, proto)).toBe(false);
    }
  });

  it('writeL4Checksum6 writes what verifies; a UDP checksum of 0 is refused and never written', () => {
    const l4 = udp6(A, B, 1, 2, [0xaa]);
    const f = pkt(17, l4);
    f[L3 + 40 + 6] = 0x12;
    writeL4Checksum6(f, L3, L3 + 40, l4.length, 17);
    expect(Array.from(f.subarray(L3 + 40))).toEqual(l4);
    const z = f.slice();
    z[L3 + 46] = 0;
    z[L3 + 47] = 0;
    expect(l4ChecksumOk6(z, L3, L3 + 40, l4.length, 17)).toBe(false);
    // find a payload whose checksum computes to 0: written as 0xffff
    const g = pkt(17, udp6(A, B, 1, 2, [0, 0]));
    g[L3 + 46] = 0;
    g[L3 + 47] = 0;
    const c = l4Checksum6(g, L3, L3 + 40, 10, 17);
    g[L3 + 48] = c >> 8; // adding the checksum as data makes the sum all ones: computed 0
    g[L3 + 49] = c & 255;
    writeL4Checksum6(g, L3, L3 + 40, 10, 17);
    expect((g[L3 + 46] << 8) | g[L3 + 47]).toBe(0xffff);
    expect(l4ChecksumOk6(g, L3, L3 + 40, 10, 17)).toBe(true);
  });
});

describe('ports, types, sanity', () => {
  it('readFlowPorts6: TCP/UDP ports, echo request (id, 0), reply (0, id), nothing for others', () => {
    const out = { srcPort: -1, dstPort: -1 };
    expect(readFlowPorts6(pkt(6, tcp6(A, B, 40000, 443)), L3 + 40, 6, out)).toBe(true);
    expect(out).toEqual({ srcPort: 40000, dstPort: 443 });
    expect(readFlowPorts6(pkt(58, icmp6(A, B, 128, 0, [0x12, 0x34, 0, 1])), L3 + 40, 58, out)).toBe(true);
    expect(out).toEqual({ srcPort: 0x1234, dstPort: 0 });
    expect(readFlowPorts6(pkt(58, icmp6(A, B, 129, 0, [0x12, 0x34, 0, 1])), L3 + 40, 58, out)).toBe(true);
    expect(out).toEqual({ srcPort: 0, dstPort: 0x1234 });
    expect(readFlowPorts6(pkt(58, icmp6(A, B, 135, 0, [0, 0, 0, 0])), L3 + 40, 58, out)).toBe(false);
    expect(readFlowPorts6(pkt(50, [0, 0, 0, 1]), L3 + 40, 50, out)).toBe(false);
    expect(out).toEqual({ srcPort: 0, dstPort: 0x1234 });
  });

  it('error types and minimum lengths', () => {
    expect([0, 1, 2, 3, 4, 5, 127, 128, 135].map(isIcmp6ErrorType)).toEqual([false, true, true, true, true, false, false, false, false]);
    expect([6, 17, 58, 50].map(l4MinLen6)).toEqual([20, 8, 8, 0]);
  });

  it('martian sources and what is never forwarded', () => {
    const p = (t: string) => parseIpv6(t);
    for (const t of ['::', '::1', 'ff02::1', '::ffff:10.0.0.1']) expect(isMartianSource6(p(t))).toBe(true);
    for (const t of ['fe80::1', '2001:db8::1', '::2']) expect(isMartianSource6(p(t))).toBe(false);
    const g = p('2001:db8::1');
    expect(forwardDrop6(g, 0, p('2001:db8::2'), 0)).toBeNull();
    expect(forwardDrop6(p('::'), 0, g, 0)).toBe('martian-source');
    expect(forwardDrop6(p('fe80::1'), 0, g, 0)).toBe('ip6-scope');
    expect(forwardDrop6(g, 0, p('fe80::1'), 0)).toBe('ip6-scope');
    for (const t of ['ff0e::1', '::', '::1', '::ffff:1.2.3.4']) expect(forwardDrop6(g, 0, p(t), 0)).toBe('no-route');
  });
});
