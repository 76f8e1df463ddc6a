import { describe, expect, it } from 'vitest';
import { DIR_ORIGINAL, DIR_REPLY, refDir, refSlot, SessionTable, tupleHash, type NewSession } from '../../../src/dataplane/session-table.js';

const ip = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);

/** A session from client c:cp to server s:sp, replies un-NATed unless `nat` gives the reply destination. */
function sess(c: string, cp: number, s: string, sp: number, o: Partial<NewSession> & { nat?: [string, number] } = {}): NewSession {
  const [rd, rdp] = o.nat ? [ip(o.nat[0]), o.nat[1]] : [ip(c), cp];
  return {
    proto: 6,
    origSrc: ip(c),
    origSrcPort: cp,
    origDst: ip(s),
    origDstPort: sp,
    replySrc: ip(s),
    replySrcPort: sp,
    replyDst: rd,
    replyDstPort: rdp,
    state: 1,
    expiresMs: 10_000,
    nowMs: 0,
    ruleId: 3,
    natRuleId: -1,
    ingress: 0,
    egress: 1,
    flags: 0,
    ...o,
  };
}

describe('SessionTable basics', () => {
  it('creates a session and finds it from both directions; every field reads back', () => {
    const t = new SessionTable({ capacity: 8 });
    const slot = t.create(
      sess('10.0.1.5', 40000, '10.0.2.10', 80, {
        nat: ['10.0.2.1', 61000],
        natRuleId: 2,
        ruleId: 7,
        ingress: 3,
        egress: 4,
        flags: 1,
        state: 2,
        nowMs: 1234,
        expiresMs: 5678,
      }),
    );
    expect(slot).toBe(0);
    expect(t.size).toBe(1);
    const o = t.lookup(6, ip('10.0.1.5'), 40000, ip('10.0.2.10'), 80);
    const r = t.lookup(6, ip('10.0.2.10'), 80, ip('10.0.2.1'), 61000);
    expect([refSlot(o), refDir(o), refSlot(r), refDir(r)]).toEqual([slot, DIR_ORIGINAL, slot, DIR_REPLY]);
    expect(o).toBe((slot << 1) | 0);
    expect(r).toBe((slot << 1) | 1);
    expect([t.proto(slot), t.state(slot), t.ruleId(slot), t.natRuleId(slot), t.ingress(slot), t.egress(slot), t.flags(slot)]).toEqual([6, 2, 7, 2, 3, 4, 1]);
    expect([t.createdMs(slot), t.expiresMs(slot)]).toEqual([1234, 5678]);
    expect([t.src(slot, 0), t.srcPort(slot, 0), t.dst(slot, 0), t.dstPort(slot, 0)]).toEqual([ip('10.0.1.5'), 40000, ip('10.0.2.10'), 80]);
    expect([t.src(slot, 1), t.srcPort(slot, 1), t.dst(slot, 1), t.dstPort(slot, 1)]).toEqual([ip('10.0.2.10'), 80, ip('10.0.2.1'), 61000]);
    t.setState(slot, 3);
    expect(t.state(slot)).toBe(3);
    // the un-NATed reverse of the original is not the reply tuple here
    expect(t.lookup(6, ip('10.0.2.10'), 80, ip('10.0.1.5'), 40000)).toBe(-1);
  });

  it('tuples that differ in one field only do not match', () => {
    const t = new SessionTable({ capacity: 16 });
    const s = t.create(sess('10.0.1.5', 40000, '10.0.2.10', 80));
    expect(t.lookup(6, ip('10.0.1.5'), 40000, ip('10.0.2.10'), 80)).toBe(s << 1);
    expect(t.lookup(17, ip('10.0.1.5'), 40000, ip('10.0.2.10'), 80)).toBe(-1);
    expect(t.lookup(6, ip('10.0.1.6'), 40000, ip('10.0.2.10'), 80)).toBe(-1);
    expect(t.lookup(6, ip('10.0.1.5'), 40001, ip('10.0.2.10'), 80)).toBe(-1);
    expect(t.lookup(6, ip('10.0.1.5'), 40000, ip('10.0.2.11'), 80)).toBe(-1);
    expect(t.lookup(6, ip('10.0.1.5'), 40000, ip('10.0.2.10'), 81)).toBe(-1);
    expect(t.lookup(6, ip('10.0.1.5'), 80, ip('10.0.2.10'), 40000)).toBe(-1); // ports swapped
    // the same addresses and ports in other protocols are other sessions
    const u = t.create(sess('10.0.1.5', 40000, '10.0.2.10', 80, { proto: 17 }));
    const i = t.create(sess('10.0.1.5', 40000, '10.0.2.10', 80, { proto: 1 }));
    expect(new Set([s, u, i]).size).toBe(3);
    expect(refSlot(t.lookup(17, ip('10.0.2.10'), 80, ip('10.0.1.5'), 40000))).toBe(u);
    expect(refSlot(t.lookup(1, ip('10.0.1.5'), 40000, ip('10.0.2.10'), 80))).toBe(i);
    // high addresses (>= 2^31) read back unsigned and match signed input too
    const h = t.create(sess('200.1.2.3', 1, '250.0.0.1', 2));
    expect(t.src(h, 0)).toBe(ip('200.1.2.3'));
    expect(refSlot(t.lookup(6, ip('200.1.2.3') | 0, 1, ip('250.0.0.1') | 0, 2))).toBe(h);
  });

  it('remove: both directions gone, slot reused (last freed first), others intact', () => {
    const t = new SessionTable({ capacity: 4 });
    const a = t.create(sess('10.0.1.1', 1, '10.0.2.1', 80));
    const b = t.create(sess('10.0.1.2', 2, '10.0.2.1', 80));
    const c = t.create(sess('10.0.1.3', 3, '10.0.2.1', 80));
    expect([a, b, c]).toEqual([0, 1, 2]);
    t.remove(b);
    expect(t.size).toBe(2);
    expect(t.isLive(b)).toBe(false);
    expect(t.lookup(6, ip('10.0.1.2'), 2, ip('10.0.2.1'), 80)).toBe(-1);
    expect(t.lookup(6, ip('10.0.2.1'), 80, ip('10.0.1.2'), 2)).toBe(-1);
    expect(refSlot(t.lookup(6, ip('10.0.2.1'), 80, ip('10.0.1.3'), 3))).toBe(c);
    t.remove(b); // already free: no-op
    expect(t.size).toBe(2);
    t.remove(a);
    expect(t.create(sess('10.0.1.9', 9, '10.0.2.1', 80))).toBe(a);
    expect(t.create(sess('10.0.1.8', 8, '10.0.2.1', 80))).toBe(b);
    expect(t.packets(b, 0)).toBe(0); // counters start from zero on reuse
  });

  it('full table: create returns -1 and changes nothing; a free slot makes room again', () => {
    const t = new SessionTable({ capacity: 3 });
    for (let i = 0; i < 3; i++) expect(t.create(sess('10.0.1.1', 100 + i, '10.0.2.1', 80))).toBe(i);
    expect(t.create(sess('10.0.1.1', 200, '10.0.2.1', 80))).toBe(-1);
    expect(t.size).toBe(3);
    expect(t.lookup(6, ip('10.0.1.1'), 200, ip('10.0.2.1'), 80)).toBe(-1);
    t.remove(1);
    expect(t.create(sess('10.0.1.1', 200, '10.0.2.1', 80))).toBe(1);
  });

  it('duplicate tuples: -1 when either tuple is taken by either direction of a session, or both are equal', () => {
    const t = new SessionTable({ capacity: 8 });
    t.create(sess('10.0.1.5', 40000, '10.0.2.10', 80, { nat: ['10.0.2.1', 61000] }));
    expect(t.create(sess('10.0.1.5', 40000, '10.0.2.10', 80))).toBe(-1); // same original
    expect(t.create(sess('10.0.1.6', 40000, '10.0.2.10', 80, { nat: ['10.0.2.1', 61000] }))).toBe(-1); // same reply
    // a session whose original tuple is our reply tuple (the reply would be ambiguous)
    expect(t.create(sess('10.0.2.10', 80, '10.0.2.1', 61000))).toBe(-1);
    // its reply tuple equals our original tuple
    expect(t.create(sess('10.0.2.10', 80, '10.0.1.5', 40000))).toBe(-1);
    expect(t.size).toBe(1);
    // original == reply (src = dst, same ports)
    expect(t.create(sess('10.0.1.1', 7, '10.0.1.1', 7))).toBe(-1);
    expect(t.size).toBe(1);
  });

  it('counts packets and bytes per direction', () => {
    const t = new SessionTable({ capacity: 2 });
    const s = t.create(sess('10.0.1.1', 1, '10.0.2.1', 80));
    t.count(s, 0, 60);
    t.count(s, 0, 1500);
    t.count(s, 1, 40);
    expect([t.packets(s, 0), t.bytes(s, 0), t.packets(s, 1), t.bytes(s, 1)]).toEqual([2, 1560, 1, 40]);
  });

  it('forEach visits live slots only', () => {
    const t = new SessionTable({ capacity: 8 });
    for (let i = 0; i < 5; i++) t.create(sess('10.0.1.1', i + 1, '10.0.2.1', 80));
    t.remove(1);
    t.remove(3);
    const seen: number[] = [];
    t.forEach((s) => seen.push(s));
    expect(seen).toEqual([0, 2, 4]);
  });

  it('sizes the index at load <= 0.5 and reports its footprint', () => {
    const t = new SessionTable({ capacity: 1000 });
    expect(t.indexBuckets).toBe(4096);
    expect(t.indexBuckets).toBeGreaterThanOrEqual(4 * t.capacity);
    expect(t.bytesAllocated).toBeGreaterThan(1000 * 100);
    // 56 bytes per session (48, and 8 for when it was last replicated), 2 x 73 per direction (28,
    // an IPv6 address's high words 24, and the TCP window: 4 x 4 + 1, the sequence at the last
    // record 4), 4096 buckets of 8 bytes,
    // 65536 wheel lists of 4
    expect(t.bytesAllocated).toBe(1000 * (56 + 146) + 4096 * 8 + 65536 * 4);
    expect(() => new SessionTable({ capacity: 0 })).toThrow(/capacity/);
    expect(() => new SessionTable({ capacity: 1.5 })).toThrow(/capacity/);
    expect(() => new SessionTable({ capacity: 4, wheelSlots: 100 })).toThrow(/wheelSlots/);
  });

  it('many keys in one probe run: deletions in any order keep the rest findable (backward shift)', () => {
    // capacity 64 -> 256 buckets; 60 sessions -> 120 keys, long runs guaranteed by the load
    const t = new SessionTable({ capacity: 64, seed: 1 });
    const slots: number[] = [];
    for (let i = 0; i < 60; i++) slots.push(t.create(sess('10.0.1.1', 1000 + i, '10.0.2.1', 80)));
    const order = [...slots].sort((x, y) => ((x * 37) % 61) - ((y * 37) % 61));
    const gone = new Set<number>();
    for (const s of order) {
      t.remove(s);
      gone.add(s);
      for (let i = 0; i < 60; i++) {
        const want = gone.has(slots[i]) ? -1 : slots[i] << 1;
        expect(t.lookup(6, ip('10.0.1.1'), 1000 + i, ip('10.0.2.1'), 80)).toBe(want);
        expect(t.lookup(6, ip('10.0.2.1'), 80, ip('10.0.1.1'), 1000 + i)).toBe(want === -1 ? -1 : want | 1);
      }
    }
    expect(t.size).toBe(0);
  });

  it('the hash spreads sequential tuples over the low bits', () => {
    const buckets = new Uint32Array(1024);
    for (let p = 0; p < 65536; p++) buckets[tupleHash(0, 6, ip('10.0.1.1'), p, ip('10.0.2.1'), 80) & 1023]++;
    // 64 expected per bucket; a poor hash of sequential ports would leave buckets empty
    expect(Math.min(...buckets)).toBeGreaterThan(30);
    expect(Math.max(...buckets)).toBeLessThan(110);
  });
});

