import { createDecipheriv, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AEAD_HEADER_BYTES,
  AEAD_MAGIC,
  AEAD_OVERHEAD_BYTES,
  AEAD_SALT_BYTES,
  AEAD_TAG_BYTES,
  AeadOpener,
  AeadSealer,
  isAeadMessage,
} from '../../../src/wire/crypto.js';
import { Ha2Opener, Ha2Sealer, MAC_BYTES, Opener, Sealer, type OpenResult } from '../../../src/wire/auth.js';
import type { EnvelopeBody } from '../../../src/wire/codec.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210');
const CHANNEL = 'ha1-session-0';
const SECRET = 'zones-and-policy-marker';
const PLAIN = Buffer.from(`a plaintext that must not be visible: ${SECRET}`);

/** Independent reference: the construction written out from the file comment, nothing shared. */
function referenceOpen(key: Buffer, channel: string, sender: number, msg: Buffer): Buffer {
  expect(msg[0]).toBe(0xe5);
  const salt = msg.subarray(1, 17);
  const seq = msg.subarray(17, 25);
  const info = Buffer.concat([
    Buffer.from(`tandem-aes-256-gcm\0${channel}\0`),
    Buffer.from([sender >>> 24, (sender >>> 16) & 255, (sender >>> 8) & 255, sender & 255]),
  ]);
  const k = Buffer.from(hkdfSync('sha256', key, salt, info, 32));
  const d = createDecipheriv('aes-256-gcm', k, Buffer.concat([Buffer.alloc(4), seq]), { authTagLength: 16 });
  d.setAAD(msg.subarray(0, 25));
  d.setAuthTag(msg.subarray(msg.length - 16));
  return Buffer.concat([d.update(msg.subarray(25, msg.length - 16)), d.final()]);
}

