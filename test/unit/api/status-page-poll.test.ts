// The page's state between polls (live, wrong token, unreachable, HTTP error), rates from counter
// samples, the poll interval, and the rule that browser modules import nothing a browser cannot load.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  COUNTERS_PATH,
  DEFAULT_INTERVAL_MS,
  MAX_INTERVAL_MS,
  MIN_INTERVAL_MS,
  STATUS_PATH,
  WRONG_TOKEN,
  applyPoll,
  errorMessage,
  initialState,
  parseInterval,
  requestTimeoutMs,
  type PageState,
} from '../../../src/api/status-page/poll.js';
import { computeRates } from '../../../src/api/status-page/rates.js';
import { BROWSER_MODULES } from '../../../src/api/status-page/page.js';
import { ROUTE_COUNTERS, ROUTE_STATUS, type CountersResponse } from '../../../src/api/protocol.js';
import { fixedStatus } from './fixtures.js';

function sample(atMs: number, forwarded: number, deny = 0): CountersResponse {
  return { sampledAtMs: atMs, packets: { forwarded, rx: forwarded * 2 }, drops: { 'policy-deny': deny }, sessions: { active: {}, created: {}, tableFull: 0 } };
}

const ok = (atMs: number, counters: CountersResponse | null = null) => ({ kind: 'ok' as const, atMs, status: fixedStatus(), counters });

describe('status page polling state', () => {
  it('parses ?interval= with a default and clamps', () => {
    expect(parseInterval('')).toBe(DEFAULT_INTERVAL_MS);
    expect(parseInterval('?interval=200')).toBe(200);
    expect(parseInterval('?interval=5')).toBe(MIN_INTERVAL_MS);
    expect(parseInterval('?interval=99999999')).toBe(MAX_INTERVAL_MS);
    for (const bad of ['?interval=', '?interval=abc', '?interval=-5', '?interval=1e3', '?interval=0x10']) expect(parseInterval(bad)).toBe(DEFAULT_INTERVAL_MS);
    expect(requestTimeoutMs(200)).toBe(2000);
    expect(requestTimeoutMs(5000)).toBe(10_000);
  });

  it('an answer makes it live with the status and the time of the answer', () => {
    const s = applyPoll(initialState(), ok(1000, sample(0, 10)));
    expect(s.connection).toEqual({ kind: 'live' });
    expect(s.status?.local.name).toBe('fw-a');
    expect(s.lastUpdatedMs).toBe(1000);
    expect(s.rates).toBeNull(); // one sample: no rate yet
    const next = applyPoll(s, ok(2000, sample(2000, 30, 4)));
    expect(next.rates).toEqual({ intervalS: 2, packets: { forwarded: 10, rx: 20 }, drops: { 'policy-deny': 2 } });
  });

  it('active/active: HA3 bytes per second from two status answers; none across an outage or a restart', () => {
    const withHa3 = (tx: number, rx: number) => ({
      ...fixedStatus(),
      dataplane: { activeActive: { ha3: { tx: { frames: 1, bytes: tx }, rx: { frames: 1, bytes: rx } } } },
    });
    const first = applyPoll(initialState(), { kind: 'ok', atMs: 1000, status: withHa3(1000, 500), counters: null });
    expect(first.ha3Bytes).toBeNull();
    const second = applyPoll(first, { kind: 'ok', atMs: 3000, status: withHa3(5000, 900), counters: null });
    expect(second.ha3Bytes).toEqual({ txPerS: 2000, rxPerS: 200 });
    expect(applyPoll(second, { kind: 'ok', atMs: 4000, status: withHa3(10, 900), counters: null }).ha3Bytes).toBeNull(); // restarted
    const gone = applyPoll(second, { kind: 'network-error', atMs: 4000, error: 'refused' });
    expect(gone.ha3Bytes).toBeNull();
    expect(applyPoll(gone, { kind: 'ok', atMs: 5000, status: withHa3(9000, 1000), counters: null }).ha3Bytes).toBeNull();
    expect(applyPoll(first, { kind: 'ok', atMs: 3000, status: fixedStatus(), counters: null }).ha3Bytes).toBeNull(); // active/passive
  });

  it('401: everything shown is dropped and the page says the token is wrong', () => {
    const live = applyPoll(initialState(), ok(1000, sample(0, 10)));
    const s = applyPoll(live, { kind: 'http-error', atMs: 2000, httpStatus: 401, message: '401: missing or wrong bearer token' });
    expect(s).toEqual<PageState>({
      status: null,
      counters: null,
      rates: null,
      ha3Bytes: null,
      lastUpdatedMs: null,
      connection: { kind: 'unauthorized', message: WRONG_TOKEN },
    });
    expect(WRONG_TOKEN).toBe('401: wrong token');
  });

  it('unreachable: the last data stays, the outage start is kept, rates restart after it', () => {
    let s = applyPoll(initialState(), ok(1000, sample(0, 10)));
    s = applyPoll(s, { kind: 'network-error', atMs: 2000, error: 'Failed to fetch' });
    expect(s.connection).toEqual({ kind: 'unreachable', sinceMs: 2000, error: 'Failed to fetch' });
    expect(s.status?.local.state).toBe('active');
    expect(s.lastUpdatedMs).toBe(1000);
    s = applyPoll(s, { kind: 'network-error', atMs: 3000, error: 'no answer within 2000 ms' });
    expect(s.connection).toEqual({ kind: 'unreachable', sinceMs: 2000, error: 'no answer within 2000 ms' });
    // back: live again, but no rate averaged over the outage
    s = applyPoll(s, ok(9000, sample(9000, 1000)));
    expect(s.connection.kind).toBe('live');
    expect(s.rates).toBeNull();
    s = applyPoll(s, ok(10_000, sample(10_000, 1010)));
    expect(s.rates?.packets.forwarded).toBe(10);
  });

  it('an HTTP error other than 401 keeps the data and says what the daemon said', () => {
    let s = applyPoll(initialState(), ok(1000));
    s = applyPoll(s, { kind: 'http-error', atMs: 2000, httpStatus: 503, message: '503: shutting down' });
    expect(s.connection).toEqual({ kind: 'error', sinceMs: 2000, httpStatus: 503, message: '503: shutting down' });
    expect(s.status).not.toBeNull();
    s = applyPoll(s, { kind: 'http-error', atMs: 3000, httpStatus: 500, message: '500: internal' });
    expect(s.connection).toMatchObject({ sinceMs: 2000, httpStatus: 500 });
    expect(errorMessage(503, { error: { code: 'unavailable', message: 'shutting down' } })).toBe('503: shutting down');
    expect(errorMessage(502, '<html>bad gateway</html>')).toBe('HTTP 502');
    expect(errorMessage(502, null)).toBe('HTTP 502');
  });
});

