// The ICMPv6 errors and echo replies the box originates (RFC 4443), byte by byte, with checksums
// against the reference (frames6.ts), what is never answered (2.4(e)), and the quote parsed back
// into its flow (icmp6-error.ts).
import { describe, expect, it } from 'vitest';
import { formatIpv6, parseIpv6 } from '../../../src/net/ipv6.js';
import {
  buildIcmp6Error,
  echoReply6InPlace,
  ICMP6_ERROR_MAX_FRAME,
  ICMP6_PARAMPROB_NEXTHEADER,
  ICMP6_PARAMPROB_OPTION,
  ICMP6_TIMXCEED_TRANSIT,
  ICMP6_UNREACH_ADMIN,
} from '../../../src/dataplane/icmp6-build.js';
import { newQuotedFlow6, parseQuoted6 } from '../../../src/dataplane/icmp6-error.js';
import { ipv6End } from '../../../src/dataplane/packet6.js';
import { mac, refChecksum } from './frames.js';
import { eth6, ext, frag, icmp6, ip6, tcp6, udp6 } from './frames6.js';

const FW = '02:74:64:00:07:01';
const HOST = '22:00:00:00:01:0a';
const srcMac = Uint8Array.from(mac(FW));
const dstMac = Uint8Array.from(mac(HOST));
const FROM = parseIpv6('2001:db8:1::1');
const A = '2001:db8:1::10';
const B = '2001:db8:2::20';
const L3 = 14;
const M = L3 + 40;
const u16 = (f: ArrayLike<number>, o: number) => (f[o] << 8) | f[o + 1];
const u32 = (f: ArrayLike<number>, o: number) => ((f[o] << 24) | (f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]) >>> 0;

const pkt = (payload: number[], next = 17, o: { src?: string; dst?: string; ethDst?: string } = {}) =>
  eth6(o.ethDst ?? FW, HOST, { src: o.src ?? A, dst: o.dst ?? B, next, hopLimit: 1, payload });
const udpPkt = (n = 32, o: { src?: string; dst?: string; ethDst?: string } = {}) =>
  pkt(udp6(o.src ?? A, o.dst ?? B, 40000, 33434, new Array(n).fill(7)), 17, o);

function build(f: Uint8Array, type: number, code: number, param = 0, out = new Uint8Array(ICMP6_ERROR_MAX_FRAME + 10).fill(0xee)) {
  return { out, n: buildIcmp6Error(out, f, f.length, type, code, param, FROM, srcMac, dstMac) };
}

/** The reference checksum of the ICMPv6 message in a built frame. */
function refIcmpChecksumOk(out: Uint8Array, n: number): boolean {
  const len = n - M;
  const pseudo = [...out.subarray(L3 + 8, L3 + 40), len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, 0, 0, 0, 58];
  return refChecksum([...pseudo, ...out.subarray(M, n)]) === 0;
}

