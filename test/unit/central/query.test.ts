import { describe, expect, it } from 'vitest';
import { parseEventsQuery, parseSince, QueryError } from '../../../src/central/query.js';
import { T0 } from './fixtures.js';

describe('events query', () => {
  it('since: durations and ISO times', () => {
    expect(parseSince('90s', T0)).toBe(T0 - 90_000);
    expect(parseSince('1h', T0)).toBe(T0 - 3_600_000);
    expect(parseSince('7d', T0)).toBe(T0 - 7 * 86_400_000);
    expect(parseSince('2026-12-07T09:00:00Z', T0)).toBe(T0 - 3_600_000);
    for (const bad of ['1', 'yesterday', '1w', '-1h', 'May 5', '']) expect(() => parseSince(bad, T0)).toThrow(QueryError);
  });
  it('pair, limit, and refusals naming the parameter', () => {
    expect(parseEventsQuery(new URLSearchParams('since=30m&pair=p1&limit=5'), T0)).toEqual({ sinceMs: T0 - 1_800_000, pair: 'p1', limit: 5 });
    expect(parseEventsQuery(new URLSearchParams(''), T0)).toEqual({ limit: 1000 });
    expect(() => parseEventsQuery(new URLSearchParams('limit=0'), T0)).toThrow(/limit/);
    expect(() => parseEventsQuery(new URLSearchParams('x=1'), T0)).toThrow(/unknown query parameter "x"/);
    expect(() => parseEventsQuery(new URLSearchParams('pair=a&pair=b'), T0)).toThrow(/more than once/);
  });
});