describe('rates', () => {
  it('per second by the daemon clock; none across a restart or without elapsed time', () => {
    expect(computeRates(null, sample(0, 1))).toBeNull();
    expect(computeRates(sample(1000, 10), sample(1500, 60))?.packets.forwarded).toBe(100);
    expect(computeRates(sample(1000, 10), sample(1000, 60))).toBeNull();
    expect(computeRates(sample(5000, 10), sample(100, 12))).toBeNull(); // clock went back: restarted
    expect(computeRates(sample(1000, 500), sample(2000, 3))).toBeNull(); // counter went back: restarted
    expect(computeRates(sample(1000, 5, 9), sample(2000, 6, 1))).toBeNull();
    // a counter that appears (a new label) counts from 0
    const a = sample(0, 0);
    const b = { ...sample(1000, 0), drops: { 'policy-deny': 0, fragment: 4 } };
    expect(computeRates(a, b)?.drops.fragment).toBe(4);
  });
});

describe('browser modules', () => {
  const dir = fileURLToPath(new URL('../../../src/api/status-page/', import.meta.url));

  it('poll the routes the server serves', () => {
    expect(STATUS_PATH).toBe(ROUTE_STATUS);
    expect(COUNTERS_PATH).toBe(ROUTE_COUNTERS);
  });

  it('import only types, and sibling browser modules by relative URL', () => {
    const browserFiles = BROWSER_MODULES.map((m) => m.replace(/\.js$/, '.ts'));
    for (const f of browserFiles) expect(readdirSync(dir)).toContain(f);
    for (const f of browserFiles) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const m of src.matchAll(/^import\s+(type\s+)?[\s\S]*?from\s+'([^']+)';/gm)) {
        if (m[1]) continue; // erased by tsc
        expect(
          BROWSER_MODULES.map((b) => `./${b}`),
          `${f} imports ${m[2]}`,
        ).toContain(m[2]);
      }
      expect(src, `${f} must not use node`).not.toMatch(/from 'node:|require\(|process\./);
    }
  });
});
