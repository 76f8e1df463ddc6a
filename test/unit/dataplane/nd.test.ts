// Neighbour discovery (RFC 4861): frames built byte for byte against a real Linux exchange
// captured with tcpdump -xx between two network namespaces, checksums against the reference,
// and the validation rules of 6.1 and 7.1 on hostile input.
import { describe, expect, it } from 'vitest';
import { formatIpv6, parseIpv6 } from '../../../src/net/ipv6.js';
import {
  buildNa,
  buildNaReply,
  buildNs,
  buildRa,
  isSolicitedNode6,
  ND_NA_OVERRIDE,
  ND_NA_ROUTER,
  ND_NA_SOLICITED,
  newNdMessage,
  parseNd,
  raLength,
  type RaParams,
} from '../../../src/dataplane/nd.js';
import { ipv6End, newIpv6Walk, walkIpv6 } from '../../../src/dataplane/packet6.js';
import { mac, refChecksum } from './frames.js';
import { eth6, ext, frag, icmp6, ip6 } from './frames6.js';

const hex = (s: string) => Array.from(s.replace(/\s+/g, '').match(/../g)!, (h) => parseInt(h, 16));

// Linux 2001:db8::a (02:00:00:00:00:0a) resolving 2001:db8::b (02:00:00:00:00:0b), and the answer:
// `ping -6` between two namespaces, captured on the second with `tcpdump -xx`.
const LINUX_NS = hex(`
  3333 ff00 000b 0200 0000 000a 86dd 6000 0000 0020 3aff 2001 0db8 0000 0000 0000
  0000 0000 000a ff02 0000 0000 0000 0000 0001 ff00 000b 8700 1c03 0000 0000 2001
  0db8 0000 0000 0000 0000 0000 000b 0101 0200 0000 000a`);
const LINUX_NA = hex(`
  0200 0000 000a 0200 0000 000b 86dd 6000 0000 0020 3aff 2001 0db8 0000 0000 0000
  0000 0000 000b 2001 0db8 0000 0000 0000 0000 0000 000a 8800 8a4d 6000 0000 2001
  0db8 0000 0000 0000 0000 0000 000b 0201 0200 0000 000b`);

const MA = Uint8Array.from(mac('02:00:00:00:00:0a'));
const MB = Uint8Array.from(mac('02:00:00:00:00:0b'));
const IA = parseIpv6('2001:db8::a');
const IB = parseIpv6('2001:db8::b');
const L3 = 14;
const M = L3 + 40;

function parse(f: Uint8Array) {
  const w = newIpv6Walk();
  const drop = walkIpv6(f, L3, ipv6End(f, L3), w);
  if (drop !== null) throw new Error(drop);
  const m = newNdMessage();
  return { r: parseNd(f, L3, w, m), m };
}

/** An ND frame with its checksum, from the RFC layouts (frames6.ts). */
function nd(o: { src: string; dst: string; type: number; body: number[]; hopLimit?: number; code?: number; ethDst?: string }): Uint8Array {
  const msg = icmp6(o.src, o.dst, o.type, o.code ?? 0, o.body);
  return eth6(o.ethDst ?? '33:33:ff:00:00:0b', '02:00:00:00:00:0a', { src: o.src, dst: o.dst, next: 58, hopLimit: o.hopLimit ?? 255, payload: msg });
}
const nsBody = (target: string, opts: number[] = []) => [0, 0, 0, 0, ...ip6(target), ...opts];
const slla = (m: string) => [1, 1, ...mac(m)];

