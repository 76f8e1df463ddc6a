import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FRAME_HEADER_BYTES } from '../../../src/wire/framing.js';
import { WireError } from '../../../src/wire/errors.js';

function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

function payload(len: number, fill: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (fill + i * 7) & 0xff;
  return b;
}

/** Buffer-wise equality: toEqual walks big Buffers element by element and takes seconds. */
function expectFrames(actual: Buffer[], expected: Buffer[], what = ''): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((f, i) => expect(f.equals(expected[i]), `${what} frame ${i}`).toBe(true));
}

/** Feeds `stream` cut at `cuts` (sorted offsets) and returns every frame, as copies. */
function feed(dec: FrameDecoder, stream: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, stream.length]) {
    for (const f of dec.push(stream.subarray(prev, c))) out.push(Buffer.from(f));
    prev = c;
  }
  return out;
}

function expectWireError(fn: () => unknown, code: WireError['code']): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(WireError);
  expect((caught as WireError).code).toBe(code);
}

describe('encodeFrame', () => {
  it('prefixes a 4-byte big-endian length', () => {
    expect([...encodeFrame(Uint8Array.from([9, 8, 7]))]).toEqual([0, 0, 0, 3, 9, 8, 7]);
    const big = encodeFrame(Buffer.alloc(0x01020304 & 0xffff, 1));
    expect(big.readUInt32BE(0)).toBe(0x0304);
  });

  it('refuses an empty payload', () => {
    expectWireError(() => encodeFrame(new Uint8Array(0)), 'empty-frame');
  });
});

describe('FrameDecoder', () => {
  const messages = [payload(1, 1), payload(5, 2), payload(3, 3), payload(17, 4)];
  const stream = Buffer.concat(messages.map(encodeFrame));

  it('splits one small stream at every single point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(feed(new FrameDecoder(64), stream, [cut]), `cut at ${cut}`).toEqual(messages);
    }
  });

  it('splits one small stream at every pair of points', () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        expect(feed(new FrameDecoder(64), stream, [a, b]), `cuts ${a},${b}`).toEqual(messages);
      }
    }
  });

  it('decodes a stream fed one byte at a time, holding only the partial frame', () => {
    const dec = new FrameDecoder(64);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      out.push(...dec.push(stream.subarray(i, i + 1)).map((f) => Buffer.from(f)));
      expect(dec.bufferedBytes).toBeLessThanOrEqual(FRAME_HEADER_BYTES + 17);
    }
    expect(out).toEqual(messages);
    expect(dec.bufferedBytes).toBe(0);
  });

  it('decodes large random streams cut at random points', () => {
    const r = rng(7);
    for (let run = 0; run < 20; run++) {
      const msgs = Array.from({ length: 1 + r(200) }, (_, i) => payload(1 + r(r(10) === 0 ? 70_000 : 300), run + i));
      const s = Buffer.concat(msgs.map(encodeFrame));
      const cuts = Array.from({ length: r(400) }, () => r(s.length + 1)).sort((a, b) => a - b);
      expectFrames(feed(new FrameDecoder(70_000), s, cuts), msgs, `run ${run}`);
    }
  });

  it('takes a plain Uint8Array chunk and empty chunks', () => {
    const dec = new FrameDecoder(64);
    expect(dec.push(new Uint8Array(0))).toEqual([]);
    const frames = dec.push(Uint8Array.from(encodeFrame(Buffer.from('hi'))));
    expect(frames.map((f) => f.toString())).toEqual(['hi']);
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    const max = 1000;
    const p = payload(max, 9);
    expectFrames(feed(new FrameDecoder(max), encodeFrame(p), [2, 500]), [p]);
  });

  it('rejects a frame of maxFrameBytes + 1 as soon as its header arrives', () => {
    const dec = new FrameDecoder(1000);
    const frame = encodeFrame(payload(1001, 1));
    expect(dec.push(frame.subarray(0, 3))).toEqual([]);
    expectWireError(() => dec.push(frame.subarray(3, 4)), 'oversize');
    expect(dec.bufferedBytes).toBe(0);
  });

  it('rejects a length prefix of 2^32-1 without buffering anything', () => {
    const dec = new FrameDecoder(16 * 1024);
    expectWireError(() => dec.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), 'oversize');
  });

  it('rejects a zero-length frame, also after good frames', () => {
    expectWireError(() => new FrameDecoder(64).push(Buffer.from([0, 0, 0, 0])), 'empty-frame');
    const dec = new FrameDecoder(64);
    expect(dec.push(encodeFrame(Buffer.from('ok'))).map(String)).toEqual(['ok']);
    expectWireError(() => dec.push(Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 7])), 'empty-frame');
  });

  it('stays failed after an error: later pushes throw the same error', () => {
    const dec = new FrameDecoder(64);
    expectWireError(() => dec.push(Buffer.from([0, 0, 1, 0])), 'oversize');
    expectWireError(() => dec.push(encodeFrame(Buffer.from('valid'))), 'oversize');
    expectWireError(() => dec.push(new Uint8Array(0)), 'oversize');
  });

  it('refuses a nonsensical limit', () => {
    expect(() => new FrameDecoder(0)).toThrow(RangeError);
    expect(() => new FrameDecoder(1.5)).toThrow(RangeError);
    expect(() => new FrameDecoder(2 ** 32)).toThrow(RangeError);
  });

  it('decodes a frame split across 200,000 one-byte chunks', () => {
    const p = payload(200_000, 3);
    const frame = encodeFrame(p);
    const dec = new FrameDecoder(200_000);
    const out: Buffer[] = [];
    for (let i = 0; i < frame.length; i++) out.push(...dec.push(frame.subarray(i, i + 1)));
    expectFrames(out, [p]);
    expect(dec.bufferedBytes).toBe(0);
  });
});
