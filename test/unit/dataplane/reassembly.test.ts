import { describe, expect, it } from 'vitest';
import { RA_DONE, RA_DROP, RA_DUPLICATE, RA_HELD, Reassembler, type ReassemblyLimits } from '../../../src/dataplane/reassembly.js';
import { buf, eth, ipv4, udp } from './frames.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

/** A UDP payload of `n` bytes (header included): byte i is i & 0xff, ports 1000 -> 2000. */
function datagram(n: number): number[] {
  const data = Array.from({ length: n - 8 }, (_, i) => (i + 8) & 0xff);
  return udp(1000, 2000, data);
}

/** The fragment of `payload` at [off, off + n), MF when `more`. */
function frag(payload: number[], off: number, n: number, more: boolean, o: { src?: string; id?: number; proto?: number } = {}): Uint8Array {
  const word = (more ? 0x2000 : 0) | (off >> 3);
  return buf(
    eth(
      A,
      B,
      0x0800,
      ipv4({ src: o.src ?? '10.0.1.10', dst: '10.0.2.10', proto: o.proto ?? 17, id: o.id ?? 7, frag: word, payload: payload.slice(off, off + n) }),
    ),
  );
}

function push(r: Reassembler, f: Uint8Array, now = 0): number {
  return r.push(f, f.length, 1, -1, now);
}

/** Pushes [off, len, more] pieces of a 64-byte datagram; the last result. */
function run(pieces: [number, number, boolean][], limits: Partial<ReassemblyLimits> = {}, payload = datagram(64)): { r: Reassembler; results: number[] } {
  const r = new Reassembler(limits);
  const results = pieces.map(([off, n, more]) => push(r, frag(payload, off, n, more)));
  return { r, results };
}