describe('SessionTable expiry', () => {
  it('expires in order of expiry, within the budget, calling onExpire before removal', () => {
    const t = new SessionTable({ capacity: 16, tickMs: 100 });
    const exp = [5000, 1000, 3000, 2000, 4000];
    const slots = exp.map((e, i) => t.create(sess('10.0.1.1', i + 1, '10.0.2.1', 80, { nowMs: 0, expiresMs: e })));
    const seen: string[] = [];
    const onExpire = (s: number) => {
      expect(t.isLive(s)).toBe(true); // still readable
      seen.push(`${t.srcPort(s, 0)}@${t.expiresMs(s)}`);
    };
    expect(t.expire(999, 10, onExpire)).toBe(0);
    expect(t.expire(4500, 2, onExpire)).toBe(2);
    expect(seen).toEqual(['2@1000', '4@2000']);
    expect(t.expire(4500, 10, onExpire)).toBe(2);
    expect(seen).toEqual(['2@1000', '4@2000', '3@3000', '5@4000']);
    expect(t.size).toBe(1);
    expect(t.lookup(6, ip('10.0.1.1'), 2, ip('10.0.2.1'), 80)).toBe(-1);
    expect(t.expire(10_000, 0)).toBe(0); // budget 0
    expect(t.expire(10_000, 10, onExpire)).toBe(1);
    expect(seen.slice(4)).toEqual(['1@5000']);
    expect(t.size).toBe(0);
    expect(slots).toEqual([0, 1, 2, 3, 4]);
  });

  it('exact at the millisecond: a session due later in the current tick waits', () => {
    const t = new SessionTable({ capacity: 4, tickMs: 1000 });
    t.create(sess('10.0.1.1', 1, '10.0.2.1', 80, { nowMs: 0, expiresMs: 1500 }));
    expect(t.expire(1499, 10)).toBe(0);
    expect(t.expire(1500, 10)).toBe(1);
  });

  it('setExpires later keeps the session (lazy re-file), earlier moves it up', () => {
    const t = new SessionTable({ capacity: 4, tickMs: 100 });
    const a = t.create(sess('10.0.1.1', 1, '10.0.2.1', 80, { nowMs: 0, expiresMs: 1000 }));
    const b = t.create(sess('10.0.1.1', 2, '10.0.2.1', 80, { nowMs: 0, expiresMs: 3_600_000 }));
    t.setExpires(a, 5000); // traffic refreshed it
    expect(t.expire(1000, 10)).toBe(0);
    expect(t.expire(4999, 10)).toBe(0);
    t.setExpires(b, 6000); // a FIN: transitory timeout
    expect(t.expire(5000, 10)).toBe(1);
    expect(t.isLive(a)).toBe(false);
    expect(t.expire(5999, 10)).toBe(0);
    expect(t.expire(6000, 10)).toBe(1);
    expect(t.isLive(b)).toBe(false);
  });

  it('expiry beyond one turn of the wheel, and a clock jump of many turns', () => {
    const t = new SessionTable({ capacity: 8, tickMs: 10, wheelSlots: 8 }); // one turn = 80 ms
    t.create(sess('10.0.1.1', 1, '10.0.2.1', 80, { nowMs: 0, expiresMs: 1000 }));
    t.create(sess('10.0.1.1', 2, '10.0.2.1', 80, { nowMs: 0, expiresMs: 50 }));
    t.create(sess('10.0.1.1', 3, '10.0.2.1', 80, { nowMs: 0, expiresMs: 100_000 }));
    for (let now = 0; now < 1000; now += 7) {
      expect(t.expire(now, 10)).toBe(now >= 50 && now - 7 < 50 ? 1 : 0);
    }
    expect(t.expire(1000, 10)).toBe(1);
    expect(t.expire(99_999, 10)).toBe(0); // jump: 12,500 turns
    expect(t.size).toBe(1);
    expect(t.expire(100_000, 10)).toBe(1);
  });

  it('a session created already expired goes at the next expire()', () => {
    const t = new SessionTable({ capacity: 4 });
    t.expire(10_000, 10);
    t.create(sess('10.0.1.1', 1, '10.0.2.1', 80, { nowMs: 10_000, expiresMs: 5_000 }));
    expect(t.expire(10_000, 10)).toBe(1);
  });

  it('time going backwards expires nothing new', () => {
    const t = new SessionTable({ capacity: 4 });
    t.create(sess('10.0.1.1', 1, '10.0.2.1', 80, { nowMs: 10_000, expiresMs: 20_000 }));
    expect(t.expire(15_000, 10)).toBe(0);
    expect(t.expire(1_000, 10)).toBe(0);
    expect(t.expire(20_000, 10)).toBe(1);
  });
});

