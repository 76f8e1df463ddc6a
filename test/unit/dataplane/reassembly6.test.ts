// The IPv6 reassembler (reassembly6.ts): whole packets from fragments in any order, keyed by
// (source, destination, identification), the fragments kept as they came; RFC 5722 overlaps,
// RFC 7112 tiny first fragments, the limits and evictions shared with IPv4, the 60 s timeout.
import { describe, expect, it } from 'vitest';
import { newIpv6Walk, ipv6End, validateIpv6, walkIpv6 } from '../../../src/dataplane/packet6.js';
import { ETH_HLEN } from '../../../src/dataplane/packet.js';
import { isFragment6, RA_DONE, RA_DROP, RA_DUPLICATE, RA_HELD, Reassembler6 } from '../../../src/dataplane/reassembly6.js';
import type { ReassemblyLimits } from '../../../src/dataplane/frag-table.js';
import { eth6, ext, frag, tcp6, udp6 } from './frames6.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const SRC = '2001:db8:1::10';
const DST = '2001:db8:2::10';

/** A UDP upper layer of `n` bytes (header included), ports 1000 -> 2000. */
function datagram(n: number, src = SRC): number[] {
  return udp6(
    src,
    DST,
    1000,
    2000,
    Array.from({ length: n - 8 }, (_, i) => (i * 7 + 3) & 0xff),
  );
}

interface FragOpts {
  src?: string;
  id?: number;
  next?: number;
  /** A destination options body (6 bytes) before the fragment header: an unfragmentable part longer than the IPv6 header. */
  pre?: boolean;
}

const PRE_BODY = [1, 4, 0, 0, 0, 0];

/** The fragment of `payload` at [off, off + n), M when `more`. */
function frag6(payload: number[], off: number, n: number, more: boolean, o: FragOpts = {}): Uint8Array {
  const fh = frag(o.next ?? 17, off, more, o.id ?? 7);
  const pre = o.pre === true ? ext(44, PRE_BODY) : [];
  return eth6(A, B, { src: o.src ?? SRC, dst: DST, next: o.pre === true ? 60 : 44, payload: [...pre, ...fh, ...payload.slice(off, off + n)] });
}

/** The packet the fragments make. */
function whole(payload: number[], o: FragOpts = {}): Uint8Array {
  const pre = o.pre === true ? ext(17, PRE_BODY) : [];
  return eth6(A, B, { src: o.src ?? SRC, dst: DST, next: o.pre === true ? 60 : 17, payload: [...pre, ...payload] });
}

const w = newIpv6Walk();
function walked(f: Uint8Array): void {
  expect(validateIpv6(f, f.length)).toBeNull();
  expect(walkIpv6(f, ETH_HLEN, ipv6End(f, ETH_HLEN), w)).toBeNull();
}

function push(r: Reassembler6, f: Uint8Array, now = 0, ingress = 1): number {
  walked(f);
  return r.push(f, w, ingress, now);
}

type Piece = [number, number, boolean];
const THREE: Piece[] = [
  [0, 24, true],
  [24, 24, true],
  [48, 16, false],
];

function run(pieces: Piece[], limits: Partial<ReassemblyLimits> = {}, payload = datagram(64)): { r: Reassembler6; results: number[] } {
  const r = new Reassembler6(limits);
  return { r, results: pieces.map(([off, n, more]) => push(r, frag6(payload, off, n, more))) };
}

