import { describe, expect, it } from 'vitest';
import { pcapFrames, pcapTimesUs } from '../../../bench/chaos/pcap.js';

/** A pcap file the way tcpdump writes one: little-endian, microseconds or nanoseconds. */
function pcap(records: Array<[sec: number, frac: number, len: number]>, opts: { nano?: boolean; be?: boolean } = {}): Buffer {
  const head = Buffer.alloc(24);
  const w = (b: Buffer, v: number, off: number) => (opts.be ? b.writeUInt32BE(v, off) : b.writeUInt32LE(v, off));
  w(head, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  const parts = [head];
  for (const [sec, frac, len] of records) {
    const h = Buffer.alloc(16);
    w(h, sec, 0);
    w(h, frac, 4);
    w(h, len, 8);
    w(h, len, 12);
    parts.push(h, Buffer.alloc(len, 0xab));
  }
  return Buffer.concat(parts);
}

describe('pcap timestamps', () => {
  it('reads microsecond records in file order', () => {
    const r = pcapTimesUs(
      pcap([
        [1_700_000_000, 5, 14],
        [1_700_000_001, 999_999, 60],
      ]),
    );
    expect(r).toEqual({ timesUs: [1_700_000_000_000_005, 1_700_000_001_999_999], truncated: false });
  });

  it('nanosecond and big-endian files', () => {
    expect(pcapTimesUs(pcap([[10, 1_500, 14]], { nano: true })).timesUs).toEqual([10_000_001]);
    expect(pcapTimesUs(pcap([[10, 7, 14]], { be: true })).timesUs).toEqual([10_000_007]);
  });

  it('a capture cut inside a record keeps what is whole and says so', () => {
    const full = pcap([
      [1, 1, 14],
      [2, 2, 14],
    ]);
    expect(pcapTimesUs(full.subarray(0, full.length - 3))).toEqual({ timesUs: [1_000_001], truncated: true });
    expect(pcapTimesUs(full.subarray(0, full.length - 20))).toEqual({ timesUs: [1_000_001], truncated: true });
  });

  it('an empty file has no frames; garbage is refused', () => {
    expect(pcapTimesUs(Buffer.alloc(0))).toEqual({ timesUs: [], truncated: false });
    expect(() => pcapTimesUs(Buffer.alloc(40, 1))).toThrow(/not a pcap file/);
    const huge = pcap([[1, 1, 14]]);
    huge.writeUInt32LE(10_000_000, 24 + 8);
    expect(() => pcapTimesUs(huge)).toThrow(/corrupt/);
  });
});

describe('pcap source MAC class', () => {
  it('gives byte 9 of each frame (a virtual MAC class code), -1 for a record too short', () => {
    const buf = pcap([
      [1, 1, 14],
      [2, 2, 9],
    ]);
    // the first record's frame: dst 6 bytes, then src 02:74:64:02:..
    buf.set([0x02, 0x74, 0x64, 0x02], 24 + 16 + 6);
    expect(pcapFrames(buf)).toEqual({ timesUs: [1_000_001, 2_000_002], srcMacByte3: [2, -1], truncated: false });
  });
});
