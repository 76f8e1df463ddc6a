import { describe, expect, it } from 'vitest';
import { MAX_RING_CAPACITY, RECORD_BYTES, RecordRing, RING_HEADER_BYTES } from '../../../src/wire/record-ring.js';
import { emptyRecord, REC_BULK_END, REC_DELETE, REC_UPSERT, type SessionRecord } from '../../../src/wire/session-record.js';
import { decodeHa2, encodeHa2, RECORD_MAX_WIN } from '../../../src/wire/ha2-codec.js';

function rec(over: Partial<SessionRecord> = {}): SessionRecord {
  return { ...emptyRecord(), ...over };
}

/** A distinct record for every i, touching every field. */
function recordFor(i: number): SessionRecord {
  return {
    op: 1 + (i % 7),
    proto: i & 0xff,
    state: i % 13,
    flags: (i * 7) & 0xff,
    origSrc: Math.imul(i, 2654435761) >>> 0,
    origSrcPort: i & 0xffff,
    origDst: ~i >>> 0,
    origDstPort: (i >>> 3) & 0xffff,
    replySrc: (i * 3) >>> 0,
    replySrcPort: (0xffff - i) & 0xffff,
    replyDst: (0xffff_ffff - i) >>> 0,
    replyDstPort: (i * 5) & 0xffff,
    ruleId: (i % 5) - 1,
    natRuleId: i % 2 === 0 ? -1 : i,
    ingress: i % 4,
    egress: (i + 1) % 4,
    timeoutMs: (i * 1000) >>> 0,
    eventMs: Number.MAX_SAFE_INTEGER - i,
    origSeqEnd: Math.imul(i, 0x9e3779b1) >>> 0,
    origSeqMaxEnd: (i * 11) >>> 0,
    origMaxWin: (i * 65535) % RECORD_MAX_WIN,
    origMaxAck: ~(i * 3) >>> 0,
    origWinFlags: i & 0xff,
    replySeqEnd: (0xffff_fff0 + i) >>> 0,
    replySeqMaxEnd: (i * 13) >>> 0,
    replyMaxWin: (i * 29200) % RECORD_MAX_WIN,
    replyMaxAck: Math.imul(i, 7) >>> 0,
    replyWinFlags: (255 - i) & 0xff,
    origSrcW0: (i * 3 + 0x20010000) >>> 0,
    origSrcW1: (i * 4 + 0x20010000) >>> 0,
    origSrcW2: (i * 5 + 0x20010000) >>> 0,
    origDstW0: (i * 6 + 0x20010000) >>> 0,
    origDstW1: (i * 7 + 0x20010000) >>> 0,
    origDstW2: (i * 8 + 0x20010000) >>> 0,
    replySrcW0: (i * 9 + 0x20010000) >>> 0,
    replySrcW1: (i * 10 + 0x20010000) >>> 0,
    replySrcW2: (i * 11 + 0x20010000) >>> 0,
    replyDstW0: (i * 12 + 0x20010000) >>> 0,
    replyDstW1: (i * 13 + 0x20010000) >>> 0,
    replyDstW2: (i * 14 + 0x20010000) >>> 0,
  };
}

function drainAll(ring: RecordRing, max = Infinity): SessionRecord[] {
  const out: SessionRecord[] = [];
  ring.drain(max, (r) => out.push({ ...r }));
  return out;
}

