// Reject answers verified field by field: RFC 9293 3.10.7.1 for the RST, RFC 1812 5.2.7.1 and
// RFC 792 for the unreachable, checksums against the reference.
import { describe, expect, test } from 'vitest';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { buildIcmpUnreachable, buildTcpReset } from '../../../src/dataplane/reject.js';
import { eth, ip, ipv4, mac, refChecksum, udp, icmpEcho } from './frames.js';

const FW_MAC = '02:00:5e:00:01:01';
const HOST_MAC = '52:54:00:aa:bb:cc';
const srcMac = Uint8Array.from(mac(FW_MAC));
const dstMac = Uint8Array.from(mac(HOST_MAC));
const L3 = 14;

const u16 = (f: ArrayLike<number>, o: number) => (f[o] << 8) | f[o + 1];
const u32 = (f: ArrayLike<number>, o: number) => ((f[o] << 24) | (f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]) >>> 0;

function tcpSegment(o: {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  data?: number[];
  options?: number[];
}): number[] {
  const opts = o.options ?? [];
  const data = o.data ?? [];
  const hlen = 20 + opts.length;
  const seg = [
    o.sport >> 8,
    o.sport & 255,
    o.dport >> 8,
    o.dport & 255,
    ...ip32(o.seq),
    ...ip32(o.ack),
    (hlen / 4) << 4,
    o.flags,
    0x72,
    0x10,
    0,
    0,
    0,
    0,
    ...opts,
    ...data,
  ];
  const pseudo = [...ip(o.src), ...ip(o.dst), 0, 6, seg.length >> 8, seg.length & 255];
  const c = refChecksum([...pseudo, ...seg]);
  seg[16] = c >> 8;
  seg[17] = c & 255;
  return eth(FW_MAC, HOST_MAC, 0x0800, ipv4({ src: o.src, dst: o.dst, proto: 6, ttl: 61, payload: seg }));
}

