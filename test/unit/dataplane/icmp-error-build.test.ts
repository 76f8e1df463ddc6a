// The ICMP errors the box originates, checked byte by byte against RFC 792 (type, code, unused
// word, quote), RFC 1191 (next-hop MTU in the low 16 bits of the second word) and RFC 1812
// 4.3.2.7 (what is never answered), checksums against the reference.
import { describe, expect, test } from 'vitest';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { buildIcmpError, ICMP_ERROR_MAX_FRAME, ICMP_TIMXCEED_INTRANS, ICMP_UNREACH_NEEDFRAG } from '../../../src/dataplane/icmp-error-build.js';
import { buildIcmpUnreachable } from '../../../src/dataplane/reject.js';
import { eth, icmpEcho, ipv4, mac, refChecksum, udp } from './frames.js';

const FW_MAC = '02:74:64:00:07:01';
const HOST_MAC = '22:00:00:00:01:0a';
const srcMac = Uint8Array.from(mac(FW_MAC));
const dstMac = Uint8Array.from(mac(HOST_MAC));
const FROM = parseIpv4('10.0.1.1');
const L3 = 14;
const M = L3 + 20;

const u16 = (f: ArrayLike<number>, o: number) => (f[o] << 8) | f[o + 1];
const u32 = (f: ArrayLike<number>, o: number) => ((f[o] << 24) | (f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]) >>> 0;