describe('builders against a real Linux exchange', () => {
  it('buildNs gives the multicast solicitation Linux sends, byte for byte', () => {
    const out = new Uint8Array(200);
    const n = buildNs(out, MA, IA, IB, null);
    expect(Array.from(out.subarray(0, n))).toEqual(LINUX_NS);
  });

  it('buildNaReply answers that solicitation as Linux does (with R, which a router sets)', () => {
    const { r, m } = parse(Uint8Array.from(LINUX_NS));
    expect(r).toBeNull();
    const out = new Uint8Array(200);
    const n = buildNaReply(out, m, MB, false);
    expect(Array.from(out.subarray(0, n))).toEqual(LINUX_NA);
    const nr = buildNaReply(out, m, MB, true);
    const want = LINUX_NA.slice();
    want[M + 4] = 0xe0; // R|S|O
    want[M + 2] = 0x0a; // the checksum less 0x8000 (ones' complement: 8a4d - 8000)
    want[M + 3] = 0x4d;
    expect(Array.from(out.subarray(0, nr))).toEqual(want);
  });

  it('parses the captured NA: target, flags, target link-layer address', () => {
    const { r, m } = parse(Uint8Array.from(LINUX_NA));
    expect(r).toBeNull();
    expect(formatIpv6(m.target)).toBe('2001:db8::b');
    expect(m.flags).toBe(ND_NA_SOLICITED | ND_NA_OVERRIDE);
    expect(m.hasLla).toBe(true);
    expect(Array.from(m.lla)).toEqual(Array.from(MB));
  });
});

describe('buildNs, buildNa', () => {
  it('unicast refresh: to the target at its MAC; DAD from :: without a link-layer option', () => {
    const out = new Uint8Array(200);
    let n = buildNs(out, MA, IA, IB, MB);
    expect(Array.from(out.subarray(0, 6))).toEqual(Array.from(MB));
    expect(Array.from(out.subarray(L3 + 24, L3 + 40))).toEqual(ip6('2001:db8::b'));
    expect(parse(out.slice(0, n)).r).toBeNull();
    n = buildNs(out, MA, new Uint32Array(4), IB, null);
    expect(n).toBe(M + 24);
    const { r, m } = parse(out.slice(0, n));
    expect(r).toBeNull();
    expect(m.hasLla).toBe(false);
  });

  it('unsolicited NA of a takeover: to all nodes at 33:33:00:00:00:01, R and O, S forced off', () => {
    const out = new Uint8Array(200);
    const n = buildNa(out, MB, IB, ND_NA_ROUTER | ND_NA_SOLICITED | ND_NA_OVERRIDE, null, null);
    expect(Array.from(out.subarray(0, 12))).toEqual([0x33, 0x33, 0, 0, 0, 1, ...MB]);
    expect(Array.from(out.subarray(L3 + 24, L3 + 40))).toEqual(ip6('ff02::1'));
    const { r, m } = parse(out.slice(0, n));
    expect(r).toBeNull();
    expect(m.flags).toBe(ND_NA_ROUTER | ND_NA_OVERRIDE);
    expect(Array.from(m.lla)).toEqual(Array.from(MB));
  });

  it('answers a solicitation from :: (DAD) to all nodes with S=0; one without a link-layer option at its Ethernet source', () => {
    const out = new Uint8Array(200);
    const dad = parse(nd({ src: '::', dst: 'ff02::1:ff00:b', type: 135, body: nsBody('2001:db8::b') }));
    expect(dad.r).toBeNull();
    let n = buildNaReply(out, dad.m, MB, true);
    expect(out[M + 4]).toBe(ND_NA_ROUTER | ND_NA_OVERRIDE);
    expect(formatIpv6(parse(out.slice(0, n)).m.dst)).toBe('ff02::1');
    const bare = parse(nd({ src: '2001:db8::a', dst: '2001:db8::b', type: 135, body: nsBody('2001:db8::b'), ethDst: '02:00:00:00:00:0b' }));
    n = buildNaReply(out, bare.m, MB, true);
    expect(Array.from(out.subarray(0, 6))).toEqual(Array.from(MA));
    expect(parse(out.slice(0, n)).r).toBeNull();
  });

  it('0 when the buffer is short', () => {
    expect(buildNs(new Uint8Array(80), MA, IA, IB, null)).toBe(0);
    expect(buildNa(new Uint8Array(80), MB, IB, 0, null, null)).toBe(0);
  });
});