describe('buildIcmp6Error', () => {
  it('time exceeded: every field, the whole packet quoted', () => {
    const f = udpPkt();
    const { out, n } = build(f, 3, ICMP6_TIMXCEED_TRANSIT);
    expect(n).toBe(M + 8 + (f.length - L3));
    expect(Array.from(out.subarray(0, 6))).toEqual(mac(HOST));
    expect(Array.from(out.subarray(6, 12))).toEqual(mac(FW));
    expect(u16(out, 12)).toBe(0x86dd);
    expect(u32(out, L3)).toBe(0x60000000);
    expect(u16(out, L3 + 4)).toBe(n - M);
    expect(out[L3 + 6]).toBe(58);
    expect(out[L3 + 7]).toBe(64);
    expect(Array.from(out.subarray(L3 + 8, L3 + 24))).toEqual(ip6('2001:db8:1::1'));
    expect(Array.from(out.subarray(L3 + 24, L3 + 40))).toEqual(ip6(A));
    expect([out[M], out[M + 1], u32(out, M + 4)]).toEqual([3, 0, 0]);
    expect(Array.from(out.subarray(M + 8, n))).toEqual(Array.from(f.subarray(L3)));
    expect(refIcmpChecksumOk(out, n)).toBe(true);
    expect(out[n]).toBe(0xee);
  });

  it('packet too big carries the MTU; parameter problem its pointer; unreachable its code', () => {
    const f = udpPkt();
    let r = build(f, 2, 0, 1400);
    expect(u32(r.out, M + 4)).toBe(1400);
    r = build(f, 4, ICMP6_PARAMPROB_NEXTHEADER, 6);
    expect([r.out[M], r.out[M + 1], u32(r.out, M + 4)]).toEqual([4, 1, 6]);
    r = build(f, 1, ICMP6_UNREACH_ADMIN);
    expect([r.out[M], r.out[M + 1]]).toEqual([1, 1]);
    expect(refIcmpChecksumOk(r.out, r.n)).toBe(true);
  });

  it('quotes no more than fits a 1280-byte packet', () => {
    const f = udpPkt(1400);
    const { out, n } = build(f, 2, 0, 1280);
    expect(n).toBe(14 + 1280);
    expect(u16(out, L3 + 4)).toBe(1240);
    expect(Array.from(out.subarray(M + 8, n))).toEqual(Array.from(f.subarray(L3, L3 + 1232)));
    expect(refIcmpChecksumOk(out, n)).toBe(true);
  });

  it('never answers an ICMPv6 error or redirect, even behind extension headers', () => {
    expect(build(pkt(icmp6(A, B, 1, 4, new Array(60).fill(0)), 58), 3, 0).n).toBe(0);
    expect(build(pkt(icmp6(A, B, 137, 0, new Array(36).fill(0)), 58), 3, 0).n).toBe(0);
    const behind = [...ext(58, [1, 4, 0, 0, 0, 0]), ...icmp6(A, B, 4, 0, new Array(48).fill(0))];
    expect(build(pkt(behind, 60), 3, 0).n).toBe(0);
    // a later fragment of ICMPv6: the type is not there to see
    expect(build(pkt([...frag(58, 1448, false), 0, 0, 0, 0, 0, 0, 0, 0], 44), 3, 1).n).toBe(0);
    // an echo request is answered
    expect(build(pkt(icmp6(A, B, 128, 0, [0, 1, 0, 1]), 58), 3, 0).n).toBeGreaterThan(0);
  });

  it('never answers a martian source; to a multicast group only packet too big and an option problem', () => {
    for (const src of ['::', 'ff02::1', '::1', '::ffff:10.0.0.1']) expect(build(udpPkt(8, { src }), 1, 0).n).toBe(0);
    const mcast = udpPkt(8, { dst: 'ff0e::1234', ethDst: '33:33:00:00:12:34' });
    expect(build(mcast, 3, 0).n).toBe(0);
    expect(build(mcast, 4, ICMP6_PARAMPROB_NEXTHEADER).n).toBe(0);
    expect(build(mcast, 2, 0, 1280).n).toBeGreaterThan(0);
    expect(build(mcast, 4, ICMP6_PARAMPROB_OPTION, 42).n).toBeGreaterThan(0);
    // a unicast address in a link-layer multicast or broadcast frame is a group packet too
    expect(build(udpPkt(8, { ethDst: 'ff:ff:ff:ff:ff:ff' }), 1, 0).n).toBe(0);
  });

  it('0 for a truncated packet or a short buffer', () => {
    const f = udpPkt();
    expect(buildIcmp6Error(new Uint8Array(2000), f, 50, 3, 0, 0, FROM, srcMac, dstMac)).toBe(0);
    expect(buildIcmp6Error(new Uint8Array(2000), f, f.length - 1, 3, 0, 0, FROM, srcMac, dstMac)).toBe(0);
    expect(buildIcmp6Error(new Uint8Array(100), f, f.length, 3, 0, 0, FROM, srcMac, dstMac)).toBe(0);
  });
});

