import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMIT, RateLimiter, TokenBucket } from '../../../src/api/rate-limit.js';

describe('TokenBucket', () => {
  it('allows the burst at once, then refills at the rate', () => {
    const b = new TokenBucket(10, 3, 0);
    for (let i = 0; i < 3; i++) {
      expect(b.available(0)).toBeGreaterThanOrEqual(1);
      b.take();
    }
    expect(b.available(0)).toBeLessThan(1);
    expect(b.available(99)).toBeLessThan(1);
    expect(b.available(100)).toBeGreaterThanOrEqual(1);
  });

  it('never holds more than its burst, whatever the idle time', () => {
    const b = new TokenBucket(10, 3, 0);
    expect(b.available(3_600_000)).toBe(3);
  });

  it('refills nothing when the clock goes backwards', () => {
    const b = new TokenBucket(10, 1, 1000);
    b.take();
    expect(b.available(0)).toBe(0);
    expect(b.available(1000)).toBe(0);
  });

  it('says how many whole seconds until the next token (at least 1)', () => {
    const slow = new TokenBucket(0.25, 1, 0);
    slow.take();
    expect(slow.retryAfterS(0)).toBe(4);
    const fast = new TokenBucket(100, 1, 0);
    fast.take();
    expect(fast.retryAfterS(0)).toBe(1);
  });

  it('refuses a bucket that could never allow anything', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0, 0)).toThrow(RangeError);
  });
});

describe('RateLimiter', () => {
  it('refuses one client past its burst, with Retry-After, while another client still gets through', () => {
    const rl = new RateLimiter({ perClientPerS: 1, perClientBurst: 5, globalPerS: 1000, globalBurst: 1000 });
    const got = Array.from({ length: 8 }, () => rl.check('10.0.0.1', 0));
    expect(got.filter((d) => d.ok)).toHaveLength(5);
    expect(got[5]).toEqual({ ok: false, scope: 'client', retryAfterS: 1 });
    expect(rl.check('10.0.0.2', 0)).toEqual({ ok: true });
    // one second later, exactly one more
    expect(rl.check('10.0.0.1', 1000).ok).toBe(true);
    expect(rl.check('10.0.0.1', 1000).ok).toBe(false);
  });

  it('caps all clients together with the global bucket', () => {
    const rl = new RateLimiter({ perClientPerS: 100, perClientBurst: 100, globalPerS: 2, globalBurst: 10, maxClients: 100 });
    let allowed = 0;
    let refusedGlobal = 0;
    for (let i = 0; i < 50; i++) {
      const d = rl.check(`10.0.0.${i}`, 0);
      if (d.ok) allowed++;
      else if (d.scope === 'global') refusedGlobal++;
    }
    expect(allowed).toBe(10);
    expect(refusedGlobal).toBe(40);
  });

  it('a refused client does not drain the global bucket', () => {
    const rl = new RateLimiter({ perClientPerS: 1, perClientBurst: 1, globalPerS: 1, globalBurst: 2 });
    expect(rl.check('noisy', 0).ok).toBe(true);
    for (let i = 0; i < 100; i++) expect(rl.check('noisy', 0).ok).toBe(false);
    expect(rl.check('quiet', 0).ok).toBe(true);
  });

  it('holds at most maxClients buckets, forgetting the least recently seen, and counts it', () => {
    const rl = new RateLimiter({ perClientPerS: 1, perClientBurst: 1, globalPerS: 1e6, globalBurst: 1e6, maxClients: 3 });
    rl.check('a', 0);
    rl.check('b', 0);
    rl.check('c', 0);
    rl.check('a', 0); // a is now the most recent: b is the oldest
    for (let i = 0; i < 10_000; i++) rl.check(`sweep-${i}`, 0);
    expect(rl.size).toBe(3);
    expect(rl.evicted).toBe(10_000);
    // a recently seen client keeps its (empty) bucket while the table churns below the bound
    const rl2 = new RateLimiter({ perClientPerS: 1, perClientBurst: 1, globalPerS: 1e6, globalBurst: 1e6, maxClients: 3 });
    rl2.check('a', 0);
    rl2.check('b', 0);
    rl2.check('a', 0);
    rl2.check('c', 0); // table full: a, b, c
    expect(rl2.check('a', 0).ok).toBe(false);
    expect(rl2.size).toBe(3);
    expect(rl2.evicted).toBe(0);
  });

  it('has defaults above the status page at its shortest interval and the lab waiting on two calls every 20 ms', () => {
    const rl = new RateLimiter();
    let refused = 0;
    // the status page at its shortest poll interval, 100 ms, two routes each, for a minute
    for (let t = 0; t < 60_000; t += 100) for (const _ of [1, 2]) if (!rl.check('page', t).ok) refused++;
    // Lab.waitFor: a predicate making two calls, every 20 ms (plus the calls' own time), for a minute
    const rl2 = new RateLimiter();
    for (let t = 0; t < 60_000; t += 22) for (const _ of [1, 2]) if (!rl2.check('lab', t).ok) refused++;
    expect(refused).toBe(0);
    expect(DEFAULT_RATE_LIMIT.perClientBurst).toBeGreaterThanOrEqual(2 * DEFAULT_RATE_LIMIT.perClientPerS);
  });

  it('refuses a non-positive client table', () => {
    expect(() => new RateLimiter({ maxClients: 0 })).toThrow(RangeError);
  });
});