const EXTREMES: [string, SessionRecord][] = [
  ['all zero', rec({ ruleId: 0, natRuleId: 0 })],
  ['empty record (rule ids -1)', emptyRecord()],
  [
    'every field at its top',
    {
      op: 0xffff,
      proto: 0xffff,
      state: 0xffff_ffff,
      flags: 0xffff_ffff,
      origSrc: 0xffff_ffff,
      origSrcPort: 0xffff,
      origDst: 0xffff_ffff,
      origDstPort: 0xffff,
      replySrc: 0xffff_ffff,
      replySrcPort: 0xffff,
      replyDst: 0xffff_ffff,
      replyDstPort: 0xffff,
      ruleId: 0x7fff_ffff,
      natRuleId: 0x7fff_ffff,
      ingress: 0xffff_ffff,
      egress: 0xffff_ffff,
      timeoutMs: 0xffff_ffff,
      eventMs: Number.MAX_SAFE_INTEGER,
      origSeqEnd: 0xffff_ffff,
      origSeqMaxEnd: 0xffff_ffff,
      origMaxWin: 0xffff_ffff,
      origMaxAck: 0xffff_ffff,
      origWinFlags: 0xff,
      replySeqEnd: 0xffff_ffff,
      replySeqMaxEnd: 0xffff_ffff,
      replyMaxWin: 0xffff_ffff,
      replyMaxAck: 0xffff_ffff,
      replyWinFlags: 0xff,
      origSrcW0: 0xffff_ffff,
      origSrcW1: 0xffff_ffff,
      origSrcW2: 0xffff_ffff,
      origDstW0: 0xffff_ffff,
      origDstW1: 0xffff_ffff,
      origDstW2: 0xffff_ffff,
      replySrcW0: 0xffff_ffff,
      replySrcW1: 0xffff_ffff,
      replySrcW2: 0xffff_ffff,
      replyDstW0: 0xffff_ffff,
      replyDstW1: 0xffff_ffff,
      replyDstW2: 0xffff_ffff,
    },
  ],
  [
    'sign bits set in packed words',
    rec({ op: 0x8000, proto: 0x8000, origSrcPort: 0x8000, origDstPort: 0x8000, replySrcPort: 0x8001, replyDstPort: 0xfffe, origSrc: 0x8000_0000 }),
  ],
  ['a BULK_END count', rec({ op: REC_BULK_END, origSrc: 1_000_000 })],
  [
    'a typical session',
    rec({
      op: REC_UPSERT,
      proto: 6,
      state: 4,
      origSrc: 0x0a00_0164,
      origSrcPort: 40000,
      origDst: 0xc633_6401,
      origDstPort: 443,
      ruleId: 3,
      natRuleId: -1,
      eventMs: 123_456,
    }),
  ],
];