describe('buildRa', () => {
  const params: RaParams = {
    hopLimit: 64,
    managed: false,
    other: true,
    routerLifetimeS: 1800,
    reachableMs: 0,
    retransMs: 0,
    mtu: 1500,
    prefixes: [
      { prefix: parseIpv6('2001:db8:1::'), length: 64, onLink: true, autonomous: true, validS: 86400, preferredS: 14400 },
      { prefix: parseIpv6('2001:db8:2:3:ffff::'), length: 48, onLink: true, autonomous: false, validS: 0xffffffff, preferredS: 0xffffffff },
    ],
  };
  const LL = parseIpv6('fe80::1');

  it('every field from the RFC 4861 4.2 and 4.6 layouts, to all nodes, with a checksum that verifies', () => {
    const out = new Uint8Array(300).fill(0xee);
    const n = buildRa(out, MB, LL, null, null, params);
    expect(n).toBe(M + raLength(params));
    expect(raLength(params)).toBe(16 + 8 + 8 + 64);
    const body = [
      ...[64, 0x40, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0], // hop limit, O, lifetime 1800, reachable, retrans
      ...[1, 1, ...MB],
      ...[5, 1, 0, 0, 0, 0, 0x05, 0xdc],
      ...[3, 4, 64, 0xc0, 0, 1, 0x51, 0x80, 0, 0, 0x38, 0x40, 0, 0, 0, 0, ...ip6('2001:db8:1::')],
      ...[3, 4, 48, 0x80, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, ...ip6('2001:db8:2::')], // host bits cleared
    ];
    const want = eth6('33:33:00:00:00:01', '02:00:00:00:00:0b', {
      src: 'fe80::1',
      dst: 'ff02::1',
      next: 58,
      hopLimit: 255,
      payload: icmp6('fe80::1', 'ff02::1', 134, 0, body),
    });
    expect(Array.from(out.subarray(0, n))).toEqual(Array.from(want));
    const { r, m } = parse(out.slice(0, n));
    expect(r).toBeNull();
    expect([m.curHopLimit, m.flags, m.routerLifetimeS, m.mtu, m.prefixCount]).toEqual([64, 0x40, 1800, 1500, 2]);
  });

  it('a final RA (lifetime 0), unicast, without MTU or prefixes', () => {
    const out = new Uint8Array(300);
    const n = buildRa(out, MB, LL, IA, MA, { ...params, mtu: undefined, prefixes: [], routerLifetimeS: 0, managed: true, other: false });
    expect(n).toBe(M + 24);
    const { r, m } = parse(out.slice(0, n));
    expect(r).toBeNull();
    expect([m.routerLifetimeS, m.flags, m.mtu, m.prefixCount]).toEqual([0, 0x80, 0, 0]);
    expect(Array.from(out.subarray(0, 6))).toEqual(Array.from(MA));
    expect(refChecksum([...out.subarray(L3 + 8, L3 + 40), 0, 0, 0, 24, 0, 0, 0, 58, ...out.subarray(M, n)])).toBe(0);
    expect(buildRa(new Uint8Array(100), MB, LL, null, null, params)).toBe(0);
  });
});

