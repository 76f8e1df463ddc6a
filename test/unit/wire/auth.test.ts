import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAC_BYTES, Opener, REJECT_REASONS, Sealer, type OpenResult } from '../../../src/wire/auth.js';
import { decodeEnvelope, encodeEnvelope, type EnvelopeBody, type Heartbeat } from '../../../src/wire/codec.js';
import { REPLAY_WINDOW_SIZE } from '../../../src/wire/replay-window.js';
import { encodeFrame, FrameDecoder } from '../../../src/wire/framing.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210');
const CHANNEL = 'ha1-heartbeat-0';
const MAX_BYTES = 1024;

const heartbeat: Heartbeat = { state: 'active', priority: 10, preempt: true, sentNs: 123, echoNs: 0, echoDelayNs: 0, link: 0 };
const hb: EnvelopeBody = { kind: 'heartbeat', heartbeat };

function sealer(over: Partial<ConstructorParameters<typeof Sealer>[0]> = {}): Sealer {
  return new Sealer({ key: KEY, sender: 1, groupId: 5, epoch: 1000, channel: CHANNEL, ...over });
}
function opener(over: Partial<ConstructorParameters<typeof Opener>[0]> = {}): Opener {
  return new Opener({ key: KEY, expectedSender: 1, groupId: 5, channel: CHANNEL, maxBytes: MAX_BYTES, ...over });
}
function reason(r: OpenResult): string {
  return r.ok ? 'ok' : r.reason;
}
/** Seals n messages and returns them in send order (seq 1..n). */
function sealMany(s: Sealer, n: number): Buffer[] {
  return Array.from({ length: n }, () => s.seal(hb));
}

describe('Sealer', () => {
  it('assigns epoch and strictly increasing seq from 1, and a 32-byte HMAC trailer', () => {
    const s = sealer();
    const msgs = sealMany(s, 3);
    expect(s.lastSeq).toBe(3);
    msgs.forEach((m, i) => {
      const env = decodeEnvelope(m.subarray(0, m.length - MAC_BYTES));
      expect(env).toMatchObject({ sender: 1, groupId: 5, epoch: 1000, seq: i + 1, body: hb });
    });
  });

  it('computes the trailer as HMAC-SHA256(key, "tandem-<channel>\\0" + envelope)', () => {
    const m = sealer().seal(hb);
    const payload = m.subarray(0, m.length - MAC_BYTES);
    const expected = createHmac('sha256', KEY).update(`tandem-${CHANNEL}\0`).update(payload).digest();
    expect(m.subarray(m.length - MAC_BYTES)).toEqual(expected);
    expect(payload).toEqual(encodeEnvelope({ sender: 1, groupId: 5, epoch: 1000, seq: 1, body: hb }));
  });

  it('does not consume a seq for a message it cannot encode', () => {
    const s = sealer();
    expect(() => s.seal({ kind: 'heartbeat', heartbeat: { ...heartbeat, priority: 999 } })).toThrow();
    expect(s.lastSeq).toBe(0);
    s.seal(hb);
    expect(s.lastSeq).toBe(1);
  });

  it('refuses short keys and bad channel names', () => {
    expect(() => sealer({ key: Buffer.alloc(15, 1) })).toThrow(RangeError);
    expect(() => sealer({ channel: '' })).toThrow(RangeError);
    expect(() => sealer({ channel: 'a\0b' })).toThrow(RangeError);
    expect(() => opener({ key: Buffer.alloc(0) })).toThrow(RangeError);
    expect(() => opener({ maxBytes: MAC_BYTES })).toThrow(RangeError);
  });

  it('keeps its own copy of the key', () => {
    const key = Buffer.from(KEY);
    const s = sealer({ key });
    key.fill(0);
    expect(opener().open(s.seal(hb)).ok).toBe(true);
  });
});

