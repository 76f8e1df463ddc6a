import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HA2_CHANNEL, HA2_MAX_MESSAGE_BYTES, Ha2Opener, Ha2Sealer, MAC_BYTES, Opener, Sealer, type Ha2OpenResult } from '../../../src/wire/auth.js';
import { decodeHa2, encodeHa2, HA2_MAX_ENVELOPE_BYTES, MAX_BATCH_RECORDS, type Ha2Body } from '../../../src/wire/ha2-codec.js';
import { REPLAY_WINDOW_SIZE } from '../../../src/wire/replay-window.js';
import { AEAD_OVERHEAD_BYTES } from '../../../src/wire/crypto.js';
import { encodeFrame, FrameDecoder } from '../../../src/wire/framing.js';
import { emptyRecord, REC_UPSERT } from '../../../src/wire/session-record.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210');

const record = { ...emptyRecord(), op: REC_UPSERT, proto: 6, origSrc: 0xffff_ffff, ruleId: -1, eventMs: 2 ** 53 - 1 };
const batch: Ha2Body = { kind: 'batch', batch: { seq: 1, records: [record], sentMs: 100 } };
const ack: Ha2Body = { kind: 'ack', ack: { seq: 1, echoSentMs: 100 } };
const bulk: Ha2Body = { kind: 'bulkRequest', bulkRequest: { reason: 'join', beginsSeen: 0 } };

function sealer(over: Partial<ConstructorParameters<typeof Ha2Sealer>[0]> = {}): Ha2Sealer {
  return new Ha2Sealer({ key: KEY, sender: 0, groupId: 5, epoch: 1000, channel: HA2_CHANNEL, ...over });
}
function opener(over: Partial<ConstructorParameters<typeof Ha2Opener>[0]> = {}): Ha2Opener {
  return new Ha2Opener({ key: KEY, expectedSender: 0, groupId: 5, channel: HA2_CHANNEL, maxBytes: HA2_MAX_MESSAGE_BYTES, ...over });
}
function reason(r: Ha2OpenResult): string {
  return r.ok ? 'ok' : r.reason;
}

describe('Ha2Sealer', () => {
  it('assigns epoch and strictly increasing seq from 1, and seals "tandem-ha2\\0" + envelope with HMAC-SHA256', () => {
    const s = sealer();
    const msgs = [batch, ack, bulk].map((b) => s.seal(b));
    expect(s.lastSeq).toBe(3);
    msgs.forEach((m, i) => {
      const payload = m.subarray(0, m.length - MAC_BYTES);
      expect(decodeHa2(payload)).toEqual({ sender: 0, groupId: 5, epoch: 1000, seq: i + 1, body: [batch, ack, bulk][i] });
      expect(m.subarray(m.length - MAC_BYTES)).toEqual(createHmac('sha256', KEY).update('tandem-ha2\0').update(payload).digest());
    });
    expect(msgs[0].subarray(0, msgs[0].length - MAC_BYTES)).toEqual(encodeHa2({ sender: 0, groupId: 5, epoch: 1000, seq: 1, body: batch }));
  });

  it('does not consume a seq for a message it cannot encode', () => {
    const s = sealer();
    expect(() => s.seal({ kind: 'batch', batch: { seq: 1, records: [{ ...record, origSrcPort: 70000 }], sentMs: 0 } })).toThrow();
    expect(s.lastSeq).toBe(0);
    s.seal(ack);
    expect(s.lastSeq).toBe(1);
  });

  it('refuses short keys, bad channel names and bad ids, like Sealer', () => {
    expect(() => sealer({ key: Buffer.alloc(15, 1) })).toThrow(RangeError);
    expect(() => sealer({ channel: '' })).toThrow(RangeError);
    expect(() => sealer({ sender: -1 })).toThrow(RangeError);
    expect(() => sealer({ epoch: 1.5 })).toThrow(RangeError);
  });
});

