import { describe, expect, it } from 'vitest';
import { checksum, checksumUpdate16 } from '../../../src/net/checksum.js';
import { refChecksum } from './frames.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s;
  };
}

describe('RFC 1071 checksum', () => {
  it('matches the worked example of RFC 1071 section 3', () => {
    // 00 01 f2 03 f4 f5 f6 f7: sum ddf2, checksum 220d
    const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(checksum(b, 0, 8)).toBe(0x220d);
  });

  it('pads an odd length with a zero byte and honours the offset', () => {
    const b = new Uint8Array([9, 9, 0x12, 0x34, 0x56]);
    expect(checksum(b, 2, 3)).toBe(refChecksum([0x12, 0x34, 0x56]));
  });

  it('agrees with the reference over random buffers, and a region holding its checksum sums to 0', () => {
    const r = rng(1);
    for (let n = 0; n < 500; n++) {
      const len = 2 + (r() % 200);
      const b = new Uint8Array(len + 2);
      for (let i = 2; i < b.length; i++) b[i] = r() & 255;
      const c = checksum(b, 2, b.length - 2);
      expect(c).toBe(refChecksum(b.subarray(2)));
      b[0] = c >> 8;
      b[1] = c & 255;
      if ((b.length - 2) % 2 === 0) expect(checksum(b, 0, b.length)).toBe(0);
    }
  });
});

describe('RFC 1624 incremental update', () => {
  it('equals a full recompute after a random 16-bit word changes, over many random IPv4 headers', () => {
    const r = rng(42);
    for (let n = 0; n < 20_000; n++) {
      const h = new Uint8Array(20);
      for (let i = 0; i < 20; i++) h[i] = r() & 255;
      h[0] = 0x45;
      h[10] = h[11] = 0;
      const c0 = checksum(h, 0, 20);
      h[10] = c0 >> 8;
      h[11] = c0 & 255;
      // pick a word other than the checksum itself
      let w = r() % 10;
      if (w === 5) w = 4;
      const off = w * 2;
      const oldWord = (h[off] << 8) | h[off + 1];
      const newWord = n % 3 === 0 ? (oldWord - 0x100) & 0xffff /* TTL decrement */ : r() & 0xffff;
      h[off] = newWord >> 8;
      h[off + 1] = newWord & 255;
      const inc = checksumUpdate16(c0, oldWord, newWord);
      h[10] = h[11] = 0;
      expect(inc).toBe(checksum(h, 0, 20));
    }
  });

  it('handles the -0/+0 corner (RFC 1624 section 3 example)', () => {
    // A header whose checksum is 0x0000 after an update: full recompute never yields 0xffff.
    const h = new Uint8Array(20);
    h[0] = 0x45;
    h[8] = 1; // TTL 1
    h[12] = 0xff;
    h[13] = 0xff - 0x45;
    const c0 = checksum(h, 0, 20);
    const inc = checksumUpdate16(c0, 0x0100, 0x0000);
    h[8] = 0;
    expect(inc).toBe(checksum(h, 0, 20));
  });
});
