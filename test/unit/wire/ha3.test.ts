import { describe, expect, test } from 'vitest';
import {
  HA3_DATA,
  HA3_ETHERTYPE,
  HA3_FLAG_SETUP,
  HA3_HEADER_BYTES,
  HA3_INSERT,
  HA3_OVERHEAD_BYTES,
  Ha3Opener,
  Ha3Sealer,
  ha3MtuNeeded,
  isHa3Frame,
} from '../../../src/wire/ha3.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const DST = new Uint8Array([2, 0, 0, 0, 0, 2]);
const SRC = new Uint8Array([2, 0, 0, 0, 0, 1]);
const FRAME = new Uint8Array(Array.from({ length: 98 }, (_, i) => i));

function pair(epoch = 1_700_000_000_000) {
  return { sealer: new Ha3Sealer(KEY, 0, epoch), opener: new Ha3Opener(KEY, 0) };
}

describe('HA3 envelope', () => {
  test('carries a frame whole, with its kind, flags and ingress interface', () => {
    const { sealer, opener } = pair();
    const out = sealer.seal(HA3_DATA, HA3_FLAG_SETUP, 3, FRAME, DST, SRC);
    expect(out.length).toBe(FRAME.length + HA3_OVERHEAD_BYTES);
    expect(isHa3Frame(out, out.length)).toBe(true);
    expect((out[12] << 8) | out[13]).toBe(HA3_ETHERTYPE);
    expect(out.subarray(0, 6)).toEqual(DST);
    const r = opener.open(out);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.header).toEqual({ kind: HA3_DATA, sender: 0, flags: HA3_FLAG_SETUP, ingress: 3, epoch: 1_700_000_000_000, seq: 1 });
    expect(r.payload).toEqual(FRAME);
  });

  test('a frame padded after its tag (a short frame on the wire) still opens', () => {
    const { sealer, opener } = pair();
    const out = sealer.seal(HA3_INSERT, 0, 0, new Uint8Array(4), DST, SRC);
    const padded = new Uint8Array(out.length + 10);
    padded.set(out);
    expect(opener.open(padded).ok).toBe(true);
  });

  test('every changed byte after the outer header is refused as bad-mac, version or length', () => {
    const { sealer } = pair();
    const out = sealer.seal(HA3_DATA, 0, 1, FRAME, DST, SRC);
    for (let i = 14; i < out.length; i++) {
      const bad = out.slice();
      bad[i] ^= 0x40;
      const r = new Ha3Opener(KEY, 0).open(bad);
      expect(r.ok, `byte ${i}`).toBe(false);
      if (!r.ok) expect(['ha3-bad-mac', 'ha3-version', 'ha3-length']).toContain(r.reason);
    }
  });

  test('a wrong key, a short frame, a length beyond the frame', () => {
    const { sealer } = pair();
    const out = sealer.seal(HA3_DATA, 0, 1, FRAME, DST, SRC);
    expect(new Ha3Opener(Buffer.from('another key of 32 bytes at least!'), 0).open(out)).toEqual({ ok: false, reason: 'ha3-bad-mac' });
    expect(new Ha3Opener(KEY, 0).open(out, HA3_OVERHEAD_BYTES - 1)).toEqual({ ok: false, reason: 'ha3-short' });
    expect(new Ha3Opener(KEY, 0).open(out, out.length - 1)).toEqual({ ok: false, reason: 'ha3-length' });
  });

  test('a frame from ourselves (a looped link) is the wrong sender', () => {
    const { sealer } = pair();
    expect(new Ha3Opener(KEY, 1).open(sealer.seal(HA3_DATA, 0, 1, FRAME, DST, SRC))).toEqual({ ok: false, reason: 'ha3-wrong-sender' });
  });

  test('replays are refused; a restarted peer (newer epoch) starts a new sequence; an older epoch is stale', () => {
    const { sealer, opener } = pair(1000);
    const first = sealer.seal(HA3_DATA, 0, 1, FRAME, DST, SRC);
    expect(opener.open(first).ok).toBe(true);
    expect(opener.open(first)).toEqual({ ok: false, reason: 'ha3-replay' });
    const restarted = new Ha3Sealer(KEY, 0, 2000).seal(HA3_DATA, 0, 1, FRAME, DST, SRC);
    expect(opener.open(restarted).ok).toBe(true);
    expect(opener.open(sealer.seal(HA3_DATA, 0, 1, FRAME, DST, SRC))).toEqual({ ok: false, reason: 'ha3-stale-epoch' });
  });

  test('the HA3 MTU must hold a full traffic frame and the envelope', () => {
    expect(ha3MtuNeeded(1500)).toBe(1500 + 14 + HA3_HEADER_BYTES + 16);
  });

  test('a payload larger than the length field is refused at sealing', () => {
    const { sealer } = pair();
    expect(() => sealer.seal(HA3_DATA, 0, 0, new Uint8Array(70000), DST, SRC)).toThrow(/at most 65535/);
  });
});
