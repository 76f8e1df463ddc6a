// IPv6 sessions in the session table: 128-bit keys beside IPv4's, found from both directions,
// never confused with an IPv4 session whose addresses equal their low words, replicated whole.
import { describe, expect, it } from 'vitest';
import { SessionTable, type NewSession } from '../../../src/dataplane/session-table.js';
import { parseIpv6 } from '../../../src/net/ipv6.js';
import { emptyRecord, REC_UPSERT, SESSION_FLAG_V6 } from '../../../src/wire/session-record.js';

/** A TCP session from client c:cp to server s:sp over IPv6, no translation. */
function sess6(c: string, cp: number, s: string, sp: number, extra: Partial<NewSession> = {}): NewSession {
  const a = parseIpv6(c);
  const b = parseIpv6(s);
  return {
    proto: 6,
    origSrc: a[3],
    origSrcW0: a[0],
    origSrcW1: a[1],
    origSrcW2: a[2],
    origSrcPort: cp,
    origDst: b[3],
    origDstW0: b[0],
    origDstW1: b[1],
    origDstW2: b[2],
    origDstPort: sp,
    replySrc: b[3],
    replySrcW0: b[0],
    replySrcW1: b[1],
    replySrcW2: b[2],
    replySrcPort: sp,
    replyDst: a[3],
    replyDstW0: a[0],
    replyDstW1: a[1],
    replyDstW2: a[2],
    replyDstPort: cp,
    state: 1,
    expiresMs: 10_000,
    nowMs: 0,
    ruleId: 0,
    natRuleId: -1,
    ingress: 0,
    egress: 1,
    flags: SESSION_FLAG_V6,
    ...extra,
  };
}

/** The 8 lookup words of a packet from `src` to `dst`. */
function key(src: string, dst: string): Uint32Array {
  const k = new Uint32Array(8);
  k.set(parseIpv6(src), 0);
  k.set(parseIpv6(dst), 4);
  return k;
}

const C = '2001:db8:1::10';
const S = '2001:db8:2::20';

describe('SessionTable: IPv6 sessions', () => {
  it('finds an IPv6 session from both directions, and not from another address', () => {
    const t = new SessionTable({ capacity: 16 });
    const slot = t.create(sess6(C, 40000, S, 443));
    expect(slot).toBeGreaterThanOrEqual(0);
    expect(t.isV6(slot)).toBe(true);
    expect(t.lookup6(6, key(C, S), 40000, 443)).toBe(slot << 1);
    expect(t.lookup6(6, key(S, C), 443, 40000)).toBe((slot << 1) | 1);
    expect(t.lookup6(6, key('2001:db8:9::10', S), 40000, 443)).toBe(-1);
    expect(t.lookup6(17, key(C, S), 40000, 443)).toBe(-1);
    const out = new Uint32Array(4);
    t.address6(slot, 0, 1, out);
    expect([...out]).toEqual([...parseIpv6(S)]);
  });

  it('never confuses an IPv6 session with an IPv4 one of the same low words', () => {
    const t = new SessionTable({ capacity: 16 });
    const v6 = sess6(C, 40000, S, 443);
    const s6 = t.create(v6);
    // an IPv4 session whose addresses are the IPv6 ones' low words
    const v4 = { ...v6, flags: 0 };
    const s4 = t.create(v4);
    expect(s4).toBeGreaterThanOrEqual(0);
    expect(s4).not.toBe(s6);
    expect(t.lookup(6, v6.origSrc, 40000, v6.origDst, 443)).toBe(s4 << 1);
    expect(t.lookup6(6, key(C, S), 40000, 443)).toBe(s6 << 1);
    t.remove(s4);
    expect(t.lookup(6, v6.origSrc, 40000, v6.origDst, 443)).toBe(-1);
    expect(t.lookup6(6, key(C, S), 40000, 443)).toBe(s6 << 1);
  });

  it('refuses a duplicate and removes cleanly under churn', () => {
    const t = new SessionTable({ capacity: 64 });
    expect(t.create(sess6(C, 1, S, 80))).toBeGreaterThanOrEqual(0);
    expect(t.create(sess6(C, 1, S, 80))).toBe(-1);
    const slots: number[] = [];
    for (let i = 2; i < 60; i++) slots.push(t.create(sess6(C, i, S, 80)));
    for (let i = 0; i < slots.length; i += 2) t.remove(slots[i]);
    for (let i = 0; i < slots.length; i++) {
      const want = i % 2 === 0 ? -1 : slots[i] << 1;
      expect(t.lookup6(6, key(C, S), i + 2, 80)).toBe(want);
    }
  });

  it('keeps the family when the flags are replaced, and replicates every address word', () => {
    const t = new SessionTable({ capacity: 4 });
    const slot = t.create(sess6(C, 40000, S, 443));
    t.setFlags(slot, 1);
    expect(t.isV6(slot)).toBe(true);
    expect(t.flags(slot)).toBe(1 | SESSION_FLAG_V6);
    const r = t.toRecord(slot, REC_UPSERT, 0, emptyRecord());
    const back = new SessionTable({ capacity: 4 });
    const copy = back.create({ ...r, expiresMs: 5000, nowMs: 0 });
    expect(back.lookup6(6, key(S, C), 443, 40000)).toBe((copy << 1) | 1);
    expect([r.origSrcW0, r.origSrcW1, r.origSrcW2, r.origSrc]).toEqual([...parseIpv6(C)]);
  });
});