describe('Reassembler6', () => {
  it('makes one packet of fragments in order and out of order, and keeps the fragments as they came', () => {
    const p = datagram(64);
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
    ]) {
      const r = new Reassembler6();
      const frames = order.map((i) => frag6(p, ...THREE[i]));
      expect(frames.map((f) => push(r, f))).toEqual([RA_HELD, RA_HELD, RA_DONE]);
      expect([...r.out.subarray(0, r.outLen)]).toEqual([...whole(p)]);
      expect(r.outIngress).toBe(1);
      expect(r.outFragments.map((f) => [...f])).toEqual(frames.map((f) => [...f]));
      expect(r.inFlight).toBe(0);
      expect(r.heldBytes).toBe(0);
    }
  });

  it('keeps the unfragmentable part of the first fragment, its header naming what the fragment header named', () => {
    const p = datagram(64);
    const r = new Reassembler6();
    const res = [THREE[2], THREE[0], THREE[1]].map((x) => push(r, frag6(p, ...x, { pre: true })));
    expect(res).toEqual([RA_HELD, RA_HELD, RA_DONE]);
    expect([...r.out.subarray(0, r.outLen)]).toEqual([...whole(p, { pre: true })]);
  });

  it('cuts Ethernet padding from the copies and the packet', () => {
    const p = datagram(16);
    const r = new Reassembler6();
    const padded = (f: Uint8Array) => Uint8Array.from([...f, 0, 0, 0, 0]);
    expect(push(r, padded(frag6(p, 0, 8, true)))).toBe(RA_HELD);
    expect(push(r, padded(frag6(p, 8, 8, false)))).toBe(RA_DONE);
    expect([...r.out.subarray(0, r.outLen)]).toEqual([...whole(p)]);
    expect(r.outFragments.map((f) => f.length)).toEqual([frag6(p, 0, 8, true).length, frag6(p, 8, 8, false).length]);
  });

  it('tells an atomic fragment (offset 0, M clear: RFC 6946) from a fragment', () => {
    const p = datagram(16);
    const check = (f: Uint8Array) => (walked(f), isFragment6(f, w));
    expect(check(frag6(p, 0, 16, false))).toBe(false);
    expect(check(frag6(p, 0, 8, true))).toBe(true);
    expect(check(frag6(p, 8, 8, false))).toBe(true);
    expect(check(whole(p))).toBe(false);
  });

  it('ignores an exact duplicate, which is not kept twice', () => {
    for (const dupOf of [0, 1]) {
      const p = datagram(64);
      const r = new Reassembler6();
      const res = [THREE[0], THREE[1], THREE[dupOf], THREE[2]].map((x) => push(r, frag6(p, ...x)));
      expect(res).toEqual([RA_HELD, RA_HELD, RA_DUPLICATE, RA_DONE]);
      expect(r.outFragments).toHaveLength(3);
    }
  });

  const drops: [string, Piece[], string][] = [
    [
      'overlapping the start of one held',
      [
        [24, 24, true],
        [16, 16, true],
      ],
      'frag-overlap',
    ],
    [
      'inside one held',
      [
        [16, 32, true],
        [24, 8, true],
      ],
      'frag-overlap',
    ],
    [
      'a first fragment overlapping the second',
      [
        [16, 16, true],
        [0, 24, true],
      ],
      'frag-overlap',
    ],
    [
      'a second last fragment with another end',
      [
        [48, 16, false],
        [40, 8, false],
      ],
      'frag-inconsistent',
    ],
    [
      'a fragment past the end',
      [
        [48, 8, false],
        [56, 8, true],
      ],
      'frag-inconsistent',
    ],
    [
      'a non-last fragment not a multiple of 8 bytes',
      [
        [0, 24, true],
        [24, 20, true],
      ],
      'fragment',
    ],
  ];
  for (const [name, pieces, reason] of drops) {
    it(`drops the datagram for ${name} (RFC 5722, RFC 8200 4.5): ${reason}`, () => {
      const { r, results } = run(pieces);
      expect(results).toEqual([RA_HELD, RA_DROP]);
      expect(r.reason).toBe(reason);
      expect(r.inFlight).toBe(0);
      expect(r.heldBytes).toBe(0);
    });
  }

  it('drops a fragment of the same range with other bytes as an overlap', () => {
    const r = new Reassembler6();
    const p = datagram(64);
    const q = p.map((b, i) => (i === 30 ? b ^ 1 : b));
    expect(push(r, frag6(p, 24, 24, true))).toBe(RA_HELD);
    expect(push(r, frag6(q, 24, 24, true))).toBe(RA_DROP);
    expect(r.reason).toBe('frag-overlap');
  });

  it('refuses a first fragment without the whole header chain up to the upper-layer header (RFC 7112)', () => {
    const r = new Reassembler6();
    // TCP: 16 of its 20 header bytes
    const t = tcp6(SRC, DST, 1000, 80);
    expect(push(r, frag6([...t, 0, 0, 0, 0], 0, 16, true, { next: 6 }))).toBe(RA_DROP);
    expect(r.reason).toBe('frag-tiny');
    // a destination options header after the fragment header, the UDP header in the next fragment
    const chain = [...ext(17, PRE_BODY), ...datagram(16)];
    expect(push(r, frag6(chain, 0, 8, true, { next: 60 }))).toBe(RA_DROP);
    expect(r.reason).toBe('frag-tiny');
    // the same chain with the UDP header in: held, and whole with the next
    expect(push(r, frag6(chain, 0, 16, true, { next: 60 }))).toBe(RA_HELD);
    expect(push(r, frag6(chain, 16, 8, false, { next: 60 }))).toBe(RA_DONE);
  });

  it('refuses a datagram whose payload would pass 65535 bytes', () => {
    const r = new Reassembler6();
    const p = new Array<number>(65536).fill(1);
    expect(push(r, frag6(p, 65520, 16, false))).toBe(RA_DROP);
    expect(r.reason).toBe('frag-too-big');
    expect(push(r, frag6(p, 65520, 15, false))).toBe(RA_HELD);
    // the unfragmentable part counts: 8 more bytes before the fragment header
    expect(push(r, frag6(p, 65520, 15, false, { pre: true, id: 9 }))).toBe(RA_DROP);
    expect(r.reason).toBe('frag-too-big');
  });

  it('keys datagrams by source, destination and identification, not by next header', () => {
    const p = datagram(32);
    const r = new Reassembler6();
    expect(push(r, frag6(p, 0, 16, true))).toBe(RA_HELD);
    expect(push(r, frag6(p, 16, 16, false, { id: 8 }))).toBe(RA_HELD);
    expect(push(r, frag6(p, 16, 16, false, { src: '2001:db8:1::11' }))).toBe(RA_HELD);
    expect(r.inFlight).toBe(3);
    // the next header of a later fragment is not the first one's: it completes all the same (the first's counts)
    expect(push(r, frag6(p, 16, 16, false, { next: 6 }))).toBe(RA_DONE);
    expect([...r.out.subarray(0, r.outLen)]).toEqual([...whole(p)]);
  });

  it('drops a datagram 60 s after its first fragment arrived, telling whether the first came', () => {
    const p = datagram(64);
    const r = new Reassembler6();
    const first = frag6(p, 0, 24, true);
    push(r, first, 1000, 2);
    push(r, frag6(p, 24, 24, true, { id: 8 }), 2000);
    const seen: [number[], number, boolean][] = [];
    const cb = (f: Uint8Array, len: number, ingress: number, isFirst: boolean) => seen.push([[...f.subarray(0, len)], ingress, isFirst]);
    expect(r.expire(60_999, cb)).toBe(0);
    expect(r.expire(61_000, cb)).toBe(1);
    expect(seen).toEqual([[[...first], 2, true]]);
    expect(r.expire(62_000, cb)).toBe(1);
    expect(seen[1]).toEqual([[], -1, false]);
    expect(r.inFlight).toBe(0);
  });

  it('at a source share its oldest datagram goes for its new one (a /64 is one source); when full, the oldest of all', () => {
    const p = datagram(64);
    const r = new Reassembler6({ perSource: 2, maxDatagrams: 3 });
    push(r, frag6(p, 0, 24, true, { id: 1 }), 0);
    push(r, frag6(p, 0, 24, true, { id: 2, src: '2001:db8:1::99' }), 1);
    expect(r.evicted).toBeNull();
    // a third from the same /64: its oldest (id 1) goes
    expect(push(r, frag6(p, 0, 24, true, { id: 3, src: '2001:db8:1::77' }), 2)).toBe(RA_HELD);
    expect(r.evicted).toBe('frag-source-evicted');
    // a later fragment of id 1 opens a new datagram (its first is gone), and takes the next oldest of the /64
    expect(push(r, frag6(p, 24, 40, false, { id: 1 }), 3)).toBe(RA_HELD);
    expect(r.evicted).toBe('frag-source-evicted');
    expect(r.inFlight).toBe(2);
    // other prefixes: a free slot, then, all three taken, the oldest of all goes
    expect(push(r, frag6(p, 0, 24, true, { id: 4, src: '2001:db8:5::1' }), 4)).toBe(RA_HELD);
    expect(r.evicted).toBeNull();
    expect(push(r, frag6(p, 0, 24, true, { id: 5, src: '2001:db8:6::1' }), 5)).toBe(RA_HELD);
    expect(r.evicted).toBe('frag-evicted');
    expect(r.inFlight).toBe(3);
  });

  it('refuses fragments past maxBytes held by their own datagram and past maxFragments, making room from others', () => {
    const p = datagram(64);
    const a = new Reassembler6({ maxBytes: 40 });
    expect(push(a, frag6(p, 0, 24, true, { id: 1 }))).toBe(RA_HELD);
    expect(push(a, frag6(p, 0, 24, true, { id: 2, src: '2001:db8:9::1' }))).toBe(RA_HELD);
    expect(a.evicted).toBe('frag-evicted');
    expect(push(a, frag6(p, 24, 24, true, { id: 2, src: '2001:db8:9::1' }))).toBe(RA_DROP);
    expect(a.reason).toBe('frag-limit');
    const { r, results } = run(
      [
        [0, 8, true],
        [8, 8, true],
        [16, 8, true],
      ],
      { maxFragments: 2 },
    );
    expect(results).toEqual([RA_HELD, RA_HELD, RA_DROP]);
    expect(r.reason).toBe('frag-too-many');
    expect(r.inFlight).toBe(0);
  });

  it('holds a flood of never-completed fragments within the limits, and a real datagram still completes', () => {
    const r = new Reassembler6({ maxDatagrams: 8, perSource: 2 });
    const p = datagram(64);
    for (let i = 0; i < 500; i++) push(r, frag6(p, 8, 8, true, { id: i, src: `2001:db8:${(i % 50) + 10}::1` }), i);
    expect(r.inFlight).toBe(8);
    expect(r.heldBytes).toBe(64);
    expect([THREE[0], THREE[1], THREE[2]].map((x) => push(r, frag6(p, ...x), 600))).toEqual([RA_HELD, RA_HELD, RA_DONE]);
  });
});