describe('AeadSealer / AeadOpener', () => {
  it('lays out magic, salt, seq, ciphertext, tag as the file comment says (checked by a reference decryption)', () => {
    const salt = Buffer.alloc(AEAD_SALT_BYTES, 7);
    const m = new AeadSealer({ key: KEY, channel: CHANNEL, sender: 1, salt }).seal(5, PLAIN);
    expect(m.length).toBe(PLAIN.length + AEAD_OVERHEAD_BYTES);
    expect(AEAD_OVERHEAD_BYTES).toBe(1 + 16 + 8 + 16);
    expect(m[0]).toBe(AEAD_MAGIC);
    expect(m.subarray(1, 17)).toEqual(salt);
    expect(m.readBigUInt64BE(17)).toBe(5n);
    expect(referenceOpen(KEY, CHANNEL, 1, m)).toEqual(PLAIN);
    expect(m.includes(Buffer.from(SECRET))).toBe(false);
  });

  it('opens what it seals, seq included', () => {
    const s = new AeadSealer({ key: KEY, channel: CHANNEL, sender: 1 });
    const o = new AeadOpener({ key: KEY, channel: CHANNEL, expectedSender: 1 });
    for (const seq of [1, 2, 1000, 2 ** 53 - 1]) {
      const r = o.open(s.seal(seq, PLAIN));
      expect(r).toEqual({ ok: true, seq, plaintext: PLAIN });
    }
  });

  it('never seals a seq twice or backwards: a nonce repeat is refused, not sent', () => {
    const s = new AeadSealer({ key: KEY, channel: CHANNEL, sender: 1 });
    s.seal(3, PLAIN);
    expect(() => s.seal(3, PLAIN)).toThrow(RangeError);
    expect(() => s.seal(2, PLAIN)).toThrow(RangeError);
    expect(() => s.seal(0.5 + 3, PLAIN)).toThrow(RangeError);
    expect(() => s.seal(2 ** 53, PLAIN)).toThrow(RangeError);
  });

  it('gives every sealer (every restart) its own key: same key, channel, sender, seq and plaintext never give the same bytes', () => {
    // a box restarted with its clock stepped back repeats its epoch and seq; the salt still differs
    const seen = new Set<string>();
    const salts = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const s = new AeadSealer({ key: KEY, channel: CHANNEL, sender: 0 });
      const m = s.seal(1, PLAIN);
      salts.add(s.salt.toString('hex'));
      seen.add(m.subarray(AEAD_HEADER_BYTES).toString('hex'));
    }
    expect(salts.size).toBe(2000);
    expect(seen.size).toBe(2000);
  });

  it('separates directions and channels: the other box, or another channel, cannot open it', () => {
    const salt = Buffer.alloc(AEAD_SALT_BYTES, 9);
    const m = new AeadSealer({ key: KEY, channel: CHANNEL, sender: 0, salt }).seal(1, PLAIN);
    const m1 = new AeadSealer({ key: KEY, channel: CHANNEL, sender: 1, salt }).seal(1, PLAIN);
    expect(m.subarray(AEAD_HEADER_BYTES)).not.toEqual(m1.subarray(AEAD_HEADER_BYTES));
    expect(new AeadOpener({ key: KEY, channel: CHANNEL, expectedSender: 1 }).open(m)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(new AeadOpener({ key: KEY, channel: 'ha1-session-1', expectedSender: 0 }).open(m)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(new AeadOpener({ key: OTHER_KEY, channel: CHANNEL, expectedSender: 0 }).open(m)).toEqual({ ok: false, reason: 'bad-mac' });
  });

  it('rejects every single flipped bit (salt, seq, ciphertext, tag) as bad-mac, and a flipped magic as not encrypted', () => {
    const m = new AeadSealer({ key: KEY, channel: CHANNEL, sender: 1 }).seal(42, PLAIN);
    const o = new AeadOpener({ key: KEY, channel: CHANNEL, expectedSender: 1 });
    for (let i = 0; i < m.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(m);
        bad[i] ^= bit;
        const r = o.open(bad);
        expect(r.ok, `byte ${i} bit ${bit}`).toBe(false);
        if (i === 0) expect(isAeadMessage(bad)).toBe(false);
        else expect(r).toEqual({ ok: false, reason: 'bad-mac' });
      }
    }
    // and the genuine one still opens: forged salts did not replace the cached key
    expect(o.open(m).ok).toBe(true);
  });

  it('reports too-short input as short, without decrypting', () => {
    const o = new AeadOpener({ key: KEY, channel: CHANNEL, expectedSender: 1 });
    expect(o.open(Buffer.from([AEAD_MAGIC]))).toEqual({ ok: false, reason: 'short' });
    expect(o.open(Buffer.alloc(AEAD_OVERHEAD_BYTES, AEAD_MAGIC))).toEqual({ ok: false, reason: 'short' });
    expect(AEAD_TAG_BYTES).toBe(16);
  });
});

const hello: EnvelopeBody = {
  kind: 'goodbye',
  goodbye: { reason: SECRET },
};

function reason(r: OpenResult): string {
  return r.ok ? 'ok' : r.reason;
}

