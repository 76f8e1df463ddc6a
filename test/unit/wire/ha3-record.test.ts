// HA3's INSERT and ACK payloads (src/wire/ha3-record.ts): the ring's slot layout in network byte
// order, checked against the ring itself, and the key an ACK echoes.
import { describe, expect, it } from 'vitest';
import {
  decodeHa3Key,
  decodeHa3Record,
  emptyHa3Key,
  encodeHa3Key,
  encodeHa3Record,
  HA3_KEY_BYTES,
  HA3_KEY6_BYTES,
  HA3_RECORD_BYTES,
  HA3_RECORD6_BYTES,
} from '../../../src/wire/ha3-record.js';
import { RecordRing, RING_HEADER_BYTES } from '../../../src/wire/record-ring.js';
import { ADDRESS6_FIELDS, clearWindows, emptyRecord, REC_UPSERT, SESSION_FLAG_V6, type SessionRecord } from '../../../src/wire/session-record.js';
import { DROP_REASONS } from '../../../src/wire/dataplane-counters.js';
import { HA3_REJECTS } from '../../../src/wire/ha3.js';

function recordFor(i: number): SessionRecord {
  return {
    op: 1 + (i % 7),
    proto: i & 0xff,
    state: i % 13,
    flags: (i * 7) & 0xf7,
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
    origMaxWin: (i * 65535) >>> 0,
    origMaxAck: ~(i * 3) >>> 0,
    origWinFlags: i & 0xff,
    replySeqEnd: (0xffff_fff0 + i) >>> 0,
    replySeqMaxEnd: (i * 13) >>> 0,
    replyMaxWin: (i * 29200) >>> 0,
    replyMaxAck: Math.imul(i, 7) >>> 0,
    replyWinFlags: (255 - i) & 0xff,
    origSrcW0: 0,
    origSrcW1: 0,
    origSrcW2: 0,
    origDstW0: 0,
    origDstW1: 0,
    origDstW2: 0,
    replySrcW0: 0,
    replySrcW1: 0,
    replySrcW2: 0,
    replyDstW0: 0,
    replyDstW1: 0,
    replyDstW2: 0,
  };
}

/** recordFor(i) as an IPv6 session: the flag and every high address word set. */
function recordFor6(i: number): SessionRecord {
  const r = recordFor(i);
  r.flags |= SESSION_FLAG_V6;
  ADDRESS6_FIELDS.forEach((f, k) => (r[f] = Math.imul(i + k, 0x9e3779b1) >>> 0));
  return r;
}