/** A frame from the host to the box's MAC, as it arrived. */
const pkt = (o: Partial<Parameters<typeof ipv4>[0]> = {}, dst = FW_MAC) =>
  Uint8Array.from(eth(dst, HOST_MAC, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.10', ttl: 1, payload: udp(33434, 33435, new Array(32).fill(0)), ...o })));

function build(f: Uint8Array, type: number, code: number, mtu = 0, out = new Uint8Array(256).fill(0xee)): { out: Uint8Array; n: number } {
  return { out, n: buildIcmpError(out, f, f.length, type, code, mtu, FROM, srcMac, dstMac) };
}

describe('buildIcmpError', () => {
  test('time exceeded in transit: every field, from the interface address to the sender', () => {
    const f = pkt();
    const { out, n } = build(f, 11, ICMP_TIMXCEED_INTRANS);
    expect(n).toBe(14 + 20 + 8 + 28);
    // Ethernet: back to the MAC the frame came from, from ours
    expect(Array.from(out.subarray(0, 6))).toEqual(mac(HOST_MAC));
    expect(Array.from(out.subarray(6, 12))).toEqual(mac(FW_MAC));
    expect(u16(out, 12)).toBe(0x0800);
    // IPv4: no options, total length, id 0, no fragment bits, TTL 64, ICMP, addresses, checksum
    expect(out[L3]).toBe(0x45);
    expect(out[L3 + 1]).toBe(0);
    expect(u16(out, L3 + 2)).toBe(20 + 8 + 28);
    expect(u32(out, L3 + 4)).toBe(0);
    expect(out[L3 + 8]).toBe(64);
    expect(out[L3 + 9]).toBe(1);
    expect(u32(out, L3 + 12)).toBe(FROM);
    expect(u32(out, L3 + 16)).toBe(parseIpv4('10.0.1.10'));
    expect(refChecksum(Array.from(out.subarray(L3, L3 + 20)))).toBe(0);
    // ICMP: type 11 code 0, unused word 0, the header (TTL 1 as it arrived) and 8 bytes
    expect([out[M], out[M + 1]]).toEqual([11, 0]);
    expect(u32(out, M + 4)).toBe(0);
    expect(Array.from(out.subarray(M + 8, M + 36))).toEqual(Array.from(f.subarray(L3, L3 + 28)));
    expect(out[M + 8 + 8]).toBe(1);
    expect(refChecksum(Array.from(out.subarray(M, M + 36)))).toBe(0);
  });

  test('fragmentation needed: the next-hop MTU in the low 16 bits of the second word (RFC 1191)', () => {
    const f = pkt({ ttl: 64, frag: 0x4000, payload: udp(1, 2, new Array(1400).fill(5)) });
    const { out, n } = build(f, 3, ICMP_UNREACH_NEEDFRAG, 1400);
    expect(n).toBe(70);
    expect([out[M], out[M + 1]]).toEqual([3, 4]);
    expect(u16(out, M + 4)).toBe(0); // unused
    expect(u16(out, M + 6)).toBe(1400);
    expect(Array.from(out.subarray(M + 8, M + 36))).toEqual(Array.from(f.subarray(L3, L3 + 28)));
    expect(u16(out, M + 8 + 6)).toBe(0x4000); // the quote keeps DF
    expect(refChecksum(Array.from(out.subarray(M, M + 36)))).toBe(0);
  });

  test('the MTU goes only into fragmentation needed; other codes keep the word zero', () => {
    expect(u32(build(pkt(), 11, 0, 1400).out, M + 4)).toBe(0);
    expect(u32(build(pkt(), 3, 13, 1400).out, M + 4)).toBe(0);
    expect(u32(build(pkt(), 3, 4, 0x12345).out, M + 4)).toBe(0x2345);
  });

  test('a header with options is quoted whole, then 8 bytes; the longest fits ICMP_ERROR_MAX_FRAME', () => {
    const options = new Array(40).fill(1);
    const f = pkt({ options });
    const { out, n } = build(f, 11, 0, 0, new Uint8Array(ICMP_ERROR_MAX_FRAME));
    expect(n).toBe(ICMP_ERROR_MAX_FRAME);
    expect(Array.from(out.subarray(M + 8, M + 8 + 68))).toEqual(Array.from(f.subarray(L3, L3 + 68)));
    expect(refChecksum(Array.from(out.subarray(M, M + 8 + 68)))).toBe(0);
  });

  test('a short payload is quoted whole (the shortest error, 62 bytes, needs no padding)', () => {
    const f = pkt({ proto: 47, payload: [1, 2] });
    const { out, n } = build(f, 11, 0);
    expect(u16(out, L3 + 2)).toBe(20 + 8 + 22);
    expect(n).toBe(64);
    expect(Array.from(out.subarray(M + 8, M + 30))).toEqual(Array.from(f.subarray(L3, L3 + 22)));
    const g = build(pkt({ proto: 47, payload: [] }), 11, 0);
    expect(g.n).toBe(62);
    expect(g.out[62]).toBe(0xee); // nothing written past the frame
  });

  test('the first fragment is answered (its L4 header is there); DF and MF bits do not matter', () => {
    expect(build(pkt({ frag: 0x2000 }), 11, 0).n).toBeGreaterThan(0);
    expect(build(pkt({ frag: 0x6000 }), 3, 4, 1400).n).toBeGreaterThan(0);
  });

  test('never answered (RFC 1812 4.3.2.7, RFC 1122 3.2.2): ICMP errors, later fragments, martian sources, non-unicast destinations, link broadcast', () => {
    for (const type of [3, 4, 5, 11, 12]) expect(build(pkt({ proto: 1, payload: [type, 0, 0, 0, 0, 0, 0, 0] }), 11, 0).n, `type ${type}`).toBe(0);
    expect(build(pkt({ proto: 1, payload: [] }), 11, 0).n).toBe(0); // too short to tell
    // ICMP queries are answered
    expect(build(pkt({ proto: 1, payload: icmpEcho(8, 1, 1, [1, 2]) }), 11, 0).n).toBeGreaterThan(0);
    expect(build(pkt({ frag: 0x0001 }), 11, 0).n).toBe(0);
    expect(build(pkt({ frag: 0x4000 | 0x00b9 }), 3, 4, 1400).n).toBe(0);
    for (const src of ['0.0.0.0', '127.0.0.1', '224.0.0.5', '240.0.0.1', '255.255.255.255']) expect(build(pkt({ src }), 11, 0).n, src).toBe(0);
    for (const dst of ['224.0.0.251', '239.1.1.1', '255.255.255.255']) expect(build(pkt({ dst }), 11, 0).n, dst).toBe(0);
    expect(build(pkt({}, 'ff:ff:ff:ff:ff:ff'), 11, 0).n).toBe(0);
    expect(build(pkt({}, '01:00:5e:00:00:01'), 11, 0).n).toBe(0);
  });

  test('no error about a truncated packet, nor into a buffer too small', () => {
    const f = pkt();
    const out = new Uint8Array(256);
    expect(buildIcmpError(out, f, f.length - 1, 11, 0, 0, FROM, srcMac, dstMac)).toBe(0);
    expect(buildIcmpError(out, f, 33, 11, 0, 0, FROM, srcMac, dstMac)).toBe(0);
    expect(buildIcmpError(new Uint8Array(69), f, f.length, 11, 0, 0, FROM, srcMac, dstMac)).toBe(0);
    expect(buildIcmpError(new Uint8Array(70), f, f.length, 11, 0, 0, FROM, srcMac, dstMac)).toBe(70);
  });

  test("reject's unreachable is this builder with type 3 code 13, byte for byte", () => {
    const f = pkt({ ttl: 64 });
    const a = new Uint8Array(256);
    const b = new Uint8Array(256);
    const n = buildIcmpUnreachable(a, f, f.length, FROM, srcMac, dstMac);
    expect(buildIcmpError(b, f, f.length, 3, 13, 0, FROM, srcMac, dstMac)).toBe(n);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
