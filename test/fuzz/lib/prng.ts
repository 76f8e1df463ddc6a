// A small seeded PRNG for the fuzzers (test/fuzz, bench/fuzz.ts). Reproducibility is the point:
// every failure prints its seed, and the same seed replays the same inputs on any machine, which
// Math.random cannot give. sfc32 (Chris Doty-Humphrey's Small Fast Counter, PractRand-clean)
// seeded through splitmix32 so that neighbouring seeds give unrelated streams.

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    let s = this.seed;
    const split = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform in 0..2^32-1. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in 0..n-1 (n >= 1). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** Uniform integer in lo..hi inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A fresh generator derived from this one (a sub-stream for one input). */
  fork(): Prng {
    return new Prng(this.u32());
  }
}

/** The seed a test file started from (what FUZZ_SEED must be set to, to replay it). */
let fileSeed: number | null = null;

/**
 * Seed from FUZZ_SEED (to replay a failure) or a fixed default (CI runs are reproducible). A
 * file derives its generators' seeds from this one (seed + 1, + 2...).
 */
export function seedFromEnv(fallback: number): number {
  const text = process.env.FUZZ_SEED;
  let n = fallback;
  if (text !== undefined && text !== '') {
    n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new Error(`FUZZ_SEED must be an integer in 0..2^32-1 (got ${JSON.stringify(text)})`);
  }
  fileSeed = n;
  return n;
}

/** What a failure prints: enough to replay it (seeds, case number) and see it (hex). */
export function describeInput(what: string, seed: number, index: number, input: Uint8Array | string, maxChars = 4096): string {
  const body = typeof input === 'string' ? JSON.stringify(input) : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('hex');
  const shown = body.length > maxChars ? `${body.slice(0, maxChars)}... (${body.length} chars)` : body;
  return `${what}: generator seed ${seed}, case ${index} (replay: FUZZ_SEED=${fileSeed ?? seed}), input ${shown}`;
}