describe('HA3 INSERT payload', () => {
  it('round-trips an IPv6 session, its high address words after the IPv4 layout', () => {
    const bytes = new Uint8Array(HA3_RECORD6_BYTES);
    for (let i = 0; i < 500; i += 7) {
      const r = recordFor6(i);
      expect(encodeHa3Record(r, bytes)).toBe(HA3_RECORD6_BYTES);
      const back = emptyRecord();
      expect(decodeHa3Record(bytes, back), `record ${i}`).toBe(true);
      clearWindows(r);
      expect(back).toEqual(r);
    }
  });

  it('refuses a record whose length and IPv6 flag disagree', () => {
    const bytes = new Uint8Array(HA3_RECORD6_BYTES);
    encodeHa3Record(recordFor6(7), bytes);
    expect(decodeHa3Record(bytes.subarray(0, HA3_RECORD_BYTES), emptyRecord())).toBe(false);
    const v4 = recordFor(7);
    const long = new Uint8Array(HA3_RECORD6_BYTES);
    expect(encodeHa3Record(v4, long)).toBe(HA3_RECORD_BYTES);
    expect(decodeHa3Record(long, emptyRecord())).toBe(false);
  });

  it('round-trips every field', () => {
    const bytes = new Uint8Array(HA3_RECORD_BYTES);
    for (let i = 0; i < 2000; i += 7) {
      const r = recordFor(i);
      expect(encodeHa3Record(r, bytes)).toBe(HA3_RECORD_BYTES);
      const back = emptyRecord();
      expect(decodeHa3Record(bytes, back), `record ${i}`).toBe(true);
      // INSERT carries no TCP window state: the owner picks each side up from its next segment
      clearWindows(r);
      expect(back).toEqual(r);
    }
  });

  it("is the ring's slot, word for word, in network byte order", () => {
    const ring = new RecordRing(1);
    const r = recordFor(4242);
    expect(ring.push(r)).toBe(true);
    const slot = new DataView(ring.buffer, RING_HEADER_BYTES, HA3_RECORD_BYTES);
    const bytes = new Uint8Array(HA3_RECORD_BYTES);
    encodeHa3Record(r, bytes);
    const wire = new DataView(bytes.buffer);
    for (let w = 0; w < 14; w++) expect(wire.getUint32(w * 4), `word ${w}`).toBe(slot.getUint32(w * 4, true));
    expect(wire.getFloat64(56)).toBe(slot.getFloat64(56, true));
  });

  it('refuses a payload of another size, rule ids below -1, an eventMs no table clock gives', () => {
    const bytes = new Uint8Array(HA3_RECORD_BYTES);
    const r = { ...emptyRecord(), op: REC_UPSERT };
    encodeHa3Record(r, bytes);
    expect(decodeHa3Record(bytes.subarray(0, 63), emptyRecord())).toBe(false);
    expect(decodeHa3Record(new Uint8Array(65), emptyRecord())).toBe(false);
    const badRule = bytes.slice();
    new DataView(badRule.buffer).setInt32(36, -2);
    expect(decodeHa3Record(badRule, emptyRecord())).toBe(false);
    const badTime = bytes.slice();
    new DataView(badTime.buffer).setFloat64(56, Number.NaN);
    expect(decodeHa3Record(badTime, emptyRecord())).toBe(false);
    new DataView(badTime.buffer).setFloat64(56, -1);
    expect(decodeHa3Record(badTime, emptyRecord())).toBe(false);
  });
});

describe('HA3 ACK payload', () => {
  it('carries the original tuple', () => {
    const bytes = new Uint8Array(HA3_KEY6_BYTES);
    const k = { proto: 17, origSrc: 0x0a00010b, origSrcPort: 40000, origDst: 0xffffffff, origDstPort: 53 };
    expect(encodeHa3Key({ ...emptyRecord(), ...k }, bytes)).toBe(HA3_KEY_BYTES);
    const back = emptyHa3Key();
    expect(decodeHa3Key(bytes.subarray(0, HA3_KEY_BYTES), back)).toBe(true);
    expect(back).toMatchObject({ ...k, v6: false });
  });

  it("carries an IPv6 session's whole addresses in 40 bytes", () => {
    const bytes = new Uint8Array(HA3_KEY6_BYTES);
    const r = recordFor6(99);
    expect(encodeHa3Key(r, bytes)).toBe(HA3_KEY6_BYTES);
    const back = emptyHa3Key();
    expect(decodeHa3Key(bytes, back)).toBe(true);
    expect(back.v6).toBe(true);
    expect([...back.addrs]).toEqual([r.origSrcW0, r.origSrcW1, r.origSrcW2, r.origSrc, r.origDstW0, r.origDstW1, r.origDstW2, r.origDst]);
    expect([back.proto, back.origSrcPort, back.origDstPort]).toEqual([r.proto, r.origSrcPort, r.origDstPort]);
  });

  it('refuses another size and non-zero padding', () => {
    const k = emptyHa3Key();
    expect(decodeHa3Key(new Uint8Array(15), k)).toBe(false);
    expect(decodeHa3Key(new Uint8Array(39), k)).toBe(false);
    const bytes = new Uint8Array(HA3_KEY_BYTES);
    bytes[3] = 1;
    expect(decodeHa3Key(bytes, k)).toBe(false);
  });
});

describe('HA3 drop reasons', () => {
  it('every reason the opener refuses with is a dataplane drop reason of the same name', () => {
    for (const r of HA3_REJECTS) expect(DROP_REASONS as readonly string[]).toContain(r);
  });
});