describe('parseQuoted6', () => {
  it('reads the quoted flow of an error the box built (UDP, TCP behind a destination options header, echo)', () => {
    const q = newQuotedFlow6();
    const cases: [Uint8Array, number, number, number][] = [
      [udpPkt(), 17, 40000, 33434],
      [pkt([...ext(6, [1, 4, 0, 0, 0, 0]), ...tcp6(A, B, 40001, 443)], 60), 6, 40001, 443],
      [pkt(icmp6(A, B, 128, 0, [0xbe, 0xef, 0, 1]), 58), 58, 0xbeef, 0],
    ];
    for (const [f, proto, sp, dp] of cases) {
      const { out, n } = build(f, 1, 0);
      expect(parseQuoted6(out, M, ipv6End(out, L3), q)).toBe(true);
      expect([q.proto, q.srcPort, q.dstPort, formatIpv6(q.src), formatIpv6(q.dst), q.innerL3]).toEqual([proto, sp, dp, A, B, M + 8]);
      expect(n).toBeGreaterThan(0);
    }
  });

  it('refuses a non-error, a short quote, a quoted error, a later fragment, a bad inner chain', () => {
    const q = newQuotedFlow6();
    const err = (inner: Uint8Array, type = 1) => {
      const quote = Array.from(inner.subarray(L3));
      const f = eth6(FW, HOST, { src: B, dst: A, next: 58, payload: icmp6(B, A, type, 0, [0, 0, 0, 0, ...quote]) });
      return parseQuoted6(f, M, ipv6End(f, L3), q);
    };
    expect(err(udpPkt())).toBe(true);
    expect(err(udpPkt(), 128)).toBe(false);
    expect(err(udpPkt().subarray(0, L3 + 40 + 4))).toBe(false); // 4 bytes of UDP
    expect(err(udpPkt().subarray(0, L3 + 30))).toBe(false); // not even the header
    expect(err(pkt(icmp6(A, B, 3, 0, new Array(48).fill(0)), 58))).toBe(false);
    expect(err(pkt([...frag(17, 8, false), 0, 1, 0, 2, 0, 0, 0, 0], 44))).toBe(false);
    expect(err(pkt([...ext(17, [0, 1, 0, 0, 0, 0, ...ip6('2001:db8::9')]), ...udp6(A, B, 1, 2, [])], 43))).toBe(false); // RH0
    // a first fragment is fine, and ESP (no ports) is keyed by addresses
    expect(err(pkt([...frag(17, 0, true), ...udp6(A, B, 5, 6, [1, 2, 3, 4])], 44))).toBe(true);
    expect(err(pkt([0, 0, 1, 0, 0, 0, 0, 9, 1, 2, 3, 4], 50))).toBe(true);
    expect([q.proto, q.srcPort, q.dstPort]).toEqual([50, 0, 0]);
  });
});

describe('echoReply6InPlace', () => {
  it('turns a request into its reply from our MAC, with a checksum that verifies', () => {
    const data = [0x12, 0x34, 0, 7, 1, 2, 3, 4, 5];
    const f = eth6(FW, HOST, { src: A, dst: '2001:db8:1::1', next: 58, hopLimit: 63, payload: icmp6(A, '2001:db8:1::1', 128, 0, data) });
    expect(echoReply6InPlace(f, srcMac)).toBeNull();
    const want = eth6(HOST, FW, { src: '2001:db8:1::1', dst: A, next: 58, hopLimit: 64, payload: icmp6('2001:db8:1::1', A, 129, 0, data) });
    expect(Array.from(f)).toEqual(Array.from(want));
  });

  it('refuses a reply, a bad checksum, a multicast destination, a short message, extension headers', () => {
    const mk = (type: number, dst = '2001:db8:1::1', next = 58, payload?: number[]) =>
      eth6(FW, HOST, { src: A, dst, next, payload: payload ?? icmp6(A, dst, type, 0, [0, 1, 0, 1]) });
    expect(echoReply6InPlace(mk(129), srcMac)).toBe('icmp-bad');
    const bad = mk(128);
    bad[bad.length - 1] ^= 1;
    const before = Array.from(bad);
    expect(echoReply6InPlace(bad, srcMac)).toBe('icmp-bad');
    expect(Array.from(bad)).toEqual(before);
    expect(echoReply6InPlace(mk(128, 'ff02::1'), srcMac)).toBe('icmp-bad');
    expect(echoReply6InPlace(mk(128, undefined, 58, [128, 0, 0]), srcMac)).toBe('icmp-bad');
    expect(echoReply6InPlace(mk(128, undefined, 60, [...ext(58, [1, 4, 0, 0, 0, 0]), ...icmp6(A, '2001:db8:1::1', 128, 0, [0, 1, 0, 1])]), srcMac)).toBe(
      'icmp-bad',
    );
  });
});