describe('RecordRing: layout and construction', () => {
  it('allocates the header plus capacity slots of RECORD_BYTES', () => {
    expect(RECORD_BYTES).toBe(192);
    const ring = new RecordRing(8);
    expect(ring.capacity).toBe(8);
    expect(ring.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(ring.buffer.byteLength).toBe(RING_HEADER_BYTES + 8 * RECORD_BYTES);
    expect(ring.size).toBe(0);
  });

  it('refuses a capacity that is not a power of two in range', () => {
    for (const bad of [0, -1, 3, 6, 1.5, NaN, MAX_RING_CAPACITY * 2]) expect(() => new RecordRing(bad)).toThrow(RangeError);
    expect(new RecordRing(1).capacity).toBe(1);
  });

  it('opens the other end of an existing buffer, and detects a mismatched capacity', () => {
    const a = new RecordRing(16);
    const b = new RecordRing(16, a.buffer);
    expect(a.push(recordFor(1))).toBe(true);
    expect(b.size).toBe(1);
    expect(drainAll(b)).toEqual([recordFor(1)]);
    expect(a.size).toBe(0);
    expect(() => new RecordRing(8, a.buffer)).toThrow(/capacity 16, not 8/);
    expect(() => new RecordRing(32, a.buffer)).toThrow(RangeError);
    expect(RecordRing.attach(a.buffer).capacity).toBe(16);
  });

  it('refuses a buffer that is not a ring', () => {
    expect(() => new RecordRing(8, new SharedArrayBuffer(RING_HEADER_BYTES + 8 * RECORD_BYTES))).toThrow(/magic/);
    expect(() => new RecordRing(8, new SharedArrayBuffer(16))).toThrow(RangeError);
    expect(() => new RecordRing(8, new ArrayBuffer(1024) as unknown as SharedArrayBuffer)).toThrow(RangeError);
    // A header that claims 8 on a buffer of another size (a truncated copy).
    const good = new RecordRing(8);
    const short = new SharedArrayBuffer(good.buffer.byteLength - RECORD_BYTES);
    new Uint8Array(short).set(new Uint8Array(good.buffer, 0, short.byteLength));
    expect(() => new RecordRing(8, short)).toThrow(/bytes/);
    expect(() => RecordRing.attach(new SharedArrayBuffer(8))).toThrow(RangeError);
  });
});

describe('RecordRing: single thread', () => {
  it.each(EXTREMES)('round-trips every field: %s', (_name, r) => {
    const ring = new RecordRing(4);
    expect(ring.push(r)).toBe(true);
    expect(drainAll(ring)).toEqual([r]);
  });

  it('every record the HA2 codec decodes fits the ring unchanged', () => {
    const top = { ...EXTREMES[2][1], op: 0xff, proto: 0xff, origMaxWin: RECORD_MAX_WIN, replyMaxWin: RECORD_MAX_WIN };
    const back = decodeHa2(
      encodeHa2({ sender: 0, epoch: 0, seq: 0, groupId: 0, body: { kind: 'batch', batch: { seq: 1, records: [top, emptyRecord()], sentMs: 0 } } }),
    );
    if (back.body.kind !== 'batch') throw new Error('not a batch');
    const ring = new RecordRing(4);
    for (const r of back.body.batch.records) expect(ring.push(r)).toBe(true);
    expect(drainAll(ring)).toEqual(back.body.batch.records);
  });

  it('refuses to write when full, and writes nothing', () => {
    const ring = new RecordRing(4);
    for (let i = 0; i < 4; i++) expect(ring.push(recordFor(i))).toBe(true);
    expect(ring.size).toBe(4);
    expect(ring.push(recordFor(99))).toBe(false);
    expect(ring.size).toBe(4);
    expect(drainAll(ring, 1)).toEqual([recordFor(0)]);
    expect(ring.push(recordFor(4))).toBe(true);
    expect(ring.push(recordFor(5))).toBe(false);
    expect(drainAll(ring)).toEqual([1, 2, 3, 4].map(recordFor));
    expect(ring.size).toBe(0);
  });

  it('wraps around many times, in order, with interleaved push and drain', () => {
    const ring = new RecordRing(8);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 500; round++) {
      const pushes = (round * 7) % 9;
      for (let k = 0; k < pushes && ring.push(recordFor(next)); k++) next++;
      const got = drainAll(ring, (round * 5) % 6);
      for (const r of got) expect(r).toEqual(recordFor(expected++));
    }
    for (const r of drainAll(ring)) expect(r).toEqual(recordFor(expected++));
    expect(expected).toBe(next);
    expect(next).toBeGreaterThan(8 * 100);
  });

  it('keeps working across the 2^31 and 2^32 wrap of its head and tail counters', () => {
    const ring = new RecordRing(8);
    const header = new Int32Array(ring.buffer);
    for (const start of [0x7fff_fffc, -4]) {
      // White box: move both counters (head at byte 64, tail at byte 128) to just before a wrap.
      Atomics.store(header, 64 / 4, start);
      Atomics.store(header, 128 / 4, start);
      expect(ring.size).toBe(0);
      for (let i = 0; i < 8; i++) expect(ring.push(recordFor(i))).toBe(true);
      expect(ring.push(recordFor(8))).toBe(false);
      expect(ring.size).toBe(8);
      expect(drainAll(ring, 3)).toEqual([0, 1, 2].map(recordFor));
      for (let i = 8; i < 11; i++) expect(ring.push(recordFor(i))).toBe(true);
      expect(drainAll(ring)).toEqual([3, 4, 5, 6, 7, 8, 9, 10].map(recordFor));
      expect(ring.size).toBe(0);
    }
  });

  it('drain: honours max, hands one reused object, returns the count', () => {
    const ring = new RecordRing(16);
    for (let i = 0; i < 10; i++) ring.push(recordFor(i));
    const seen = new Set<SessionRecord>();
    expect(ring.drain(4, (r) => seen.add(r))).toBe(4);
    expect(seen.size).toBe(1);
    expect(ring.drain(0, () => undefined)).toBe(0);
    expect(ring.drain(-1, () => undefined)).toBe(0);
    expect(ring.drain(NaN, () => undefined)).toBe(0);
    expect(ring.drain(2.9, () => undefined)).toBe(2);
    expect(ring.size).toBe(4);
    expect(ring.drain(100, () => undefined)).toBe(4);
    expect(ring.drain(100, () => undefined)).toBe(0);
  });

  it('drain: a callback that throws consumes its record (never redelivered) and keeps the rest', () => {
    const ring = new RecordRing(8);
    for (let i = 0; i < 5; i++) ring.push(recordFor(i));
    const seen: number[] = [];
    expect(() =>
      ring.drain(10, (r) => {
        seen.push(r.timeoutMs / 1000);
        if (seen.length === 2) throw new Error('poison');
      }),
    ).toThrow('poison');
    expect(seen).toEqual([0, 1]);
    expect(drainAll(ring)).toEqual([2, 3, 4].map(recordFor));
  });

  it('drain: refuses re-entry from its own callback', () => {
    const ring = new RecordRing(8);
    ring.push(recordFor(0));
    ring.push(recordFor(1));
    expect(() => ring.drain(10, () => ring.drain(10, () => undefined))).toThrow(/re-entered/);
    // The first record was consumed by the throwing callback; the ring still works.
    expect(drainAll(ring)).toEqual([recordFor(1)]);
  });

  it('push: refuses values a slot cannot hold exactly, writing nothing', () => {
    const ring = new RecordRing(4);
    const bad: Partial<SessionRecord>[] = [
      { op: 0x1_0000 },
      { op: -1 },
      { proto: 1.5 },
      { state: 2 ** 32 },
      { flags: -1 },
      { origSrc: -1 },
      { origSrc: 2 ** 32 },
      { origSrcPort: 65536 },
      { origDst: NaN },
      { origDstPort: -1 },
      { replySrc: 0.5 },
      { replySrcPort: 70000 },
      { replyDst: Infinity },
      { replyDstPort: 1e9 },
      { ruleId: -2 },
      { ruleId: 2 ** 31 },
      { natRuleId: 1.25 },
      { ingress: -1 },
      { egress: 2 ** 32 },
      { timeoutMs: -1 },
      { eventMs: -1 },
      { eventMs: NaN },
      { eventMs: 2 ** 53 },
      { eventMs: Infinity },
    ];
    for (const over of bad) expect(() => ring.push(rec({ op: REC_DELETE, ...over })), JSON.stringify(over)).toThrow(RangeError);
    expect(ring.size).toBe(0);
  });

  it('push: stores eventMs in whole ms (a fractional monotonic clock is floored)', () => {
    const ring = new RecordRing(4);
    ring.push(rec({ eventMs: 1234.987 }));
    expect(drainAll(ring)[0].eventMs).toBe(1234);
  });

  it('push allocates nothing (heap flat over a million pushes)', () => {
    const ring = new RecordRing(1024);
    const r = recordFor(7);
    const sink = (): void => undefined;
    const cycle = (): void => {
      for (let i = 0; i < 1_000_000; i++) {
        r.origSrcPort = i & 0xffff;
        if (!ring.push(r)) ring.drain(1024, sink);
      }
    };
    cycle(); // warm up (JIT)
    const gc = (globalThis as { gc?: () => void }).gc;
    // Without --expose-gc a collection may land inside any one cycle: the least growth of a few
    // cycles is the honest figure. 1M pushes allocating even one 16-byte object each would grow
    // the heap by 16 MB in every cycle.
    let least = Infinity;
    for (let k = 0; k < 5; k++) {
      gc?.();
      const before = process.memoryUsage().heapUsed;
      cycle();
      least = Math.min(least, process.memoryUsage().heapUsed - before);
    }
    expect(least).toBeLessThan(4 * 1024 * 1024);
  });
});