describe('Sealer/Opener with encryption', () => {
  const sealer = (encryption: 'none' | 'aes-256-gcm', epoch = 1000) => new Sealer({ key: KEY, sender: 1, groupId: 5, epoch, channel: CHANNEL, encryption });
  const opener = (key = KEY) => new Opener({ key, expectedSender: 1, groupId: 5, channel: CHANNEL, maxBytes: 4096 });

  it('encrypts the whole envelope: the body is not in the bytes; same envelope after opening', () => {
    const m = sealer('aes-256-gcm').seal(hello);
    expect(m.length).toBe(sealer('none').seal(hello).length - MAC_BYTES + AEAD_OVERHEAD_BYTES);
    expect(m.includes(Buffer.from(SECRET))).toBe(false);
    expect(sealer('none').seal(hello).includes(Buffer.from(SECRET))).toBe(true);
    const r = opener().open(m);
    expect(r).toEqual({ ok: true, envelope: { sender: 1, groupId: 5, epoch: 1000, seq: 1, body: hello } });
  });

  it('keeps replay protection: a captured encrypted message is a replay, an older epoch is stale', () => {
    const s = sealer('aes-256-gcm');
    const o = opener();
    const m1 = s.seal(hello);
    const m2 = s.seal(hello);
    expect(reason(o.open(m1))).toBe('ok');
    expect(reason(o.open(m2))).toBe('ok');
    expect(reason(o.open(m1))).toBe('replay');
    expect(reason(o.open(m2))).toBe('replay');
    // the peer restarted (new epoch, new salt): its new messages open; the old run's do not
    const restarted = sealer('aes-256-gcm', 2000);
    expect(reason(o.open(restarted.seal(hello)))).toBe('ok');
    expect(reason(o.open(s.seal(hello)))).toBe('stale-epoch');
    expect(o.accepted).toEqual({ encrypted: 3, plain: 0 });
  });

  it('a wrong key is bad-mac; a corrupted ciphertext is bad-mac; neither burns a seq', () => {
    const s = sealer('aes-256-gcm');
    const m = s.seal(hello);
    expect(reason(opener(OTHER_KEY).open(m))).toBe('bad-mac');
    const o = opener();
    const bad = Buffer.from(m);
    bad[AEAD_HEADER_BYTES + 2] ^= 0x10;
    expect(reason(o.open(bad))).toBe('bad-mac');
    expect(reason(o.open(m))).toBe('ok');
  });

  it('switches format mid-stream without a gap: the seq goes on, the opener takes both, nonces never repeat', () => {
    const s = sealer('none');
    const o = opener();
    const out: Buffer[] = [];
    for (const mode of ['none', 'aes-256-gcm', 'none', 'aes-256-gcm'] as const) {
      s.setEncryption(mode);
      for (let i = 0; i < 3; i++) out.push(s.seal(hello));
    }
    expect(out.map((m) => isAeadMessage(m))).toEqual([false, false, false, true, true, true, false, false, false, true, true, true]);
    for (const m of out) expect(reason(o.open(m))).toBe('ok');
    const nonces = out.filter(isAeadMessage).map((m) => m.subarray(0, AEAD_HEADER_BYTES).toString('hex'));
    expect(new Set(nonces).size).toBe(nonces.length);
    expect(o.accepted).toEqual({ encrypted: 6, plain: 6 });
    expect(() => s.setEncryption('rot13' as never)).toThrow(RangeError);
  });

  it('an HMAC-format message never looks encrypted (first byte is a low protobuf tag), whatever the header values', () => {
    for (const sender of [0, 1, 0xffff_ffff]) {
      for (const groupId of [0, 1, 255]) {
        for (const epoch of [0, 1, 2 ** 53 - 1]) {
          const m = new Sealer({ key: KEY, sender, groupId, epoch, channel: CHANNEL }).seal(hello);
          expect(isAeadMessage(m)).toBe(false);
          expect([0x08, 0x10, 0x18]).toContain(m[0]);
        }
      }
    }
  });

  it('HA2: encrypted batches open, replay is refused', () => {
    const s = new Ha2Sealer({ key: KEY, sender: 0, groupId: 1, epoch: 7, channel: 'ha2', encryption: 'aes-256-gcm' });
    const o = new Ha2Opener({ key: KEY, expectedSender: 0, groupId: 1, channel: 'ha2', maxBytes: 1 << 20 });
    const m = s.seal({ kind: 'ack', ack: { seq: 3, echoSentMs: 9 } });
    expect(isAeadMessage(m)).toBe(true);
    expect(o.open(m).ok).toBe(true);
    expect(o.open(m)).toEqual({ ok: false, reason: 'replay' });
    expect(new Ha2Opener({ key: OTHER_KEY, expectedSender: 0, groupId: 1, channel: 'ha2', maxBytes: 1 << 20 }).open(m)).toEqual({
      ok: false,
      reason: 'bad-mac',
    });
  });
});
