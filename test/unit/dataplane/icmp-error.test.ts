// ICMP errors: parsing the quoted packet, refusing truncated or malformed quotes, and rewriting
// the quote byte-exact against a full recomputation of every checksum involved.
import { describe, expect, test } from 'vitest';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { parseIcmpError, rewriteQuotedDestination, rewriteQuotedSource, type QuotedFlow } from '../../../src/dataplane/icmp-error.js';
import { refChecksum } from './frames.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const L3 = 14;

function rng(seed: number): () => number {
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
const be32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

interface Inner {
  proto: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  /** bytes of L4 quoted: 8 per RFC 792, more as RFC 1812 routers do */
  quoteL4: number;
  udpNone?: boolean;
  icmpType?: number;
  frag?: number;
  /** IPv4 options in the quoted header (allowed there) */
  options?: number[];
}

/** The original packet (full, with correct checksums), as the sender sent it. */
function original(q: Inner): number[] {
  let l4: number[];
  const payload = Array.from({ length: 24 }, (_, i) => (i * 37 + 11) & 255);
  if (q.proto === TCP) l4 = [q.sport >> 8, q.sport & 255, q.dport >> 8, q.dport & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0, ...payload];
  else if (q.proto === UDP) l4 = [q.sport >> 8, q.sport & 255, q.dport >> 8, q.dport & 255, 0, 8 + payload.length, 0, 0, ...payload];
  else l4 = [q.icmpType ?? 8, 0, 0, 0, q.sport >> 8, q.sport & 255, 0, 7, ...payload];
  const opts = q.options ?? [];
  const ihl = 20 + opts.length;
  const total = ihl + l4.length;
  const frag = q.frag ?? 0;
  const h = [0x40 | (ihl / 4), 0, total >> 8, total & 255, 0xab, 0xcd, frag >> 8, frag & 255, 1, q.proto, 0, 0, ...be32(q.src), ...be32(q.dst), ...opts];
  const pseudo = [...be32(q.src), ...be32(q.dst), 0, q.proto, l4.length >> 8, l4.length & 255];
  const off = q.proto === TCP ? 16 : q.proto === UDP ? 6 : 2;
  if (!(q.proto === UDP && q.udpNone)) {
    let c = q.proto === ICMP ? refChecksum(l4) : refChecksum([...pseudo, ...l4]);
    if (q.proto === UDP && c === 0) c = 0xffff;
    l4[off] = c >> 8;
    l4[off + 1] = c & 255;
  }
  const hc = refChecksum(h);
  h[10] = hc >> 8;
  h[11] = hc & 255;
  return [...h, ...l4];
}

/** An Ethernet frame carrying ICMP error type/code from `from` to `to`, quoting `quote`. */
function errorFrame(type: number, code: number, from: number, to: number, quote: number[], pad = 0): number[] {
  const icmp = [type, code, 0, 0, 0, 0, 0, 0, ...quote];
  const c = refChecksum(icmp);
  icmp[2] = c >> 8;
  icmp[3] = c & 255;
  const total = 20 + icmp.length;
  const h = [0x45, 0, total >> 8, total & 255, 0, 0, 0, 0, 64, ICMP, 0, 0, ...be32(from), ...be32(to)];
  const hc = refChecksum(h);
  h[10] = hc >> 8;
  h[11] = hc & 255;
  return [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, ...h, ...icmp, ...new Array(pad).fill(0)];
}

function quoteOf(q: Inner): number[] {
  const o = original(q);
  const ihl = (o[0] & 15) * 4;
  return o.slice(0, ihl + q.quoteL4);
}

const blank = (): QuotedFlow => ({ proto: 0, src: 0, srcPort: 0, dst: 0, dstPort: 0, innerL3: 0 });

describe('parseIcmpError', () => {
  const a = parseIpv4('10.0.1.5');
  const b = parseIpv4('192.0.2.80');
  const router = parseIpv4('198.51.100.1');

  test.each([3, 4, 5, 11, 12])('type %i with a TCP, UDP and ICMP echo quote', (type) => {
    for (const [proto, sport, dport, want] of [
      [TCP, 40000, 443, [40000, 443]],
      [UDP, 5353, 53, [5353, 53]],
      [ICMP, 0x4242, 8, [0x4242, 0]],
      [ICMP, 0x4242, 0, [0, 0x4242]],
    ] as const) {
      // for ICMP, dport carries the echo type: request (identifier, 0), reply (0, identifier)
      const inner: Inner = { proto, src: a, dst: b, sport, dport: proto === ICMP ? 0 : dport, quoteL4: 8, icmpType: dport };
      const f = Uint8Array.from(errorFrame(type, 1, router, a, quoteOf(inner)));
      const out = blank();
      expect(parseIcmpError(f, f.length, L3, out)).toBe(true);
      expect(out).toEqual({ proto, src: a, dst: b, srcPort: want[0], dstPort: want[1], innerL3: L3 + 28, quoteEnd: f.length });
    }
  });

  test('not an error: echo request, echo reply, other protocols', () => {
    const out = blank();
    const q = quoteOf({ proto: UDP, src: a, dst: b, sport: 1, dport: 2, quoteL4: 8 });
    for (const type of [0, 8, 13, 255]) {
      const f = Uint8Array.from(errorFrame(type, 0, router, a, q));
      expect(parseIcmpError(f, f.length, L3, out)).toBe(false);
    }
    const udp = Uint8Array.from(errorFrame(3, 0, router, a, q));
    udp[L3 + 9] = UDP;
    expect(parseIcmpError(udp, udp.length, L3, out)).toBe(false);
  });

  test('truncated quotes are refused at every length below IP header + 8 bytes', () => {
    const full = quoteOf({ proto: TCP, src: a, dst: b, sport: 1, dport: 2, quoteL4: 8 });
    const out = blank();
    for (let n = 0; n < full.length; n++) {
      const f = Uint8Array.from(errorFrame(3, 3, router, a, full.slice(0, n)));
      expect(parseIcmpError(f, f.length, L3, out), `quote of ${n} bytes`).toBe(false);
    }
    // the frame cut short of the IP total length
    const f = Uint8Array.from(errorFrame(3, 3, router, a, full));
    for (let len = 0; len < f.length; len++) expect(parseIcmpError(f, len, L3, out), `frame of ${len}`).toBe(false);
    expect(parseIcmpError(f, f.length, L3, out)).toBe(true);
  });

  test('a quote with inner IP options needs its 8 bytes after the options', () => {
    const q = quoteOf({ proto: UDP, src: a, dst: b, sport: 7, dport: 9, quoteL4: 8, options: [1, 1, 1, 0] });
    const out = blank();
    const f = Uint8Array.from(errorFrame(11, 0, router, a, q));
    expect(parseIcmpError(f, f.length, L3, out)).toBe(true);
    expect(out.innerL3).toBe(L3 + 28);
    expect([out.srcPort, out.dstPort]).toEqual([7, 9]);
    const short = Uint8Array.from(errorFrame(11, 0, router, a, q.slice(0, q.length - 1)));
    expect(parseIcmpError(short, short.length, L3, out)).toBe(false);
  });

  test('Ethernet padding after the IP total length is not quote', () => {
    const q = quoteOf({ proto: TCP, src: a, dst: b, sport: 1, dport: 2, quoteL4: 8 });
    const f = Uint8Array.from(errorFrame(3, 3, router, a, q.slice(0, q.length - 2), 10));
    expect(parseIcmpError(f, f.length, L3, blank())).toBe(false);
  });

  test('refused: bad ICMP checksum, inner version/IHL, non-first fragment, error about an error', () => {
    const out = blank();
    const good = errorFrame(3, 3, router, a, quoteOf({ proto: UDP, src: a, dst: b, sport: 1, dport: 2, quoteL4: 8 }));
    const badSum = Uint8Array.from(good);
    badSum[L3 + 20 + 3] ^= 1;
    expect(parseIcmpError(badSum, badSum.length, L3, out)).toBe(false);
    const v6 = quoteOf({ proto: UDP, src: a, dst: b, sport: 1, dport: 2, quoteL4: 8 });
    v6[0] = 0x65;
    expect(parseIcmpError(Uint8Array.from(errorFrame(3, 3, router, a, v6)), 70, L3, out)).toBe(false);
    const ihl4 = quoteOf({ proto: UDP, src: a, dst: b, sport: 1, dport: 2, quoteL4: 8 });
    ihl4[0] = 0x44;
    const f1 = Uint8Array.from(errorFrame(3, 3, router, a, ihl4));
    expect(parseIcmpError(f1, f1.length, L3, out)).toBe(false);
    const frag = Uint8Array.from(errorFrame(3, 3, router, a, quoteOf({ proto: UDP, src: a, dst: b, sport: 1, dport: 2, quoteL4: 8, frag: 0x0010 })));
    expect(parseIcmpError(frag, frag.length, L3, out)).toBe(false);
    const firstFrag = Uint8Array.from(errorFrame(3, 3, router, a, quoteOf({ proto: UDP, src: a, dst: b, sport: 1, dport: 2, quoteL4: 8, frag: 0x2000 })));
    expect(parseIcmpError(firstFrag, firstFrag.length, L3, out)).toBe(true);
    const errInErr = Uint8Array.from(errorFrame(3, 3, router, a, quoteOf({ proto: ICMP, src: a, dst: b, sport: 0, dport: 0, quoteL4: 8, icmpType: 11 })));
    expect(parseIcmpError(errInErr, errInErr.length, L3, out)).toBe(false);
  });

  test('a quoted protocol without ports: ports 0, as the session table keys it', () => {
    const q = quoteOf({ proto: UDP, src: a, dst: b, sport: 1, dport: 2, quoteL4: 8 });
    q[9] = 47; // GRE; the inner checksum is not checked
    const f = Uint8Array.from(errorFrame(3, 2, router, a, q));
    const out = blank();
    expect(parseIcmpError(f, f.length, L3, out)).toBe(true);
    expect([out.proto, out.srcPort, out.dstPort]).toEqual([47, 0, 0]);
  });
});

describe('rewriteQuotedSource / rewriteQuotedDestination', () => {
  test('2000 random quotes match a frame built from the rewritten original, every checksum recomputed', () => {
    const r = rng(3);
    for (let i = 0; i < 2000; i++) {
      const kind = Math.floor(r() * 5);
      const proto = kind <= 1 ? TCP : kind <= 3 ? UDP : ICMP;
      const inner: Inner = {
        proto,
        src: u32(r),
        dst: u32(r),
        sport: u16(r),
        dport: proto === ICMP ? 0 : u16(r),
        quoteL4: kind === 1 ? 28 : r() < 0.5 ? 8 : 20, // TCP with its whole header, or 8/20 bytes
        udpNone: kind === 3,
        icmpType: r() < 0.5 ? 8 : 0,
      };
      const which = r() < 0.5 ? 'src' : 'dst';
      const ip = u32(r);
      const port = r() < 0.2 ? -1 : u16(r);
      const router = u32(r);
      const f = Uint8Array.from(errorFrame(3, 1, router, inner.src, quoteOf(inner)));
      const q = blank();
      expect(parseIcmpError(f, f.length, L3, q)).toBe(true);
      if (which === 'src') rewriteQuotedSource(f, q, ip, port);
      else rewriteQuotedDestination(f, q, ip, port);

      // ICMP echo: the identifier (kept in sport here) is a request's source port, a reply's destination port
      const after: Inner = { ...inner };
      if (which === 'src') {
        after.src = ip;
        if (port >= 0 && (proto !== ICMP || inner.icmpType === 8)) after.sport = port;
      } else {
        after.dst = ip;
        if (port >= 0) {
          if (proto !== ICMP) after.dport = port;
          else if (inner.icmpType === 0) after.sport = port;
        }
      }
      const expectedQuote = quoteOf(after);
      // an 8-byte TCP quote does not hold the TCP checksum (offset 16): nothing to compare there;
      // a quote with the whole TCP header gets it updated as for the full segment
      const want = errorFrame(3, 1, router, inner.src, expectedQuote);
      expect(Array.from(f), `case ${i} ${JSON.stringify(inner)} ${which} ${port}`).toEqual(want);
      expect(q).toMatchObject({ src: after.src, dst: after.dst });
      const again = blank();
      expect(parseIcmpError(f, f.length, L3, again)).toBe(true);
      expect(again).toEqual(q);
    }
  });
});