describe('parseNd refuses what RFC 4861 6.1 and 7.1 refuse', () => {
  const A = '2001:db8::a';
  const B = '2001:db8::b';
  const SN = 'ff02::1:ff00:b';

  it('hop limit other than 255 (a routed, so forged, message)', () => {
    expect(parse(nd({ src: A, dst: SN, type: 135, body: nsBody(B, slla('02:00:00:00:00:0a')), hopLimit: 64 })).r).toBe('nd-hop-limit');
  });

  it('code other than 0, a bad checksum, a short message', () => {
    expect(parse(nd({ src: A, dst: SN, type: 135, code: 1, body: nsBody(B) })).r).toBe('nd-bad');
    const f = nd({ src: A, dst: SN, type: 135, body: nsBody(B) });
    f[f.length - 1] ^= 1;
    expect(parse(f).r).toBe('nd-bad');
    expect(parse(nd({ src: A, dst: SN, type: 135, body: nsBody(B).slice(0, 16) })).r).toBe('nd-bad'); // 20 bytes < 24
    expect(parse(nd({ src: 'fe80::1', dst: 'ff02::1', type: 134, body: [64, 0, 0, 0, 0, 0, 0, 0] })).r).toBe('nd-bad'); // RA < 16
  });

  it('options of length 0 or past the end', () => {
    expect(parse(nd({ src: A, dst: SN, type: 135, body: nsBody(B, [1, 0, 0, 0, 0, 0, 0, 0]) })).r).toBe('nd-bad');
    expect(parse(nd({ src: A, dst: SN, type: 135, body: nsBody(B, [1, 2, 0, 0, 0, 0, 0, 0]) })).r).toBe('nd-bad');
    expect(parse(nd({ src: A, dst: SN, type: 135, body: nsBody(B, [1]) })).r).toBe('nd-bad');
    // an unknown option is skipped
    expect(parse(nd({ src: A, dst: SN, type: 135, body: nsBody(B, [99, 1, 0, 0, 0, 0, 0, 0]) })).r).toBeNull();
  });

  it('a multicast target; NS from :: with a link-layer option or not to a solicited-node address', () => {
    expect(parse(nd({ src: A, dst: SN, type: 135, body: nsBody('ff02::1') })).r).toBe('nd-bad');
    expect(parse(nd({ src: B, dst: 'ff02::1', type: 136, body: nsBody('ff02::2') })).r).toBe('nd-bad');
    expect(parse(nd({ src: '::', dst: SN, type: 135, body: nsBody(B, slla('02:00:00:00:00:0a')) })).r).toBe('nd-bad');
    expect(parse(nd({ src: '::', dst: B, type: 135, body: nsBody(B) })).r).toBe('nd-bad');
    expect(parse(nd({ src: '::', dst: SN, type: 135, body: nsBody(B) })).r).toBeNull();
  });

  it('NA to a multicast address with S set; RS from :: with a link-layer option; RA not from link-local', () => {
    const na = (flags: number) => nd({ src: B, dst: 'ff02::1', type: 136, body: [flags, 0, 0, 0, ...ip6(B)] });
    expect(parse(na(0x40)).r).toBe('nd-bad');
    expect(parse(na(0xa0)).r).toBeNull();
    expect(parse(nd({ src: '::', dst: 'ff02::2', type: 133, body: [0, 0, 0, 0, ...slla('02:00:00:00:00:0a')] })).r).toBe('nd-bad');
    expect(parse(nd({ src: '::', dst: 'ff02::2', type: 133, body: [0, 0, 0, 0] })).r).toBeNull();
    const ra = (src: string) => nd({ src, dst: 'ff02::1', type: 134, body: [64, 0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0] });
    expect(parse(ra('2001:db8::1')).r).toBe('nd-bad');
    expect(parse(ra('fe80::1')).r).toBeNull();
  });

  it('a fragmented ND message (RFC 6980), or one of another type', () => {
    const body = icmp6(A, SN, 135, 0, nsBody(B));
    const f = eth6('33:33:ff:00:00:0b', '02:00:00:00:00:0a', { src: A, dst: SN, next: 44, hopLimit: 255, payload: [...frag(58, 0, false), ...body] });
    expect(parse(f).r).toBe('nd-bad');
    const g = eth6('33:33:ff:00:00:0b', '02:00:00:00:00:0a', { src: A, dst: SN, next: 60, hopLimit: 255, payload: [...ext(58, [1, 4, 0, 0, 0, 0]), ...body] });
    expect(parse(g).r).toBeNull(); // other extension headers are allowed
    expect(parse(nd({ src: A, dst: B, type: 137, body: new Array(36).fill(0) })).r).toBe('nd-bad');
  });

  it('isSolicitedNode6', () => {
    expect(isSolicitedNode6(parseIpv6('ff02::1:ff00:b'))).toBe(true);
    expect(isSolicitedNode6(parseIpv6('ff02::1'))).toBe(false);
    expect(isSolicitedNode6(parseIpv6('ff02::2:ff00:b'))).toBe(false);
  });
});
