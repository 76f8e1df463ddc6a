// HA3's INSERT and ACK payloads (src/wire/ha3-record.ts): the ring's slot layout in network byte
// order, checked against the ring itself, and the key an ACK echoes.
import { describe, expect, it } from 'vitest';
import { decodeHa3Key, decodeHa3Record, encodeHa3Key, encodeHa3Record, HA3_KEY_BYTES, HA3_RECORD_BYTES } from '../../../src/wire/ha3-record.js';
import { RecordRing, RING_HEADER_BYTES } from '../../../src/wire/record-ring.js';
import { clearWindows, emptyRecord, REC_UPSERT, type SessionRecord } from '../../../src/wire/session-record.js';
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

describe('HA3 INSERT payload', () => {
  it('round-trips every field', () => {
    const bytes = new Uint8Array(HA3_RECORD_BYTES);
    for (let i = 0; i < 2000; i += 7) {
      const r = recordFor(i);
      encodeHa3Record(r, bytes);
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
    const bytes = new Uint8Array(HA3_KEY_BYTES);
    const k = { proto: 17, origSrc: 0x0a00010b, origSrcPort: 40000, origDst: 0xffffffff, origDstPort: 53 };
    encodeHa3Key(k, bytes);
    const back = { proto: 0, origSrc: 0, origSrcPort: 0, origDst: 0, origDstPort: 0 };
    expect(decodeHa3Key(bytes, back)).toBe(true);
    expect(back).toEqual(k);
  });

  it('refuses another size and non-zero padding', () => {
    const k = { proto: 0, origSrc: 0, origSrcPort: 0, origDst: 0, origDstPort: 0 };
    expect(decodeHa3Key(new Uint8Array(15), k)).toBe(false);
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