// A deterministic PRNG (mulberry32) so a failure reproduces.
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SessionTable against a Map reference model', () => {
  for (const cfg of [
    { seed: 1, capacity: 256, tickMs: 100, wheelSlots: 65536 },
    { seed: 2, capacity: 97, tickMs: 7, wheelSlots: 16 }, // horizon 112 ms: constant re-filing
    { seed: 3, capacity: 1000, tickMs: 50, wheelSlots: 64 },
  ]) {
    it(`random ops (capacity ${cfg.capacity}, tick ${cfg.tickMs} ms x ${cfg.wheelSlots})`, () => {
      const r = rng(cfg.seed);
      const pick = (n: number) => Math.floor(r() * n);
      const t = new SessionTable({ capacity: cfg.capacity, tickMs: cfg.tickMs, wheelSlots: cfg.wheelSlots, seed: cfg.seed });
      // reference: tuple key -> ref, and per live slot its expiry and keys
      const keys = new Map<string, number>();
      const live = new Map<number, { expiresMs: number; k0: string; k1: string; state: number; pk: number }>();
      const key = (p: number, s: number, sp: number, d: number, dp: number) => `${p}/${s}/${sp}/${d}/${dp}`;
      // a small tuple space so duplicates, collisions and long probe runs happen often
      const addr = () => 0x0a000000 + pick(6) + (pick(2) ? 0x80000000 : 0);
      const port = () => 1 + pick(12);
      let now = 0;
      let creates = 0;
      let expired = 0;
      let full = 0;
      let hits = 0;
      let dup = 0;
      const OPS = 60_000;
      for (let op = 0; op < OPS; op++) {
        // phases of short timeouts (churn) and long ones (the table fills up)
        const horizonMs = Math.floor(op / 5000) % 2 === 0 ? 400 : 100_000;
        const x = r();
        if (x < 0.4) {
          const proto = [6, 17, 1][pick(3)];
          const s: NewSession = {
            proto,
            origSrc: addr(),
            origSrcPort: port(),
            origDst: addr(),
            origDstPort: port(),
            replySrc: 0,
            replySrcPort: 0,
            replyDst: 0,
            replyDstPort: 0,
            state: pick(9),
            expiresMs: now + pick(horizonMs),
            nowMs: now,
            ruleId: pick(5) - 1,
            natRuleId: -1,
            ingress: pick(3),
            egress: pick(3),
            flags: pick(2),
          };
          s.replySrc = s.origDst;
          s.replySrcPort = s.origDstPort;
          if (pick(3) === 0) {
            s.replyDst = 0x0a0000fe; // NAT to the floating address
            s.replyDstPort = port();
          } else {
            s.replyDst = s.origSrc;
            s.replyDstPort = s.origSrcPort;
          }
          const k0 = key(proto, s.origSrc >>> 0, s.origSrcPort, s.origDst >>> 0, s.origDstPort);
          const k1 = key(proto, s.replySrc >>> 0, s.replySrcPort, s.replyDst >>> 0, s.replyDstPort);
          const shouldFail = live.size === cfg.capacity || keys.has(k0) || keys.has(k1) || k0 === k1;
          const slot = t.create(s);
          if (shouldFail) {
            if (live.size === cfg.capacity) full++;
            else dup++;
            expect(slot).toBe(-1);
          } else {
            expect(slot).toBeGreaterThanOrEqual(0);
            expect(live.has(slot)).toBe(false);
            keys.set(k0, slot << 1);
            keys.set(k1, (slot << 1) | 1);
            live.set(slot, { expiresMs: s.expiresMs, k0, k1, state: s.state, pk: 0 });
            creates++;
          }
        } else if (x < 0.7) {
          // lookup of a random tuple (often present) and a hit's bookkeeping
          let proto = [6, 17, 1][pick(3)];
          let tup = [addr(), port(), addr(), port()];
          const m0 = live.get(pick(cfg.capacity));
          // mostly hits: a tuple of a live session
          if (m0 !== undefined && pick(4) !== 0) [proto, ...tup] = (pick(2) ? m0.k0 : m0.k1).split('/').map(Number);
          const got = t.lookup(proto, tup[0], tup[1], tup[2], tup[3]);
          const want = keys.get(key(proto, tup[0] >>> 0, tup[1], tup[2] >>> 0, tup[3])) ?? -1;
          expect(got).toBe(want);
          if (got !== -1) {
            hits++;
            const slot = refSlot(got);
            const m = live.get(slot)!;
            t.count(slot, refDir(got), 100);
            m.pk++;
            if (pick(2)) {
              m.expiresMs = now + pick(horizonMs);
              t.setExpires(slot, m.expiresMs);
            }
            m.state = pick(9);
            t.setState(slot, m.state);
          }
        } else if (x < 0.8) {
          const slot = pick(cfg.capacity);
          const m = live.get(slot);
          if (m !== undefined) {
            t.remove(slot);
            keys.delete(m.k0);
            keys.delete(m.k1);
            live.delete(slot);
          }
        } else if (x < 0.995) {
          now += pick(30);
          const budget = pick(4) === 0 ? pick(3) : 1000;
          let due = 0;
          for (const m of live.values()) if (m.expiresMs <= now) due++;
          const removed: number[] = [];
          const n = t.expire(now, budget, (slot) => removed.push(slot));
          expect(n).toBe(Math.min(due, budget));
          expect(removed.length).toBe(n);
          for (const slot of removed) {
            const m = live.get(slot)!;
            expect(m.expiresMs).toBeLessThanOrEqual(now);
            keys.delete(m.k0);
            keys.delete(m.k1);
            live.delete(slot);
          }
          expired += n;
        } else {
          // full check: size, every key found from both directions, fields (compared in bulk: fast)
          expect(t.size).toBe(live.size);
          const got: number[] = [];
          const want: number[] = [];
          for (const [k, ref] of keys) {
            const [p, s, sp, d, dp] = k.split('/').map(Number);
            got.push(t.lookup(p, s, sp, d, dp));
            want.push(ref);
          }
          expect(got).toEqual(want);
          const seen: number[] = [];
          t.forEach((s) => seen.push(s));
          expect(seen.sort((a, b) => a - b)).toEqual([...live.keys()].sort((a, b) => a - b));
          const fields = [...live].map(([slot, m]) => [
            t.expiresMs(slot) - m.expiresMs,
            t.state(slot) - m.state,
            t.packets(slot, 0) + t.packets(slot, 1) - m.pk,
          ]);
          expect(fields.flat().every((v) => v === 0)).toBe(true);
        }
      }
      // everything expires eventually
      now += 200_000;
      const left = live.size;
      expect(t.expire(now, Infinity)).toBe(left);
      expect(t.size).toBe(0);
      expect(creates).toBeGreaterThan(OPS / 20);
      expect(expired).toBeGreaterThan(100);
      // the run exercised both refusals
      expect(full).toBeGreaterThan(0);
      expect(dup).toBeGreaterThan(0);
      expect(hits).toBeGreaterThan(OPS / 10);
    });
  }
});