function ip32(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

function checkIpHeader(out: Uint8Array, len: number, proto: number, src: string, dst: string): void {
  expect(Array.from(out.subarray(0, 6))).toEqual(mac(HOST_MAC));
  expect(Array.from(out.subarray(6, 12))).toEqual(mac(FW_MAC));
  expect(u16(out, 12)).toBe(0x0800);
  expect(out[L3]).toBe(0x45);
  expect(out[L3 + 8]).toBe(64); // TTL of packets we originate
  expect(out[L3 + 9]).toBe(proto);
  expect(u16(out, L3 + 6)).toBe(0); // no fragment bits
  expect(u32(out, L3 + 12)).toBe(parseIpv4(src));
  expect(u32(out, L3 + 16)).toBe(parseIpv4(dst));
  expect(refChecksum(Array.from(out.subarray(L3, L3 + 20)))).toBe(0);
  expect(len).toBe(Math.max(60, L3 + u16(out, L3 + 2)));
  // padding is zero
  expect(Array.from(out.subarray(L3 + u16(out, L3 + 2), len)).every((b) => b === 0)).toBe(true);
}

function tcpChecksumOk(out: Uint8Array): boolean {
  const tlen = u16(out, L3 + 2) - 20;
  const pseudo = [...out.subarray(L3 + 12, L3 + 20), 0, 6, tlen >> 8, tlen & 255];
  return refChecksum([...pseudo, ...out.subarray(L3 + 20, L3 + 20 + tlen)]) === 0;
}

describe('buildTcpReset', () => {
  const base = { src: '10.0.1.5', dst: '192.0.2.80', sport: 40000, dport: 443 };

  test('a SYN (no ACK): seq 0, ack = seq + 1, RST|ACK, from the destination to the source', () => {
    const f = Uint8Array.from(tcpSegment({ ...base, seq: 0xfffffffe, ack: 0, flags: 0x02 }));
    const out = new Uint8Array(128).fill(0xee);
    const n = buildTcpReset(out, f, f.length, srcMac, dstMac);
    expect(n).toBe(60);
    checkIpHeader(out, n, 6, '192.0.2.80', '10.0.1.5');
    expect(u16(out, L3 + 2)).toBe(40);
    const t = L3 + 20;
    expect([u16(out, t), u16(out, t + 2)]).toEqual([443, 40000]);
    expect(u32(out, t + 4)).toBe(0);
    expect(u32(out, t + 8)).toBe(0xffffffff); // seq + 1 (SYN), modulo 2^32
    expect(out[t + 12]).toBe(0x50);
    expect(out[t + 13]).toBe(0x14); // RST | ACK
    expect(u16(out, t + 14)).toBe(0);
    expect(u16(out, t + 18)).toBe(0);
    expect(tcpChecksumOk(out)).toBe(true);
  });

  test('data with FIN and no ACK: ack = seq + data length + 1, modulo 2^32', () => {
    const f = Uint8Array.from(tcpSegment({ ...base, seq: 0xfffffff0, ack: 0, flags: 0x01, data: new Array(20).fill(7) }));
    const out = new Uint8Array(128);
    const n = buildTcpReset(out, f, f.length, srcMac, dstMac);
    expect(n).toBe(60);
    expect(u32(out, L3 + 20 + 8)).toBe((0xfffffff0 + 21) >>> 0);
    expect(tcpChecksumOk(out)).toBe(true);
  });

  test('a segment with ACK: seq = its ack, RST only, ack field 0; options do not count as data', () => {
    const f = Uint8Array.from(tcpSegment({ ...base, seq: 1000, ack: 0xdeadbeef, flags: 0x18, data: [1, 2, 3], options: [1, 1, 1, 1] }));
    const out = new Uint8Array(128);
    const n = buildTcpReset(out, f, f.length, srcMac, dstMac);
    expect(n).toBe(60);
    checkIpHeader(out, n, 6, '192.0.2.80', '10.0.1.5');
    const t = L3 + 20;
    expect(u32(out, t + 4)).toBe(0xdeadbeef);
    expect(u32(out, t + 8)).toBe(0);
    expect(out[t + 13]).toBe(0x04);
    expect(tcpChecksumOk(out)).toBe(true);
  });

  test('no answer: a RST, not TCP, truncated, bad data offset, out too small', () => {
    const out = new Uint8Array(128);
    const rst = Uint8Array.from(tcpSegment({ ...base, seq: 1, ack: 0, flags: 0x04 }));
    expect(buildTcpReset(out, rst, rst.length, srcMac, dstMac)).toBe(0);
    const rstAck = Uint8Array.from(tcpSegment({ ...base, seq: 1, ack: 2, flags: 0x14 }));
    expect(buildTcpReset(out, rstAck, rstAck.length, srcMac, dstMac)).toBe(0);
    const u = Uint8Array.from(eth(FW_MAC, HOST_MAC, 0x0800, ipv4({ src: '10.0.1.5', dst: '192.0.2.80', proto: 17, payload: udp(1, 2, [0]) })));
    expect(buildTcpReset(out, u, u.length, srcMac, dstMac)).toBe(0);
    const syn = Uint8Array.from(tcpSegment({ ...base, seq: 1, ack: 0, flags: 0x02 }));
    expect(buildTcpReset(out, syn, syn.length - 1, srcMac, dstMac)).toBe(0); // total length beyond the frame
    const badOff = Uint8Array.from(syn);
    badOff[L3 + 20 + 12] = 0x40; // 16-byte header
    expect(buildTcpReset(out, badOff, badOff.length, srcMac, dstMac)).toBe(0);
    badOff[L3 + 20 + 12] = 0x60; // 24 bytes, longer than the segment
    expect(buildTcpReset(out, badOff, badOff.length, srcMac, dstMac)).toBe(0);
    expect(buildTcpReset(new Uint8Array(59), syn, syn.length, srcMac, dstMac)).toBe(0);
  });
});

describe('buildIcmpUnreachable', () => {
  const fw = parseIpv4('10.0.1.1');

  function check(f: Uint8Array, quoteL4: number): void {
    const out = new Uint8Array(256).fill(0xee);
    const n = buildIcmpUnreachable(out, f, f.length, fw, srcMac, dstMac);
    const ihl = (f[L3] & 15) * 4;
    checkIpHeader(out, n, 1, '10.0.1.1', '10.0.1.5');
    expect(u16(out, L3 + 2)).toBe(20 + 8 + ihl + quoteL4);
    const m = L3 + 20;
    expect([out[m], out[m + 1]]).toEqual([3, 13]);
    expect(u32(out, m + 4)).toBe(0);
    expect(Array.from(out.subarray(m + 8, m + 8 + ihl + quoteL4))).toEqual(Array.from(f.subarray(L3, L3 + ihl + quoteL4)));
    expect(refChecksum(Array.from(out.subarray(m, m + 8 + ihl + quoteL4)))).toBe(0);
  }

  test('UDP: the IP header and 8 bytes quoted', () => {
    check(
      Uint8Array.from(eth(FW_MAC, HOST_MAC, 0x0800, ipv4({ src: '10.0.1.5', dst: '192.0.2.80', proto: 17, payload: udp(5353, 53, new Array(100).fill(1)) }))),
      8,
    );
  });

  test('TCP SYN and ICMP echo request: the IP header and 8 bytes quoted', () => {
    check(Uint8Array.from(tcpSegment({ src: '10.0.1.5', dst: '192.0.2.80', sport: 1, dport: 2, seq: 5, ack: 0, flags: 2 })), 8);
    check(Uint8Array.from(eth(FW_MAC, HOST_MAC, 0x0800, ipv4({ src: '10.0.1.5', dst: '192.0.2.80', proto: 1, payload: icmpEcho(8, 7, 1, [1, 2, 3, 4]) }))), 8);
  });

  test('a payload shorter than 8 bytes is quoted whole; the frame is padded to 60', () => {
    check(Uint8Array.from(eth(FW_MAC, HOST_MAC, 0x0800, ipv4({ src: '10.0.1.5', dst: '192.0.2.80', proto: 47, payload: [1, 2, 3] }))), 3);
    check(Uint8Array.from(eth(FW_MAC, HOST_MAC, 0x0800, ipv4({ src: '10.0.1.5', dst: '192.0.2.80', proto: 47, payload: [] }))), 0);
  });

  test('a header with options is quoted with its options', () => {
    check(
      Uint8Array.from(
        eth(FW_MAC, HOST_MAC, 0x0800, ipv4({ src: '10.0.1.5', dst: '192.0.2.80', proto: 17, options: [1, 1, 1, 0], payload: udp(1, 2, [9, 9]) })),
      ),
      8,
    );
  });

  test('no error about: an ICMP error, a non-first fragment, martian source, non-unicast destination, truncation', () => {
    const out = new Uint8Array(256);
    const send = (f: number[], len = f.length) => buildIcmpUnreachable(out, Uint8Array.from(f), len, fw, srcMac, dstMac);
    const pkt = (o: { src?: string; dst?: string; proto?: number; payload?: number[]; frag?: number }) =>
      eth(
        FW_MAC,
        HOST_MAC,
        0x0800,
        ipv4({ src: o.src ?? '10.0.1.5', dst: o.dst ?? '192.0.2.80', proto: o.proto ?? 17, payload: o.payload ?? udp(1, 2, []), frag: o.frag }),
      );
    for (const type of [3, 4, 5, 11, 12]) expect(send(pkt({ proto: 1, payload: [type, 0, 0, 0, 0, 0, 0, 0] }))).toBe(0);
    expect(send(pkt({ proto: 1, payload: [] }))).toBe(0);
    expect(send(pkt({ frag: 0x0001 }))).toBe(0);
    expect(send(pkt({ frag: 0x2000 }))).toBeGreaterThan(0); // first fragment: its header is there
    for (const src of ['0.0.0.0', '127.0.0.1', '224.0.0.5', '255.255.255.255']) expect(send(pkt({ src }))).toBe(0);
    for (const dst of ['224.0.0.251', '255.255.255.255']) expect(send(pkt({ dst }))).toBe(0);
    const ok = pkt({});
    expect(send(ok)).toBe(14 + 20 + 8 + 28);
    expect(send(ok, ok.length - 1)).toBe(0);
    expect(send(ok, 33)).toBe(0);
    expect(buildIcmpUnreachable(new Uint8Array(40), Uint8Array.from(ok), ok.length, fw, srcMac, dstMac)).toBe(0);
  });
});