describe('Ha2Opener', () => {
  it('accepts every body kind sealed with the right key', () => {
    const s = sealer();
    const o = opener();
    for (const body of [batch, ack, bulk]) {
      const r = o.open(s.seal(body));
      expect(r.ok && r.envelope.body).toEqual(body);
    }
    expect(o.currentEpoch).toBe(1000);
    expect(o.highestSeq).toBe(3);
  });

  it('refuses a message sealed with another key, and does not record its seq', () => {
    const o = opener();
    expect(reason(o.open(sealer({ key: OTHER_KEY }).seal(batch)))).toBe('bad-mac');
    expect(o.highestSeq).toBe(-1);
    expect(o.currentEpoch).toBeNull();
    // The same seq from the right key is still fresh.
    expect(reason(o.open(sealer().seal(batch)))).toBe('ok');
  });

  it('refuses a message sealed for another channel (an HA1 session frame with the same key)', () => {
    expect(reason(opener().open(sealer({ channel: 'ha1-session-0' }).seal(batch)))).toBe('bad-mac');
    const ha1 = new Sealer({ key: KEY, sender: 0, groupId: 5, epoch: 1000, channel: 'ha1-session-0' }).seal({ kind: 'goodbye', goodbye: { reason: 'x' } });
    expect(reason(opener().open(ha1))).toBe('bad-mac');
  });

  it('refuses any flipped bit', () => {
    const m = sealer().seal(batch);
    for (let i = 0; i < m.length; i++) {
      const bad = Buffer.from(m);
      bad[i] ^= 0x01;
      expect(reason(opener().open(bad))).toBe('bad-mac');
    }
  });

  it('refuses a replay, accepts reordering inside the window, refuses anything older', () => {
    const s = sealer();
    const msgs = Array.from({ length: REPLAY_WINDOW_SIZE + 10 }, () => s.seal(ack));
    const o = opener();
    expect(reason(o.open(msgs[1]))).toBe('ok');
    expect(reason(o.open(msgs[1]))).toBe('replay');
    expect(reason(o.open(msgs[0]))).toBe('ok'); // reordered, inside the window
    expect(reason(o.open(msgs[0]))).toBe('replay');
    expect(reason(o.open(msgs[REPLAY_WINDOW_SIZE + 9]))).toBe('ok');
    expect(reason(o.open(msgs[2]))).toBe('replay'); // older than the window
    expect(reason(o.open(msgs[REPLAY_WINDOW_SIZE + 5]))).toBe('ok');
  });

  it('a restarted peer (higher epoch) starts a fresh window; an older epoch is stale', () => {
    const o = opener();
    const first = sealer({ epoch: 1000 });
    const old = [first.seal(ack), first.seal(ack)];
    expect(reason(o.open(old[0]))).toBe('ok');
    const restarted = sealer({ epoch: 2000 });
    expect(reason(o.open(restarted.seal(ack)))).toBe('ok'); // seq 1 again, new epoch
    expect(o.currentEpoch).toBe(2000);
    expect(o.highestSeq).toBe(1);
    expect(reason(o.open(old[1]))).toBe('stale-epoch');
    expect(reason(o.open(restarted.seal(bulk)))).toBe('ok');
  });

  it('refuses the wrong sender and the wrong group, without recording the seq', () => {
    const o = opener();
    expect(reason(o.open(sealer({ sender: 1 }).seal(ack)))).toBe('wrong-sender');
    expect(reason(o.open(sealer({ groupId: 6 }).seal(ack)))).toBe('wrong-group');
    expect(o.highestSeq).toBe(-1);
    expect(reason(o.open(sealer().seal(ack)))).toBe('ok');
  });

  it('refuses oversize and short messages before any work', () => {
    const m = sealer().seal(batch);
    expect(reason(opener({ maxBytes: m.length - 1 }).open(m))).toBe('oversize');
    expect(reason(opener({ maxBytes: m.length }).open(m))).toBe('ok');
    expect(reason(opener().open(m.subarray(0, MAC_BYTES)))).toBe('short');
  });

  it('reports an authentic but malformed envelope as malformed', () => {
    // A valid MAC over bytes that are not an Ha2Envelope (no body).
    const payload = Buffer.from([0x08, 0x00]);
    const trailer = createHmac('sha256', KEY).update('tandem-ha2\0').update(payload).digest();
    expect(reason(opener().open(Buffer.concat([payload, trailer])))).toBe('malformed');
  });

  it('a full batch at every maximum fits HA2_MAX_MESSAGE_BYTES and travels through a frame', () => {
    const max = {
      ...record,
      op: 0xff,
      proto: 0xff,
      state: 0xffff_ffff,
      flags: 0xffff_ffff,
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
    };
    const body: Ha2Body = { kind: 'batch', batch: { seq: 2 ** 53 - 1, records: Array.from({ length: MAX_BATCH_RECORDS }, () => max), sentMs: 2 ** 53 - 1 } };
    expect(HA2_MAX_MESSAGE_BYTES).toBe(HA2_MAX_ENVELOPE_BYTES + Math.max(MAC_BYTES, AEAD_OVERHEAD_BYTES));
    for (const encryption of ['none', 'aes-256-gcm'] as const) {
      const m = new Ha2Sealer({ key: KEY, sender: 0xffff_ffff, groupId: 0xffff_ffff, epoch: 2 ** 53 - 1, channel: HA2_CHANNEL, encryption }).seal(body);
      expect(m.length).toBeLessThanOrEqual(HA2_MAX_MESSAGE_BYTES);
      const [frame] = new FrameDecoder(HA2_MAX_MESSAGE_BYTES).push(encodeFrame(m));
      const r = new Ha2Opener({ key: KEY, expectedSender: 0xffff_ffff, groupId: 0xffff_ffff, channel: HA2_CHANNEL, maxBytes: HA2_MAX_MESSAGE_BYTES }).open(
        frame,
      );
      expect(r.ok && r.envelope.body.kind === 'batch' && r.envelope.body.batch.records.length).toBe(MAX_BATCH_RECORDS);
    }
  });

  it('leaves HA1 Sealer/Opener as they were (same classes, same results)', () => {
    const s = new Sealer({ key: KEY, sender: 1, groupId: 5, epoch: 1, channel: 'ha1-session-0' });
    const o = new Opener({ key: KEY, expectedSender: 1, groupId: 5, channel: 'ha1-session-0', maxBytes: 1024 });
    const m = s.seal({ kind: 'goodbye', goodbye: { reason: 'bye' } });
    const r = o.open(m);
    expect(r).toEqual({ ok: true, envelope: { sender: 1, epoch: 1, seq: 1, groupId: 5, body: { kind: 'goodbye', goodbye: { reason: 'bye' } } } });
    expect(o.open(m)).toEqual({ ok: false, reason: 'replay' });
  });
});