describe('Reassembler', () => {
  it('puts a datagram together in order and out of order, with a header of one packet', () => {
    const p = datagram(64);
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
    ]) {
      const pieces: [number, number, boolean][] = [
        [0, 24, true],
        [24, 24, true],
        [48, 16, false],
      ];
      const r = new Reassembler();
      const res = order.map((i) => push(r, frag(p, ...pieces[i])));
      expect(res).toEqual([RA_HELD, RA_HELD, RA_DONE]);
      const whole = buf(eth(A, B, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.10', id: 7, payload: p })));
      expect(r.outLen).toBe(whole.length);
      expect([...r.out.subarray(0, r.outLen)]).toEqual([...whole]);
      expect(r.outIngress).toBe(1);
      expect(r.inFlight).toBe(0);
      expect(r.heldBytes).toBe(0);
    }
  });

  it('tolerates an exact duplicate, in the middle and first and last', () => {
    for (const dupOf of [0, 1, 2]) {
      const p = datagram(64);
      const pieces: [number, number, boolean][] = [
        [0, 24, true],
        [24, 24, true],
        [48, 16, false],
      ];
      const r = new Reassembler();
      const res = [...pieces.slice(0, 2), pieces[dupOf], pieces[2]].map((x) => push(r, frag(p, ...x)));
      expect(res.slice(2)).toEqual(dupOf === 2 ? [RA_DONE, RA_HELD] : [RA_DUPLICATE, RA_DONE]);
    }
  });

  const overlaps: [string, [number, number, boolean][], string][] = [
    [
      'overlapping the start of one held (before)',
      [
        [24, 24, true],
        [16, 16, true],
      ],
      'frag-overlap',
    ],
    [
      'overlapping the end of one held (after)',
      [
        [24, 24, true],
        [40, 16, true],
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
      'covering one held',
      [
        [24, 8, true],
        [16, 32, true],
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
      'a last fragment overlapping a middle one',
      [
        [16, 24, true],
        [32, 32, false],
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
      'a last fragment before data held',
      [
        [48, 16, true],
        [24, 8, false],
      ],
      'frag-inconsistent',
    ],
    ['a first fragment too short for the UDP header', [[0, 0, false]], 'frag-tiny'],
    ['a non-last fragment not a multiple of 8', [[0, 12, true]], 'fragment'],
    ['an empty non-last fragment', [[8, 0, true]], 'fragment'],
  ];
  it.each(overlaps)('drops the whole datagram for a fragment %s', (_name, pieces, reason) => {
    const { r, results } = run(pieces);
    expect(results.at(-1)).toBe(RA_DROP);
    expect(r.reason).toBe(reason);
    expect(r.inFlight).toBe(0);
    expect(r.heldBytes).toBe(0);
    // the rest of the datagram, arriving after, never makes a packet of the dropped one's parts
    const p = datagram(64);
    expect(push(r, frag(p, 0, 24, true))).toBe(RA_HELD);
    expect(r.heldBytes).toBe(24);
  });

  it('drops an identical-range fragment with other bytes (inconsistent data in an overlap)', () => {
    const r = new Reassembler();
    const p = datagram(64);
    push(r, frag(p, 24, 24, true));
    const q = p.map((b, i) => (i === 30 ? b ^ 1 : b));
    expect(push(r, frag(q, 24, 24, true))).toBe(RA_DROP);
    expect(r.reason).toBe('frag-overlap');
  });

  it('refuses a first TCP fragment shorter than 20 bytes (RFC 1858 tiny fragment)', () => {
    const r = new Reassembler();
    expect(push(r, frag(datagram(64), 0, 16, true, { proto: 6 }))).toBe(RA_DROP);
    expect(r.reason).toBe('frag-tiny');
  });

  it('refuses a fragment ending past 65535 bytes', () => {
    const r = new Reassembler();
    const f = frag(datagram(64), 0, 16, false);
    f[20] = 0x1f; // offset 8191 * 8 = 65528, + 16 bytes
    f[21] = 0xff;
    expect(push(r, f)).toBe(RA_DROP);
    expect(r.reason).toBe('frag-too-big');
  });

  it('keys datagrams by source, destination, protocol and id', () => {
    const r = new Reassembler();
    const p = datagram(64);
    expect(push(r, frag(p, 0, 32, true, { id: 1 }))).toBe(RA_HELD);
    expect(push(r, frag(p, 32, 32, false, { id: 2 }))).toBe(RA_HELD);
    expect(push(r, frag(p, 32, 32, false, { src: '10.0.1.11', id: 1 }))).toBe(RA_HELD);
    expect(r.inFlight).toBe(3);
    expect(push(r, frag(p, 32, 32, false, { id: 1 }))).toBe(RA_DONE);
  });

  it('drops timed-out datagrams, telling whether their first fragment came', () => {
    const r = new Reassembler({ timeoutMs: 30_000 });
    const p = datagram(64);
    r.push(frag(p, 0, 32, true, { id: 1 }), 54, 2, -1, 0);
    r.push(frag(p, 32, 32, false, { id: 2 }), 54, 1, -1, 1000);
    const seen: [number, number, boolean][] = [];
    expect(r.expire(29_999, () => seen.push([0, 0, false]))).toBe(0);
    expect(r.expire(30_000, (f, len, ingress, _flags, first) => seen.push([len, ingress, first]))).toBe(1);
    expect(seen).toEqual([[14 + 20 + 32, 2, true]]);
    expect(r.expire(31_000, (_f, _l, _i, _fl, first) => seen.push([0, 0, first]))).toBe(1);
    expect(seen.at(-1)).toEqual([0, 0, false]);
    expect(r.inFlight).toBe(0);
    expect(r.heldBytes).toBe(0);
  });

  it('at a source share its oldest datagram goes for its new one; when full, the oldest of all', () => {
    const r = new Reassembler({ maxDatagrams: 4, perSource: 2 });
    const p = datagram(64);
    expect(push(r, frag(p, 0, 32, true, { id: 1 }), 0)).toBe(RA_HELD);
    expect(push(r, frag(p, 0, 32, true, { id: 2 }), 1)).toBe(RA_HELD);
    expect(r.evicted).toBeNull();
    // a third from the same source: its oldest (id 1) goes
    expect(push(r, frag(p, 0, 32, true, { id: 3 }), 2)).toBe(RA_HELD);
    expect(r.evicted).toBe('frag-source-evicted');
    expect(r.inFlight).toBe(2);
    expect(push(r, frag(p, 32, 32, false, { id: 1 }), 3)).toBe(RA_HELD); // id 1 starts again: its first half is gone
    expect(r.evicted).toBe('frag-source-evicted'); // and takes id 2's place
    expect(push(r, frag(p, 0, 32, true, { id: 1, src: '10.0.1.11' }), 4)).toBe(RA_HELD);
    expect(push(r, frag(p, 0, 32, true, { id: 1, src: '10.0.1.12' }), 5)).toBe(RA_HELD);
    expect(r.inFlight).toBe(4);
    // full: a fifth datagram takes the slot of the oldest of all (id 3 of the first source)
    expect(push(r, frag(p, 0, 32, true, { id: 1, src: '10.0.1.13' }), 6)).toBe(RA_HELD);
    expect(r.evicted).toBe('frag-evicted');
    expect(r.inFlight).toBe(4);
    // the datagrams still held complete
    expect(push(r, frag(p, 32, 32, false, { id: 1, src: '10.0.1.12' }), 7)).toBe(RA_DONE);
    expect(push(r, frag(p, 32, 32, false, { id: 1, src: '10.0.1.13' }), 8)).toBe(RA_DONE);
  });

  it('a flood of never-completed datagrams from many sources cannot keep a real one out', () => {
    const r = new Reassembler({ maxDatagrams: 8, perSource: 2 });
    const p = datagram(64);
    let now = 0;
    const flood = () => {
      for (let i = 0; i < 3; i++) push(r, frag(p, 0, 32, true, { id: (now % 60000) + 1, src: `10.9.${(now >> 8) & 255}.${now & 255}` }), now++);
    };
    for (let i = 0; i < 100; i++) flood();
    expect(r.inFlight).toBe(8);
    // a real datagram's two halves, with the flood going on in between: it is whole
    expect(push(r, frag(p, 0, 32, true, { id: 7, src: '10.0.1.10' }), now++)).toBe(RA_HELD);
    flood();
    expect(push(r, frag(p, 32, 32, false, { id: 7, src: '10.0.1.10' }), now++)).toBe(RA_DONE);
  });

  it('refuses fragments beyond maxBytes held and beyond maxFragments per datagram', () => {
    const p = datagram(64);
    const r = new Reassembler({ maxBytes: 48 });
    expect(push(r, frag(p, 0, 32, true, { id: 1 }))).toBe(RA_HELD);
    // no room for both: the older datagram goes
    expect(push(r, frag(p, 0, 32, true, { id: 2 }))).toBe(RA_HELD);
    expect(r.evicted).toBe('frag-evicted');
    expect(r.heldBytes).toBe(32);
    // a fragment its own datagram has no room for drops that datagram
    expect(push(r, frag(p, 32, 32, true, { id: 2 }))).toBe(RA_DROP);
    expect(r.reason).toBe('frag-limit');
    expect(r.heldBytes).toBe(0);
    const { r: r2, results } = run(
      [
        [0, 8, true],
        [8, 8, true],
        [16, 8, true],
      ],
      { maxFragments: 2 },
    );
    expect(results).toEqual([RA_HELD, RA_HELD, RA_DROP]);
    expect(r2.reason).toBe('frag-too-many');
  });

  it('holds a flood bounded: slots and bytes never pass the limits', () => {
    const r = new Reassembler({ maxDatagrams: 8, perSource: 4, maxBytes: 4096 });
    const p = datagram(1024);
    for (let i = 0; i < 2000; i++) {
      const src = `10.0.${i % 3}.${(i * 7) % 250}`;
      push(r, frag(p, (i % 5) * 8, 512, true, { src, id: i % 97 }), i);
      expect(r.inFlight).toBeLessThanOrEqual(8);
      expect(r.heldBytes).toBeLessThanOrEqual(4096);
    }
  });

  it('makes a 65535-byte datagram', () => {
    const p = datagram(65515);
    const r = new Reassembler();
    let res = RA_HELD;
    for (let off = 0; off < p.length; off += 1480) res = push(r, frag(p, off, Math.min(1480, p.length - off), off + 1480 < p.length));
    expect(res).toBe(RA_DONE);
    expect(r.outLen).toBe(14 + 65535);
    expect(r.out[14 + 20 + 65514]).toBe(p[65514]);
  });
});
