import { describe, expect, it } from 'vitest';
import { WireError } from '../../../src/wire/errors.js';
import {
  decodeHa2,
  encodeHa2,
  HA2_BODY_KINDS,
  HA2_MAX_ENVELOPE_BYTES,
  HA2_MAX_RECORD_WIRE_BYTES,
  RECORD_MAX_WIN,
  MAX_BATCH_RECORDS,
  MAX_BULK_REASON_BYTES,
  type Ha2Body,
  type Ha2Envelope,
} from '../../../src/wire/ha2-codec.js';
import { emptyRecord, REC_BULK_END, REC_DELETE, REC_UPSERT, type SessionRecord } from '../../../src/wire/session-record.js';
import { bytes, lfield, sfield, varint, vfield } from './proto-ref.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// ---- a deliberately simple reference writer for what proto-ref.ts does not cover ----

/** fixed32 (wire type 5), little-endian; omitted when 0 like every proto3 scalar. */
function f32field(fieldNo: number, value: number): number[] {
  if (value === 0) return [];
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return [...varint((fieldNo << 3) | 5), ...b];
}

/** sint32 (zigzag varint). */
function zfield(fieldNo: number, value: number): number[] {
  if (value === 0) return [];
  return [...varint((fieldNo << 3) | 0), ...varint(((value << 1) ^ (value >> 31)) >>> 0)];
}

/** A SessionRecord as the reference writes it (field numbers from proto/ha2.proto). */
function refRecord(r: SessionRecord): number[] {
  return [
    ...vfield(1, r.op),
    ...vfield(2, r.proto),
    ...vfield(3, r.state),
    ...vfield(4, r.flags),
    ...f32field(5, r.origSrc),
    ...vfield(6, r.origSrcPort),
    ...f32field(7, r.origDst),
    ...vfield(8, r.origDstPort),
    ...f32field(9, r.replySrc),
    ...vfield(10, r.replySrcPort),
    ...f32field(11, r.replyDst),
    ...vfield(12, r.replyDstPort),
    ...zfield(13, r.ruleId),
    ...zfield(14, r.natRuleId),
    ...vfield(15, r.ingress),
    ...vfield(16, r.egress),
    ...vfield(17, r.timeoutMs),
    ...vfield(18, BigInt(r.eventMs)),
    ...f32field(19, r.origSeqEnd),
    ...f32field(20, r.origSeqMaxEnd),
    ...vfield(21, r.origMaxWin),
    ...f32field(22, r.origMaxAck),
    ...vfield(23, r.origWinFlags),
    ...f32field(24, r.replySeqEnd),
    ...f32field(25, r.replySeqMaxEnd),
    ...vfield(26, r.replyMaxWin),
    ...f32field(27, r.replyMaxAck),
    ...vfield(28, r.replyWinFlags),
    ...f32field(29, r.origSrcW0),
    ...f32field(30, r.origSrcW1),
    ...f32field(31, r.origSrcW2),
    ...f32field(32, r.origDstW0),
    ...f32field(33, r.origDstW1),
    ...f32field(34, r.origDstW2),
    ...f32field(35, r.replySrcW0),
    ...f32field(36, r.replySrcW1),
    ...f32field(37, r.replySrcW2),
    ...f32field(38, r.replyDstW0),
    ...f32field(39, r.replyDstW1),
    ...f32field(40, r.replyDstW2),
  ];
}

function rec(over: Partial<SessionRecord> = {}): SessionRecord {
  return { ...emptyRecord(), ...over };
}

/** Every field at its largest value. */
const MAX_RECORD: SessionRecord = {
  op: 0xff,
  proto: 0xff,
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
  eventMs: MAX_SAFE,
  origSeqEnd: 0xffff_ffff,
  origSeqMaxEnd: 0xffff_ffff,
  origMaxWin: RECORD_MAX_WIN,
  origMaxAck: 0xffff_ffff,
  origWinFlags: 0xff,
  replySeqEnd: 0xffff_ffff,
  replySeqMaxEnd: 0xffff_ffff,
  replyMaxWin: RECORD_MAX_WIN,
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
};

