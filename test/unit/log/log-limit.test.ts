import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../../../src/log-limit.js';

describe('LogLimiter', () => {
  it('lets the first line of a key through, holds the rest back for the interval, then says how many it held', () => {
    let t = 0;
    const lim = new LogLimiter(1000, () => t);
    expect(lim.allow('a')).toEqual({ suppressed: 0 });
    t = 10;
    expect(lim.allow('a')).toBeNull();
    expect(lim.allow('a')).toBeNull();
    expect(lim.allow('b')).toEqual({ suppressed: 0 });
    t = 999;
    expect(lim.allow('a')).toBeNull();
    t = 1000;
    expect(lim.allow('a')).toEqual({ suppressed: 3 });
    t = 1500;
    expect(lim.allow('a')).toBeNull();
    t = 2000;
    expect(lim.allow('a')).toEqual({ suppressed: 1 });
  });
});
