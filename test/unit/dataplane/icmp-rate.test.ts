// The ICMP error rate limit (RFC 1812 4.3.2.8): token buckets per destination and for the box,
// time as an argument, a bounded table that forgets the oldest source of a set.
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as yamlParse } from 'yaml';
import { deviceSchema } from '../../../src/config/schema.js';
import { ICMP_RATE_DEFAULTS, IcmpRateLimiter } from '../../../src/dataplane/icmp-rate.js';
import { repoRoot } from '../../../src/lab/lab.js';

const A = 0x0a00010a; // 10.0.1.10
const B = 0x0a00010b;

/** How many of `n` errors to `dst` at `nowMs` are allowed. */
function burst(l: IcmpRateLimiter, dst: number, n: number, nowMs: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (l.allow(dst, nowMs)) ok++;
  return ok;
}

describe('IcmpRateLimiter', () => {
  test('the config defaults are the limiter defaults (device.dataplane.icmpErrors)', () => {
    const parsed = deviceSchema.parse(yamlParse(readFileSync(join(repoRoot(), 'deploy', 'lab', 'fwa.yaml'), 'utf8')).device);
    const { sources: _s, seed: _seed, ...rates } = ICMP_RATE_DEFAULTS;
    expect(parsed.dataplane.icmpErrors).toEqual(rates);
  });

  test('defaults: 20 at once per source, then 10 per second', () => {
    const l = new IcmpRateLimiter();
    expect(burst(l, A, 100, 0)).toBe(ICMP_RATE_DEFAULTS.perSourceBurst);
    expect(l.suppressed).toBe(80);
    expect(burst(l, A, 100, 100)).toBe(1); // 100 ms at 10/s
    expect(burst(l, A, 100, 1100)).toBe(10);
    // an idle source fills up to the burst, not beyond
    expect(burst(l, A, 100, 60_000)).toBe(20);
  });

  test('sources have their own buckets', () => {
    const l = new IcmpRateLimiter({ perSourcePerS: 1, perSourceBurst: 2 });
    expect(burst(l, A, 5, 0)).toBe(2);
    expect(burst(l, B, 5, 0)).toBe(2);
    expect(burst(l, A, 5, 999)).toBe(0);
    expect(burst(l, A, 5, 1000)).toBe(1);
  });

  test('the global bucket caps all sources together; a refusal takes no token from either', () => {
    const l = new IcmpRateLimiter({ perSourcePerS: 100, perSourceBurst: 5, globalPerS: 10, globalBurst: 8 });
    let ok = 0;
    for (let s = 1; s <= 100; s++) ok += burst(l, 0x0a000000 + s, 1, 0);
    expect(ok).toBe(8);
    expect(l.suppressed).toBe(92);
    // 100 ms later one global token: the first source asking gets it, its own bucket still full
    expect(burst(l, A, 10, 100)).toBe(1);
    expect(burst(l, A, 10, 1100)).toBe(5); // 8 global tokens again, 5 of its own
  });

  test('time going backwards adds no tokens', () => {
    const l = new IcmpRateLimiter({ perSourcePerS: 10, perSourceBurst: 1 });
    expect(burst(l, A, 1, 5000)).toBe(1);
    expect(burst(l, A, 1, 1000)).toBe(0);
    expect(burst(l, A, 1, 5099)).toBe(0);
    expect(burst(l, A, 1, 5100)).toBe(1);
  });

  test('the table is bounded: a set takes 4 sources, a fifth evicts the one touched longest ago', () => {
    const l = new IcmpRateLimiter({ sources: 4, perSourceBurst: 1, perSourcePerS: 0.001, globalPerS: 1e9, globalBurst: 1e9 });
    expect(l.capacity).toBe(4); // one set
    for (let s = 1; s <= 4; s++) expect(l.allow(s, s)).toBe(true);
    for (let s = 1; s <= 4; s++) expect(l.holds(s)).toBe(true);
    expect(l.allow(1, 10)).toBe(false); // touched again: now the newest
    expect(l.allow(5, 11)).toBe(true);
    expect(l.holds(2)).toBe(false); // the oldest went
    expect([1, 3, 4, 5].every((s) => l.holds(s))).toBe(true);
    // an evicted source comes back with a full bucket (why the global bucket exists)
    expect(l.allow(2, 12)).toBe(true);
  });

  test('capacity rounds up to a power of two; a flood of distinct sources never grows it', () => {
    const l = new IcmpRateLimiter({ sources: 1000 });
    expect(l.capacity).toBe(1024);
    for (let s = 0; s < 100_000; s++) l.allow(0x0b000000 + s, s);
    expect(l.capacity).toBe(1024);
  });
});