const TYPICAL: SessionRecord = rec({
  op: REC_UPSERT,
  proto: 6,
  state: 4,
  flags: 1,
  origSrc: 0x0a00_0164, // 10.0.1.100
  origSrcPort: 40000,
  origDst: 0xc633_6401, // 198.51.100.1
  origDstPort: 443,
  replySrc: 0xc633_6401,
  replySrcPort: 443,
  replyDst: 0x0a00_0201,
  replyDstPort: 61000,
  ruleId: 0,
  natRuleId: 2,
  ingress: 1,
  egress: 2,
  timeoutMs: 3_600_000,
  eventMs: 123_456_789,
  origSeqEnd: 0xffff_ff00,
  origSeqMaxEnd: 0x0000_2000,
  origMaxWin: 65535 << 7,
  origMaxAck: 900_000,
  origWinFlags: 0x57,
  replySeqEnd: 900_000,
  replySeqMaxEnd: 1_900_000,
  replyMaxWin: 29200 << 7,
  replyMaxAck: 0xffff_ff00,
  replyWinFlags: 0x57,
  origSrcW0: 0x20010db8,
  origSrcW1: 0x20011ec9,
  origSrcW2: 0x20012fda,
  origDstW0: 0x200140eb,
  origDstW1: 0x200151fc,
  origDstW2: 0x2001630d,
  replySrcW0: 0x2001741e,
  replySrcW1: 0x2001852f,
  replySrcW2: 0x20019640,
  replyDstW0: 0x2001a751,
  replyDstW1: 0x2001b862,
  replyDstW2: 0x2001c973,
});