describe('Opener', () => {
  it('accepts a message sealed with the right key', () => {
    const r = opener().open(sealer().seal(hb));
    expect(r).toEqual({ ok: true, envelope: { sender: 1, groupId: 5, epoch: 1000, seq: 1, body: hb } });
  });

  it('rejects the wrong key as bad-mac', () => {
    expect(reason(opener().open(sealer({ key: OTHER_KEY }).seal(hb)))).toBe('bad-mac');
  });

  it('rejects a message sealed for another channel as bad-mac', () => {
    expect(reason(opener().open(sealer({ channel: 'ha1-session-0' }).seal(hb)))).toBe('bad-mac');
  });

  it('rejects a flipped bit anywhere (envelope or trailer) as bad-mac', () => {
    const m = sealer().seal(hb);
    for (let bit = 0; bit < m.length * 8; bit++) {
      const o = opener(); // fresh window each time: only the MAC can refuse it
      const copy = Buffer.from(m);
      copy[bit >> 3] ^= 1 << (bit & 7);
      expect(reason(o.open(copy)), `bit ${bit}`).toBe('bad-mac');
    }
  });

  it('rejects oversize and short input before anything else', () => {
    const o = opener({ maxBytes: 64 });
    expect(reason(o.open(Buffer.alloc(65)))).toBe('oversize');
    expect(reason(o.open(Buffer.alloc(0)))).toBe('short');
    expect(reason(o.open(Buffer.alloc(MAC_BYTES)))).toBe('short');
    expect(reason(o.open(Buffer.alloc(MAC_BYTES + 1)))).toBe('bad-mac');
    // exactly maxBytes is allowed through to the MAC check
    expect(reason(o.open(Buffer.alloc(64)))).toBe('bad-mac');
  });

  it('rejects an authentic but undecodable payload as malformed', () => {
    const payload = Buffer.from([0x08, 0x01]); // sender=1, no body
    const mac = createHmac('sha256', KEY).update(`tandem-${CHANNEL}\0`).update(payload).digest();
    expect(reason(opener().open(Buffer.concat([payload, mac])))).toBe('malformed');
  });

  it('rejects the wrong sender and the wrong group', () => {
    expect(reason(opener().open(sealer({ sender: 0 }).seal(hb)))).toBe('wrong-sender');
    expect(reason(opener().open(sealer({ groupId: 6 }).seal(hb)))).toBe('wrong-group');
  });

  it('rejects a replayed datagram', () => {
    const o = opener();
    const m = sealer().seal(hb);
    expect(reason(o.open(m))).toBe('ok');
    expect(reason(o.open(m))).toBe('replay');
    expect(reason(o.open(Buffer.from(m)))).toBe('replay');
  });

  it('accepts reordering within the window, once each', () => {
    const o = opener();
    const msgs = sealMany(sealer(), 10);
    const order = [9, 2, 5, 0, 7, 1, 8, 3, 6, 4];
    for (const i of order) expect(reason(o.open(msgs[i])), `seq ${i + 1}`).toBe('ok');
    for (const i of order) expect(reason(o.open(msgs[i])), `seq ${i + 1} again`).toBe('replay');
  });

  it('accepts the oldest seq still inside the window and refuses one just outside it', () => {
    const msgs = sealMany(sealer(), REPLAY_WINDOW_SIZE + 2);
    const o = opener();
    // highest = 66; the window holds 66 - 63 = 3 .. 66
    expect(reason(o.open(msgs[REPLAY_WINDOW_SIZE + 1]))).toBe('ok');
    expect(reason(o.open(msgs[2]))).toBe('ok'); // seq 3: offset 63
    expect(reason(o.open(msgs[1]))).toBe('replay'); // seq 2: offset 64, too old
    expect(reason(o.open(msgs[0]))).toBe('replay');
  });

  it('a rejected message does not burn its seq', () => {
    const s = sealer();
    const o = opener();
    const m = s.seal(hb);
    const tampered = Buffer.from(m);
    tampered[0] ^= 0x80;
    expect(reason(o.open(tampered))).toBe('bad-mac');
    expect(reason(o.open(m))).toBe('ok');
  });

  it('a wrong-group message does not move the epoch or the window', () => {
    const o = opener();
    expect(reason(o.open(sealer().seal(hb)))).toBe('ok');
    expect(reason(o.open(sealer({ epoch: 5000, groupId: 9 }).seal(hb)))).toBe('wrong-group');
    expect(o.currentEpoch).toBe(1000);
  });

  it('accepts a peer restart (higher epoch) with seq starting again, and resets the window', () => {
    const o = opener();
    const first = sealMany(sealer({ epoch: 1000 }), 5);
    for (const m of first) expect(reason(o.open(m))).toBe('ok');
    const restarted = sealMany(sealer({ epoch: 2000 }), 2);
    expect(reason(o.open(restarted[0]))).toBe('ok');
    expect(o.currentEpoch).toBe(2000);
    expect(reason(o.open(restarted[0]))).toBe('replay');
    expect(reason(o.open(restarted[1]))).toBe('ok');
    // the previous run's messages are now a stale epoch
    expect(reason(o.open(first[4]))).toBe('stale-epoch');
  });

  it('rejects a lower epoch as stale-epoch', () => {
    const o = opener();
    expect(reason(o.open(sealer({ epoch: 2000 }).seal(hb)))).toBe('ok');
    expect(reason(o.open(sealer({ epoch: 1999 }).seal(hb)))).toBe('stale-epoch');
  });

  it('a seq jump beyond the window forgets everything older', () => {
    const s = sealer();
    const o = opener();
    const msgs = sealMany(s, 200);
    expect(reason(o.open(msgs[0]))).toBe('ok');
    expect(reason(o.open(msgs[199]))).toBe('ok');
    expect(reason(o.open(msgs[198]))).toBe('ok');
    expect(reason(o.open(msgs[100]))).toBe('replay');
  });

  it('opens a long in-order stream (the TCP case)', () => {
    const s = sealer({ channel: 'ha1-session-0' });
    const o = opener({ channel: 'ha1-session-0' });
    for (let i = 1; i <= 1000; i++) {
      const r = o.open(s.seal(hb));
      expect(r.ok && r.envelope.seq).toBe(i);
    }
  });

  it('REJECT_REASONS lists each reason once', () => {
    expect(new Set(REJECT_REASONS).size).toBe(REJECT_REASONS.length);
    expect([...REJECT_REASONS].sort()).toEqual(['bad-mac', 'malformed', 'oversize', 'replay', 'short', 'stale-epoch', 'wrong-group', 'wrong-sender']);
  });
});

describe('sealed messages over a framed stream (the HA1 session path)', () => {
  it('survives arbitrary TCP chunking end to end', () => {
    const s = sealer({ channel: 'ha1-session-0' });
    const bodies: EnvelopeBody[] = [
      hb,
      { kind: 'stateUpdate', stateUpdate: { state: 'passive', reason: 'operator-suspend' } },
      { kind: 'command', command: { type: 'take-over', reason: 'failover', id: 7 } },
      { kind: 'goodbye', goodbye: { reason: 'shutdown' } },
    ];
    const stream = Buffer.concat(bodies.map((b) => encodeFrame(s.seal(b))));
    for (let chunk = 1; chunk <= 9; chunk++) {
      const o = opener({ channel: 'ha1-session-0' });
      const dec = new FrameDecoder(MAX_BYTES);
      const got: EnvelopeBody[] = [];
      for (let i = 0; i < stream.length; i += chunk) {
        for (const f of dec.push(stream.subarray(i, i + chunk))) {
          const r = o.open(f);
          if (!r.ok) throw new Error(`chunk ${chunk}: ${r.reason}`);
          got.push(r.envelope.body);
        }
      }
      expect(got).toEqual(bodies);
    }
  });
});
