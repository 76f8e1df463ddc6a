// Byte-level mutators (the classic AFL set): bit flips, interesting values, inserts, deletes,
// truncation, duplication and splices with another input of the corpus. Pure: a Prng in, a new
// buffer out, the input untouched.
import type { Prng } from './prng.js';

/** Values at the edges of 8/16/32-bit fields, where length and range checks break. */
export const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x05, 0x0f, 0x10, 0x40, 0x45, 0x46, 0x4f];
export const INTERESTING_16 = [0x0000, 0x0001, 0x0014, 0x001c, 0x0028, 0x7fff, 0x8000, 0xffff, 0x05dc, 0x05ea, 0x0800, 0x0806, 0x86dd, 0x2000, 0x1fff, 0x4000];
export const INTERESTING_32 = [0x0000_0000, 0x0000_0001, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x0000_ffff, 0x0001_0000, 0x0400_0000];

export type ByteMutation =
  'bit-flip' | 'byte-set' | 'u16-set' | 'u32-set' | 'random-byte' | 'insert' | 'delete' | 'truncate' | 'duplicate' | 'splice' | 'extend';

export const BYTE_MUTATIONS: readonly ByteMutation[] = [
  'bit-flip',
  'byte-set',
  'u16-set',
  'u32-set',
  'random-byte',
  'insert',
  'delete',
  'truncate',
  'duplicate',
  'splice',
  'extend',
];

export interface MutateOptions {
  /** Outputs never grow past this. */
  maxLen: number;
  /** Other inputs to splice from. */
  corpus?: readonly Uint8Array[];
  /** Mutations stacked on one input: 1..maxStack (default 4). */
  maxStack?: number;
}

/** One mutation of `input` (a copy). */
export function mutateOnce(rng: Prng, input: Uint8Array, how: ByteMutation, opts: MutateOptions): Buffer {
  let b: Buffer = Buffer.from(input);
  const pos = () => rng.int(Math.max(1, b.length));
  switch (how) {
    case 'bit-flip':
      if (b.length > 0) b[pos()] ^= 1 << rng.int(8);
      break;
    case 'byte-set':
      if (b.length > 0) b[pos()] = rng.pick(INTERESTING_8);
      break;
    case 'u16-set':
      if (b.length >= 2) b.writeUInt16BE(rng.pick(INTERESTING_16), rng.int(b.length - 1));
      break;
    case 'u32-set':
      if (b.length >= 4) b.writeUInt32BE(rng.pick(INTERESTING_32), rng.int(b.length - 3));
      break;
    case 'random-byte':
      if (b.length > 0) b[pos()] = rng.int(256);
      break;
    case 'insert': {
      const at = rng.int(b.length + 1);
      const n = rng.range(1, 16);
      const fill = rng.chance(0.5) ? rng.bytes(n) : Buffer.alloc(n, rng.pick(INTERESTING_8));
      b = Buffer.concat([b.subarray(0, at), fill, b.subarray(at)]);
      break;
    }
    case 'delete': {
      if (b.length === 0) break;
      const at = rng.int(b.length);
      const n = rng.range(1, Math.min(16, b.length - at));
      b = Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
      break;
    }
    case 'truncate':
      b = b.subarray(0, rng.int(b.length + 1));
      break;
    case 'duplicate': {
      if (b.length === 0) break;
      const at = rng.int(b.length);
      const n = rng.range(1, Math.min(64, b.length - at));
      b = Buffer.concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]);
      break;
    }
    case 'splice': {
      const other = opts.corpus && opts.corpus.length > 0 ? rng.pick(opts.corpus) : null;
      if (!other || other.length === 0) break;
      const cut = rng.int(b.length + 1);
      const from = rng.int(other.length);
      b = Buffer.concat([b.subarray(0, cut), Buffer.from(other).subarray(from)]);
      break;
    }
    case 'extend':
      b = Buffer.concat([b, rng.bytes(rng.range(1, 256))]);
      break;
  }
  return b.length > opts.maxLen ? b.subarray(0, opts.maxLen) : b;
}

/** 1..maxStack random mutations stacked. */
export function mutateBytes(rng: Prng, input: Uint8Array, opts: MutateOptions): Buffer {
  let b: Buffer = Buffer.from(input);
  const n = rng.range(1, opts.maxStack ?? 4);
  for (let i = 0; i < n; i++) b = mutateOnce(rng, b, rng.pick(BYTE_MUTATIONS), opts);
  return b;
}