/** The TCP window fields as a record without them (an older peer's) reads. */
const windowless = {
  origSeqEnd: 0,
  origSeqMaxEnd: 0,
  origMaxWin: 0,
  origMaxAck: 0,
  origWinFlags: 0,
  replySeqEnd: 0,
  replySeqMaxEnd: 0,
  replyMaxWin: 0,
  replyMaxAck: 0,
  replyWinFlags: 0,
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

function env(body: Ha2Body, over: Partial<Ha2Envelope> = {}): Ha2Envelope {
  return { sender: 1, epoch: 1_700_000_000_000, seq: 42, groupId: 7, body, ...over };
}

function expectWireError(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(WireError);
  expect((thrown as WireError).code).toBe(code);
}

describe('HA2 codec: round trips', () => {
  const cases: [string, Ha2Envelope][] = [
    ['an empty batch', env({ kind: 'batch', batch: { seq: 1, records: [], sentMs: 0 } })],
    ['a typical batch', env({ kind: 'batch', batch: { seq: 9, records: [TYPICAL, rec({ op: REC_DELETE, proto: 17 })], sentMs: 5000 } })],
    ['a record at every maximum', env({ kind: 'batch', batch: { seq: MAX_SAFE, records: [MAX_RECORD], sentMs: MAX_SAFE } })],
    ['a record at every minimum (rule ids -1)', env({ kind: 'batch', batch: { seq: 0, records: [emptyRecord()], sentMs: 0 } })],
    ['a zero record (rule ids 0)', env({ kind: 'batch', batch: { seq: 0, records: [rec({ ruleId: 0, natRuleId: 0 })], sentMs: 0 } })],
    ['a BULK_END marker', env({ kind: 'batch', batch: { seq: 3, records: [rec({ op: REC_BULK_END, origSrc: 1_000_000 })], sentMs: 1 } })],
    ['an ack', env({ kind: 'ack', ack: { seq: 17, echoSentMs: 5000 } })],
    ['an ack at the maximum', env({ kind: 'ack', ack: { seq: MAX_SAFE, echoSentMs: MAX_SAFE } })],
    ['a zero ack', env({ kind: 'ack', ack: { seq: 0, echoSentMs: 0 } })],
    ['a bulk request', env({ kind: 'bulkRequest', bulkRequest: { reason: 'join', beginsSeen: 0 } })],
    ['a bulk request after dumps seen', env({ kind: 'bulkRequest', bulkRequest: { reason: 'role', beginsSeen: 4294967295 } })],
    ['a bulk request without a reason', env({ kind: 'bulkRequest', bulkRequest: { reason: '', beginsSeen: 0 } })],
    [
      'a bulk request, longest reason (multi-byte UTF-8)',
      env({ kind: 'bulkRequest', bulkRequest: { reason: 'é'.repeat(MAX_BULK_REASON_BYTES / 2), beginsSeen: 1 } }),
    ],
    [
      'a header at the maximum',
      env({ kind: 'ack', ack: { seq: 1, echoSentMs: 1 } }, { sender: 0xffff_ffff, epoch: MAX_SAFE, seq: MAX_SAFE, groupId: 0xffff_ffff }),
    ],
    ['a header of zeros', env({ kind: 'ack', ack: { seq: 1, echoSentMs: 1 } }, { sender: 0, epoch: 0, seq: 0, groupId: 0 })],
  ];
  it.each(cases)('%s', (_name, e) => {
    const back = decodeHa2(encodeHa2(e));
    expect(back).toEqual(e);
    // Plain numbers everywhere, never a Long.
    const walk = (v: unknown): void => {
      if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
      else expect(['number', 'string']).toContain(typeof v);
    };
    walk(back);
  });

  it('covers every body kind', () => {
    expect(new Set(cases.map(([, e]) => e.body.kind))).toEqual(new Set(HA2_BODY_KINDS));
  });

  it('keeps record order in a large batch', () => {
    const records = Array.from({ length: 1000 }, (_, i) =>
      rec({ op: REC_UPSERT, origSrc: (0xffff_ffff - i) >>> 0, origSrcPort: i, ruleId: (i % 3) - 1, eventMs: 2 ** 52 + i }),
    );
    const back = decodeHa2(encodeHa2(env({ kind: 'batch', batch: { seq: 1, records, sentMs: 1 } })));
    expect(back.body.kind === 'batch' && back.body.batch.records).toEqual(records);
  });

  it('a full batch at every maximum fits HA2_MAX_ENVELOPE_BYTES exactly', () => {
    const one = encodeHa2(env({ kind: 'batch', batch: { seq: MAX_SAFE, records: [MAX_RECORD], sentMs: MAX_SAFE } }));
    const none = encodeHa2(env({ kind: 'batch', batch: { seq: MAX_SAFE, records: [], sentMs: MAX_SAFE } }));
    // one record takes the batch's own length from one byte to two: that byte is the batch's
    expect(one.length - none.length - 1).toBe(HA2_MAX_RECORD_WIRE_BYTES);
    const full = encodeHa2(
      env(
        { kind: 'batch', batch: { seq: MAX_SAFE, records: Array.from({ length: MAX_BATCH_RECORDS }, () => MAX_RECORD), sentMs: MAX_SAFE } },
        { sender: 0xffff_ffff, epoch: MAX_SAFE, seq: MAX_SAFE, groupId: 0xffff_ffff },
      ),
    );
    expect(full.length).toBe(HA2_MAX_ENVELOPE_BYTES);
    const back = decodeHa2(full);
    expect(back.body.kind === 'batch' && back.body.batch.records.length).toBe(MAX_BATCH_RECORDS);
  });
});

describe('HA2 codec: agrees with a simple reference writer', () => {
  it.each([
    ['typical', TYPICAL],
    ['maximum', MAX_RECORD],
    ['rule ids -1', emptyRecord()],
    ['top addresses, low ports', rec({ origSrc: 0xffff_ffff, replyDst: 0x8000_0000, origSrcPort: 1, ruleId: -1, natRuleId: 5 })],
  ])('decodes a hand-built batch (%s)', (_name, r) => {
    const wire = bytes(vfield(1, 1), vfield(2, 99), vfield(3, 5), vfield(4, 7), lfield(10, [...vfield(1, 8), ...lfield(2, refRecord(r)), ...vfield(3, 77)]));
    expect(decodeHa2(wire)).toEqual({ sender: 1, epoch: 99, seq: 5, groupId: 7, body: { kind: 'batch', batch: { seq: 8, records: [r], sentMs: 77 } } });
  });

  it('an absent rule id is 0 (proto3 default), so the encoder always writes -1', () => {
    const wire = bytes(lfield(10, lfield(2, vfield(1, REC_UPSERT))));
    const back = decodeHa2(wire);
    expect(back.body.kind === 'batch' && back.body.batch.records[0].ruleId).toBe(0);
    const ours = encodeHa2(env({ kind: 'batch', batch: { seq: 1, records: [emptyRecord()], sentMs: 0 } }));
    const again = decodeHa2(ours);
    expect(again.body.kind === 'batch' && again.body.batch.records[0].ruleId).toBe(-1);
  });

  it("an older peer's record (no TCP window fields) decodes with the window unknown (win_flags 0)", () => {
    const old = rec({ ...TYPICAL });
    const wire = bytes(lfield(10, [...vfield(1, 8), ...lfield(2, refRecord({ ...old, ...windowless }))]));
    const back = decodeHa2(wire);
    expect(back.body.kind === 'batch' && back.body.batch.records[0]).toEqual({ ...TYPICAL, ...windowless });
  });

  it('decodes a hand-built ack and bulk request', () => {
    expect(decodeHa2(bytes(vfield(1, 0), lfield(11, [...vfield(1, 3), ...vfield(2, 2n ** 53n - 1n)])))).toEqual({
      sender: 0,
      epoch: 0,
      seq: 0,
      groupId: 0,
      body: { kind: 'ack', ack: { seq: 3, echoSentMs: MAX_SAFE } },
    });
    // begins_seen absent reads as 0
    expect(decodeHa2(bytes(lfield(12, sfield(1, 'ring overflow')))).body).toEqual({
      kind: 'bulkRequest',
      bulkRequest: { reason: 'ring overflow', beginsSeen: 0 },
    });
    expect(decodeHa2(bytes(lfield(12, [...sfield(1, 'role'), ...vfield(2, 2)]))).body).toEqual({
      kind: 'bulkRequest',
      bulkRequest: { reason: 'role', beginsSeen: 2 },
    });
  });

  it('ignores unknown fields (a newer peer)', () => {
    const wire = bytes(vfield(1, 1), vfield(9, 5), lfield(11, [...vfield(1, 3), ...vfield(7, 1)]), lfield(30, 'future'));
    expect(decodeHa2(wire).body).toEqual({ kind: 'ack', ack: { seq: 3, echoSentMs: 0 } });
    const recWire = bytes(lfield(10, lfield(2, [...vfield(1, REC_DELETE), ...vfield(40, 1)])));
    const back = decodeHa2(recWire);
    expect(back.body.kind === 'batch' && back.body.batch.records[0].op).toBe(REC_DELETE);
  });
});

describe('HA2 codec: rejects', () => {
  const batchOf = (record: number[]): Uint8Array => bytes(vfield(1, 1), lfield(10, [...vfield(1, 1), ...lfield(2, record)]));

  it('a window larger than 65535 << 14, or window flags above one byte', () => {
    expectWireError(() => decodeHa2(batchOf(vfield(21, RECORD_MAX_WIN + 1))), 'malformed');
    expectWireError(() => decodeHa2(batchOf(vfield(26, 2 ** 32 - 1))), 'malformed');
    expectWireError(() => decodeHa2(batchOf(vfield(28, 0x100))), 'malformed');
    expect(() => encodeHa2(env({ kind: 'batch', batch: { seq: 1, records: [rec({ origWinFlags: 0x100 })], sentMs: 0 } }))).toThrow(WireError);
  });

  it('garbage', () => {
    expectWireError(() => decodeHa2(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 'malformed');
    expectWireError(() => decodeHa2(Buffer.from('GET / HTTP/1.1\r\n\r\n')), 'malformed');
    expectWireError(() => decodeHa2(Uint8Array.from([0x0f, 0x01])), 'malformed'); // wire type 7
  });

  it('an envelope without a body, and a body kind this build does not know (field 13)', () => {
    expectWireError(() => decodeHa2(new Uint8Array(0)), 'malformed');
    expectWireError(() => decodeHa2(bytes(vfield(1, 1), vfield(2, 5), vfield(3, 1))), 'malformed');
    expectWireError(() => decodeHa2(bytes(vfield(1, 1), lfield(13, sfield(1, 'x')))), 'malformed');
  });

  it('every truncation of a valid batch', () => {
    const good = encodeHa2(env({ kind: 'batch', batch: { seq: 9, records: [TYPICAL, MAX_RECORD], sentMs: 5000 } }));
    for (let len = 0; len < good.length; len++) {
      try {
        decodeHa2(good.subarray(0, len));
      } catch (err) {
        expect(err).toBeInstanceOf(WireError);
        expect((err as WireError).code).toBe('malformed');
        continue;
      }
      // The body is the last field written, so every cut either splits it or leaves none.
      throw new Error(`truncation to ${len} of ${good.length} bytes decoded`);
    }
  });

  it('random bytes: never throws anything but a malformed WireError', () => {
    let seed = 4242;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 3000; i++) {
      const buf = Uint8Array.from({ length: 1 + (rand() % 96) }, rand);
      try {
        decodeHa2(buf);
      } catch (err) {
        expect(err).toBeInstanceOf(WireError);
        expect((err as WireError).code).toBe('malformed');
      }
    }
  });

  it('uint64 values above 2^53-1 (epoch, seq, batch seq and sent_ms, ack, event_ms)', () => {
    for (const big of [2n ** 53n, 2n ** 64n - 1n]) {
      expectWireError(() => decodeHa2(bytes(vfield(2, big), lfield(12, []))), 'malformed');
      expectWireError(() => decodeHa2(bytes(vfield(3, big), lfield(12, []))), 'malformed');
      expectWireError(() => decodeHa2(bytes(lfield(10, vfield(1, big)))), 'malformed');
      expectWireError(() => decodeHa2(bytes(lfield(10, vfield(3, big)))), 'malformed');
      expectWireError(() => decodeHa2(bytes(lfield(11, vfield(1, big)))), 'malformed');
      expectWireError(() => decodeHa2(bytes(lfield(11, vfield(2, big)))), 'malformed');
      expectWireError(() => decodeHa2(batchOf(vfield(18, big))), 'malformed');
    }
    const back = decodeHa2(batchOf(vfield(18, 2n ** 53n - 1n)));
    expect(back.body.kind === 'batch' && back.body.batch.records[0].eventMs).toBe(MAX_SAFE);
  });

  it('uint32 fields beyond 32 bits (a 64-bit varint in a uint32 field is truncated by protobufjs: checked here)', () => {
    // protobufjs reads a uint32 varint of more than 32 bits modulo 2^32, which stays in range;
    // what matters is that the result is a uint32 and never negative.
    const back = decodeHa2(bytes(vfield(1, 2n ** 40n + 5n), lfield(12, [])));
    expect(back.sender).toBeGreaterThanOrEqual(0);
    expect(back.sender).toBeLessThanOrEqual(0xffff_ffff);
  });

  it('ports above 65535, op and proto above 255', () => {
    for (const field of [6, 8, 10, 12]) expectWireError(() => decodeHa2(batchOf(vfield(field, 65536))), 'malformed');
    for (const field of [1, 2]) expectWireError(() => decodeHa2(batchOf(vfield(field, 256))), 'malformed');
    const back = decodeHa2(batchOf([...vfield(6, 65535), ...vfield(1, 255), ...vfield(2, 255)]));
    expect(back.body.kind === 'batch' && back.body.batch.records[0]).toMatchObject({ origSrcPort: 65535, op: 255, proto: 255 });
  });

  it('rule ids below -1', () => {
    for (const field of [13, 14]) {
      expectWireError(() => decodeHa2(batchOf(zfield(field, -2))), 'malformed');
      expectWireError(() => decodeHa2(batchOf(zfield(field, -0x8000_0000))), 'malformed');
    }
  });

  it(`a batch of more than ${MAX_BATCH_RECORDS} records`, () => {
    const one = lfield(2, vfield(1, REC_DELETE));
    const records = Array.from({ length: MAX_BATCH_RECORDS + 1 }, () => one).flat();
    expectWireError(() => decodeHa2(bytes(lfield(10, records))), 'malformed');
    const ok = decodeHa2(bytes(lfield(10, records.slice(one.length))));
    expect(ok.body.kind === 'batch' && ok.body.batch.records.length).toBe(MAX_BATCH_RECORDS);
  });

  it(`a bulk request reason longer than ${MAX_BULK_REASON_BYTES} bytes`, () => {
    expectWireError(() => decodeHa2(bytes(lfield(12, sfield(1, 'x'.repeat(MAX_BULK_REASON_BYTES + 1))))), 'malformed');
  });

  it('a record that is not a message (bad length inside the batch)', () => {
    expectWireError(() => decodeHa2(bytes(lfield(10, [0x12, 0x05, 0x08]))), 'malformed');
  });
});

describe('HA2 codec: encode refuses what the wire cannot carry', () => {
  const batch = (r: Partial<SessionRecord>): Ha2Envelope => env({ kind: 'batch', batch: { seq: 1, records: [rec(r)], sentMs: 0 } });
  it.each<[string, Ha2Envelope]>([
    ['a negative seq', env({ kind: 'ack', ack: { seq: 1, echoSentMs: 0 } }, { seq: -1 })],
    ['an epoch above 2^53-1', env({ kind: 'ack', ack: { seq: 1, echoSentMs: 0 } }, { epoch: 2 ** 53 })],
    ['a sender above uint32', env({ kind: 'ack', ack: { seq: 1, echoSentMs: 0 } }, { sender: 2 ** 32 })],
    ['a fractional ack seq', env({ kind: 'ack', ack: { seq: 1.5, echoSentMs: 0 } })],
    ['port 65536', batch({ origDstPort: 65536 })],
    ['op 256', batch({ op: 256 })],
    ['proto -1', batch({ proto: -1 })],
    ['an address above uint32', batch({ origSrc: 2 ** 32 })],
    ['a negative address (int32 form)', batch({ replyDst: -1 })],
    ['rule id -2', batch({ ruleId: -2 })],
    ['nat rule id 2^31', batch({ natRuleId: 2 ** 31 })],
    ['a fractional eventMs', batch({ eventMs: 1.5 })],
    ['NaN timeoutMs', batch({ timeoutMs: NaN })],
    ['too many records', env({ kind: 'batch', batch: { seq: 1, records: Array.from({ length: MAX_BATCH_RECORDS + 1 }, () => emptyRecord()), sentMs: 0 } })],
    ['a reason too long', env({ kind: 'bulkRequest', bulkRequest: { reason: 'é'.repeat(MAX_BULK_REASON_BYTES / 2 + 1), beginsSeen: 0 } })],
    ['an unknown body kind', env({ kind: 'nope' } as unknown as Ha2Body)],
  ])('%s', (_name, e) => {
    expectWireError(() => encodeHa2(e), 'invalid-message');
  });
});
